"""The ``double_take.evaluate`` action: a detector cross-validated on the training images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from custom_components.double_take.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .common import setup_detectors
from .emulators.compreface import CompreFaceEmulator
from .emulators.deepstack import DeepStackEmulator
from .emulators.world import FaceSpec, FaceWorld

ALICE_AT = ((200, 100, 150, 180), (300, 120, 150, 180), (100, 90, 150, 180))
BOB_AT = ((220, 110, 150, 180), (320, 100, 150, 180))


async def evaluate(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call the action and return its response."""
    response = await hass.services.async_call(
        DOMAIN, "evaluate", data, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


def train_folder(hass: HomeAssistant, world: FaceWorld) -> None:
    """Three photos of alice and two of bob in ``double_take/train/``."""
    for name, boxes in (("alice", ALICE_AT), ("bob", BOB_AT)):
        folder = Path(hass.config.path("double_take", "train", name))
        folder.mkdir(parents=True)
        for number, box in enumerate(boxes):
            image = world.image(FaceSpec(name, box))
            (folder / f"{name}-{number}.jpg").write_bytes(image)


async def test_evaluate_a_detector_server(
    hass: HomeAssistant, compreface: CompreFaceEmulator, face_world: FaceWorld
) -> None:
    """Trials on the training images and strangers; temporary subjects are removed."""
    await setup_detectors(hass, compreface)
    train_folder(hass, face_world)
    strangers = Path(hass.config.path("double_take", "strangers"))
    strangers.mkdir()
    (strangers / "carol.jpg").write_bytes(
        face_world.image(FaceSpec("carol", (200, 100, 150, 180)))
    )
    (strangers / "notes.txt").write_text("not an image")

    response = await evaluate(hass, unknown_path="double_take/strangers")

    assert response["detector"] == "compreface"
    assert response["images"] == {"alice": 3, "bob": 2}
    assert response["unknown_images"] == 1
    # Leave-one-out: every alice and bob photo against the others (5), every photo
    # against the set without its person (5) and carol against everyone (1).
    assert response["genuine_trials"] == 5
    assert response["impostor_trials"] == 6
    by_threshold = {rates["threshold"]: rates for rates in response["thresholds"]}
    assert by_threshold[90]["true_match_percent"] == 100.0
    assert by_threshold[90]["false_match_percent"] == 0.0
    assert response["recommended_confidence"] == 40
    assert response["reliable"] is False  # 11 trials
    assert response["leftover_subjects"] == []
    assert compreface.subjects == {}  # the temporary subjects are gone


async def test_evaluate_errors(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    deepstack: DeepStackEmulator,
    face_world: FaceWorld,
) -> None:
    """Which detector, a folder outside the allowed ones, a server with own subjects."""
    await setup_detectors(hass, compreface, deepstack)
    train_folder(hass, face_world)
    with pytest.raises(ServiceValidationError) as err:
        await evaluate(hass)
    assert err.value.translation_key == "choose_detector"
    with pytest.raises(ServiceValidationError) as err:
        await evaluate(hass, detector="compreface", unknown_path="/etc")
    assert err.value.translation_key == "path_not_allowed"
    with pytest.raises(ServiceValidationError) as err:
        await evaluate(hass, detector="compreface", unknown_path="double_take/nowhere")
    assert err.value.translation_key == "not_a_folder"

    compreface.subjects["dave"] = ["dave"]  # the user's own subject
    with pytest.raises(ServiceValidationError) as err:
        await evaluate(hass, detector="compreface")
    assert err.value.translation_key == "evaluate_refused"
    assert compreface.subjects == {"dave": ["dave"]}

    deepstack.fail_next(500, count=100)
    with pytest.raises(HomeAssistantError) as failed:
        await evaluate(hass, detector="deepstack")
    assert failed.value.translation_key == "evaluate_failed"
