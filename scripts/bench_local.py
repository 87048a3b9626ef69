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
  the machine's own noise for comparison;
- ``local_ms_per_event_crop_none`` / ``_person`` / ``_face``: median time of one event's
  image per ``crop`` option, default options, on a 1920×1080 frame with a person whose
  face is about 100 px wide: ``none`` the frame scaled to 800 px high (Frigate's
  ``crop=0&height=800``), ``person`` Frigate's ``crop=1&height=800`` (a square of
  1.1 × the person box's longer side, at least 300 px, scaled to 800 px), ``face``
  ``images.crop_box`` of the face (margin 0.5, at least 160 px) from the full frame,
  the crop's time included; ``_upsample0`` the same with upsampling 0, and
  ``_person_upsample0_max_height400`` the person crop with upsampling 0 and a
  ``max_height`` of 400. Each line ends with the image's size (as sent to the
  detector), the face's width in it and the name found. The issue's goal for
  ``crop: person`` is 120 ms per event.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
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


# The crop scenario: a 1920×1080 frame (detect resolution 1280×720), a person whose
# face is CROP_FACE px wide, Frigate's image_height and its person crop region.
CROP_FRAME = (1920, 1080)
CROP_DETECT = (1280, 720)
CROP_FACE = 100
CROP_HEIGHT = 800
PERSON_MIN, PERSON_MULTIPLIER = 300, 1.1
# obama2.jpg's face (313×600 px) as the local engine finds it: left, top, width.
OBAMA2_FACE = (81, 150, 155)


def crop_images() -> dict[str, tuple[bytes, tuple[int, int, int, int]]]:
    """Return Frigate's image per crop mode and, for ``face``, the face box (detect px).

    ``none`` and ``person`` are what Frigate serves (scaled to 800 px high); ``face`` is
    the full frame, to be cut with ``crop_box`` and the returned box.
    """
    from PIL import Image  # noqa: PLC0415

    left, top, side = OBAMA2_FACE
    scale = CROP_FACE / side
    with Image.open(FACES / "obama2.jpg") as source:
        person = source.convert("RGB").resize(
            (round(source.width * scale), round(source.height * scale))
        )
    frame = Image.open(FACES / "no_face.jpg").convert("RGB").resize(CROP_FRAME)
    x, y = 1100, 1080 - person.height
    frame.paste(person, (x, y))
    to_detect = CROP_DETECT[0] / CROP_FRAME[0]
    face_box = tuple(
        round(v * to_detect)
        for v in (
            x + left * scale,
            y + top * scale,
            x + (left + side) * scale,
            y + (top + side) * scale,
        )
    )
    # Frigate's crop=1: a square region around the person box, scaled to 800 px.
    region = max(
        PERSON_MIN, round(max(person.width, person.height) * PERSON_MULTIPLIER)
    )
    cx, cy = x + person.width // 2, y + person.height // 2
    rx = min(max(0, cx - region // 2), CROP_FRAME[0] - region)
    ry = min(max(0, cy - region // 2), CROP_FRAME[1] - region)
    crop = frame.crop((rx, ry, rx + region, ry + region)).resize(
        (CROP_HEIGHT, CROP_HEIGHT)
    )
    whole = frame.resize(
        (round(CROP_FRAME[0] * CROP_HEIGHT / CROP_FRAME[1]), CROP_HEIGHT)
    )

    def encode(picture: Image.Image) -> bytes:
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=85)
        return buffer.getvalue()

    none_box = (0, 0, 1, 1)
    return {
        "none": (encode(whole), none_box),
        "person": (encode(crop), none_box),
        "face": (encode(frame), face_box),  # type: ignore[dict-item]
    }


async def crop_times(
    detector: object,
    images: dict[str, tuple[bytes, tuple[int, int, int, int]]],
    runs: int,
) -> dict[str, tuple[float, str]]:
    """Median ms per event image for each crop mode (``face``: the crop included)."""
    from PIL import Image  # noqa: PLC0415

    from custom_components.double_take.api.images import crop_box  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    figures = {}
    for mode, (image, box) in images.items():
        times, seen = [], ""
        for run in range(runs + 1):  # the first run warms up
            start = time.perf_counter()
            data = image
            if mode == "face":
                data = await loop.run_in_executor(
                    None, crop_box, image, box, CROP_DETECT
                )
            faces = await detector.recognize(data)  # type: ignore[attr-defined]
            if run:
                times.append((time.perf_counter() - start) * 1000)
            size = Image.open(io.BytesIO(data)).size
            widths = ",".join(str(face.box.width) for face in faces) or "none"
            names = ",".join(face.name for face in faces) or "-"
            seen = f"{size[0]}x{size[1]} image, face {widths} px, {names}"
        figures[mode] = (statistics.median(times), seen)
    return figures


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
        crops = crop_images()
        by_crop = {
            detector.upsample: await crop_times(detector, crops, runs)
            for detector in detectors
        }
        # What it takes on a person crop: no upsampling, at most 400 px high.
        small = LocalDetector(
            DetectorSettings(storage_dir=folder, upsample=0, max_height=400)
        )
        detectors.append(small)
        person = await crop_times(small, {"person": crops["person"]}, runs)
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
    for upsample, suffix in ((1, ""), (0, "_upsample0")):
        for mode, (ms, seen) in by_crop[upsample].items():
            print(f"local_ms_per_event_crop_{mode}{suffix}: {ms:.1f} ({seen})")
    ms, seen = person["person"]
    print(f"local_ms_per_event_crop_person_upsample0_max_height400: {ms:.1f} ({seen})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per figure (≥ 5)")
    arguments = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    # ``local_ms_per_face`` runs the engine in this process: give numpy the worker
    # process's OpenBLAS threads (``worker.OPENBLAS_THREADS``), before it is imported.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Importing the integration's package imports Home Assistant; keep its start-up
    # chatter (e.g. about libturbojpeg) out of the figures.
    logging.disable(logging.ERROR)
    asyncio.run(main(max(5, arguments.runs)))
