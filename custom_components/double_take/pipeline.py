"""The recognition run: fetch images, ask the detectors, stop at the first match.

Depends only on the protocol layer and on a health callback, not on entities: the same run
serves Frigate events and the ``double_take.recognize`` action. Every face is classified
once, when its detector answers (``DetectorHandle.analyze``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
import logging
import time
import uuid

from homeassistant.util import dt as dt_util

from .api.detectors import Detector
from .api.errors import ApiError
from .api.images import image_problem, image_size
from .api.models import MAX_FACES, Face
from .api.sources import ImageSource
from .const import DEFAULT_DETECTOR_CONCURRENCY
from .result import (
    AnalyzedImage,
    ClassifiedFace,
    Detection,
    MatchRules,
    RecognitionResult,
    merge,
)

_LOGGER = logging.getLogger(__name__)


# A detector's unexpected error in results and health: its first characters.
_ERROR_LIMIT = 300

type HealthCallback = Callable[[str, str | None], None]
"""Called with (detector id, error text or None) after every detector call."""


@dataclass(slots=True)
class DetectorHandle:
    """A configured detector: the client, which cameras it serves, a concurrency cap."""

    id: str
    name: str
    detector: Detector
    cameras: frozenset[str] = frozenset()
    concurrency: int = DEFAULT_DETECTOR_CONCURRENCY
    _semaphore: asyncio.Semaphore = field(init=False, repr=False)
    _warned_faces: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        """Create the semaphore that bounds parallel requests to this server."""
        self._semaphore = asyncio.Semaphore(self.concurrency)

    @property
    def kind(self) -> str:
        """Detector type name, as reported in results."""
        return self.detector.kind

    def serves(self, camera: str) -> bool:
        """Whether this detector runs for ``camera`` (an empty list means all)."""
        return not self.cameras or camera in self.cameras

    async def analyze(
        self, image: bytes, rules: MatchRules, on_health: HealthCallback
    ) -> Detection:
        """Recognize and classify one image; failures become an empty detection.

        Any exception of the detector is a failed detection, not only the protocol
        layer's errors: a bug in one detector or an answer nobody foresaw must not cost
        the other detectors' matches of the same run. The faces are cut to
        ``MAX_FACES`` and their boxes to the image.
        """
        start = time.monotonic()
        error: str | None = None
        async with self._semaphore:
            try:
                faces = await self.detector.recognize(image)
            except ApiError as err:
                error = str(err) or type(err).__name__
            except Exception as err:  # noqa: BLE001  (see the docstring)
                error = f"unexpected error: {type(err).__name__}: {err}"[:_ERROR_LIMIT]
                _LOGGER.warning("Detector %s failed: %s", self.name, error)
                _LOGGER.debug("Detector %s failed", self.name, exc_info=True)
        if error is not None:
            on_health(self.id, error)
            return Detection(
                detector=self.kind, duration=time.monotonic() - start, error=error
            )
        on_health(self.id, None)
        return Detection(
            detector=self.kind,
            duration=time.monotonic() - start,
            faces=tuple(
                ClassifiedFace(face, kind)
                for face in self._bounded(faces, image)
                if rules.reported(face, kind := rules.classify(face))
            ),
        )

    def _bounded(self, faces: Sequence[Face], image: bytes) -> list[Face]:
        """At most ``MAX_FACES`` faces (warned once per detector), boxes in the image.

        Boxes are cut to a square of the image's longer side: detectors report them in
        the upright image (EXIF orientation applied), whose width and height may be
        the header's swapped.
        """
        if len(faces) > MAX_FACES:
            if not self._warned_faces:
                self._warned_faces = True
                _LOGGER.warning(
                    "Detector %s found %d faces in one image; only the first %d are"
                    " used (this is not logged again for this detector)",
                    self.name,
                    len(faces),
                    MAX_FACES,
                )
            faces = faces[:MAX_FACES]
        size = image_size(image)
        if size is None:
            return list(faces)
        side = max(size)
        return [replace(face, box=face.box.within(side, side)) for face in faces]


@dataclass(frozen=True, slots=True)
class ImageLoop:
    """One loop of a run: ``attempts`` images from ``source``; ``type`` names it in results.

    ``pushed``: the source hands over images as they are published (Frigate's MQTT
    snapshots), so the loop asks for them without a delay, and only while the run's
    other loops go on: it ends with them, even while waiting for an image.
    """

    type: str
    attempts: int
    source: ImageSource
    pushed: bool = False


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How a run behaves (from options, or from the recognize action's fields)."""

    delay: float = 0.5
    stop_on_match: bool = True
    parallel: bool = True


@dataclass(frozen=True, slots=True)
class Job:
    """What is recognized: where the images come from and what the result is about."""

    camera: str
    room: str
    loops: Sequence[ImageLoop]
    run: RunSettings
    rules: MatchRules
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    zones: tuple[str, ...] = ()
    detector_ids: frozenset[str] = frozenset()
    """Only these detectors (ids), among those serving the camera; empty: all."""


async def attempt_images(
    source: ImageSource,
    attempts: int,
    delay: float,
    stop: asyncio.Event | None = None,
    *,
    problems: list[str] | None = None,
    interruptible: bool = False,
) -> AsyncIterator[tuple[int, bytes]]:
    """Yield ``(attempt, image)`` for up to ``attempts`` fetches, ``delay`` seconds apart.

    Failed fetches, unusable images (truncated, decompression bombs, not an image) and an
    image identical to the previous one are skipped: Frigate serves the same frame until
    a better one exists, and asking the detectors again would give the same answer.
    Stops early once ``stop`` is set; ``interruptible``: a fetch waiting when it is set
    is abandoned too (a pushed source may wait long for its next image). Why an attempt
    gave nothing is logged, and added to ``problems`` when given.
    """

    def skip(attempt: int, why: str) -> None:
        _LOGGER.debug("%s attempt %d: %s", source.name, attempt, why)
        if problems is not None:
            problems.append(why)

    previous: bytes | None = None
    for attempt in range(1, attempts + 1):
        if stop is not None and stop.is_set():
            return
        if attempt > 1 and delay > 0 and await _stopped_within(stop, delay):
            return
        try:
            if interruptible and stop is not None:
                if (fetched := await _unless_stopped(source.fetch(), stop)) is None:
                    return
                image = fetched
            else:
                image = await source.fetch()
        except ApiError as err:
            skip(attempt, str(err) or type(err).__name__)
            continue
        if (problem := image_problem(image)) is not None:
            skip(attempt, f"unusable image: {problem}")
            continue
        if image == previous:
            skip(attempt, "same image as before")
            continue
        previous = image
        yield attempt, image


class Recognizer:
    """Runs image loops against the configured detectors and merges the answers."""

    def __init__(
        self, detectors: Sequence[DetectorHandle], on_health: HealthCallback
    ) -> None:
        """Bind the detectors and the health callback."""
        self.detectors = list(detectors)
        self._on_health = on_health

    def detectors_for(
        self, camera: str, only: frozenset[str] = frozenset()
    ) -> list[DetectorHandle]:
        """Detectors allowed for ``camera`` (and among ``only``, the ids, when given)."""
        return [
            handle
            for handle in self.detectors
            if handle.serves(camera) and (not only or handle.id in only)
        ]

    async def recognize(self, job: Job) -> RecognitionResult:
        """Run every loop of ``job`` concurrently; stop them all at the first match if asked.

        Pushed loops (``ImageLoop.pushed``) end when the other loops have ended.
        """
        start = time.monotonic()
        detectors = self.detectors_for(job.camera, job.detector_ids)
        matched = asyncio.Event()
        others_ended = asyncio.Event()
        images: list[AnalyzedImage] = []
        loops = [loop for loop in job.loops if loop.attempts > 0]

        async def fetched_loops() -> list[int]:
            try:
                return await asyncio.gather(
                    *(
                        self._loop(job, loop, detectors, matched, images)
                        for loop in loops
                        if not loop.pushed
                    )
                )
            finally:
                others_ended.set()

        async def pushed_loops() -> list[int]:
            return await asyncio.gather(
                *(
                    self._loop(
                        job, loop, detectors, matched, images, others_ended=others_ended
                    )
                    for loop in loops
                    if loop.pushed
                )
            )

        if any(loop.pushed for loop in loops):
            fetched, pushed = await asyncio.gather(fetched_loops(), pushed_loops())
        else:
            # Most runs: no tasks for pushed loops that do not exist.
            fetched, pushed = await fetched_loops(), []
        counts = [*fetched, *pushed]
        matches, misses, unknowns, persons = merge(images, job.rules)
        return RecognitionResult(
            id=job.id,
            camera=job.camera,
            room=job.room,
            zones=job.zones,
            time=dt_util.now(),
            duration=time.monotonic() - start,
            attempts=sum(counts),
            matches=matches,
            misses=misses,
            unknowns=unknowns,
            person_count=persons,
            analyzed=tuple(images),
        )

    async def _loop(
        self,
        job: Job,
        loop: ImageLoop,
        detectors: list[DetectorHandle],
        matched: asyncio.Event,
        images: list[AnalyzedImage],
        *,
        others_ended: asyncio.Event | None = None,
    ) -> int:
        """One loop: up to ``attempts`` images; returns how many it analyzed.

        A pushed loop is given ``others_ended`` as its stop: the other loops stop at a
        match when asked, so it does too.
        """
        analyzed = 0
        if others_ended is not None:
            images_of = attempt_images(
                loop.source, loop.attempts, 0, others_ended, interruptible=True
            )
        else:
            images_of = attempt_images(
                loop.source,
                loop.attempts,
                job.run.delay,
                matched if job.run.stop_on_match else None,
            )
        async for attempt, image in images_of:
            analyzed += 1
            result = AnalyzedImage(
                type=loop.type,
                attempt=attempt,
                image=image,
                detections=await self._analyze(image, detectors, job),
            )
            images.append(result)
            if result.has_match(job.rules):
                matched.set()
        return analyzed

    async def _analyze(
        self, image: bytes, detectors: list[DetectorHandle], job: Job
    ) -> tuple[Detection, ...]:
        calls = (
            handle.analyze(image, job.rules, self._on_health) for handle in detectors
        )
        if job.run.parallel and len(detectors) > 1:
            return tuple(await asyncio.gather(*calls))
        # One detector (most set-ups) is awaited in place: gather would make it a task.
        return tuple([await call for call in calls])


async def _unless_stopped[T](call: Awaitable[T], stop: asyncio.Event) -> T | None:
    """Await ``call``, or abandon it (cancelled) and return None once ``stop`` is set."""
    answer = asyncio.ensure_future(call)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((answer, stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not answer.done():
            answer.cancel()
    return answer.result() if answer.done() and not answer.cancelled() else None


async def _stopped_within(stop: asyncio.Event | None, seconds: float) -> bool:
    """Sleep ``seconds``, waking early (and returning True) when ``stop`` is set."""
    if stop is None:
        await asyncio.sleep(seconds)
        return False
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        return False
    return True
