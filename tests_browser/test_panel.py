"""Issue 13 item 7: the Double Take panel in a real browser, on real Frigate events.

The module's entry is connected to the Frigate emulator (its URL in the config flow) with
the CompreFace emulator as detector and ``save_unknown`` on; obama is trained from a real
photo. Frigate events go through mosquitto (``frigate_mqtt``) with real photos as their
snapshots, so the faces the panel shows are what the integration recognized:

1. ``test_faces_arrive_live``: the Faces view gets its tiles from the live subscription,
   without a reload (a match, a miss and two unknown faces);
2. ``test_name_an_unknown_face``: a stranger's detail → *This is…* → a new name → the tile
   is a match of that name, and the person is in People;
3. ``test_upload_a_training_image``: People → the person → a photo through the file input
   → it is listed, trained by CompreFace;
4. ``test_delete_a_face``: detail → Delete → confirm: the tile goes, also after a reload;
5. ``test_no_panel_for_other_users``: the non-admin user has no sidebar item, no panel at
   ``/double-take`` and no access to its commands;
6. ``test_detectors_and_train_all``: CompreFace is connected; Train all answers;
7. ``test_screenshots``: docs/screenshots/panel-*.png of every view with this data, at
   1280×800 and 390×844, light and dark.

The tests run in order on one Home Assistant; each one brings what it needs when run alone
(``-k``): the events, the named face.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import io
import re
import shutil
import time
from typing import Any, cast
import urllib.request

from PIL import Image, ImageOps
from playwright.sync_api import Locator, Page, expect
import pytest
from tests.emulators.world import FaceSpec

from .conftest import Hass
from .ha_ui import goto, hass_call, shoot, wait_loaded
from .hass_process import HassError
from .servers import COMPREFACE_KEY, PHOTOS, Emulators, FrigateMqtt, face_photo

DOMAIN = "double_take"
RUN_TIMEOUT = 30_000  # ms: an event's run, from the MQTT message to the tile
TRAINED = "obama"
NEW_NAME = "biden"

# The snapshot of each event: a photo of tests/fixtures/faces/, or "mirrored:" + one,
# registered below with the face and the similarity CompreFace gives it.
MIRRORED = "mirrored:"


@dataclass(frozen=True, slots=True)
class Event:
    """A Frigate event of the scenario and what the integration should make of it."""

    event_id: str
    camera: str
    snapshot: str
    kind: str
    name: str
    similarity: float | None = None
    """For a mirrored photo: the similarity CompreFace gives its face (None: 0.95)."""


MATCH = Event("1760011207.412398-mtch01", "front_door", "obama2.jpg", "match", TRAINED)
STRANGER = Event("1760011300.100000-strn01", "front_door", "biden.jpg", "unknown", "")
MISS = Event(
    "1760011400.200000-miss01", "garden", MIRRORED + "obama2.jpg", "miss", TRAINED, 0.45
)
PASSER_BY = Event(
    "1760011500.300000-pass01", "garden", MIRRORED + "biden.jpg", "unknown", ""
)
EVENTS = (MATCH, STRANGER, MISS, PASSER_BY)


@dataclass
class Scenario:
    """The module's Home Assistant, emulators and entry, and what the tests did."""

    hass: Hass
    emulators: Emulators
    mqtt: FrigateMqtt
    entry_id: str
    published: set[str] = field(default_factory=set)
    recorded: set[str] = field(default_factory=set)

    def ws(self, message_type: str, **fields: Any) -> Any:
        """Send a review API command about the entry, as the owner; its result."""
        return self.hass.api.ws(
            {"type": message_type, "config_entry_id": self.entry_id, **fields}
        )

    def results(self) -> dict[str, dict[str, Any]]:
        """Return the recorded faces by event id (the newest of an event)."""
        rows = self.ws(f"{DOMAIN}/results", limit=200)["results"]
        return {row["event_id"]: row for row in reversed(rows)}

    def result_id(self, event: Event) -> int:
        """Return the id of the face recorded for ``event``."""
        return cast("int", self.results()[event.event_id]["id"])

    def persons(self) -> list[str]:
        """Return the names the People view lists."""
        return [p["name"] for p in self.ws(f"{DOMAIN}/persons")["persons"]]

    def publish(self, event: Event) -> None:
        """Serve the event's snapshot in the Frigate emulator, publish it on mosquitto."""
        self.emulators.set_snapshot(event.event_id, self._snapshot(event))
        self.mqtt.publish_event("new", event.event_id, event.camera)
        self.published.add(event.event_id)

    def _snapshot(self, event: Event) -> bytes:
        if not event.snapshot.startswith(MIRRORED):
            return face_photo(event.snapshot).read_bytes()
        # A real photo, mirrored: another image of the same person, with the face where
        # it is in the mirror image and the similarity the scenario gives it.
        name = event.snapshot.removeprefix(MIRRORED)
        face = PHOTOS[name]
        assert face is not None
        with Image.open(face_photo(name)) as photo:
            mirrored = ImageOps.mirror(photo.convert("RGB"))
            buffer = io.BytesIO()
            mirrored.save(buffer, "JPEG", quality=90)
        left, top, width, height = face.box
        box = (mirrored.width - left - width, top, width, height)
        spec = FaceSpec(face.identity, box, event.similarity or face.similarity)
        data = buffer.getvalue()
        self.emulators.loop.call(lambda: self.emulators.world.register(data, [spec]))
        return data

    def ensure_faces(self) -> None:
        """Publish the events not published yet and wait until their faces are recorded."""
        for event in EVENTS:
            if event.event_id not in self.published:
                self.publish(event)
        # Once recorded, a face may be deleted (test_delete_a_face).
        deadline = time.monotonic() + RUN_TIMEOUT / 1000
        while waiting := self.published - self.recorded - self.results().keys():
            assert time.monotonic() < deadline, f"no face recorded for {waiting}"
            time.sleep(0.25)
        self.recorded |= self.published

    def teach_crop(self, event: Event, name: str) -> None:
        """Tell the CompreFace emulator that the event's face crop shows ``name``.

        The emulators know faces by exact bytes (``FaceWorld``); a real CompreFace finds
        the face in the crop that naming a face trains it with.
        """
        row = self.results()[event.event_id]
        assert row["face_url"], row
        crop = _download(self.hass, row["face_url"])
        with Image.open(io.BytesIO(crop)) as image:
            size = image.size
        spec = FaceSpec(name, (0, 0, *size))
        self.emulators.loop.call(lambda: self.emulators.world.register(crop, [spec]))

    def ensure_named(self) -> None:
        """Make sure the stranger is named NEW_NAME (test_name_an_unknown_face does it)."""
        self.ensure_faces()
        if NEW_NAME in self.persons():
            return
        self.teach_crop(STRANGER, NEW_NAME)
        report = self.ws(
            f"{DOMAIN}/assign", result_id=self.result_id(STRANGER), name=NEW_NAME
        )
        assert not report["failed"], report


def _download(hass: Hass, path: str) -> bytes:
    """GET a (signed) URL of Home Assistant."""
    with urllib.request.urlopen(f"{hass.url}{path}", timeout=10) as answer:  # noqa: S310
        return cast("bytes", answer.read())


# -- the entry -------------------------------------------------------------------------


def _create_entry(hass: Hass, emulators: Emulators) -> str:
    """Add Double Take with the Frigate emulator and CompreFace (the config flow)."""
    result = hass.api.config_flow(
        DOMAIN,
        {"frigate_url": emulators.frigate.url, "verify_ssl": True},
        {"type": "compreface"},
        {"url": emulators.compreface.url, "api_key": COMPREFACE_KEY},
    )
    assert result.get("type") == "create_entry", result
    return cast("str", result["result"]["entry_id"])


def _options_flow(
    hass: Hass, entry_id: str, changes: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Submit the options form (Configure) with ``changes``; (flow id, the answer).

    ``changes`` holds values by section, and ``adjust_camera`` (Camera settings).
    """
    form = hass.api.rest(
        "POST",
        "/api/config/config_entries/options/flow",
        {"handler": entry_id, "show_advanced_options": False},
    )
    assert form.get("type") == "form", form
    answer: dict[str, Any] = {
        field["name"]: {}
        for field in form["data_schema"]
        if field.get("type") == "expandable"  # the sections, not "Camera settings"
    }
    for key, values in changes.items():
        answer[key] = {**answer[key], **values} if key in answer else values
    flow = f"/api/config/config_entries/options/flow/{form['flow_id']}"
    return flow, hass.api.rest("POST", flow, answer)


def _set_options(hass: Hass, entry_id: str, changes: dict[str, dict[str, Any]]) -> None:
    """Submit the options form (Configure) with ``changes`` in their sections."""
    _, done = _options_flow(hass, entry_id, changes)
    assert done.get("type") == "create_entry", done


def _set_camera_settings(
    hass: Hass, entry_id: str, camera: str, values: dict[str, Any]
) -> None:
    """Options → Camera settings ``camera`` → its own ``values`` (empty: none)."""
    flow, step = _options_flow(hass, entry_id, {"adjust_camera": camera})
    assert step.get("step_id") == "camera", step
    done = hass.api.rest("POST", flow, values)
    assert done.get("type") == "create_entry", done


def _train(hass: Hass, name: str, photo: str) -> dict[str, Any]:
    """Perform ``double_take.train`` with a photo of *My media*; its response."""
    shutil.copyfile(face_photo(photo), hass.media_dir / photo)
    answer = hass.api.rest(
        "POST",
        f"/api/services/{DOMAIN}/train?return_response",
        {"name": name, "image_path": [str(hass.media_dir / photo)]},
    )
    return cast("dict[str, Any]", answer["service_response"])


@pytest.fixture(scope="module")
def scenario(hass: Hass, emulators: Emulators, frigate_mqtt: FrigateMqtt) -> Scenario:
    """Set up the entry (Frigate + CompreFace, unknown faces kept), train obama."""
    entry_id = _create_entry(hass, emulators)
    _set_options(
        hass,
        entry_id,
        {
            "storage": {"save_unknown": True},
            # Few attempts, no latest frames: a stranger's run ends in about a second.
            "attempts": {
                "snapshot_attempts": 3,
                "latest_attempts": 0,
                "attempt_delay": 0.2,
            },
        },
    )
    trained = _train(hass, TRAINED, "obama.jpg")
    assert [item["detector"] for item in trained["trained"]] == ["compreface"], trained
    return Scenario(hass, emulators, frigate_mqtt, entry_id)


# -- the panel -------------------------------------------------------------------------


def open_panel(page: Page, view: str = "") -> None:
    """Open the panel by its URL (``view``: faces, people, detectors) and wait for it."""
    goto(page, f"/double-take/{view}" if view else "/double-take")
    expect(page.locator("double-take-panel")).to_be_attached()
    tab = view or "faces"
    expect(page.get_by_test_id(f"tab-{tab}")).to_have_attribute("aria-selected", "true")


def tile(page: Page, result_id: int) -> Locator:
    """Return the Faces view's tile of a recorded face."""
    return page.locator(f'[data-testid="face-tile"][data-id="{result_id}"]')


def expect_images_loaded(locator: Locator) -> None:
    """Wait until every image in ``locator`` is loaded and shows something."""
    expect(locator.first).to_be_visible()
    for image in locator.all():
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("img => img.naturalWidth") > 0, image


def open_face(page: Page, result_id: int) -> Locator:
    """Click a face's tile; returns its detail (the frame loaded, the box on the face)."""
    tile(page, result_id).click()
    detail = page.get_by_test_id("face-detail")
    expect(detail).to_be_visible()
    expect_images_loaded(detail.get_by_test_id("detail-frame"))
    expect(detail.get_by_test_id("detail-box")).to_be_visible()
    return detail


def test_faces_arrive_live(page: Page, scenario: Scenario) -> None:
    """Frigate events → face tiles in the open Faces view, without a reload."""
    assert not scenario.published, "the first test of the module publishes the events"
    # As a person does: the sidebar item.
    page.get_by_role("link", name="Double Take", exact=True).click()
    expect(page.get_by_test_id("tab-faces")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("empty-faces")).to_be_visible()
    expect(page.get_by_test_id("empty-no-frigate")).to_have_count(0)
    expect(page.get_by_test_id("empty-no-detector")).to_have_count(0)
    # A reload would lose this.
    page.evaluate("() => { window.__doubleTakeNotReloaded = true; }")

    tiles = page.get_by_test_id("face-tile")
    for count, event in enumerate(EVENTS, start=1):
        scenario.publish(event)
        expect(tiles).to_have_count(count, timeout=RUN_TIMEOUT)
        newest = tiles.first  # newest first
        expect(newest).to_have_attribute("data-kind", event.kind)
        if event.name:
            expect(newest).to_have_attribute("data-name", event.name)
        expect(newest.get_by_test_id("face-name")).to_have_text(
            event.name if event.kind != "unknown" else "Unknown"
        )
        expect(newest).to_contain_text(event.camera)
    assert page.evaluate("() => window.__doubleTakeNotReloaded === true")

    # Every tile shows its face crop; the history agrees with the tiles.
    expect_images_loaded(page.get_by_test_id("face-grid").locator("img"))
    results = scenario.results()
    for event in EVENTS:
        row = results[event.event_id]
        assert (row["kind"], row["camera"], row["source"]) == (
            event.kind,
            event.camera,
            "frigate",
        ), row
        expect(tile(page, row["id"])).to_have_attribute("data-kind", event.kind)
    assert results[MATCH.event_id]["confidence"] >= 90
    assert 40 <= results[MISS.event_id]["confidence"] < 50

    # The Kind filter asks the server again.
    page.get_by_test_id("filter-kind").select_option("unknown")
    expect(tiles).to_have_count(2)
    page.get_by_test_id("filter-kind").select_option("")
    expect(tiles).to_have_count(len(EVENTS))


def compreface_subjects(scenario: Scenario) -> set[str]:
    """Return the subjects the CompreFace emulator learnt (lower case)."""
    return scenario.emulators.loop.call(
        lambda: {name.lower() for name in scenario.emulators.compreface.subjects}
    )


def test_name_an_unknown_face(page: Page, scenario: Scenario) -> None:
    """A stranger's detail → This is… → a new name: the tile is a match, People has them."""
    scenario.ensure_faces()
    stranger = scenario.result_id(STRANGER)
    scenario.teach_crop(STRANGER, NEW_NAME)
    open_panel(page)
    expect(tile(page, stranger)).to_have_attribute("data-kind", "unknown")

    detail = open_face(page, stranger)
    expect(detail.get_by_test_id("detail-why")).to_contain_text("Unknown")
    expect(detail.get_by_test_id("detection-row")).to_have_count(1)
    detail.get_by_test_id("assign-face").click()
    dialog = page.get_by_test_id("assign-dialog")
    expect(dialog).to_be_visible()
    # The known person is offered; a new name is typed.
    expect(dialog.get_by_test_id("assign-choice")).to_have_attribute(
        "data-name", TRAINED
    )
    expect(dialog.get_by_test_id("assign-submit")).to_be_disabled()
    dialog.get_by_test_id("assign-name").fill(NEW_NAME)
    dialog.get_by_test_id("assign-submit").click()
    expect(dialog).to_have_count(0, timeout=RUN_TIMEOUT)
    expect(page.get_by_test_id("assign-error")).to_have_count(0)

    # The detail and the tile now say who it is, and that you said so (the confidence
    # was the detector's answer before).
    expect(detail).to_contain_text(NEW_NAME)
    expect(detail.locator(".badge.match")).to_be_visible()
    why = detail.get_by_test_id("detail-why")
    expect(why).to_contain_text("A match: you named this face.")
    expect(why).to_contain_text(f"named {NEW_NAME} by you")
    expect(why).not_to_contain_text("by compreface")
    detail.get_by_test_id("detail-close").click()
    expect(detail).to_have_count(0)
    named = tile(page, stranger)
    expect(named).to_have_attribute("data-kind", "match")
    expect(named).to_have_attribute("data-name", NEW_NAME)
    expect(named.get_by_test_id("face-name")).to_have_text(NEW_NAME)
    expect(named.locator(".badge")).to_have_attribute("title", "Named by you")
    expect(named).not_to_contain_text("%")  # not the detector's confidence any more
    row = scenario.results()[STRANGER.event_id]
    assert (row["kind"], row["name"], row["corrected"]) == ("match", NEW_NAME, True)

    # People lists the new person, with the crop as training image.
    page.get_by_test_id("tab-people").click()
    card = page.locator(f'[data-testid="person-card"][data-name="{NEW_NAME}"]')
    expect(card).to_be_visible()
    expect(card).to_contain_text("1 training image")
    expect(card).to_contain_text("compreface")
    expect(
        page.locator(f'[data-testid="person-card"][data-name="{TRAINED}"]')
    ).to_be_visible()
    assert compreface_subjects(scenario) == {TRAINED, NEW_NAME}


def test_upload_a_training_image(page: Page, scenario: Scenario) -> None:
    """People → a person → a photo through the file input: listed and trained."""
    scenario.ensure_named()
    open_panel(page, "people")
    page.locator(f'[data-testid="person-card"][data-name="{NEW_NAME}"]').click()
    expect(page.get_by_test_id("person-name")).to_have_text(NEW_NAME)
    images = page.get_by_test_id("train-image")
    expect(images).to_have_count(1)

    photo = face_photo("biden.jpg")
    with page.expect_response(
        lambda r: f"/api/{DOMAIN}/train/{NEW_NAME}" in r.url
    ) as uploaded:
        page.get_by_test_id("upload-input").set_input_files(photo)
    assert uploaded.value.ok, uploaded.value.status
    # The new photo is learnt; the named face's crop was already.
    expect(page.get_by_test_id("upload-result")).to_have_text(
        "Trained: 1, already known: 1, failed: 0", timeout=RUN_TIMEOUT
    )
    expect(images).to_have_count(2)
    expect(page.get_by_test_id("people-error")).to_have_count(0)
    # Each image shows, and says CompreFace learnt it.
    expect_images_loaded(images.locator("img"))
    for image in images.all():
        expect(image).to_contain_text("compreface")
    files = [image.get_attribute("data-file") for image in images.all()]
    assert any(file and file.endswith(".jpg") for file in files), files

    # Back to the list: two images now.
    page.get_by_test_id("person-back").click()
    card = page.locator(f'[data-testid="person-card"][data-name="{NEW_NAME}"]')
    expect(card).to_contain_text("2 training images")


def test_delete_a_face(page: Page, scenario: Scenario) -> None:
    """A face's detail → Delete → confirm: its tile goes, and stays gone after a reload."""
    scenario.ensure_faces()
    passer_by = scenario.result_id(PASSER_BY)
    open_panel(page)
    tiles = page.get_by_test_id("face-tile")
    expect(tiles).to_have_count(len(EVENTS))

    detail = open_face(page, passer_by)
    detail.get_by_test_id("delete-face").click()
    confirm = page.get_by_test_id("confirm-dialog")
    expect(confirm).to_contain_text("Delete this face?")
    confirm.get_by_test_id("confirm-ok").click()
    expect(confirm).to_have_count(0)
    expect(detail).to_have_count(0)
    expect(tile(page, passer_by)).to_have_count(0)
    expect(tiles).to_have_count(len(EVENTS) - 1)
    assert PASSER_BY.event_id not in scenario.results()

    page.reload()
    wait_loaded(page)
    expect(tiles).to_have_count(len(EVENTS) - 1)
    expect(tile(page, passer_by)).to_have_count(0)


def test_no_panel_for_other_users(user_page: Page, scenario: Scenario) -> None:
    """A user without administrator rights has no Double Take panel nor its commands."""
    sidebar = user_page.locator("ha-sidebar")
    expect(sidebar.get_by_role("link", name="Overview")).to_be_visible()
    expect(sidebar.get_by_role("link", name="Double Take")).to_have_count(0)

    goto(user_page, "/double-take")
    # The frontend has no such panel for this user: it shows its default one instead.
    expect(user_page).to_have_url(re.compile(r"^(?!.*/double-take).*$"))
    expect(user_page.locator("double-take-panel")).to_have_count(0)
    expect(user_page.get_by_test_id("face-grid")).to_have_count(0)
    # Nor may the user's own connection call the panel's and the review API's commands.
    for command in ("info", "results", "persons", "train_all"):
        error = hass_call(
            user_page,
            "try { await hass.callWS(arg); return null; }"
            " catch (err) { return err.code ?? String(err); }",
            {"type": f"{DOMAIN}/{command}"},
        )
        assert error == "unauthorized", (command, error)
    with pytest.raises(HassError, match=r"(?i)unauthorized"):
        scenario.hass.api.ws(
            {"type": f"{DOMAIN}/results"},
            token=scenario.hass.api.login_token(scenario.hass.user),
        )


def test_detectors_and_train_all(page: Page, scenario: Scenario) -> None:
    """Detectors: CompreFace connected, what it learnt; Train all answers per person."""
    scenario.ensure_named()
    open_panel(page, "detectors")
    expect(page.get_by_test_id("frigate-status")).to_have_text("connected")
    card = page.get_by_test_id("detector-card")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-status", "ok")
    expect(card).to_contain_text(f"CompreFace ({scenario.emulators.compreface.url})")
    expect(card.get_by_test_id("detector-status")).to_have_text("connected")
    expect(card.get_by_test_id("detector-error")).to_have_count(0)
    expect(card.get_by_test_id("detector-trained")).to_contain_text(TRAINED)
    expect(card.get_by_test_id("detector-trained")).to_contain_text(NEW_NAME)

    page.get_by_test_id("train-all").click()
    result = page.get_by_test_id("train-all-result")
    expect(result).to_be_visible(timeout=RUN_TIMEOUT)
    expect(result).to_contain_text("people trained")
    text = " ".join(result.inner_text().split())
    assert re.fullmatch(
        r"2 people trained: 0 new images learnt, \d already known, 0 failed\.", text
    ), text
    expect(page.get_by_test_id("train-all-error")).to_have_count(0)
    expect(page.get_by_test_id("train-all")).to_be_enabled()


def still_shoot(page: Page, name: str) -> None:
    """``shoot`` with the mouse out of the way (no hover effect in the pictures)."""
    page.mouse.move(1279, 799)
    shoot(page, name)


def test_screenshots(page: Page, scenario: Scenario) -> None:
    """docs/screenshots/panel-*.png: every view with this module's data."""
    scenario.ensure_named()
    open_panel(page)
    expect_images_loaded(page.get_by_test_id("face-grid").locator("img"))
    still_shoot(page, "panel-faces")

    open_face(page, scenario.result_id(MISS))
    still_shoot(page, "panel-face-detail")
    page.get_by_test_id("detail-close").click()

    page.get_by_test_id("tab-people").click()
    expect_images_loaded(page.get_by_test_id("person-card").locator("img"))
    still_shoot(page, "panel-people")

    page.locator(f'[data-testid="person-card"][data-name="{NEW_NAME}"]').click()
    expect_images_loaded(page.get_by_test_id("train-image").locator("img"))
    still_shoot(page, "panel-person")

    page.get_by_test_id("tab-detectors").click()
    expect(page.get_by_test_id("detector-card")).to_have_count(1)
    still_shoot(page, "panel-detectors")


def test_camera_settings_judge_the_detail(page: Page, scenario: Scenario) -> None:
    """A camera with its own confidence: the detail's checks use it, and say so."""
    _set_camera_settings(scenario.hass, scenario.entry_id, "garden", {"confidence": 60})
    try:
        open_panel(page)
        detail = open_face(page, scenario.result_id(MISS))
        why = detail.get_by_test_id("detail-why")
        expect(why).to_contain_text("confidence 45 % < 60 % (confidence)")
        expect(why).to_contain_text("garden's own settings")
        detail.get_by_test_id("detail-close").click()
        # A camera without settings of its own is judged by the options.
        match = open_face(page, scenario.result_id(MATCH))
        expect(match.get_by_test_id("detail-why")).to_contain_text(
            "≥ 50 % (confidence)"
        )
        expect(match.get_by_test_id("detail-why")).not_to_contain_text("own settings")
    finally:
        _set_camera_settings(scenario.hass, scenario.entry_id, "garden", {})
