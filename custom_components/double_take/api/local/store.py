"""The trained face descriptors of one local detector, kept in one JSON file.

Format (``descriptors.json``, version 1)::

    {
      "version": 1,
      "model": "dlib_face_recognition_resnet_model_v1",
      "persons": {
        "alice": [
          {"ref": "<sha256 of the image>", "file": "alice-1.jpg", "descriptor": [128 floats]}
        ]
      }
    }

A person's name is only ever a key in this file, never a path. The file is written
atomically (temporary file in the same folder, fsync, rename), so a crash leaves either
the old or the new version. A file of a newer version, or one that is damaged, is
refused with an error rather than overwritten: nothing trained is lost silently.

Blocking file and numpy work: call from an executor thread.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
import importlib
import math
import os
from pathlib import Path
import tempfile
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import ApiError
from .engine import DESCRIPTOR_MODEL
from .resnet import DESCRIPTOR_SIZE

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

STORE_VERSION = 1
STORE_FILE = "descriptors.json"
# Seven significant digits keep distances exact to far below what matters (±1e-6).
_DIGITS = 7


class DescriptorStoreError(ApiError):
    """The descriptor file cannot be read or written."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One trained image of a person."""

    ref: str
    file: str
    descriptor: tuple[float, ...]


class DescriptorStore:
    """Trained descriptors per person; in memory only when ``folder`` is None."""

    def __init__(self, folder: Path | None) -> None:
        """Keep the descriptors of one detector in ``folder`` (created on first save)."""
        self.folder = folder
        self._persons: dict[str, list[Sample]] = {}
        self._loaded = False
        self._matrix: tuple[list[str], NDArray[np.float64]] | None = None

    @property
    def path(self) -> Path | None:
        """The JSON file, or None for a store in memory."""
        return None if self.folder is None else self.folder / STORE_FILE

    @property
    def names(self) -> list[str]:
        """Persons with at least one trained image, sorted."""
        self.load()
        return sorted(self._persons)

    def samples(self, name: str) -> list[Sample]:
        """Return the trained images of ``name`` (matched case-insensitively)."""
        self.load()
        key = self._key(name)
        return list(self._persons.get(key, [])) if key is not None else []

    def load(self) -> None:
        """Read the file once; a missing file is an empty store."""
        if self._loaded:
            return
        path = self.path
        if path is not None:
            try:
                content = path.read_bytes()
            except FileNotFoundError:
                pass
            except OSError as err:
                raise DescriptorStoreError(f"Cannot read {path}: {err}") from err
            else:
                self._persons = _parse(content, path)
        self._loaded = True
        self._matrix = None

    def add(self, name: str, sample: Sample) -> None:
        """Add a trained image; the same image (same ref) again replaces it."""
        self.load()
        if len(sample.descriptor) != DESCRIPTOR_SIZE:
            raise ValueError(f"a descriptor has {DESCRIPTOR_SIZE} values")
        key = self._key(name) or name
        samples = [s for s in self._persons.get(key, []) if s.ref != sample.ref]
        samples.append(sample)
        self._persons[key] = samples
        self._matrix = None

    def remove(self, name: str) -> bool:
        """Forget a person (case-insensitively); False when unknown."""
        self.load()
        key = self._key(name)
        if key is None:
            return False
        del self._persons[key]
        self._matrix = None
        return True

    def save(self) -> None:
        """Write the file atomically (no-op for a store in memory)."""
        path = self.path
        if path is None:
            return
        data = {
            "version": STORE_VERSION,
            "model": DESCRIPTOR_MODEL,
            "persons": {
                name: [
                    {
                        "ref": sample.ref,
                        "file": sample.file,
                        "descriptor": [
                            float(f"{value:.{_DIGITS}g}") for value in sample.descriptor
                        ],
                    }
                    for sample in samples
                ]
                for name, samples in sorted(self._persons.items())
            },
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(
                dir=path.parent, prefix=f".{STORE_FILE}.", suffix=".tmp"
            )
            temporary = Path(name)
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(orjson.dumps(data))
                    file.flush()
                    os.fsync(file.fileno())
                temporary.replace(path)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
            _fsync_folder(path.parent)
        except OSError as err:
            raise DescriptorStoreError(f"Cannot write {path}: {err}") from err

    def nearest(self, descriptor: NDArray[np.float64]) -> tuple[str, float] | None:
        """Return the person whose trained descriptor is closest, and the distance.

        The distance is Euclidean; None when nothing is trained.
        """
        ranked = self.nearest_persons(descriptor, 1)
        return ranked[0] if ranked else None

    def nearest_persons(
        self, descriptor: NDArray[np.float64], count: int
    ) -> list[tuple[str, float]]:
        """Return the ``count`` persons closest to ``descriptor``, nearest first.

        Each person comes once, with the Euclidean distance of their closest trained
        descriptor; equal distances keep the store's order. Empty when nothing is
        trained.
        """
        self.load()
        np = importlib.import_module("numpy")
        if self._matrix is None:
            labels = [name for name, samples in self._persons.items() for _ in samples]
            matrix = np.array(
                [
                    sample.descriptor
                    for samples in self._persons.values()
                    for sample in samples
                ],
                dtype=np.float64,
            ).reshape(len(labels), DESCRIPTOR_SIZE)
            self._matrix = (labels, matrix)
        labels, matrix = self._matrix
        if not labels or count < 1:
            return []
        distances = np.linalg.norm(matrix - descriptor, axis=1)
        best: dict[str, float] = {}
        for index in np.argsort(distances, kind="stable"):
            name = labels[int(index)]
            if name not in best:
                best[name] = float(distances[index])
                if len(best) == count:
                    break
        return list(best.items())

    def _key(self, name: str) -> str | None:
        """Return the stored spelling of ``name``, compared case-insensitively."""
        if name in self._persons:
            return name
        folded = name.casefold()
        return next((key for key in self._persons if key.casefold() == folded), None)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _parse(content: bytes, path: Path) -> dict[str, list[Sample]]:
    """Read a version-1 file; anything else raises DescriptorStoreError."""
    damaged = f"{path} is damaged: delete it and train again"
    try:
        data: Any = orjson.loads(content)
    except orjson.JSONDecodeError as err:
        raise DescriptorStoreError(f"{damaged} ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("version"), int):
        raise DescriptorStoreError(f"{damaged} (no version)")
    if data["version"] > STORE_VERSION:
        raise DescriptorStoreError(
            f"{path} has format version {data['version']}, written by a newer"
            " Double Take: update Double Take"
        )
    if data.get("model") != DESCRIPTOR_MODEL:
        raise DescriptorStoreError(
            f"{path} holds descriptors of model {data.get('model')!r}: delete it and"
            " train again"
        )
    persons = data.get("persons")
    if not isinstance(persons, dict):
        raise DescriptorStoreError(f"{damaged} (no persons)")
    result: dict[str, list[Sample]] = {}
    for name, samples in persons.items():
        if not isinstance(samples, list) or not samples:
            raise DescriptorStoreError(f"{damaged} (person {name!r})")
        result[name] = [_sample(item, damaged) for item in samples]
    return result


def _sample(item: Any, damaged: str) -> Sample:
    if not isinstance(item, dict):
        raise DescriptorStoreError(f"{damaged} (an entry is not an object)")
    ref, file, descriptor = item.get("ref"), item.get("file"), item.get("descriptor")
    if (
        not isinstance(ref, str)
        or not isinstance(file, str)
        or not isinstance(descriptor, list)
        or len(descriptor) != DESCRIPTOR_SIZE
        or not all(
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            for value in descriptor
        )
    ):
        raise DescriptorStoreError(f"{damaged} (entry {ref!r})")
    return Sample(ref=ref, file=file, descriptor=tuple(float(v) for v in descriptor))
