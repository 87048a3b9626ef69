"""The recognition run's own rules: bounded concurrency per detector."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from custom_components.double_take.api.detectors import Detector
from custom_components.double_take.api.models import Face, TrainingImage, TrainOutcome
from custom_components.double_take.const import CONF_CONCURRENCY
from custom_components.double_take.pipeline import DetectorHandle
from custom_components.double_take.result import MatchRules
from homeassistant.core import HomeAssistant

from .common import detector_subentry, make_entry, setup_entry
from .emulators.deepstack import DeepStackEmulator


class SlowDetector(Detector):
    """Counts how many recognitions run at once."""

    kind = "slow"

    def __init__(self) -> None:
        """No server behind it."""
        self.running = 0
        self.most = 0

    async def recognize(self, image: bytes) -> list[Face]:
        """Take a little while, noting the concurrency."""
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.01)
        self.running -= 1
        return []

    async def train(
        self, name: str, images: Sequence[TrainingImage]
    ) -> list[TrainOutcome]:
        """Not used."""
        raise NotImplementedError

    async def remove(self, name: str, refs: Sequence[str] = ()) -> None:
        """Not used."""
        raise NotImplementedError

    async def check(self) -> None:
        """Not used."""
        raise NotImplementedError


RULES = MatchRules(confidence=50, unknown_confidence=40, min_face_area=0)


async def test_detector_concurrency_is_bounded() -> None:
    """However many images arrive at once, a detector gets at most `concurrency`."""
    detector = SlowDetector()
    handle = DetectorHandle(id="d", name="slow", detector=detector, concurrency=3)
    await asyncio.gather(
        *(handle.analyze(b"image", RULES, lambda *_: None) for _ in range(20))
    )
    assert detector.most == 3


async def test_concurrency_comes_from_the_subentry(
    hass: HomeAssistant, deepstack: DeepStackEmulator
) -> None:
    """The detector form's 'Parallel requests' reaches the running detector."""
    subentry = detector_subentry("deepstack", deepstack.url)
    subentry["data"] = {**subentry["data"], CONF_CONCURRENCY: 2}
    entry = await setup_entry(hass, make_entry(detectors=[subentry]))
    (handle,) = entry.runtime_data.detectors
    assert handle.concurrency == 2
