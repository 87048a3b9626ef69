"""The face descriptor network run with numpy (``api/local/resnet.py``) against dlib's.

The numpy forward pass must give dlib's own descriptor (``compute_face_descriptor``) for
every face of the fixture photos, and a model file that is not dlib's face descriptor
network must be a clear error, never a crash or a wrong network.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from pathlib import Path
import random
import re
from typing import Any

import numpy as np
from PIL import Image, ImageOps
import pytest

from custom_components.double_take.api.local import (
    FaceEngine,
    FaceWorker,
    LocalEngineError,
    models_dir,
    resnet,
    shared_engine,
    worker as worker_module,
)
from custom_components.double_take.api.local.engine import (
    DESCRIPTOR_MODEL_FILE,
    SHAPE_PREDICTOR_FILE,
    DescriptorModel,
    decode,
)

from .common import FACES

dlib = pytest.mark.dlib

TOLERANCE = 1e-4  # per component and as a Euclidean distance


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    """Bytes of the installed face descriptor model file."""
    return (models_dir() / DESCRIPTOR_MODEL_FILE).read_bytes()


@pytest.fixture(scope="module")
def dlib_models() -> tuple[Any, Any, Any, Any]:
    """dlib, its face detector, shape predictor and own face recognition model."""
    module = importlib.import_module("dlib")
    folder = models_dir()
    return (
        module,
        module.get_frontal_face_detector(),
        module.shape_predictor(str(folder / SHAPE_PREDICTOR_FILE)),
        module.face_recognition_model_v1(str(folder / DESCRIPTOR_MODEL_FILE)),
    )


def pictures() -> list[tuple[str, Any]]:
    """Every fixture photo as RGB pixels, and its mirror image (other face chips)."""
    found = []
    for path in sorted(FACES.glob("*.jpg")):
        with Image.open(path) as source:
            picture = ImageOps.exif_transpose(source).convert("RGB")
        found.append((path.stem, np.asarray(picture)))
        found.append((f"{path.stem} mirrored", np.asarray(ImageOps.mirror(picture))))
    return found


@dlib
def test_descriptors_equal_dlibs(
    model_bytes: bytes, dlib_models: tuple[Any, Any, Any, Any]
) -> None:
    """On every face of the fixtures the numpy descriptor is dlib's, within 1e-4."""
    module, detector, predictor, encoder = dlib_models
    model = DescriptorModel(module, resnet.parse(model_bytes))
    checked = []
    for name, pixels in pictures():
        for rect in detector(pixels, 1):
            shape = predictor(pixels, rect)
            expected = np.array(encoder.compute_face_descriptor(pixels, shape))
            found = model.compute_face_descriptor(pixels, shape)
            assert found.dtype == np.float64
            assert found.shape == (resnet.DESCRIPTOR_SIZE,)
            difference = np.abs(found - expected).max()
            distance = np.linalg.norm(found - expected)
            assert difference <= TOLERANCE, (name, difference)
            assert distance <= TOLERANCE, (name, distance)
            checked.append(name)
    # obama, obama2 and biden, each also mirrored; no_face has none
    assert len(checked) == 6, checked


@dlib
def test_engine_faces_use_the_numpy_network(
    dlib_models: tuple[Any, Any, Any, Any],
) -> None:
    """``FaceEngine.faces`` gives dlib's descriptors for the faces it finds."""
    _, detector, predictor, encoder = dlib_models
    engine = shared_engine()
    engine.load()
    assert engine._models is not None
    assert isinstance(engine._models[2], DescriptorModel)
    image = (FACES / "obama.jpg").read_bytes()
    (face,) = engine.faces(image, upsample=0, max_height=720)
    pixels = np.asarray(decode(image, 720)[0])
    (rect,) = detector(pixels, 0)
    expected = np.array(
        encoder.compute_face_descriptor(pixels, predictor(pixels, rect))
    )
    assert np.linalg.norm(face.descriptor - expected) <= TOLERANCE


def test_chip_of_another_size_is_refused(model_bytes: bytes) -> None:
    """The network takes 150×150 RGB chips only."""
    network = resnet.parse(model_bytes)
    with pytest.raises(ValueError, match="150×150 RGB chip"):
        network.descriptor(np.zeros((160, 160, 3), dtype=np.uint8))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda data: b"", "the file ends inside"),
        (lambda data: data[:100], "the file ends inside"),
        (lambda data: data[: len(data) // 2], "the file ends inside"),
        (lambda data: data[:-1], "the file ends inside"),
        (lambda data: data + b"\0", "1 unexpected bytes after the network"),
        (lambda data: b"junk" * 1000, "not an integer"),
        (lambda data: random.Random(1).randbytes(5000), "not an integer"),
        # the layer wrapped by the loss layer (fc) has version 5: not an add_layer
        (lambda data: data.replace(b"\x01\x02", b"\x01\x05", 1), "version is 5"),
        # the first convolution's version string damaged
        (lambda data: data.replace(b"con_", b"xon_", 1), "expected layer"),
    ],
)
def test_damaged_model_files_are_clear_errors(
    model_bytes: bytes, change: Any, message: str
) -> None:
    """A truncated, extended or damaged file raises ModelFileError saying what."""
    with pytest.raises(resnet.ModelFileError, match=re.escape(message)):
        resnet.parse(change(model_bytes))


def test_damaged_bytes_never_crash(model_bytes: bytes) -> None:
    """Any byte of the file's structure damaged: a network or ModelFileError, no crash.

    Checks the settings (before the first convolution's weights) and the file's end
    (the last layers' settings and their empty gradient tensors).
    """
    generator = random.Random(0)
    start = model_bytes.index(b"con_")
    positions = [*range(start + 20), *range(len(model_bytes) - 2000, len(model_bytes))]
    for position in generator.sample(positions, 100):
        damaged = bytearray(model_bytes)
        damaged[position] = generator.choice([0x00, 0x01, 0x7F, 0x80, 0x8F, 0xFF])
        with contextlib.suppress(resnet.ModelFileError):
            resnet.parse(bytes(damaged))


@dlib
def test_another_dlib_network_is_refused() -> None:
    """The face detector network of dlib (another architecture) is refused."""
    data = (models_dir() / "mmod_human_face_detector.dat").read_bytes()
    with pytest.raises(resnet.ModelFileError, match="expected the loss layer"):
        resnet.parse(data)


@dlib
def test_engine_with_a_truncated_model_file(model_bytes: bytes, tmp_path: Path) -> None:
    """A truncated descriptor model is the engine's LocalEngineError, with the cause."""
    (tmp_path / SHAPE_PREDICTOR_FILE).symlink_to(models_dir() / SHAPE_PREDICTOR_FILE)
    (tmp_path / DESCRIPTOR_MODEL_FILE).write_bytes(model_bytes[:1_000_000])
    engine = FaceEngine(tmp_path)
    with pytest.raises(
        LocalEngineError,
        match=r"^Cannot load the dlib face models from .*: the file ends inside",
    ):
        engine.load()
    assert not engine.loaded


@dlib
async def test_worker_runs_one_openblas_thread(worker: FaceWorker) -> None:
    """The worker process's numpy uses one OpenBLAS thread unless told otherwise."""
    assert worker.pid is not None
    wanted = os.environ.get("OPENBLAS_NUM_THREADS", worker_module.OPENBLAS_THREADS)
    assert await worker._call(os.getenv, "OPENBLAS_NUM_THREADS") == wanted
    status = Path(f"/proc/{worker.pid}/status")
    if wanted == "1" and status.exists():
        # OpenBLAS starts its extra threads when numpy is imported (by loading)
        assert re.search(r"^Threads:\s+1$", status.read_text(), re.MULTILINE)
