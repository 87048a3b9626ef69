"""Camera sources in a real browser: what a user without Frigate does.

The module's Home Assistant has an ``input_boolean`` from YAML (``hass_configuration``)
and a Local file camera (its config flow) showing a photo of obama; the Double Take entry
has no Frigate and the CompreFace emulator as detector, obama trained from another photo.

``test_add_camera``: the entry's page → *Add camera* → the form filled in (the camera, the
input boolean as trigger, fewer snapshots) → docs/screenshots/add-camera.png (1280×800,
light) → Submit; the camera source is listed, and the camera's device page shows its
person count (0), recognition switch and event entity. The input boolean is then turned
on (REST API, as an automation or a person sensor would); the device page shows the
person count 1 and the event *Match*, and obama's device page shows the camera.
"""

from __future__ import annotations

import re
import shutil
import time
from typing import Any, cast

from playwright.sync_api import Locator, Page, expect
import pytest

from .conftest import Hass
from .ha_ui import TIMEOUT, dialog, expect_dialog, goto, open_integration, shoot
from .servers import COMPREFACE_KEY, Emulators, face_photo

DOMAIN = "double_take"
TRIGGER = "input_boolean.porch_person"
TRIGGER_NAME = "Porch person"
CAMERA = "camera.porch"
CAMERA_NAME = "Porch"
SOURCE = "porch"  # the camera's name in Double Take: the entity id without "camera."
TRAINED = "obama"
CAMERA_PHOTO = "obama2.jpg"  # what the camera shows (the emulators know it is obama)
RUN_TIMEOUT = 30_000  # ms: from the trigger to the result


@pytest.fixture(scope="module")
def hass_configuration() -> dict[str, Any]:
    """Add the trigger: an input boolean from YAML."""
    return {"input_boolean": {"porch_person": {"name": TRIGGER_NAME}}}


def _create_entry(hass: Hass, emulators: Emulators) -> str:
    """Add Double Take without Frigate, with CompreFace (the config flow's REST API)."""
    result = hass.api.config_flow(
        DOMAIN,
        {"frigate_url": "", "verify_ssl": True},
        {"type": "compreface"},
        {"url": emulators.compreface.url, "api_key": COMPREFACE_KEY},
    )
    assert result.get("type") == "create_entry", result
    return cast("str", result["result"]["entry_id"])


def _train(hass: Hass, name: str, photo: str) -> dict[str, Any]:
    """Perform ``double_take.train`` with a photo of *My media*; its response."""
    shutil.copyfile(face_photo(photo), hass.media_dir / photo)
    answer = hass.api.rest(
        "POST",
        f"/api/services/{DOMAIN}/train?return_response",
        {"name": name, "image_path": [str(hass.media_dir / photo)]},
    )
    return cast("dict[str, Any]", answer["service_response"])


def _add_local_file_camera(hass: Hass, name: str, photo: str) -> None:
    """Add a Local file camera showing ``photo`` (a file of *My media*, allowed)."""
    path = hass.media_dir / f"camera-{photo}"
    shutil.copyfile(face_photo(photo), path)
    result = hass.api.config_flow("local_file", {"name": name, "file_path": str(path)})
    assert result.get("type") == "create_entry", result
    deadline = time.monotonic() + 10
    while hass.api.rest("GET", f"/api/states/{CAMERA}", expect=None).get("state") in (
        None,
        "unavailable",
    ):
        assert time.monotonic() < deadline, f"{CAMERA} did not appear"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def entry_id(hass: Hass, emulators: Emulators) -> str:
    """Add the camera and the entry (no Frigate, CompreFace); train obama."""
    _add_local_file_camera(hass, CAMERA_NAME, CAMERA_PHOTO)
    entry = _create_entry(hass, emulators)
    trained = _train(hass, TRAINED, "obama.jpg")
    assert [item["detector"] for item in trained["trained"]] == ["compreface"], trained
    return entry


def row(page: Page, kind: str, name: str) -> Locator:
    """Return the entity row ``hui-KIND-entity-row`` of a device page named ``name``."""
    return page.locator(f"hui-{kind}-entity-row").filter(
        has=page.get_by_text(name, exact=True)
    )


def expect_state(
    entity_row: Locator, name: str, state: str, timeout: float = TIMEOUT
) -> None:
    """Wait until ``entity_row`` (of the entity ``name``) shows ``state``.

    The row's text is the state (slotted, possibly after a time) then the name.
    """
    expect(entity_row.locator("hui-generic-entity-row")).to_have_text(
        re.compile(
            rf"^\s*(?:\S.*\s)?{re.escape(state)}\s+{re.escape(name)}\s*$", re.DOTALL
        ),
        timeout=timeout,
    )


def pick_entity(form: Locator, label: str, name: str) -> None:
    """In the entity picker ``label`` of ``form``: search ``name``, pick it."""
    form.locator(f"ha-picker-field[aria-label='{label}']").click()
    popover = form.page.locator("wa-popover[open]")
    popover.get_by_role("textbox").fill(name)
    popover.get_by_text(name, exact=True).click()
    expect(popover).to_have_count(0)
    expect(form.locator(f"ha-picker-field[aria-label='{label}']")).to_contain_text(name)


def test_add_camera(page: Page, hass: Hass, entry_id: str) -> None:
    """Add camera → the form → Submit; the trigger turns on → the camera's results."""
    open_integration(page)
    page.get_by_role("button", name="Add camera").click()
    form = expect_dialog(page, "Camera")
    pick_entity(form, "Camera", CAMERA_NAME)
    pick_entity(form, "Trigger", TRIGGER_NAME)
    form.get_by_role("spinbutton", name="Snapshots per run").fill("2")
    form.get_by_role("spinbutton", name="Delay between snapshots").fill("0.5")
    form.get_by_role("spinbutton", name="Delay between snapshots").blur()
    page.mouse.move(0, 0)  # no hover effect on the screenshot
    shoot(page, "add-camera", phone=False, dark=False)
    form.get_by_role("button", name="Submit").click()
    done = expect_dialog(page, "Success")
    done.get_by_role("button", name="Finish").click()
    expect(dialog(page)).to_have_count(0)
    # (The page re-renders while the entry reloads with the camera: the subentry is
    # checked through the API, the camera's device in the browser below.)
    subentries = hass.api.ws(
        {"type": "config_entries/subentries/list", "entry_id": entry_id}
    )
    cameras = [sub for sub in subentries if sub["subentry_type"] == "camera"]
    assert [sub["title"] for sub in cameras] == [SOURCE], subentries

    # The camera's device and its entities appear (the entry reloads with the source):
    # the person count (0), the recognition switch (on), the event entity.
    device = _wait_for_device(hass, f"Double Take {SOURCE}")
    goto(page, f"/config/devices/device/{device}")
    expect(page.get_by_text("Camera", exact=True).first).to_be_visible()
    count = row(page, "sensor", f"Double Take {SOURCE}")
    expect_state(count, f"Double Take {SOURCE}", "0")
    switch = row(page, "toggle", "Recognition")
    expect(switch.get_by_role("switch")).to_be_checked()
    event = row(page, "event", f"Double Take {SOURCE}")
    expect(event).to_be_visible()

    # Someone is at the porch: the trigger turns on (as an automation or a person
    # sensor would), the run takes the camera's snapshot, CompreFace knows obama.
    hass.api.rest("POST", "/api/services/input_boolean/turn_on", {"entity_id": TRIGGER})
    expect_state(count, f"Double Take {SOURCE}", "1", timeout=RUN_TIMEOUT)
    expect_state(event, f"Double Take {SOURCE}", "Match")
    counted = hass.api.rest("GET", f"/api/states/sensor.double_take_{SOURCE}")
    assert counted["attributes"]["matches"] == [TRAINED], counted
    fired = hass.api.rest("GET", f"/api/states/event.double_take_{SOURCE}")
    assert (fired["attributes"]["event_type"], fired["attributes"]["name"]) == (
        "match",
        TRAINED,
    ), fired

    # obama's sensor names the camera (the match's camera), with the match's source.
    person = _wait_for_device(hass, f"Double Take {TRAINED}")
    goto(page, f"/config/devices/device/{person}")
    last_camera = row(page, "sensor", f"Double Take {TRAINED}")
    expect_state(last_camera, f"Double Take {TRAINED}", SOURCE)
    matched = hass.api.rest("GET", f"/api/states/sensor.double_take_{TRAINED}")
    assert matched["state"] == SOURCE, matched
    assert matched["attributes"]["type"] == "camera", matched
    assert matched["attributes"]["detector"] == "compreface", matched


def _wait_for_device(hass: Hass, name: str) -> str:
    """Return the id of the device ``name`` once the device registry has it."""
    deadline = time.monotonic() + 15
    while True:
        for device in hass.api.ws({"type": "config/device_registry/list"}):
            if device["name"] == name:
                return cast("str", device["id"])
        assert time.monotonic() < deadline, f"no device {name}"
        time.sleep(0.2)
