"""The sidebar panel: registration, its bundle, and the commands it adds to the review API."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MqttMockHAClient,
    WebSocketGenerator,
)

from custom_components.double_take.const import DOMAIN
from custom_components.double_take.panel import BUNDLE, PANEL_URL_PATH
from homeassistant.components.frontend import DATA_PANELS
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .common import (
    ALICE,
    EVENT_ID,
    FAST,
    event_message,
    fire,
    make_entry,
    setup_detectors,
    setup_entry,
    setup_frigate_entry,
)
from .emulators.compreface import CompreFaceEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceWorld


async def ws(client: Any, **message: Any) -> Any:
    """Send one command and return its result (or raise with its error)."""
    await client.send_json_auto_id(message)
    answer = await client.receive_json()
    if not answer["success"]:
        raise AssertionError(answer["error"])
    return answer["result"]


async def ws_error(client: Any, **message: Any) -> dict[str, Any]:
    """Send one command that must fail; return its error."""
    await client.send_json_auto_id(message)
    answer = await client.receive_json()
    assert not answer["success"], answer
    error: dict[str, Any] = answer["error"]
    return error


def other_entry() -> MockConfigEntry:
    """Build a second entry, without Frigate nor detectors."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Other",
        data=dict(make_entry().data),
        unique_id="other",
    )


def put_train_image(config_dir: Path, name: str, data: bytes, file: str) -> None:
    """Drop a photo into ``double_take/train/<name>/`` as a user would."""
    folder = config_dir / "double_take" / "train" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file).write_bytes(data)


async def test_panel_registered_served_and_removed_with_the_last_entry(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    hass_client: ClientSessionGenerator,
) -> None:
    """An admin panel with a versioned module URL; gone once no entry is loaded."""
    first = await setup_detectors(hass, compreface)
    panel = hass.data[DATA_PANELS][PANEL_URL_PATH]
    assert panel.require_admin is True
    assert (panel.sidebar_title, panel.sidebar_icon) == (
        "Double Take",
        "mdi:face-recognition",
    )
    custom = panel.config["_panel_custom"]
    assert custom["name"] == "double-take-panel"
    assert custom["embed_iframe"] is False
    url: str = custom["module_url"]
    digest = hashlib.sha256(BUNDLE.read_bytes()).hexdigest()[:12]
    assert url == f"/double_take_static/double-take-panel.js?v={digest}"

    web = await hass_client()
    response = await web.get(url)
    assert response.status == 200
    assert await response.read() == BUNDLE.read_bytes()
    assert "javascript" in response.headers["Content-Type"]

    # A second entry shares the panel: it stays until the last entry unloads.
    second = await setup_entry(hass, other_entry())
    assert second.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(first.entry_id)
    assert PANEL_URL_PATH in hass.data[DATA_PANELS]
    assert await hass.config_entries.async_unload(second.entry_id)
    assert PANEL_URL_PATH not in hass.data[DATA_PANELS]

    # Set up again (the static path is not registered twice): the panel is back.
    await hass.config_entries.async_setup(first.entry_id)
    await hass.async_block_till_done()
    assert PANEL_URL_PATH in hass.data[DATA_PANELS]
    assert (await web.get(url)).status == 200


async def test_bundle_is_one_small_module() -> None:
    """The committed bundle is one ES module defining the panel, under 100 kB."""
    data = BUNDLE.read_bytes()
    assert 1000 < len(data) < 100_000
    assert b"double-take-panel" in data
    assert b"customElements" in data


async def test_info_describes_entry_frigate_cameras_and_detectors(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    hass_ws_client: WebSocketGenerator,
    config_dir: Path,
) -> None:
    """Entries, Frigate, options, cameras (Frigate's and recorded) and detector health."""
    entry = await setup_frigate_entry(
        hass,
        frigate,
        compreface,
        known=("alice",),
        options={**FAST, "camera_overrides": {"front_door": {"confidence": 80}}},
    )
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    frigate.set_latest("backyard", [404])
    await fire(hass, event_message(camera="backyard"))
    client = await hass_ws_client(hass)

    info = await ws(client, type="double_take/info")
    assert info["config_entry_id"] == entry.entry_id
    assert info["entries"] == [
        {"config_entry_id": entry.entry_id, "title": entry.title}
    ]
    assert info["frigate"] is True
    assert info["frigate_available"] is True
    assert info["save_unknown"] is False
    assert info["rules"] == {
        "confidence": 50,
        "unknown_confidence": 40,
        "min_face_area": 10000,
    }
    # front_door has its own confidence (Camera settings); backyard uses the options.
    assert info["camera_rules"] == {
        "front_door": {
            "confidence": 80,
            "unknown_confidence": 40,
            "min_face_area": 10000,
        }
    }
    assert "front_door" in info["cameras"]
    assert "backyard" in info["cameras"]
    [detector] = info["detectors"]
    assert detector["kind"] == "compreface"
    assert detector["status"] == "ok"
    assert detector["checked"] is True
    assert (detector["failing_since"], detector["last_error"]) == (None, None)
    assert detector["trained"] == []

    # Trained through Double Take: the detector lists the person.
    put_train_image(config_dir, "alice", face_world.image(ALICE), "1.jpg")
    trained = await ws(client, type="double_take/train_all")
    assert [report["name"] for report in trained["results"]] == ["alice"]
    data = entry.runtime_data
    handle = data.detectors[0]
    data.health.report(handle.id, "connection refused")
    info = await ws(client, type="double_take/info", config_entry_id=entry.entry_id)
    [detector] = info["detectors"]
    assert detector["trained"] == ["alice"]
    assert detector["trained_images"] == 1
    assert detector["status"] == "failing"
    assert detector["last_error"] == "connection refused"
    assert detector["failing_since"] is not None
    assert detector["last_activity"] is not None


async def test_info_without_frigate_and_with_several_entries(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """No Frigate: no cameras; several entries: the first is described, all are listed."""
    first = await setup_detectors(hass, compreface, options={"save_unknown": True})
    second = await setup_entry(hass, other_entry())
    client = await hass_ws_client(hass)

    info = await ws(client, type="double_take/info")
    assert info["config_entry_id"] == first.entry_id
    assert [e["config_entry_id"] for e in info["entries"]] == [
        first.entry_id,
        second.entry_id,
    ]
    assert (info["frigate"], info["frigate_available"]) == (False, False)
    assert info["save_unknown"] is True
    assert info["cameras"] == []

    other = await ws(client, type="double_take/info", config_entry_id=second.entry_id)
    assert other["detectors"] == []
    error = await ws_error(
        client, type="double_take/train_all", config_entry_id=second.entry_id
    )
    assert error["translation_key"] == "no_detectors"


async def test_train_all_trains_every_person_folder(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    hass_ws_client: WebSocketGenerator,
    config_dir: Path,
) -> None:
    """Each folder of train/ is trained like the train action; failures are listed."""
    await setup_detectors(hass, compreface)
    put_train_image(config_dir, "alice", face_world.image(ALICE), "1.jpg")
    put_train_image(config_dir, "Carol", face_world.image(ALICE), "c.jpg")
    put_train_image(config_dir, "empty", b"not an image", "x.jpg")
    client = await hass_ws_client(hass)

    answer = await ws(client, type="double_take/train_all")
    assert sorted(report["name"] for report in answer["results"]) == ["Carol", "alice"]
    assert all(len(report["trained"]) == 1 for report in answer["results"])
    assert [failure["name"] for failure in answer["failed"]] == ["empty"]
    assert answer["failed"][0]["error"]
    added = [
        request
        for request in compreface.requests
        if request.method == "POST" and request.path.endswith("/recognition/faces")
    ]
    assert sorted(request.query["subject"] for request in added) == ["Carol", "alice"]

    # Again: nothing new, everything skipped, no detector call.
    answer = await ws(client, type="double_take/train_all")
    assert all(
        not report["trained"] and report["skipped"] for report in answer["results"]
    )
    assert (
        len(
            [
                request
                for request in compreface.requests
                if request.method == "POST"
                and request.path.endswith("/recognition/faces")
            ]
        )
        == 2
    )


async def test_remove_person_forgets_and_deletes_training_images(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    hass_ws_client: WebSocketGenerator,
    config_dir: Path,
) -> None:
    """Like the remove action; with delete_images the folder and the person go too."""
    entry = await setup_detectors(hass, compreface)
    put_train_image(config_dir, "alice", face_world.image(ALICE), "1.jpg")
    put_train_image(config_dir, "bob", face_world.image(ALICE), "1.jpg")
    client = await hass_ws_client(hass)
    await ws(client, type="double_take/train_all")

    # Without delete_images: the detectors forget, the files and the person stay.
    answer = await ws(client, type="double_take/remove_person", name="bob")
    assert answer == {
        "name": "bob",
        "removed": ["compreface"],
        "failed": [],
        "deleted_images": 0,
    }
    assert (config_dir / "double_take" / "train" / "bob" / "1.jpg").exists()
    assert "bob" in entry.runtime_data.persons.names

    answer = await ws(
        client, type="double_take/remove_person", name="ALICE", delete_images=True
    )
    assert answer == {
        "name": "alice",
        "removed": ["compreface"],
        "failed": [],
        "deleted_images": 1,
    }
    assert not (config_dir / "double_take" / "train" / "alice").exists()
    assert "alice" not in entry.runtime_data.persons.names
    assert "alice" not in compreface.subjects
    assert [
        request.query["subject"]
        for request in compreface.requests
        if request.method == "DELETE"
    ] == ["bob", "alice"]
    persons = await ws(client, type="double_take/persons")
    assert [person["name"] for person in persons["persons"]] == ["bob"]

    # A person known only to a detector has no folder: nothing to delete.
    entry.runtime_data.persons.async_add("dave")
    answer = await ws(
        client, type="double_take/remove_person", name="dave", delete_images=True
    )
    assert answer["deleted_images"] == 0
    assert "dave" not in entry.runtime_data.persons.names

    error = await ws_error(client, type="double_take/remove_person", name="../x")
    assert error["translation_key"] == "invalid_name"


async def test_remove_person_keeps_images_when_a_detector_failed(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    hass_ws_client: WebSocketGenerator,
    config_dir: Path,
) -> None:
    """A detector that cannot forget: the remove action's error, the images stay."""
    await setup_detectors(hass, compreface)
    put_train_image(config_dir, "alice", face_world.image(ALICE), "1.jpg")
    client = await hass_ws_client(hass)
    await ws(client, type="double_take/train_all")
    await compreface.stop()
    error = await ws_error(
        client, type="double_take/remove_person", name="alice", delete_images=True
    )
    assert error["translation_key"] == "remove_failed"
    assert (config_dir / "double_take" / "train" / "alice" / "1.jpg").exists()


async def test_commands_are_for_admins_only(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    """info, train_all and remove_person refuse a non-admin user."""
    await setup_detectors(hass, compreface)
    client = await hass_ws_client(hass, hass_read_only_access_token)
    for message in (
        {"type": "double_take/info"},
        {"type": "double_take/train_all"},
        {"type": "double_take/remove_person", "name": "alice"},
    ):
        error = await ws_error(client, **message)
        assert error["code"] == "unauthorized"
