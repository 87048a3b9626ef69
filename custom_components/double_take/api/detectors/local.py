"""The local detector: face recognition inside Home Assistant, no server needed.

dlib finds the faces and computes a 128-d descriptor for each (``..local.engine``), in a
worker process shared by every local detector (``..local.worker``: dlib holds Python's
GIL, so in a thread it would stall the event loop); training stores the descriptors of a
person's images (``..local.store``); recognition names a face after the trained
descriptor nearest to it, by Euclidean distance, or ``unknown`` when that distance is
above ``distance_threshold``. The confidence is ``distance_to_confidence``: distance 0 →
100, the threshold → 50, twice it → 0.

Candidates (``Face.candidates``): up to ``MAX_CANDIDATES`` other persons, each with the
confidence of their own nearest trained descriptor (same conversion), nearest first. A
named face lists the persons after its own; an unknown face lists the nearest persons,
beginning with the one whose distance gave its confidence: none of them matched, but a
reviewer sees who came closest.

The descriptor store's file and numpy work runs in the event loop's default executor.
One image at a time per detector (training lets recognition in between its images).
Each detector holds the worker from construction until ``close``: call it when done,
the worker process stops with the last local detector closed (see ``..local.worker``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
import contextlib
import functools
import hashlib
import logging
from pathlib import Path
from typing import ClassVar

from ..errors import ApiError
from ..local import (
    BadImageError,
    DescriptorStore,
    FaceRecord,
    FaceWorker,
    LocalEngineError,
    Sample,
    distance_to_confidence,
    shared_worker,
)
from ..models import (
    MANY_FACES,
    MAX_CANDIDATES,
    NO_FACE,
    UNKNOWN,
    Candidate,
    Face,
    TrainingImage,
    TrainOutcome,
    normalize_name,
)
from .base import Detector, DetectorSettings

_LOGGER = logging.getLogger(__name__)

MAX_UPSAMPLE = 2


class LocalDetector(Detector):
    """dlib's face recognition in a worker process, descriptors in ``storage_dir``.

    No server and no session: the worker process and the descriptor store are all it
    uses.
    """

    kind: ClassVar[str] = "local"
    title: ClassVar[str] = "Local (dlib)"

    def __init__(
        self, settings: DetectorSettings, worker: FaceWorker | None = None
    ) -> None:
        """Hold ``worker`` (default: the shared one); store in ``storage_dir``."""
        self.settings = settings
        self.worker = worker if worker is not None else shared_worker()
        self.store = DescriptorStore(
            Path(settings.storage_dir) if settings.storage_dir else None
        )
        self.upsample = min(max(int(settings.upsample), 0), MAX_UPSAMPLE)
        self.max_height = max(1, int(settings.max_height))
        self.threshold = float(settings.distance_threshold)
        self._lock = asyncio.Lock()
        self._closed = False
        self.worker.acquire()

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._closed

    async def recognize(self, image: bytes) -> list[Face]:
        """Faces in ``image``: the nearest trained person, or unknown."""
        async with self._turn():
            found = await self._faces(image)
            return await self._executor(self._match, found)

    async def train(
        self, name: str, images: Sequence[TrainingImage]
    ) -> list[TrainOutcome]:
        """Store one descriptor per image; an image needs exactly one face.

        An image without a face, with several faces or that is not an image fails on
        its own; the store is saved once at the end.
        """
        name = name.strip()
        outcomes = [await self._train_one(name, image) for image in images]
        if any(outcome.ok for outcome in outcomes):
            async with self._turn():
                await self._executor(self.store.save)
        return outcomes

    async def remove(self, name: str, refs: Sequence[str] = ()) -> None:
        """Forget every descriptor of ``name`` (``refs`` are not needed)."""
        async with self._turn():
            await self._executor(self._remove, name)

    async def check(self) -> None:
        """Load the models (once) and the stored descriptors; raise if either fails."""
        async with self._turn():
            await self.worker.load()
            await self._executor(self.store.load)

    async def warm_up(self) -> None:
        """Run ``check`` and log a failure instead of raising it.

        Meant to run in the background after setup: the worker process starts and loads
        the models (1–3 s) before the first image needs them.
        """
        try:
            await self.check()
        except ApiError as err:
            _LOGGER.warning("The local detector cannot start: %s", err)

    async def list_subjects(self) -> list[str]:
        """Return the trained persons."""
        async with self._turn():
            return await self._executor(lambda: self.store.names)

    async def close(self) -> None:
        """Let go of the worker process after this detector's current call.

        The last local detector to close stops the process (and waits for it to exit).
        Later calls raise LocalEngineError. Closing twice does nothing.
        """
        if self._closed:
            return
        self._closed = True
        async with self._lock:
            await self._executor(functools.partial(self.worker.release, wait=True))

    # -- plumbing ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """One call of this detector at a time; its ApiErrors start with its name."""
        async with self._lock:
            try:
                if self.closed:
                    raise LocalEngineError("the detector was closed")
                yield
            except ApiError as err:
                raise type(err)(f"{self.label}: {err}") from err

    async def _executor[T](self, func: Callable[..., T], *args: object) -> T:
        """Run blocking ``func`` in the event loop's default executor."""
        return await asyncio.get_running_loop().run_in_executor(None, func, *args)

    async def _faces(self, image: bytes) -> list[FaceRecord]:
        return await self.worker.faces(
            image, upsample=self.upsample, max_height=self.max_height
        )

    async def _train_one(self, name: str, image: TrainingImage) -> TrainOutcome:
        if not name:
            return TrainOutcome(image.filename, error="no name given")
        async with self._turn():
            try:
                found = await self._faces(image.data)
            except BadImageError as err:
                return TrainOutcome(image.filename, error=str(err))
            if not found:
                return TrainOutcome(image.filename, error=NO_FACE)
            if len(found) > 1:
                return TrainOutcome(image.filename, error=MANY_FACES)
            return await self._executor(self._add, name, image, found[0])

    # -- executor side -------------------------------------------------------------

    def _match(self, found: list[FaceRecord]) -> list[Face]:
        self.store.load()
        faces: list[Face] = []
        for record in found:
            ranked = self.store.nearest_persons(record.array(), MAX_CANDIDATES + 1)
            if not ranked:
                faces.append(Face(name=UNKNOWN, confidence=0.0, box=record.box))
                continue
            nearest, distance = ranked[0]
            confidence = distance_to_confidence(distance, self.threshold)
            _LOGGER.debug(
                "%s: face at %s is %.3f from %s (confidence %.2f, threshold %.2f)",
                self.label,
                record.box.as_dict(),
                distance,
                nearest,
                confidence,
                self.threshold,
            )
            name = normalize_name(nearest) if distance <= self.threshold else UNKNOWN
            faces.append(
                Face(
                    name=name,
                    confidence=confidence,
                    box=record.box,
                    candidates=self._candidates(name, ranked),
                )
            )
        return faces

    def _candidates(
        self, name: str, ranked: list[tuple[str, float]]
    ) -> tuple[Candidate, ...]:
        """Return the persons of ``ranked`` other than ``name``, as confidences."""
        candidates: dict[str, Candidate] = {}
        for person, distance in ranked:
            other = normalize_name(person)
            if other not in (name, UNKNOWN) and other not in candidates:
                candidates[other] = Candidate(
                    other, distance_to_confidence(distance, self.threshold)
                )
        return tuple(candidates.values())[:MAX_CANDIDATES]

    def _add(self, name: str, image: TrainingImage, record: FaceRecord) -> TrainOutcome:
        ref = hashlib.sha256(image.data).hexdigest()
        self.store.add(
            name,
            Sample(
                ref=ref,
                file=image.filename,
                descriptor=tuple(float(value) for value in record.array()),
            ),
        )
        return TrainOutcome(image.filename, ref=ref)

    def _remove(self, name: str) -> None:
        if self.store.remove(name.strip()):
            self.store.save()
