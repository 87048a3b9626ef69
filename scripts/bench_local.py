"""CPU cost of the local detector (dlib) on this machine.

Run: ``.venv/bin/python scripts/bench_local.py [--runs N]`` (needs the wheels of
requirements_test.txt). Prints one figure per line as ``name: value``:

- ``local_ms_per_720p_frame``: median time of ``LocalDetector.recognize`` on a 1280×720
  JPEG with one face, default options (upsample 1, max height 720): decode, HOG face
  detection, landmarks, descriptor, nearest neighbour;
- ``local_ms_per_720p_frame_upsample0``: the same with upsampling 0 (faces ≥ 80 px);
- ``local_ms_per_face``: median time of the 68 landmarks plus the 128-d descriptor of
  one face (the part that grows with the number of faces);
- ``local_faces_per_s``: faces recognized per second on such frames (one face each);
- ``local_worker_start_ms``: the first ``check()``: starting the worker process and
  loading the models in it (the integration does it in the background after setup);
- ``local_loop_max_stall_ms``: the longest the asyncio event loop could not run while
  the detector worked (dlib runs in the worker process, so this is the machine's own
  scheduling noise plus a few pickled bytes; in an executor thread it was about 100 ms
  per face, dlib's descriptor holding Python's GIL);
- ``local_loop_idle_max_stall_ms``: the same measured on the idle loop for as long,
  the machine's own noise for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
from pathlib import Path
import statistics
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT / "tests" / "fixtures" / "faces"


def frame_720p() -> bytes:
    """Return a 1280×720 JPEG: a textured background with one face in the middle."""
    from PIL import Image  # noqa: PLC0415

    background = Image.open(FACES / "no_face.jpg").convert("RGB").resize((1280, 720))
    person = Image.open(FACES / "obama.jpg").convert("RGB")
    person = person.resize((round(person.width * 480 / person.height), 480))
    background.paste(person, ((1280 - person.width) // 2, 120))
    buffer = io.BytesIO()
    background.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


async def loop_stall(task: asyncio.Future[object] | None, duration: float = 0) -> float:
    """Worst lateness (ms) of a 1 ms ticker while ``task`` runs (or for ``duration``)."""
    worst = 0.0
    end = time.perf_counter() + duration
    while not task.done() if task is not None else time.perf_counter() < end:
        tick = time.perf_counter()
        await asyncio.sleep(0.001)
        worst = max(worst, time.perf_counter() - tick - 0.001)
    return worst * 1000


async def recognize_times(
    detector: object, image: bytes, runs: int
) -> tuple[list[float], float, float]:
    """Per-run ms of ``detector.recognize``, the worst loop stall, the idle loop's."""
    times: list[float] = []
    worst_stall = idle_stall = 0.0
    for _ in range(runs):
        task = asyncio.ensure_future(detector.recognize(image))  # type: ignore[attr-defined]
        start = time.perf_counter()
        worst_stall = max(worst_stall, await loop_stall(task))
        elapsed = time.perf_counter() - start
        idle_stall = max(idle_stall, await loop_stall(None, elapsed))
        faces = task.result()
        times.append(elapsed * 1000)
        if len(faces) != 1 or faces[0].name != "obama":
            raise SystemExit(f"expected one face named obama, got {faces}")
    return times, worst_stall, idle_stall


def face_times(image: bytes, runs: int) -> list[float]:
    """Milliseconds of landmarks + descriptor for the frame's face."""
    import numpy as np  # noqa: PLC0415

    from custom_components.double_take.api.local import shared_engine  # noqa: PLC0415
    from custom_components.double_take.api.local.engine import decode  # noqa: PLC0415

    engine = shared_engine()
    engine.load()
    detector, predictor, encoder = engine._models  # type: ignore[misc]  # noqa: SLF001
    picture, _, _ = decode(image, 720)
    pixels = np.asarray(picture)
    (rect,) = detector(pixels, 1)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        encoder.compute_face_descriptor(pixels, predictor(pixels, rect))
        times.append((time.perf_counter() - start) * 1000)
    return times


async def main(runs: int) -> None:
    """Measure and print."""
    from custom_components.double_take.api.detectors import (  # noqa: PLC0415
        DetectorSettings,
        LocalDetector,
    )
    from custom_components.double_take.api.models import TrainingImage  # noqa: PLC0415

    image = frame_720p()
    with tempfile.TemporaryDirectory() as folder:
        results = {}
        detectors = [
            LocalDetector(DetectorSettings(storage_dir=folder, upsample=upsample))
            for upsample in (1, 0)
        ]
        start = time.perf_counter()
        await detectors[0].check()  # starts the worker process, loads the models
        start_ms = (time.perf_counter() - start) * 1000
        for detector in detectors:
            upsample = detector.upsample
            await detector.train(
                "obama",
                [TrainingImage("obama.jpg", (FACES / "obama.jpg").read_bytes())],
            )
            await detector.recognize(image)  # warm-up
            results[upsample] = await recognize_times(detector, image, runs)
        for detector in detectors:
            await detector.close()  # the last one stops the worker process
    frame_ms = statistics.median(results[1][0])
    face_ms = statistics.median(face_times(image, runs))
    print(f"local_ms_per_720p_frame: {frame_ms:.1f}")
    print(f"local_ms_per_720p_frame_upsample0: {statistics.median(results[0][0]):.1f}")
    print(f"local_ms_per_face: {face_ms:.1f}")
    print(f"local_faces_per_s: {1000 / frame_ms:.2f}")
    print(f"local_worker_start_ms: {start_ms:.0f}")
    print(f"local_loop_max_stall_ms: {max(results[1][1], results[0][1]):.1f}")
    print(f"local_loop_idle_max_stall_ms: {max(results[1][2], results[0][2]):.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per figure (≥ 5)")
    arguments = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    # Importing the integration's package imports Home Assistant; keep its start-up
    # chatter (e.g. about libturbojpeg) out of the figures.
    logging.disable(logging.ERROR)
    asyncio.run(main(max(5, arguments.runs)))
