"""The local detector (SPEC §5.5): dlib's engine, its worker process, the store, HA.

Real photos (small copies in fixtures/faces/): obama.jpg and obama2.jpg are two photos of
the same person, biden.jpg another person, no_face.jpg a part of a photo without a face.
Tests marked ``dlib`` need the wheels of requirements_test.txt (see conftest.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures.process import _ExecutorManagerThread
import gc
import hashlib
import importlib
import io
import json
import logging
import os
from pathlib import Path
import runpy
import signal
import statistics
import struct
import sys
import threading
import time
from typing import Any
from unittest.mock import AsyncMock, Mock, patch
import zlib

import aiohttp
import numpy as np
from PIL import Image
import pytest
import pytest_socket

from custom_components.double_take.api.detectors import (
    DetectorSettings,
    LocalDetector,
    create_detector,
)
from custom_components.double_take.api.errors import ApiError
from custom_components.double_take.api.local import (
    REQUIREMENTS,
    BadImageError,
    DescriptorStore,
    DescriptorStoreError,
    FaceEngine,
    FaceRecord,
    FaceWorker,
    FoundFace,
    LocalEngineError,
    Sample,
    distance_to_confidence,
    engine as engine_module,
    models_dir,
    shared_engine,
    shared_worker,
    worker as worker_module,
)
from custom_components.double_take.api.local.bootstrap import register_packages
from custom_components.double_take.api.local.engine import decode
from custom_components.double_take.api.local.store import STORE_FILE
from custom_components.double_take.api.models import (
    MANY_FACES,
    NO_FACE,
    UNKNOWN,
    TrainingImage,
)
from custom_components.double_take.const import DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.requirements import RequirementsNotFound

from . import local_probe
from .common import FACES, local_subentry, make_entry, photo, setup_entry

dlib = pytest.mark.dlib


DEFAULTS = DetectorSettings()  # the local detector's defaults: upsample, max_height


def find_faces(
    engine: FaceEngine,
    image: bytes,
    *,
    upsample: int = DEFAULTS.upsample,
    max_height: int = DEFAULTS.max_height,
) -> list[FoundFace]:
    """Every face the engine finds, with the local detector's settings by default."""
    return engine.faces(image, upsample=upsample, max_height=max_height)


def jpeg(picture: Image.Image, **params: Any) -> bytes:
    """Encode ``picture`` as JPEG."""
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90, **params)
    return buffer.getvalue()


def side_by_side(*names: str) -> bytes:
    """One JPEG with the fixture photos next to each other (several faces)."""
    pictures = [Image.open(FACES / f"{name}.jpg") for name in names]
    canvas = Image.new(
        "RGB",
        (sum(p.width for p in pictures), max(p.height for p in pictures)),
        "white",
    )
    left = 0
    for picture in pictures:
        canvas.paste(picture, (left, 0))
        left += picture.width
    return jpeg(canvas)


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    """Return the process-wide engine with its models loaded (once per run)."""
    shared = shared_engine()
    shared.load()
    return shared


@pytest.fixture
async def own_worker() -> AsyncIterator[FaceWorker]:
    """Yield a worker of its own, for tests that break or stop it; stopped afterwards."""
    worker = FaceWorker()
    yield worker
    await in_executor(worker.shutdown)


async def in_executor(func: Callable[[], Any]) -> Any:
    """Run blocking ``func`` in the event loop's executor."""
    return await asyncio.get_running_loop().run_in_executor(None, func)


async def gone(pid: int, within: float = 10) -> bool:
    """Whether process ``pid`` has exited, waiting up to ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        await asyncio.sleep(0.02)
    return False


def pool_threads() -> set[threading.Thread]:
    """Return the threads of this process's process pools (manager, queue feeder)."""
    return {
        thread
        for thread in threading.enumerate()
        if isinstance(thread, _ExecutorManagerThread)
        or thread.name == "QueueFeederThread"
    }


@pytest.fixture
async def session() -> Any:
    """Yield an aiohttp session (the local detector never uses it)."""
    async with aiohttp.ClientSession() as client:
        yield client


def local_detector(
    session: aiohttp.ClientSession, folder: Path | None, **settings: Any
) -> LocalDetector:
    """Build a local detector keeping its descriptors in ``folder``."""
    detector = create_detector(
        "local",
        session,
        DetectorSettings(storage_dir=str(folder) if folder else "", **settings),
    )
    assert isinstance(detector, LocalDetector)
    return detector


# -- distance → confidence -------------------------------------------------------------


@pytest.mark.parametrize(
    ("distance", "threshold", "confidence"),
    [
        (0.0, 0.6, 100.0),
        (0.3, 0.6, 75.0),
        (0.37, 0.6, 69.17),
        (0.6, 0.6, 50.0),
        (0.72, 0.6, 25.0),
        (0.84, 0.6, 0.0),
        (1.2, 0.6, 0.0),
        (1.5, 0.6, 0.0),
        (0.5, 0.5, 50.0),
        (float("nan"), 0.6, 0.0),
        (0.3, 0.0, 0.0),
    ],
)
def test_distance_to_confidence(
    distance: float, threshold: float, confidence: float
) -> None:
    """0 → 100, the threshold → 50; beyond it 3× as steep: 1.4 × threshold → 0."""
    assert distance_to_confidence(distance, threshold) == confidence


# -- the engine on real photos ---------------------------------------------------------


@dlib
def test_same_person_near_different_people_far(engine: FaceEngine) -> None:
    """The calibration the README documents: same person < 0.5 apart, others > 0.7."""
    descriptors = {}
    for name in ("obama", "obama2", "biden"):
        (face,) = find_faces(engine, photo(name))
        assert face.descriptor.shape == (128,)
        descriptors[name] = face.descriptor

    def distance(a: str, b: str) -> float:
        return float(np.linalg.norm(descriptors[a] - descriptors[b]))

    assert 0.2 < distance("obama", "obama2") < 0.5
    assert distance("obama", "biden") > 0.7
    assert distance("obama2", "biden") > 0.7
    # With the default threshold, the default match confidence (50) separates them.
    assert distance_to_confidence(distance("obama", "obama2"), 0.6) >= 60
    assert distance_to_confidence(distance("obama2", "biden"), 0.6) < 45


@dlib
def test_no_face(engine: FaceEngine) -> None:
    """A photo without a face has no faces."""
    assert find_faces(engine, photo("no_face")) == []


@dlib
def test_several_faces(engine: FaceEngine) -> None:
    """Every face is found, each with its own box."""
    faces = find_faces(engine, side_by_side("obama", "biden"))
    assert len(faces) == 2
    left, right = sorted(faces, key=lambda face: face.box.left)
    assert left.box.left + left.box.width <= 480 <= right.box.left


@dlib
def test_box_in_pixels_of_the_original_image(engine: FaceEngine) -> None:
    """Downscaling for detection does not change the box reported."""
    (full,) = find_faces(engine, photo("obama"), max_height=600)
    (small,) = find_faces(engine, photo("obama"), max_height=300)
    for value_full, value_small in zip(
        full.box.as_dict().values(), small.box.as_dict().values(), strict=True
    ):
        assert abs(value_full - value_small) <= 8
    assert full.box.width > 100
    assert full.box.left + full.box.width <= 480
    assert full.box.top + full.box.height <= 600
    # The same photo at twice the size: the box doubles.
    picture = Image.open(FACES / "obama.jpg")
    big = jpeg(picture.resize((960, 1200)))
    (doubled,) = find_faces(engine, big, max_height=600)
    assert abs(doubled.box.left - 2 * full.box.left) <= 12
    assert abs(doubled.box.width - 2 * full.box.width) <= 12


@dlib
def test_upsampling_only_when_needed(engine: FaceEngine) -> None:
    """A small image is searched as asked; a large one upsampled only to find small faces.

    In a 720p frame a face of ~48 px is found only by upsampling (the second pass); a
    face crop of 320 px with ``upsample: 0`` is searched once, without it.
    """
    picture = Image.open(FACES / "obama.jpg")
    crop = jpeg(picture.resize((256, 320)))
    assert len(find_faces(engine, crop, upsample=0)) == 1
    assert len(find_faces(engine, crop, upsample=1)) == 1
    canvas = Image.new("RGB", (1280, 720), (90, 90, 90))
    canvas.paste(picture.resize((120, 150)), (600, 300))
    frame = jpeg(canvas)
    assert find_faces(engine, frame, upsample=0) == []
    (far,) = find_faces(engine, frame, upsample=1)
    assert 600 <= far.box.left < 720
    canvas.paste(picture, (100, 60))  # and a large face: the first pass finds it
    (near,) = find_faces(engine, jpeg(canvas), upsample=1)
    assert near.box.width > 100


@dlib
def test_exif_orientation_is_applied(engine: FaceEngine) -> None:
    """A phone photo stored sideways with an EXIF orientation is analyzed upright."""
    upright = Image.open(FACES / "obama.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # the viewer rotates it 90° clockwise
    sideways = jpeg(upright.transpose(Image.Transpose.ROTATE_90), exif=exif)
    (face,) = find_faces(engine, sideways)
    (reference,) = find_faces(engine, photo("obama"))
    assert abs(face.box.left - reference.box.left) <= 6
    assert abs(face.box.top - reference.box.top) <= 6
    assert float(np.linalg.norm(face.descriptor - reference.descriptor)) < 0.2


@dlib
def test_upsampling_finds_small_faces(engine: FaceEngine) -> None:
    """A face of about 50 px is found only with upsampling."""
    picture = Image.open(FACES / "obama.jpg")
    tiny = jpeg(picture.resize((120, 150)))
    assert find_faces(engine, tiny, upsample=0) == []
    assert len(find_faces(engine, tiny, upsample=1)) == 1


@dlib
def test_bad_images(engine: FaceEngine) -> None:
    """Bytes that are not an image, or a truncated one, are BadImageError."""
    with pytest.raises(BadImageError, match="not a readable image"):
        find_faces(engine, b"<html>not an image</html>")
    with pytest.raises(BadImageError, match="not a readable image"):
        find_faces(engine, photo("obama")[:5000])


def test_decode_downscales_and_converts() -> None:
    """Large JPEGs are decoded at reduced scale; the factors map back to the original."""
    picture = Image.open(FACES / "obama.jpg").resize((1920, 2400))
    decoded, scale_x, scale_y = decode(jpeg(picture), 600)
    assert decoded.size == (480, 600)
    assert decoded.mode == "RGB"
    assert scale_x == pytest.approx(4.0)
    assert scale_y == pytest.approx(4.0)
    # PNG, grayscale, already small enough: unchanged size, converted to RGB.
    buffer = io.BytesIO()
    Image.new("L", (100, 80), 128).save(buffer, "PNG")
    decoded, scale_x, scale_y = decode(buffer.getvalue(), 600)
    assert (decoded.size, decoded.mode, scale_x, scale_y) == ((100, 80), "RGB", 1, 1)
    # PNG, too tall: resized.
    buffer = io.BytesIO()
    Image.new("RGBA", (300, 1200)).save(buffer, "PNG")
    decoded, scale_x, scale_y = decode(buffer.getvalue(), 600)
    assert decoded.size == (150, 600)
    assert scale_y == 2


def test_decode_refuses_decompression_bombs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the header check's pixel limit an image is refused, not decoded."""
    # 7000×7000 is above MAX_PIXELS (40 million) but below Pillow's own limit.
    chunks = {
        b"IHDR": struct.pack(">IIBBBBB", 7000, 7000, 8, 2, 0, 0, 0),
        b"IDAT": zlib.compress(b"\x00" * 21001),
        b"IEND": b"",
    }
    bomb = b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data))
        for kind, data in chunks.items()
    )
    with pytest.raises(BadImageError, match="larger than 40,000,000 pixels"):
        decode(bomb, 720)
    buffer = io.BytesIO()
    Image.new("RGB", (100, 100)).save(buffer, "PNG")
    data = buffer.getvalue()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow's own error
    with pytest.raises(BadImageError, match="not a readable image"):
        decode(data, 720)


# -- loading the engine ------------------------------------------------------------------


@dlib
def test_models_are_found_without_pkg_resources() -> None:
    """The models are read from the installed package's folder, not imported."""
    folder = models_dir()
    assert (folder / "shape_predictor_68_face_landmarks.dat").is_file()
    assert (folder / "dlib_face_recognition_resnet_model_v1.dat").is_file()


def test_missing_models_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without face-recognition-models the error names the package."""
    monkeypatch.setattr(engine_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(LocalEngineError, match="face-recognition-models"):
        models_dir()


def test_missing_dlib(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without dlib the error names the package to install; a later call may work."""
    monkeypatch.setitem(sys.modules, "dlib", None)  # makes `import dlib` fail
    fresh = FaceEngine()
    with pytest.raises(LocalEngineError, match="dlib-bin is not installed"):
        fresh.load()
    assert not fresh.loaded


@dlib
def test_missing_or_broken_model_files(tmp_path: Path) -> None:
    """Model files that are missing or not dlib models are a LocalEngineError."""
    with pytest.raises(LocalEngineError, match="is missing"):
        FaceEngine(tmp_path).load()
    (tmp_path / "shape_predictor_68_face_landmarks.dat").write_bytes(b"junk")
    (tmp_path / "dlib_face_recognition_resnet_model_v1.dat").write_bytes(b"junk")
    with pytest.raises(LocalEngineError, match="Cannot load the dlib face models"):
        FaceEngine(tmp_path).load()


@dlib
def test_models_load_once(engine: FaceEngine) -> None:
    """Loading again is a no-op; the process has one engine."""
    models = engine._models
    engine.load()
    assert engine._models is models
    assert engine.loaded
    assert shared_engine() is engine


# -- the descriptor store ----------------------------------------------------------------


def vector(value: float, index: int = 0) -> tuple[float, ...]:
    """Return a 128-d descriptor: ``value`` at ``index``, 0 elsewhere."""
    return tuple(value if i == index else 0.0 for i in range(128))


def test_store_round_trip(tmp_path: Path) -> None:
    """Saved atomically in a versioned JSON file and read back the same."""
    folder = tmp_path / "double_take" / "local" / "abc"
    store = DescriptorStore(folder)
    assert store.names == []
    assert store.nearest(np.zeros(128)) is None
    store.add("Alice", Sample("r1", "a1.jpg", vector(0.1)))
    store.add("alice", Sample("r2", "a2.jpg", vector(0.2)))  # same person
    store.add("bob", Sample("r3", "b.jpg", vector(0.9, 5)))
    store.save()

    data = json.loads((folder / STORE_FILE).read_text())
    assert data["version"] == 1
    assert data["model"] == "dlib_face_recognition_resnet_model_v1"
    assert [s["file"] for s in data["persons"]["Alice"]] == ["a1.jpg", "a2.jpg"]
    assert list(folder.iterdir()) == [folder / STORE_FILE]  # no temporary file left

    again = DescriptorStore(folder)
    assert again.names == ["Alice", "bob"]
    assert again.samples("ALICE") == store.samples("Alice")
    name, distance = again.nearest(np.array(vector(0.25)))
    assert name == "Alice"
    assert distance == pytest.approx(0.05)


def test_store_same_image_replaces_and_remove(tmp_path: Path) -> None:
    """Training an image again replaces it; remove is case-insensitive."""
    store = DescriptorStore(tmp_path)
    store.add("alice", Sample("r1", "a.jpg", vector(0.1)))
    store.add("alice", Sample("r1", "a-again.jpg", vector(0.1)))
    assert [s.file for s in store.samples("alice")] == ["a-again.jpg"]
    assert store.nearest(np.array(vector(0.1))) == ("alice", 0.0)
    assert store.remove("ALICE")
    assert not store.remove("alice")
    assert store.nearest(np.array(vector(0.1))) is None
    assert store.samples("alice") == []
    with pytest.raises(ValueError, match="128"):
        store.add("alice", Sample("r", "a.jpg", (0.1, 0.2)))


def test_store_in_memory() -> None:
    """Without a folder nothing is written."""
    store = DescriptorStore(None)
    store.add("alice", Sample("r1", "a.jpg", vector(0.1)))
    store.save()
    assert store.path is None
    assert store.names == ["alice"]


def valid_file() -> dict[str, Any]:
    """Return a version-1 file with one person."""
    return {
        "version": 1,
        "model": "dlib_face_recognition_resnet_model_v1",
        "persons": {
            "alice": [{"ref": "r", "file": "a.jpg", "descriptor": [0.0] * 128}]
        },
    }


def damage(change: str) -> Any:
    """``valid_file()`` with one thing broken."""
    data = valid_file()
    entry = data["persons"]["alice"][0]
    match change:
        case "json":
            return "{not json"
        case "list":
            return [data]
        case "no version":
            del data["version"]
        case "model":
            data["model"] = "other"
        case "persons":
            data["persons"] = []
        case "empty person":
            data["persons"]["alice"] = []
        case "entry":
            data["persons"]["alice"] = ["x"]
        case "short":
            entry["descriptor"] = [0.0] * 127
        case "nan":
            entry["descriptor"][3] = float("nan")  # json writes NaN: not JSON
        case "bool":
            entry["descriptor"][3] = True
        case "ref":
            entry["ref"] = 5
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("json", "is damaged"),
        ("list", "no version"),
        ("no version", "no version"),
        ("model", "holds descriptors of model 'other'"),
        ("persons", "no persons"),
        ("empty person", "person 'alice'"),
        ("entry", "not an object"),
        ("short", "entry 'r'"),
        ("nan", "is damaged"),
        ("bool", "entry 'r'"),
        ("ref", "entry 5"),
    ],
)
def test_store_refuses_damaged_files(tmp_path: Path, change: str, message: str) -> None:
    """A damaged file is an error saying what to do; it is not overwritten."""
    data = damage(change)
    text = data if isinstance(data, str) else json.dumps(data)
    (tmp_path / STORE_FILE).write_text(text)
    with pytest.raises(DescriptorStoreError, match=message):
        DescriptorStore(tmp_path).load()
    assert (tmp_path / STORE_FILE).read_text() == text


def test_store_newer_version(tmp_path: Path) -> None:
    """A file of a newer Double Take is refused."""
    (tmp_path / STORE_FILE).write_text(json.dumps({**valid_file(), "version": 2}))
    with pytest.raises(DescriptorStoreError, match="newer Double Take"):
        DescriptorStore(tmp_path).load()
    (tmp_path / STORE_FILE).write_text(json.dumps(valid_file()))
    assert DescriptorStore(tmp_path).names == ["alice"]


def test_store_file_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unreadable or unwritable files are DescriptorStoreError; no temporary file stays."""
    (tmp_path / "unreadable" / STORE_FILE).mkdir(parents=True)
    with pytest.raises(DescriptorStoreError, match="Cannot read"):
        DescriptorStore(tmp_path / "unreadable").load()

    store = DescriptorStore(tmp_path / "a-file")
    store.add("alice", Sample("r", "a.jpg", vector(0.1)))
    (tmp_path / "a-file").write_text("")  # the folder cannot be created
    with pytest.raises(DescriptorStoreError, match="Cannot write"):
        store.save()

    store = DescriptorStore(tmp_path / "disk-full")
    store.add("alice", Sample("r", "a.jpg", vector(0.1)))

    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", fail)
    with pytest.raises(DescriptorStoreError, match="No space left"):
        store.save()
    assert list((tmp_path / "disk-full").iterdir()) == []


# -- the worker process ------------------------------------------------------------------


@dlib
def test_worker_functions_in_this_process(
    engine: FaceEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the worker process runs, run here: plain data out, models loaded once."""
    monkeypatch.setattr(worker_module, "_engines", {})
    assert worker_module._child_load(None) == os.getpid()
    (record,) = worker_module._child_faces(None, photo("obama"), 1, 720)
    (found,) = find_faces(engine, photo("obama"))
    assert isinstance(record, FaceRecord)
    assert record.box == found.box
    assert isinstance(record.descriptor, bytes)
    assert len(record.descriptor) == 128 * 8
    assert np.array_equal(record.array(), found.descriptor)
    # Other model files: an engine of their own, kept for the next call.
    with pytest.raises(LocalEngineError, match="is missing"):
        worker_module._child_load(str(tmp_path))
    own = worker_module._child_engine(str(tmp_path))
    assert own is worker_module._child_engine(str(tmp_path))
    assert own is not shared_engine()


def test_bootstrap_registers_packages_without_running_them(tmp_path: Path) -> None:
    """The worker process imports modules of a package without its ``__init__``."""
    outer = tmp_path / "dt_outer"
    inner = outer / "inner"
    inner.mkdir(parents=True)
    (outer / "__init__.py").write_text("raise RuntimeError('outer __init__ ran')\n")
    (inner / "__init__.py").write_text("raise RuntimeError('inner __init__ ran')\n")
    (inner / "leaf.py").write_text("VALUE = 42\n")
    packages = [("dt_outer", str(outer)), ("dt_outer.inner", str(inner))]
    try:
        runpy.run_path(str(worker_module.BOOTSTRAP), {"PACKAGES": packages})
        assert importlib.import_module("dt_outer.inner.leaf").VALUE == 42
        registered = sys.modules["dt_outer.inner"]
        assert sys.modules["dt_outer"].inner is registered
        register_packages(packages)  # already there: left alone
        assert sys.modules["dt_outer.inner"] is registered
    finally:
        for name in ("dt_outer.inner.leaf", "dt_outer.inner", "dt_outer"):
            sys.modules.pop(name, None)


def test_packages_above_the_protocol_layer() -> None:
    """The worker registers custom_components and the integration's package."""
    integration = Path(worker_module.__file__).parents[2]
    assert [
        (name, Path(folder).resolve())
        for name, folder in worker_module._outer_packages()
    ] == [
        ("custom_components", integration.parent.resolve()),
        ("custom_components.double_take", integration.resolve()),
    ]


@dlib
async def test_worker_process_runs_without_home_assistant(worker: FaceWorker) -> None:
    """The worker has dlib loaded and never imported Home Assistant or the integration."""
    assert worker.pid is not None
    assert worker.pid != os.getpid()
    assert await worker._call(local_probe.imported, "dlib")
    assert not await worker._call(local_probe.imported, "homeassistant")
    assert not await worker._call(
        local_probe.imported, "custom_components.double_take.const"
    )


@dlib
async def test_forkserver_start_method_works_too() -> None:
    """The forkserver start method works as well as spawn (the child finds the code).

    Its children connect to the fork server over a Unix socket, which the test
    harness blocks unless allowed.
    """
    pytest_socket.socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)
    forked = FaceWorker(start_method="forkserver")
    try:
        (record,) = await forked.faces(
            photo("obama"), upsample=0, max_height=DEFAULTS.max_height
        )
        assert record.width > 100
        assert not await forked._call(local_probe.imported, "homeassistant")
    finally:
        await in_executor(forked.shutdown)


async def loop_stall(task: asyncio.Future[Any] | None, duration: float = 0) -> float:
    """Longest time (s) the event loop could not run while ``task`` ran.

    A ticker sleeps 1 ms again and again and records how late it wakes up. Without a
    task it ticks for ``duration`` seconds: what the machine itself costs.
    """
    worst = 0.0
    end = time.perf_counter() + duration
    while not task.done() if task is not None else time.perf_counter() < end:
        tick = time.perf_counter()
        await asyncio.sleep(0.001)
        worst = max(worst, time.perf_counter() - tick - 0.001)
    return worst


@dlib
async def test_recognition_does_not_stall_the_event_loop(
    worker: FaceWorker, session: aiohttp.ClientSession
) -> None:
    """The event loop never waits for dlib, which runs in the worker process.

    In an executor thread dlib's descriptor held the GIL 80–150 ms per face: this image
    with three faces stalled the loop by 90–320 ms in every run. Two checks that other
    load on the machine cannot fail: Home Assistant's process spends almost no CPU per
    recognition (dlib's ~300 ms are the worker's), and the median worst stall of seven
    runs stays well under the old GIL stall, measured against as long a run of the idle
    loop (a busy 2-core machine raises the idle figure from 5 to 15 ms and more).
    """
    detector = local_detector(session, None, upsample=0)
    await detector.train("obama", [TrainingImage("obama.jpg", photo("obama"))])
    image = side_by_side("obama2", "biden", "obama")
    cpu = time.process_time()
    for _ in range(3):
        faces = sorted(await detector.recognize(image), key=lambda f: f.box.left)
        assert [face.name for face in faces] == ["obama", UNKNOWN, "obama"]
    cpu = (time.process_time() - cpu) / 3
    assert cpu < 0.050, f"{cpu * 1000:.0f} ms of this process's CPU per image"
    idle: list[float] = []
    busy: list[float] = []
    for _ in range(7):
        start = time.perf_counter()
        task = asyncio.ensure_future(detector.recognize(image))
        busy.append(await loop_stall(task))
        idle.append(await loop_stall(None, time.perf_counter() - start))
        assert len(task.result()) == 3
    stall, baseline = statistics.median(busy), statistics.median(idle)
    assert stall < baseline + 0.050, f"recognizing {busy}, idle {idle}"


@dlib
async def test_killed_worker_is_replaced(
    own_worker: FaceWorker, session: aiohttp.ClientSession
) -> None:
    """A worker process killed during an image fails that image; the next one works."""
    detector = LocalDetector(DetectorSettings(upsample=2), worker=own_worker)
    await detector.check()
    first = own_worker.pid
    assert first is not None
    task = asyncio.ensure_future(detector.recognize(side_by_side("obama", "biden")))
    pool = own_worker._pool
    assert pool is not None
    for _ in range(500):  # until the pool has the job (upsampled twice, it takes ~1 s)
        if pool._pending_work_items:
            break
        await asyncio.sleep(0.01)
    os.kill(first, signal.SIGKILL)
    with pytest.raises(
        LocalEngineError,
        match=r"^Local \(dlib\): the face engine's worker process stopped unexpectedly",
    ):
        await task
    assert own_worker.pid is None
    (face,) = await detector.recognize(photo("obama"))
    second = own_worker.pid
    assert second not in (None, first)
    assert await gone(first)

    # Killed while idle: the next image does not even fail.
    os.kill(second, signal.SIGKILL)
    assert await gone(second)
    pool = own_worker._pool
    assert pool is not None
    for _ in range(500):  # the pool notices at once; give a busy machine time
        if pool._broken:
            break
        await asyncio.sleep(0.01)
    (face,) = await detector.recognize(photo("obama"))
    assert own_worker.pid not in (None, first, second)
    await detector.close()


async def test_stuck_worker_is_killed_after_the_timeout() -> None:
    """A job that takes longer than the timeout kills the worker process."""
    worker = FaceWorker(timeout=1)
    try:
        pid = await worker._call(os.getpid)
        assert worker.pid == pid
        with pytest.raises(LocalEngineError, match="took more than 1 s"):
            await worker._call(time.sleep, 30)
        assert worker.pid is None
        assert await gone(pid)
        assert await worker._call(os.getpid) not in (pid, os.getpid())
    finally:
        await in_executor(worker.shutdown)


async def test_worker_errors_are_local_engine_errors(own_worker: FaceWorker) -> None:
    """A crash or an unexpected error in the worker process is a LocalEngineError."""
    with pytest.raises(LocalEngineError, match="the face engine failed: TypeError"):
        await own_worker._call(os.getpid, 1)
    pid = own_worker.pid
    with pytest.raises(LocalEngineError, match="stopped unexpectedly"):
        await own_worker._call(os._exit, 3)
    assert await gone(pid)
    assert await own_worker._call(os.getpid) == own_worker.pid != pid


async def test_worker_that_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker process that dies while starting is a LocalEngineError; nothing is left."""
    broken = tmp_path / "bootstrap.py"
    broken.write_text("raise SystemExit(3)\n")
    monkeypatch.setattr(worker_module, "BOOTSTRAP", broken)
    worker = FaceWorker()
    threads = pool_threads()
    with pytest.raises(
        LocalEngineError, match="cannot start the face engine's worker process"
    ):
        await worker._call(os.getpid)
    assert worker.pid is None
    assert pool_threads() <= threads


async def test_worker_that_hangs_while_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker process that does not start in time is killed: a LocalEngineError."""
    hanging = tmp_path / "bootstrap.py"
    hanging.write_text("import time\ntime.sleep(30)\n")
    monkeypatch.setattr(worker_module, "BOOTSTRAP", hanging)
    monkeypatch.setattr(worker_module, "START_TIMEOUT", 0.5)
    worker = FaceWorker()
    threads = pool_threads()
    with pytest.raises(
        LocalEngineError,
        match=r"cannot start the face engine's worker process: Timeout",
    ):
        await worker._call(os.getpid)
    assert worker.pid is None
    for _ in range(500):  # the killed process's pool winds down on its own
        if pool_threads() <= threads:
            break
        await asyncio.sleep(0.01)
    assert pool_threads() <= threads


async def test_shutdown_cancels_queued_calls(own_worker: FaceWorker) -> None:
    """Stopping the worker lets the jobs it started finish; queued ones fail clearly."""
    await own_worker._call(os.getpid)
    jobs = [asyncio.ensure_future(own_worker._call(time.sleep, 0.2)) for _ in range(6)]
    await asyncio.sleep(0.1)
    await in_executor(own_worker.shutdown)
    results = await asyncio.gather(*jobs, return_exceptions=True)
    finished = [result for result in results if result is None]
    stopped = [result for result in results if isinstance(result, LocalEngineError)]
    assert finished  # at least the one running
    assert stopped  # the pool hands at most a few jobs to the process in advance
    assert len(finished) + len(stopped) == len(jobs)
    assert all("worker process was stopped" in str(error) for error in stopped)


async def test_cancelled_caller(own_worker: FaceWorker) -> None:
    """A caller that is cancelled gets CancelledError, not an error of the worker."""
    await own_worker._call(os.getpid)
    task = asyncio.ensure_future(own_worker._call(time.sleep, 0.3))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_last_detector_to_close_stops_the_worker(
    own_worker: FaceWorker, session: aiohttp.ClientSession
) -> None:
    """Every local detector holds the worker; the last to close stops its process."""
    threads = pool_threads()
    first = LocalDetector(DetectorSettings(), worker=own_worker)
    second = LocalDetector(DetectorSettings(), worker=own_worker)
    assert own_worker.users == 2
    pid = await own_worker._call(os.getpid)
    assert len(pool_threads() - threads) == 2  # the pool's manager and queue feeder

    await first.close()
    assert (own_worker.users, own_worker.pid) == (1, pid)
    await first.close()  # twice: nothing more
    assert own_worker.users == 1
    assert first.closed
    with pytest.raises(LocalEngineError, match=r"^Local \(dlib\): .* was closed"):
        await first.recognize(photo("obama"))

    await second.close()
    assert (own_worker.users, own_worker.pid) == (0, None)
    assert await gone(pid)
    assert pool_threads() <= threads  # no thread left behind either
    # A worker nobody holds any more is started again by the next call.
    assert await own_worker._call(os.getpid) not in (pid, None)


async def test_detector_dropped_without_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A detector dropped without close() keeps holding the worker; the exit hook stops it.

    Garbage collection is no lifetime: only close() and interpreter exit end the process.
    """
    worker = FaceWorker()
    monkeypatch.setattr(worker_module, "_WORKERS", {worker})
    detector = LocalDetector(DetectorSettings(), worker=worker)
    pid = await worker._call(os.getpid)
    del detector
    gc.collect()
    assert (worker.users, worker.pid) == (1, pid)
    await in_executor(worker_module._shutdown_all)
    assert worker.pid is None
    assert await gone(pid)
    worker.release()
    worker.release()  # more releases than holders: stays at 0
    assert worker.users == 0


def test_exit_hook_stops_every_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """At interpreter exit every worker is stopped (one that never ran: no-op)."""
    worker = FaceWorker()
    shutdown = Mock()
    monkeypatch.setattr(worker, "shutdown", shutdown)
    monkeypatch.setattr(worker_module, "_WORKERS", {worker})
    worker_module._shutdown_all()
    shutdown.assert_called_once_with(wait=True)


# -- the detector ------------------------------------------------------------------------


@dlib
async def test_train_recognize_remove_and_persist(
    worker: FaceWorker, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """Obama trained on one photo is recognized on another; Biden stays unknown."""
    detector = local_detector(session, tmp_path)
    assert detector.kind == "local"
    assert detector.label == "Local (dlib)"
    await detector.check()
    assert await detector.list_subjects() == []
    (face,) = await detector.recognize(photo("obama2"))
    assert (face.name, face.confidence) == (UNKNOWN, 0.0)  # nobody trained yet

    (outcome,) = await detector.train(
        "Obama", [TrainingImage("obama.jpg", photo("obama"))]
    )
    assert outcome.ok
    assert outcome.ref == hashlib.sha256(photo("obama")).hexdigest()
    assert await detector.list_subjects() == ["Obama"]

    (face,) = await detector.recognize(photo("obama2"))
    assert face.name == "obama"
    assert face.confidence >= 50
    assert face.box.area > 10_000
    (face,) = await detector.recognize(photo("biden"))
    assert face.name == UNKNOWN
    assert face.confidence < 50
    assert await detector.recognize(photo("no_face")) == []

    # Persisted: a new detector on the same folder knows obama.
    reloaded = local_detector(session, tmp_path)
    assert await reloaded.list_subjects() == ["Obama"]
    (face,) = await reloaded.recognize(photo("obama2"))
    assert face.name == "obama"

    await reloaded.remove("obama")
    assert await reloaded.list_subjects() == []
    (face,) = await reloaded.recognize(photo("obama2"))
    assert face.name == UNKNOWN
    assert await local_detector(session, tmp_path).list_subjects() == []


@dlib
async def test_training_errors_per_image(
    worker: FaceWorker, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """No face, several faces or no image fail that image only."""
    detector = local_detector(session, tmp_path)
    outcomes = await detector.train(
        "obama",
        [
            TrainingImage("empty.jpg", photo("no_face")),
            TrainingImage("group.jpg", side_by_side("obama", "biden")),
            TrainingImage("page.html", b"<html></html>"),
            TrainingImage("obama.jpg", photo("obama")),
        ],
    )
    assert [(o.filename, o.error) for o in outcomes[:2]] == [
        ("empty.jpg", NO_FACE),
        ("group.jpg", MANY_FACES),
    ]
    assert outcomes[2].error is not None
    assert "not a readable image" in outcomes[2].error
    assert outcomes[3].ok
    assert [s.file for s in detector.store.samples("obama")] == ["obama.jpg"]


@dlib
async def test_failed_training_writes_nothing(
    worker: FaceWorker, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """When no image could be trained, no file is written; a name is required."""
    detector = local_detector(session, tmp_path / "local")
    (outcome,) = await detector.train(
        "obama", [TrainingImage("empty.jpg", photo("no_face"))]
    )
    assert outcome.error == NO_FACE
    (outcome,) = await detector.train(" ", [TrainingImage("o.jpg", photo("obama"))])
    assert outcome.error == "no name given"
    assert not (tmp_path / "local").exists()
    await detector.remove("nobody")
    assert not (tmp_path / "local").exists()


@dlib
async def test_distance_threshold_option(
    worker: FaceWorker, session: aiohttp.ClientSession
) -> None:
    """A stricter threshold turns the same distance into unknown and scales confidence."""
    default = local_detector(session, None)
    strict = local_detector(session, None, distance_threshold=0.3)
    for detector in (default, strict):
        await detector.train("obama", [TrainingImage("o.jpg", photo("obama"))])
    (face,) = await default.recognize(photo("obama2"))
    (strict_face,) = await strict.recognize(photo("obama2"))
    assert face.name == "obama"
    assert strict_face.name == UNKNOWN
    assert strict_face.confidence < 50 <= face.confidence


@dlib
async def test_errors_name_the_detector(
    worker: FaceWorker,
    session: aiohttp.ClientSession,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Errors are ApiErrors starting with the detector's name, like a server's."""
    detector = local_detector(session, tmp_path)
    with pytest.raises(BadImageError, match=r"^Local \(dlib\): not a readable image"):
        await detector.recognize(b"garbage")
    (tmp_path / STORE_FILE).write_text("{")
    damaged = local_detector(session, tmp_path)
    with pytest.raises(ApiError, match=r"^Local \(dlib\): .* is damaged"):
        await damaged.check()
    with pytest.raises(ApiError, match="is damaged"):
        await damaged.recognize(photo("obama"))
    # The warm-up after setup logs it instead.
    caplog.set_level(logging.WARNING)
    await damaged.warm_up()
    assert "The local detector cannot start: Local (dlib): " in caplog.text


@dlib
async def test_check_without_models(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """check() fails when the worker process cannot load the models."""
    detector = LocalDetector(DetectorSettings(), worker=FaceWorker(tmp_path / "none"))
    try:
        with pytest.raises(
            LocalEngineError, match=r"^Local \(dlib\): Model file .* is missing"
        ):
            await detector.check()
    finally:
        await detector.close()


async def test_settings_are_clamped(session: aiohttp.ClientSession) -> None:
    """Upsampling is 0–2; the height at least 1."""
    assert local_detector(session, None, upsample=5).upsample == 2
    assert local_detector(session, None, upsample=-1).upsample == 0
    assert local_detector(session, None, max_height=0).max_height == 1
    detector = local_detector(session, None)
    assert (detector.upsample, detector.max_height, detector.threshold) == (1, 720, 0.6)
    assert detector.worker is shared_worker()


@dlib
async def test_one_image_at_a_time(
    worker: FaceWorker, session: aiohttp.ClientSession
) -> None:
    """Concurrent calls to one detector run one after the other."""
    detector = local_detector(session, None)
    running = peak = 0
    original = worker.faces

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            return await original(*args, **kwargs)
        finally:
            running -= 1

    with patch.object(worker, "faces", side_effect=counting):
        results = await asyncio.gather(
            *(detector.recognize(photo(name)) for name in ("obama", "obama2", "biden"))
        )
    assert [len(faces) for faces in results] == [1, 1, 1]
    assert peak == 1


# -- through Home Assistant --------------------------------------------------------------


async def recognize(hass: HomeAssistant, path: Path) -> dict[str, Any]:
    """Call double_take.recognize on a file."""
    response = await hass.services.async_call(
        DOMAIN,
        "recognize",
        {"image_path": str(path)},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


@dlib
async def test_recognize_action_with_local_detector(
    hass: HomeAssistant, worker: FaceWorker, install: AsyncMock, tmp_path: Path
) -> None:
    """A plain install: train obama, recognize him on another photo, reload, again."""
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    for name in ("obama2", "biden"):
        (tmp_path / f"{name}.jpg").write_bytes(photo(name))
    entry = await setup_entry(hass, make_entry(detectors=[local_subentry()]))
    assert entry.state is ConfigEntryState.LOADED
    install.assert_awaited_once_with(hass, DOMAIN, REQUIREMENTS, is_built_in=False)
    (handle,) = entry.runtime_data.detectors
    assert handle.kind == "local"
    (outcome,) = await handle.detector.train(
        "obama", [TrainingImage("obama.jpg", photo("obama"))]
    )
    assert outcome.ok
    (subentry_id,) = entry.subentries
    stored = Path(hass.config.path("double_take", "local", subentry_id, STORE_FILE))
    assert stored.is_file()

    response = await recognize(hass, tmp_path / "obama2.jpg")
    (match,) = response["matches"]
    assert match["name"] == "obama"
    assert match["confidence"] >= 50
    assert match["detector"] == "local"

    response = await recognize(hass, tmp_path / "biden.jpg")
    assert response["matches"] == []
    assert [face["name"] for face in response["unknowns"]] == [UNKNOWN]

    # The training survives a reload (and a restart: it is on disk).
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.runtime_data.detectors[0].detector is not handle.detector
    assert handle.detector.closed
    response = await recognize(hass, tmp_path / "obama2.jpg")
    assert [m["name"] for m in response["matches"]] == ["obama"]
    assert "obama" in entry.runtime_data.persons.names


@dlib
@pytest.mark.parametrize("end", ["unload", "stop"])
async def test_worker_stops_with_the_entry(
    hass: HomeAssistant, install: AsyncMock, end: str
) -> None:
    """Setup loads the models in the background; unload or HA's stop ends the worker."""
    worker = FaceWorker()
    with patch(
        "custom_components.double_take.api.detectors.local.shared_worker",
        return_value=worker,
    ):
        entry = await setup_entry(hass, make_entry(detectors=[local_subentry()]))
    assert entry.state is ConfigEntryState.LOADED
    # setup_entry waited for the background tasks: the warm-up loaded the models.
    pid = worker.pid
    assert pid is not None
    assert worker.users == 1
    assert await worker._call(local_probe.imported, "dlib")

    if end == "unload":
        assert await hass.config_entries.async_unload(entry.entry_id)
    else:  # Home Assistant does not unload entries when it stops
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        await hass.async_block_till_done()
    assert (worker.users, worker.pid) == (0, None)
    assert await gone(pid)


async def test_setup_retries_when_install_fails(
    hass: HomeAssistant, install: AsyncMock
) -> None:
    """Packages that cannot be installed: the entry is retried later, with the reason."""
    install.side_effect = RequirementsNotFound(DOMAIN, ["dlib-bin==20.0.1.post1"])
    entry = await setup_entry(hass, make_entry(detectors=[local_subentry()]))
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "dlib-bin==20.0.1.post1" in (entry.reason or "")


async def test_no_install_without_local_detector(
    hass: HomeAssistant, install: AsyncMock
) -> None:
    """Users of servers only do not download the local detector's packages."""
    entry = await setup_entry(hass, make_entry())
    assert entry.state is ConfigEntryState.LOADED
    install.assert_not_called()
