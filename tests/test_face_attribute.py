"""Frigate's face attribute in use: require_face skips faceless events, crop=face cuts."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from pytest_homeassistant_custom_component.common import async_capture_events
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.double_take.const import EVENT_RESULT
from homeassistant.core import HomeAssistant

from .common import EVENT_ID, FAST, event_message, fire, setup_frigate_entry
from .emulators.compreface import CompreFaceEmulator
from .emulators.frigate import DETECT_SIZE, FrigateEmulator
from .test_frigate_face import frame, near, red_square

RECOGNIZE = "/api/v1/recognition/recognize"
# Where Frigate saw the face, in detect pixels (1280x720): 40x50 px, far away.
FACE = (900, 300, 940, 350)


def face_attribute(box: tuple[int, int, int, int] = FACE) -> list[dict[str, Any]]:
    """Frigate's attribute list with one face."""
    return [{"label": "face", "box": list(box), "score": 0.83}]


def uploads(compreface: CompreFaceEmulator) -> list[Image.Image]:
    """Return the images CompreFace was asked to recognise."""
    images = []
    for request in compreface.requests_to(RECOGNIZE):
        upload = request.file("file")
        assert upload is not None
        images.append(Image.open(io.BytesIO(upload.data)))
    return images


async def test_require_face_waits_for_frigate_to_see_one(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
) -> None:
    """Auto and a camera tracking faces: no detector call until Frigate saw a face."""
    frigate.face_cameras.add("front_door")
    await setup_frigate_entry(hass, frigate, compreface, options=FAST)
    results = async_capture_events(hass, EVENT_RESULT)

    await fire(hass, event_message("new"))
    assert (results, frigate.snapshot_requests(EVENT_ID)) == ([], [])

    await fire(hass, event_message("update", current_attributes=face_attribute()))
    assert len(results) == 1
    assert frigate.snapshot_requests(EVENT_ID)

    # A camera whose Frigate does not track faces is not held back (auto).
    await fire(
        hass, event_message(event_id="1760011300.000000-abcdef", camera="backyard")
    )
    assert len(results) == 2


async def test_require_face_off_and_on(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
) -> None:
    """Off runs faceless events even when Frigate tracks faces; on waits without it."""
    frigate.face_cameras.add("front_door")
    entry = await setup_frigate_entry(
        hass, frigate, compreface, options={**FAST, "require_face": "off"}
    )
    results = async_capture_events(hass, EVENT_RESULT)
    await fire(hass, event_message())
    assert len(results) == 1

    hass.config_entries.async_update_entry(
        entry,
        options={
            **entry.options,
            "require_face": "off",
            "camera_overrides": {"backyard": {"require_face": "on"}},
        },
    )
    await hass.async_block_till_done()
    await fire(
        hass, event_message(event_id="1760011300.000000-abcdef", camera="backyard")
    )
    assert len(results) == 1


async def test_crop_face_cuts_the_full_resolution_snapshot(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
) -> None:
    """The detector gets the face with a margin, cut from the full-size snapshot."""
    await setup_frigate_entry(
        hass,
        frigate,
        compreface,
        options={**FAST, "snapshot_attempts": 1, "latest_attempts": 0, "crop": "face"},
    )
    # Frigate serves the snapshot at twice the detect size: the box is scaled.
    size = (DETECT_SIZE[0] * 2, DETECT_SIZE[1] * 2)
    square = tuple(value * 2 for value in FACE)
    frigate.set_snapshot(EVENT_ID, [frame(size, square, "JPEG")])  # type: ignore[arg-type]
    snapshot = {"frame_time": 1760011210.5, "attributes": face_attribute()}
    await fire(hass, event_message(snapshot=snapshot))

    (request,) = frigate.snapshot_requests(EVENT_ID)
    assert request.query.get("crop") == "0"
    assert "height" not in request.query
    (image,) = uploads(compreface)
    # 80x100 px face (at 2x) with half its size around it, widened to 160 px at least.
    assert image.width >= 160
    assert image.height >= 160
    assert image.width < size[0] / 4
    upload = compreface.requests_to(RECOGNIZE)[0].file("file")
    assert upload is not None
    found = red_square(upload.data)
    assert found is not None
    assert near((found[2] - found[0], found[3] - found[1]), (80, 100), tolerance=3)
    # Centred (the crop is not at an edge of the frame).
    assert near(
        ((found[0] + found[2]) // 2, (found[1] + found[3]) // 2),
        (image.width // 2, image.height // 2),
        tolerance=3,
    )


async def test_crop_face_without_a_face_uses_the_person(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
) -> None:
    """No face in the snapshot frame: the snapshot is Frigate's person crop."""
    await setup_frigate_entry(
        hass,
        frigate,
        compreface,
        options={**FAST, "snapshot_attempts": 1, "latest_attempts": 0, "crop": "face"},
    )
    await fire(hass, event_message())
    (request,) = frigate.snapshot_requests(EVENT_ID)
    assert request.query.get("crop") == "1"
    assert request.query.get("height") == "800"
