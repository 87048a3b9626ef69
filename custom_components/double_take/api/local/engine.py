"""The local face engine: dlib's HOG face detector and its 128-d ResNet face descriptor.

Everything here is blocking CPU work: the local detector runs it in a worker process
(``worker.py``), never in Home Assistant's process. ``dlib`` and ``numpy`` are imported
on first use, so this module (and the integration) imports fine on an install where the
local detector's wheels are missing.

Pipeline for one image:

1. Pillow decodes it (an image larger than the header check allows,
   ``..images.check_size``, is refused before decoding), applies the EXIF orientation,
   converts to RGB and downscales it to at most ``max_height`` pixels high (JPEGs are
   decoded at a reduced scale directly when they are much larger).
2. dlib's HOG frontal face detector finds faces, upsampling the image ``upsample``
   times first (each upsampling finds faces half as large, at about four times the
   cost). In an image at least FIRST_PASS_HEIGHT high it first looks without upsampling
   and upsamples only when that finds nobody: a face that needs upsampling there is
   under ~80 px wide, far below ``min_face_area``'s default (it could not be a match
   beside a face found without), and a person crop (option ``crop``) is found in the
   cheap pass. Smaller images (a face crop) are upsampled at once: it costs little
   there, and their faces' boxes stay precise.
3. For each face the 68-point shape predictor finds its landmarks, dlib cuts the
   aligned 150 × 150 face chip (``dlib.get_face_chip``, as dlib's own
   ``compute_face_descriptor`` does) and dlib's ResNet computes its 128-d descriptor:
   the network of dlib's model file run with numpy (``resnet.py``): the same
   descriptor as dlib's (within about 1e-6) in a sixth of the time, the ``dlib-bin``
   wheel having no BLAS. Two descriptors of the same person are usually less than 0.6
   apart (Euclidean distance); see ``distance_to_confidence``.

Boxes are returned in pixels of the original (EXIF-oriented) image.
"""

from __future__ import annotations

from dataclasses import dataclass
import functools
import importlib
import importlib.util
import io
import logging
import math
from pathlib import Path
import threading
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ApiError
from ..images import check_size
from ..models import Box
from . import resnet

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    type Descriptor = NDArray[np.float64]

_LOGGER = logging.getLogger(__name__)

MODELS_PACKAGE = "face_recognition_models"
SHAPE_PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
DESCRIPTOR_MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"
DESCRIPTOR_MODEL = "dlib_face_recognition_resnet_model_v1"

# EXIF orientations that swap width and height (rotated by 90° or 270°).
_TRANSPOSING_ORIENTATIONS = frozenset({5, 6, 7, 8})
_EXIF_ORIENTATION = 0x0112


class LocalEngineError(ApiError):
    """The local engine cannot run: dlib, numpy or the model files are missing or broken."""


class BadImageError(ApiError):
    """The bytes are not an image the engine can analyze (or a decompression bomb)."""


@dataclass(frozen=True, slots=True)
class FoundFace:
    """A face the engine found: its box in the original image and its descriptor."""

    box: Box
    descriptor: Descriptor


def distance_to_confidence(distance: float, threshold: float) -> float:
    """Map a descriptor distance to a confidence of 0–100 (two decimals).

    Anchored at the distance threshold: distance 0 → 100, ``threshold`` → 50, linear in
    between; beyond the threshold it falls three times as fast, to 0 at 1.4 × the
    threshold (clamped). So with the default threshold 0.6 and the default match
    confidence 50, "named and a match" is exactly "distance ≤ 0.6", dlib's own
    same-person threshold (99.38 % on the LFW benchmark); and a face beyond it, almost
    surely another person, is not reported as a near miss. Measured on real photos:
    the same person 0.2–0.4 apart (confidence 67–83), different people 0.75–0.86
    (confidence 0–18).
    """
    if not math.isfinite(distance) or threshold <= 0:
        return 0.0
    if distance <= threshold:
        confidence = 100.0 - 50.0 * distance / threshold
    else:
        confidence = 50.0 - 50.0 * (distance - threshold) / (BEYOND * threshold)
    return round(min(100.0, max(0.0, confidence)), 2)


BEYOND = 0.4
"""Beyond the threshold, confidence reaches 0 this fraction of the threshold further."""


def models_dir() -> Path:
    """Folder of the installed ``face_recognition_models`` package's model files.

    Found without importing the package: its ``__init__`` imports ``pkg_resources``,
    which Python 3.14 environments no longer have.
    """
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        importlib.invalidate_caches()  # it may have been installed a moment ago
        spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LocalEngineError(
            f"The Python package {MODELS_PACKAGE.replace('_', '-')} is not installed"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


CHIP_PADDING = 0.25
"""Margin around the face in its chip (dlib's ``compute_face_descriptor`` default)."""


class DescriptorModel:
    """dlib's face recognition model with the network run by numpy (``resnet.py``).

    Offers the call of dlib's ``face_recognition_model_v1``:
    ``compute_face_descriptor(pixels, shape)`` cuts the face chip as dlib does and
    returns the network's descriptor.
    """

    def __init__(self, dlib: Any, network: resnet.FaceDescriptorNet) -> None:
        """Use ``dlib`` (the module) for the chips and ``network`` for descriptors."""
        self._dlib = dlib
        self._network = network

    def compute_face_descriptor(self, pixels: Any, shape: Any) -> Descriptor:
        """Return the descriptor of the face with landmarks ``shape`` in ``pixels``."""
        chip = self._dlib.get_face_chip(
            pixels, shape, size=resnet.CHIP_SIZE, padding=CHIP_PADDING
        )
        return self._network.descriptor(chip)


type _Models = tuple[Any, Any, DescriptorModel]
"""dlib's face detector, its shape predictor and the face recognition model."""


class FaceEngine:
    """dlib's models, loaded once (lazily, in the calling thread).

    One engine per process serves any number of detectors: the models take about
    130 MB of memory.
    Calls are serialised by a lock: dlib does not document its HOG face detector as
    safe to run from two threads at once. The settings (``upsample``, ``max_height``)
    come with each call: their defaults are the local detector's (``DetectorSettings``).
    """

    def __init__(self, models: Path | None = None) -> None:
        """Use the model files in ``models`` (default: the installed package's)."""
        self._models_path = models
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._models: _Models | None = None

    @property
    def loaded(self) -> bool:
        """Whether the models are in memory."""
        return self._models is not None

    def load(self) -> None:
        """Load dlib and the models if not done yet; raise LocalEngineError if impossible.

        A failure is not remembered: after the wheels are installed, the next call works.
        """
        self._loaded_models()

    def _loaded_models(self) -> _Models:
        """Return the models, loading them first if needed (see ``load``)."""
        with self._load_lock:
            if self._models is not None:
                return self._models
            dlib = _import("dlib", "dlib-bin")
            _import("numpy", "numpy")
            folder = (
                self._models_path if self._models_path is not None else models_dir()
            )
            paths = [folder / SHAPE_PREDICTOR_FILE, folder / DESCRIPTOR_MODEL_FILE]
            for path in paths:
                if not path.is_file():
                    raise LocalEngineError(f"Model file {path} is missing")
            _LOGGER.debug("Loading dlib face models from %s", folder)
            try:
                self._models = (
                    dlib.get_frontal_face_detector(),
                    dlib.shape_predictor(str(paths[0])),
                    DescriptorModel(dlib, resnet.load(paths[1])),
                )
            except (RuntimeError, OSError, resnet.ModelFileError) as err:
                raise LocalEngineError(
                    f"Cannot load the dlib face models from {folder}: {err}"
                ) from err
            return self._models

    def faces(self, image: bytes, *, upsample: int, max_height: int) -> list[FoundFace]:
        """Every face in ``image`` with its descriptor (blocking; run in an executor)."""
        detector, predictor, encoder = self._loaded_models()
        np = importlib.import_module("numpy")
        picture, scale_x, scale_y = decode(image, max_height)
        pixels = np.asarray(picture)
        width, height = picture.size
        found: list[FoundFace] = []
        with self._run_lock:
            upsample = max(0, int(upsample))
            rects = []
            if upsample and height >= FIRST_PASS_HEIGHT:
                rects = detector(pixels, 0)
            if not len(rects):
                rects = detector(pixels, upsample)
            for rect in rects:
                descriptor = encoder.compute_face_descriptor(
                    pixels, predictor(pixels, rect)
                )
                left = min(max(rect.left(), 0), width)
                top = min(max(rect.top(), 0), height)
                right = min(max(rect.right(), 0), width)
                bottom = min(max(rect.bottom(), 0), height)
                found.append(
                    FoundFace(
                        box=Box.from_corners(
                            left * scale_x,
                            top * scale_y,
                            right * scale_x,
                            bottom * scale_y,
                        ),
                        descriptor=descriptor,
                    )
                )
        return found


FIRST_PASS_HEIGHT = 480
"""Images at least this high are first searched without upsampling (``faces``)."""


def decode(data: bytes, max_height: int) -> tuple[Image.Image, float, float]:
    """Decode, orient, convert to RGB and downscale an image to at most ``max_height``.

    Returns the picture and the factors that take its coordinates back to the original
    (oriented) image. Raises BadImageError for anything that is not a readable image,
    and for images larger than ``..images.check_size`` allows.
    """
    max_height = max(1, int(max_height))
    try:
        with Image.open(io.BytesIO(data)) as source:
            raw_width, raw_height = source.size
            check_size(raw_width, raw_height, BadImageError)
            orientation = source.getexif().get(_EXIF_ORIENTATION, 1)
            width, height = (
                (raw_height, raw_width)
                if orientation in _TRANSPOSING_ORIENTATIONS
                else (raw_width, raw_height)
            )
            if height > max_height and source.format == "JPEG":
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: much faster for big
                # photos. It never goes below the requested size.
                scale = max_height / height
                source.draft(
                    "RGB",
                    (math.ceil(raw_width * scale), math.ceil(raw_height * scale)),
                )
            picture = ImageOps.exif_transpose(source).convert("RGB")
    except BadImageError:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        ValueError,
        SyntaxError,
    ) as err:
        raise BadImageError(f"not a readable image: {err}") from err
    if picture.height > max_height:
        picture = picture.resize(
            (max(1, round(picture.width * max_height / picture.height)), max_height),
            Image.Resampling.BILINEAR,
        )
    return picture, width / picture.width, height / picture.height


def _import(module: str, requirement: str) -> Any:
    """Import ``module``; a missing one raises LocalEngineError naming its package."""
    try:
        return importlib.import_module(module)
    except ImportError:
        importlib.invalidate_caches()  # it may have been installed a moment ago
        try:
            return importlib.import_module(module)
        except ImportError as err:
            raise LocalEngineError(
                f"The Python package {requirement} is not installed ({err})"
            ) from err


@functools.cache
def shared_engine() -> FaceEngine:
    """Return the engine of this process (in the worker process: of every detector).

    Only the worker process's single thread calls it, so the cache needs no lock.
    """
    return FaceEngine()
