"""The ``double_take.recognize`` action (SPEC §6.5) against detector and Frigate emulators."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import patch

import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.double_take.const import DOMAIN, EVENT_MATCH, EVENT_RESULT
from homeassistant.components.camera import Image
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component

from .common import make_entry, setup_detectors, setup_entry
from .emulators.compreface import CompreFaceEmulator
from .emulators.deepstack import DeepStackEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec, FaceWorld

ALICE_BOX = (200, 100, 150, 180)


@pytest.fixture
async def alice_trained(compreface: CompreFaceEmulator, face_world: FaceWorld) -> None:
    """CompreFace knows alice from one photo."""
    compreface.subjects["alice"] = ["alice"]


async def recognize(hass: HomeAssistant, **data: object) -> dict:
    """Call the action and return its response."""
    return await hass.services.async_call(
        DOMAIN, "recognize", data, blocking=True, return_response=True
    )


async def test_recognize_url(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    alice_trained: None,
) -> None:
    """An image URL: alice is matched, the result has the original Double Take shape."""
    await setup_detectors(hass, compreface)
    frigate.set_latest("front_door", [face_world.image(FaceSpec("alice", ALICE_BOX))])
    matches = async_capture_events(hass, EVENT_MATCH)
    results = async_capture_events(hass, EVENT_RESULT)

    response = await recognize(hass, url=f"{frigate.url}/api/front_door/latest.jpg")

    assert set(response) == {
        "id", "duration", "time", "attempts", "camera", "room", "zones",
        "matches", "misses", "unknowns", "counts",
    }  # fmt: skip
    assert response["camera"] == "double-take"
    assert response["room"] == ""  # the default camera name is no room
    assert response["attempts"] == 1
    assert response["counts"] == {"person": 1, "match": 1, "miss": 0, "unknown": 0}
    (match,) = response["matches"]
    assert match["name"] == "alice"
    assert match["confidence"] == 95.0
    assert match["match"] is True
    assert match["detector"] == "compreface"
    assert match["type"] == "manual"
    assert match["box"] == {"top": 100, "left": 200, "width": 150, "height": 180}
    assert match["image"].startswith("matches/alice/")
    saved = Path(hass.config.path("double_take", match["image"]))
    assert saved.read_bytes()[:3] == b"\xff\xd8\xff"
    assert [event.data["name"] for event in matches] == ["alice"]
    assert results[0].data["id"] == response["id"]


async def test_recognize_image_path_and_all_results(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    alice_trained: None,
    tmp_path: Path,
) -> None:
    """A file in an allowed folder; ``results: all`` adds each attempt's raw answers."""
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    image = tmp_path / "visitor.jpg"
    image.write_bytes(
        face_world.image(
            FaceSpec("alice", ALICE_BOX), FaceSpec("mallory", (10, 10, 60, 60))
        )
    )
    await setup_detectors(hass, compreface)

    response = await recognize(
        hass, image_path=str(image), results="all", camera="door", room="Hall"
    )

    assert response["camera"] == "door"
    assert response["room"] == "Hall"
    assert [m["name"] for m in response["matches"]] == ["alice"]
    # mallory is a stranger: CompreFace names the closest subject with a low similarity.
    assert [u["name"] for u in response["unknowns"]] == ["unknown"]
    assert response["counts"] == {"person": 2, "match": 1, "miss": 0, "unknown": 1}
    (raw,) = response["results"]
    assert raw["type"] == "manual"
    assert {face["name"] for face in raw["detections"][0]["faces"]} == {"alice"}
    upload = compreface.requests_to("/api/v1/recognition/recognize")[-1]
    assert upload.files[0].filename.endswith(".jpg")


async def test_small_face_is_a_miss(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    alice_trained: None,
    frigate: FrigateEmulator,
) -> None:
    """A named face smaller than min_face_area is a miss, not a match."""
    await setup_detectors(hass, compreface)
    frigate.set_latest("garden", [face_world.image(FaceSpec("alice", (0, 0, 50, 50)))])
    response = await recognize(hass, url=f"{frigate.url}/api/garden/latest.jpg")
    assert response["matches"] == []
    assert [(m["name"], m["match"]) for m in response["misses"]] == [("alice", False)]


async def test_recognize_frigate_event_stops_on_match(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    alice_trained: None,
) -> None:
    """A Frigate event id: snapshots are fetched until the first match."""
    await setup_detectors(hass, compreface, frigate_url=frigate.url)
    frigate.set_snapshot(
        "1760011207.412398-k3w9qz",
        [404, face_world.image(FaceSpec("alice", ALICE_BOX)), face_world.image()],
    )
    with patch("custom_components.double_take.services.ATTEMPT_DELAY", 0.01):
        response = await recognize(
            hass, frigate_event_id="1760011207.412398-k3w9qz", attempts=3
        )
    assert response["matches"][0]["type"] == "snapshot"
    assert response["matches"][0]["attempt"] == 2
    snapshots = frigate.requests_to("/api/events/1760011207.412398-k3w9qz/snapshot.jpg")
    assert len(snapshots) == 2
    assert snapshots[0].query["height"] == snapshots[0].query["h"] == "800"


async def test_recognize_camera_entity(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    alice_trained: None,
) -> None:
    """A camera entity's current image is used."""
    await setup_detectors(hass, compreface)
    image = Image("image/jpeg", face_world.image(FaceSpec("alice", ALICE_BOX)))
    with patch(
        "custom_components.double_take.sources.async_get_image",
        return_value=image,
    ) as get_image:
        response = await recognize(hass, camera_entity_id="camera.porch")
    get_image.assert_awaited_with(hass, "camera.porch")
    assert response["matches"][0]["name"] == "alice"


async def test_serial_processing_with_two_detectors(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    deepstack: DeepStackEmulator,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """Both detectors are asked; the best answer per name wins."""
    compreface.subjects["alice"] = ["alice"]
    deepstack.subjects["alice"] = ["alice"]
    await setup_detectors(hass, compreface, deepstack)
    frigate.set_latest(
        "front_door", [face_world.image(FaceSpec("alice", ALICE_BOX, similarity=0.9))]
    )
    response = await recognize(
        hass,
        url=f"{frigate.url}/api/front_door/latest.jpg",
        processing="serial",
        results="all",
    )
    assert len(response["matches"]) == 1
    assert {d["detector"] for d in response["results"][0]["detections"]} == {
        "compreface",
        "deepstack",
    }


async def test_one_detector_failing_still_answers(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    deepstack: DeepStackEmulator,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    alice_trained: None,
) -> None:
    """A detector answering 500 contributes nothing; the other one's match stands."""
    deepstack.fail_next(
        500, {"success": False, "error": "error occured on the server", "duration": 0}
    )
    await setup_detectors(hass, compreface, deepstack)
    frigate.set_latest("front_door", [face_world.image(FaceSpec("alice", ALICE_BOX))])
    response = await recognize(hass, url=f"{frigate.url}/api/front_door/latest.jpg")
    assert response["matches"][0]["detector"] == "compreface"


async def test_all_detectors_failing_raises(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """When no detector could answer, the action fails with a translated error."""
    await setup_detectors(hass, compreface)
    frigate.set_latest("front_door", [face_world.image()])
    compreface.fail_next(
        503, "<html>Service Unavailable</html>", content_type="text/html"
    )
    with pytest.raises(HomeAssistantError) as err:
        await recognize(hass, url=f"{frigate.url}/api/front_door/latest.jpg")
    assert err.value.translation_key == "detectors_failed"


async def test_url_without_image_raises(
    hass: HomeAssistant, compreface: CompreFaceEmulator, frigate: FrigateEmulator
) -> None:
    """A URL that never gives an image is an error, after all attempts."""
    await setup_detectors(hass, compreface)
    with pytest.raises(HomeAssistantError) as err:
        await recognize(hass, url=f"{frigate.url}/api/no_such_camera/latest.jpg")
    assert err.value.translation_key == "no_image"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({}, "one_source"),
        ({"url": "http://127.0.0.1/a.jpg", "image_path": "/tmp/a.jpg"}, "one_source"),
        ({"image_path": "/etc/passwd"}, "path_not_allowed"),
        ({"frigate_event_id": "123"}, "no_frigate"),
    ],
)
async def test_bad_input(
    hass: HomeAssistant, compreface: CompreFaceEmulator, data: dict, key: str
) -> None:
    """Bad input raises a translated ServiceValidationError and calls no detector."""
    await setup_detectors(hass, compreface)
    with pytest.raises(ServiceValidationError) as err:
        await recognize(hass, **data)
    assert err.value.translation_key == key
    assert not compreface.requests_to("/api/v1/recognition/recognize")


async def test_bad_files(
    hass: HomeAssistant, compreface: CompreFaceEmulator, tmp_path: Path
) -> None:
    """Missing and non-image files are validation errors."""
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    await setup_detectors(hass, compreface)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ServiceValidationError) as err:
        await recognize(hass, image_path=str(tmp_path / "notes.txt"))
    assert err.value.translation_key == "not_an_image"
    with pytest.raises(ServiceValidationError) as err:
        await recognize(hass, image_path=str(tmp_path / "missing.jpg"))
    assert err.value.translation_key == "file_unreadable"


async def test_entry_selection(
    hass: HomeAssistant, compreface: CompreFaceEmulator
) -> None:
    """Without entries, with an unknown id, or with two entries and no id: clear errors."""
    assert await async_setup_component(hass, DOMAIN, {})
    with pytest.raises(ServiceValidationError) as err:
        await recognize(hass, url="http://127.0.0.1/x.jpg")
    assert err.value.translation_key == "service_found_no_config_entry_for_domain"

    await setup_detectors(hass, compreface)
    second = make_entry(frigate_url="http://127.0.0.1:1")
    second.add_to_hass(hass)
    with pytest.raises(ServiceValidationError) as err:
        await recognize(hass, url="http://127.0.0.1/x.jpg", config_entry_id="nope")
    assert err.value.translation_key == "service_config_entry_not_found"
    with pytest.raises(ServiceValidationError) as err:
        await recognize(
            hass, url="http://127.0.0.1/x.jpg", config_entry_id=second.entry_id
        )
    assert err.value.translation_key == "service_config_entry_not_loaded"

    third = make_entry(frigate_url="", detectors=[])
    await setup_entry(hass, third)
    with pytest.raises(ServiceValidationError) as err:
        await recognize(hass, url="http://127.0.0.1/x.jpg")
    assert err.value.translation_key == "service_found_multiple_config_entry_for_domain"
    with pytest.raises(ServiceValidationError) as err:
        await recognize(
            hass, url="http://127.0.0.1/x.jpg", config_entry_id=third.entry_id
        )
    assert err.value.translation_key == "no_detectors"
