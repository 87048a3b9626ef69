"""The recognition run: fetch images, ask the detectors, stop at the first match.

Depends only on the protocol layer and on a health callback, not on entities: the same run
serves Frigate events and the ``double_take.recognize`` action.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
import logging
import time

from .api.detectors import Detector
from .api.errors import ApiError, ImageUnavailableError
from .api.images import image_problem
from .const import DEFAULT_DETECTOR_CONCURRENCY
from .result import AnalysedImage, Detection, FaceKind, MatchRules

_LOGGER = logging.getLogger(__name__)


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

    async def analyse(self, image: bytes, on_health: HealthCallback) -> Detection:
        """Recognise one image; failures become an empty detection, never an exception."""
        start = time.monotonic()
        async with self._semaphore:
            try:
                faces = await self.detector.recognize(image)
            except ApiError as err:
                on_health(self.id, str(err) or type(err).__name__)
                return Detection(
                    detector=self.kind,
                    duration=time.monotonic() - start,
                    error=str(err) or type(err).__name__,
                )
        on_health(self.id, None)
        return Detection(
            detector=self.kind, duration=time.monotonic() - start, faces=tuple(faces)
        )


class ImageSource:
    """Where the images of one loop come from (``type`` names the loop in results)."""

    def __init__(
        self, type_: str, attempts: int, fetch: Callable[[], Awaitable[bytes]]
    ) -> None:
        """``fetch`` returns one image or raises ApiError (ImageUnavailableError for 404s)."""
        self.type = type_
        self.attempts = attempts
        self.fetch = fetch


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How a run behaves (from options, or from the recognize action's fields)."""

    delay: float = 0.5
    stop_on_match: bool = True
    parallel: bool = True


@dataclass(slots=True)
class RunOutcome:
    """Images analysed by one run, in the order they finished, and how long it took."""

    images: list[AnalysedImage]
    duration: float
    attempts: int


class Recognizer:
    """Runs image loops against the configured detectors."""

    def __init__(
        self,
        detectors: Sequence[DetectorHandle],
        rules: MatchRules,
        on_health: HealthCallback,
    ) -> None:
        """Bind the detectors, the thresholds (to know a match) and the health callback."""
        self.detectors = list(detectors)
        self.rules = rules
        self._on_health = on_health

    def detectors_for(self, camera: str) -> list[DetectorHandle]:
        """Detectors allowed for ``camera``."""
        return [handle for handle in self.detectors if handle.serves(camera)]

    async def run(
        self, camera: str, sources: Sequence[ImageSource], settings: RunSettings
    ) -> RunOutcome:
        """Run every source's loop concurrently; stop them all at the first match if asked."""
        start = time.monotonic()
        detectors = self.detectors_for(camera)
        matched = asyncio.Event()
        images: list[AnalysedImage] = []
        counts = await asyncio.gather(
            *(
                self._loop(source, detectors, settings, matched, images)
                for source in sources
                if source.attempts > 0
            )
        )
        return RunOutcome(
            images=images, duration=time.monotonic() - start, attempts=sum(counts)
        )

    async def _loop(
        self,
        source: ImageSource,
        detectors: list[DetectorHandle],
        settings: RunSettings,
        matched: asyncio.Event,
        images: list[AnalysedImage],
    ) -> int:
        """One loop: up to ``attempts`` images; returns how many it analysed."""
        previous: bytes | None = None
        analysed = 0
        for attempt in range(1, source.attempts + 1):
            if settings.stop_on_match and matched.is_set():
                break
            if (
                attempt > 1
                and settings.delay > 0
                and await _stopped_within(
                    matched if settings.stop_on_match else None, settings.delay
                )
            ):
                break
            try:
                image = await source.fetch()
            except ImageUnavailableError as err:
                _LOGGER.debug("%s attempt %d: no image: %s", source.type, attempt, err)
                continue
            except ApiError as err:
                _LOGGER.debug("%s attempt %d failed: %s", source.type, attempt, err)
                continue
            if (problem := image_problem(image)) is not None:
                # Truncated, a decompression bomb, not an image: a failed attempt,
                # never sent to a detector.
                _LOGGER.debug(
                    "%s attempt %d: unusable image: %s", source.type, attempt, problem
                )
                continue
            # Frigate serves the same frame until a better one exists: asking the
            # detectors again would cost time and give the same answer.
            if image == previous:
                _LOGGER.debug(
                    "%s attempt %d: same image as before", source.type, attempt
                )
                continue
            previous = image
            analysed += 1
            detections = await self._analyse(image, detectors, settings.parallel)
            result = AnalysedImage(
                type=source.type, attempt=attempt, image=image, detections=detections
            )
            images.append(result)
            if self._has_match(result):
                matched.set()
        return analysed

    async def _analyse(
        self, image: bytes, detectors: list[DetectorHandle], parallel: bool
    ) -> tuple[Detection, ...]:
        if parallel:
            return tuple(
                await asyncio.gather(
                    *(handle.analyse(image, self._on_health) for handle in detectors)
                )
            )
        return tuple(
            [await handle.analyse(image, self._on_health) for handle in detectors]
        )

    def _has_match(self, image: AnalysedImage) -> bool:
        return any(
            self.rules.classify(face) is FaceKind.MATCH
            for detection in image.detections
            for face in detection.faces
        )


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
