"""Which ``confidence`` threshold to use with a detector: leave-one-out cross-validation.

Usage: ``scripts/evaluate DIR [--detector local|compreface URL|…] [--api-key KEY]
[--distance-threshold D] [--upsample N] [--trials] [--json]``.

``DIR`` holds one subfolder of images per person (``DIR/alice/*.jpg``: the folder name is
the person) and optionally ``DIR/unknown/`` with images of strangers. Every image is
recognised by the detector trained on the others (see
``custom_components/double_take/evaluate.py``); the script prints, per threshold, the
share of genuine images named correctly and the share of recognitions that named the
wrong person, then the recommended ``confidence``.

The default detector is the local one (dlib), in memory: no server, and nothing of the
integration's trained persons is read or changed. A detector server gets temporary
subjects ``dt-eval-…``, removed at the end; it must know no other subjects.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import json
import logging
from pathlib import Path
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from custom_components.double_take.api.detectors import Detector
    from custom_components.double_take.api.models import TrainingImage
    from custom_components.double_take.evaluate import Evaluation

ROOT = Path(__file__).resolve().parent.parent
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"})
UNKNOWN_FOLDER = "unknown"


def read_folder(
    folder: Path,
) -> tuple[dict[str, list[TrainingImage]], list[TrainingImage]]:
    """Read the persons' images (one subfolder each) and those of ``unknown/``, sorted."""
    from custom_components.double_take.api.models import TrainingImage  # noqa: PLC0415

    def images(subfolder: Path) -> list[TrainingImage]:
        return [
            TrainingImage(f"{subfolder.name}/{path.name}", path.read_bytes())
            for path in sorted(subfolder.iterdir())
            if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
        ]

    if not folder.is_dir():
        raise SystemExit(f"{folder} is not a folder")
    persons: dict[str, list[TrainingImage]] = {}
    unknown: list[TrainingImage] = []
    for subfolder in sorted(folder.iterdir()):
        if not subfolder.is_dir() or subfolder.name.startswith("."):
            continue
        if subfolder.name.lower() == UNKNOWN_FOLDER:
            unknown = images(subfolder)
        elif found := images(subfolder):
            persons[subfolder.name] = found
    if not persons:
        raise SystemExit(f"{folder} has no NAME/ subfolder with images")
    return persons, unknown


def report(evaluation: Evaluation, *, trials: bool = False) -> str:
    """Write the evaluation as text: the table per threshold and the advice."""
    lines = [
        f"Detector: {evaluation.detector}",
        "Images: "
        + ", ".join(f"{name} {count}" for name, count in evaluation.images.items())
        + f", unknown {evaluation.unknown_images}",
        (
            f"Trials with a face: {evaluation.genuine_trials} genuine (leave-one-out),"
            f" {evaluation.impostor_trials} impostor (person left out, or unknown/)"
        ),
    ]
    if evaluation.no_face:
        lines.append("No face found (not counted): " + ", ".join(evaluation.no_face))
    if evaluation.foreign_answers:
        lines.append(
            f"{evaluation.foreign_answers} answers named a subject the evaluation did"
            " not train (not counted as false matches)"
        )
    lines += ["", "confidence  true match  false match"]
    for rates in evaluation.rates:
        lines.append(
            f"{rates.threshold:>10}  {_percent(rates.true_match_percent):>10}"
            f"  {_percent(rates.false_match_percent):>11}"
        )
    lines.append("")
    limit = f"{evaluation.max_false_match_percent:g} %"
    if evaluation.recommended_confidence is None:
        lines.append(
            f"Recommended confidence: none (no threshold keeps false matches at {limit}"
            " or below)"
        )
    else:
        lines.append(
            f"Recommended confidence: {evaluation.recommended_confidence} (the lowest"
            f" threshold with at most {limit} false matches)"
        )
    if not evaluation.reliable:
        counted = evaluation.genuine_trials + evaluation.impostor_trials
        lines.append(
            f"Caution: {counted} trials only; a {limit} limit needs at least"
            f" {100 / evaluation.max_false_match_percent:.0f} to mean more than"
            " 'no false match seen'. Add images (and strangers in unknown/)."
        )
    if evaluation.leftover_subjects:
        lines.append(
            "Could not remove these temporary subjects: remove them by hand: "
            + ", ".join(evaluation.leftover_subjects)
        )
    if trials:
        lines += ["", "kind      file  shows → answer (confidence)"]
        lines += [
            f"{t.kind:<9} {t.file}  {t.person or 'unknown'} →"
            f" {t.answer or t.foreign or ('no face' if not t.faces else 'unknown')}"
            f" ({t.confidence:g})"
            for t in evaluation.trials
        ]
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} %"


async def run(
    arguments: argparse.Namespace,
    persons: dict[str, list[TrainingImage]],
    unknown: list[TrainingImage],
) -> Evaluation:
    """Build the detector, evaluate, release the detector."""
    import aiohttp  # noqa: PLC0415

    from custom_components.double_take.api.detectors import (  # noqa: PLC0415
        DetectorSettings,
        LocalDetector,
        create_detector,
    )
    from custom_components.double_take.evaluate import evaluate  # noqa: PLC0415

    kind, *rest = arguments.detector
    defaults = DetectorSettings()
    settings = DetectorSettings(
        url=rest[0] if rest else "",
        api_key=arguments.api_key,
        distance_threshold=arguments.distance_threshold,
        upsample=arguments.upsample,
        max_height=defaults.max_height,
    )
    async with aiohttp.ClientSession() as session:
        detector: Detector = (
            LocalDetector(settings)  # in memory: storage_dir is empty
            if kind == LocalDetector.kind
            else create_detector(kind, session, settings)
        )
        try:
            return await evaluate(detector, persons, unknown)
        finally:
            await detector.close()


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """Read the command line."""
    from custom_components.double_take.api.detectors import (  # noqa: PLC0415
        DETECTOR_TYPES,
        DetectorSettings,
    )

    defaults = DetectorSettings()
    parser = argparse.ArgumentParser(
        prog="scripts/evaluate", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("folder", type=Path, help="NAME/ subfolders plus unknown/")
    parser.add_argument(
        "--detector",
        nargs="+",
        default=["local"],
        metavar=("KIND", "URL"),
        help=f"{' | '.join(sorted(DETECTOR_TYPES))}; a server needs its URL"
        " (default: local)",
    )
    parser.add_argument("--api-key", default="", help="the server's API key")
    parser.add_argument(
        "--distance-threshold",
        type=float,
        default=defaults.distance_threshold,
        help="local detector: descriptor distance above which a face is unknown",
    )
    parser.add_argument(
        "--upsample",
        type=int,
        default=defaults.upsample,
        help="local detector: upsamplings to find small faces",
    )
    parser.add_argument("--trials", action="store_true", help="list every trial")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    arguments = parser.parse_args(argv)
    kind, *rest = arguments.detector
    if kind not in DETECTOR_TYPES or len(rest) > 1:
        parser.error(f"--detector: unknown detector {' '.join(arguments.detector)!r}")
    if kind != "local" and not rest:
        parser.error(f"--detector {kind} needs the server's URL")
    return arguments


def main(argv: Sequence[str]) -> int:
    """Evaluate and print; 1 when the detector failed."""
    from custom_components.double_take.api.errors import ApiError  # noqa: PLC0415
    from custom_components.double_take.evaluate import EvaluationError  # noqa: PLC0415

    arguments = parse(argv)
    persons, unknown = read_folder(arguments.folder)
    try:
        evaluation = asyncio.run(run(arguments, persons, unknown))
    except (ApiError, EvaluationError) as err:
        print(f"Evaluation failed: {err}", file=sys.stderr)
        return 1
    if arguments.json:
        print(json.dumps(evaluation.as_dict(), indent=2))
    else:
        print(report(evaluation, trials=arguments.trials))
    return 0


if __name__ in {"__main__", "__mp_main__"}:
    # Importing the integration's package imports Home Assistant; keep its start-up
    # chatter (e.g. about libturbojpeg) out of the output, in the local detector's
    # worker process too (it imports this file as ``__mp_main__``).
    logging.disable(logging.ERROR)

if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
