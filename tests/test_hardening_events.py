"""Hardening II (issue 11): events, payloads, actions, training and storage.

Each test names the item of the issue it covers and fails on the code before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import dataclasses
import json
import logging
import math
import os
from pathlib import Path
import re
import struct
import time
from typing import Any
import unicodedata
from unittest.mock import patch
import zlib

from hypothesis import given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
    mock_restore_cache,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.double_take import training as training_module
from custom_components.double_take.api.events import (
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_ZONES,
    EventRejected,
    parse_event,
)
from custom_components.double_take.const import (
    DOMAIN,
    EVENT_MATCH,
    EVENT_RESULT,
    EVENT_UNKNOWN,
)
from custom_components.double_take.index import PersonIndex
from custom_components.double_take.intake import EventIntake
from custom_components.double_take.persons import PersonRegistry
from custom_components.double_take.publish import MAX_LISTED_UNKNOWNS
from custom_components.double_take.result import RecognitionResult
from custom_components.double_take.storage import (
    InvalidNameError,
    MediaStore,
    TrainFile,
    validate_name,
)
from homeassistant.auth.models import User
from homeassistant.components.camera import Image as CameraImage
from homeassistant.const import STATE_OFF
from homeassistant.core import Context, HomeAssistant, State
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
)

from .common import (
    ALICE,
    EVENT_ID,
    FAST,
    event_message,
    fire,
    published,
    setup_detectors,
    setup_frigate_entry,
)
from .emulators.compreface import CompreFaceEmulator
from .emulators.deepstack import DeepStackEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec, FaceWorld

LOGGER = "custom_components.double_take"
SNAPSHOT = f"/api/events/{EVENT_ID}/snapshot.jpg"
FACES = "/api/v1/recognition/faces"
REGISTER = "/v1/vision/face/register"
FRIGATE_ID = re.compile(r"[0-9]+\.[0-9]+-[a-z0-9]+")


@pytest.fixture
async def entry(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
) -> MockConfigEntry:
    """Set up an entry on the Frigate emulator whose CompreFace knows alice and bob."""
    return await setup_frigate_entry(hass, frigate, compreface)


async def call(
    hass: HomeAssistant, service: str, user: User | None = None, **data: Any
) -> Any:
    """Call a Double Take action (as ``user`` when given) and return its response."""
    return await hass.services.async_call(
        DOMAIN,
        service,
        data,
        blocking=True,
        return_response=True,
        context=Context(user_id=user.id) if user else None,
    )


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """Make a valid PNG of a few kB whose header claims ``width``×``height``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * (1 + width * 3)))
        + chunk(b"IEND", b"")
    )


def train_dir(hass: HomeAssistant, name: str) -> Path:
    """``<config>/double_take/train/<name>``."""
    return Path(hass.config.path("double_take", "train", name))


def rows(response: dict[str, Any]) -> list[dict[str, str]]:
    """Every row of a train response."""
    return response["trained"] + response["skipped"] + response["failed"]


# -- 2: unknown faces listed in payloads are capped, counts stay exact -----------------

STRANGERS = 30
STRANGER = {
    "box": {"x_min": 200, "y_min": 100, "x_max": 350, "y_max": 280, "probability": 1},
    "subjects": [{"subject": "mallory", "similarity": 0.1}],
}


async def test_unknowns_listed_in_payloads_are_capped(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """30 unknown faces: events, MQTT and the action list 20; every count says 30.

    Before: every unknown face was listed in the result event and both MQTT payloads
    (1.4 million for a 4 MB detector answer).
    """
    frigate.set_snapshot(EVENT_ID, [face_world.image()])
    frigate.set_latest("front_door", [404])
    compreface.fail_next(200, {"result": [STRANGER] * STRANGERS})
    results = async_capture_events(hass, EVENT_RESULT)
    unknowns = async_capture_events(hass, EVENT_UNKNOWN)

    await fire(hass, event_message())

    (result,) = results
    assert len(result.data["unknowns"]) == MAX_LISTED_UNKNOWNS
    assert result.data["counts"]["unknown"] == STRANGERS
    assert unknowns[0].data["count"] == STRANGERS
    messages = published(mqtt)
    (unknown,) = messages["double-take/matches/unknown"]
    assert len(unknown["unknowns"]) == MAX_LISTED_UNKNOWNS
    (camera,) = messages["double-take/cameras/front_door"]
    assert len(camera["unknowns"]) == MAX_LISTED_UNKNOWNS
    assert camera["counts"]["unknown"] == STRANGERS

    # The recognize action's response, too.
    frigate.set_latest("garden", [face_world.image()])
    compreface.fail_next(200, {"result": [STRANGER] * STRANGERS})
    response = await call(hass, "recognize", url=f"{frigate.url}/api/garden/latest.jpg")
    assert len(response["unknowns"]) == MAX_LISTED_UNKNOWNS
    assert response["counts"]["unknown"] == STRANGERS


# -- 4: every training image is checked like a recognition image ----------------------


async def test_train_folder_bomb_is_never_sent(
    hass: HomeAssistant, compreface: CompreFaceEmulator, face_world: FaceWorld
) -> None:
    """A 20000×20000 PNG of zeros in train/alice/ is left out; the good photo trains.

    Before: ``train_files`` only checked the signature, so the bomb went to every
    detector on every train call.
    """
    await setup_detectors(hass, compreface)
    folder = train_dir(hass, "alice")
    folder.mkdir(parents=True)
    (folder / "bomb.png").write_bytes(png_bomb())
    (folder / "photo.jpg").write_bytes(face_world.image(ALICE))

    response = await call(hass, "train", name="alice")

    assert [row["file"] for row in rows(response)] == ["train/alice/photo.jpg"]
    assert len(compreface.requests_to(FACES, "POST")) == 1


async def test_train_sources_refuse_bombs(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    frigate: FrigateEmulator,
    tmp_path: Path,
) -> None:
    """URL, camera and file sources of the train action refuse the bomb; nothing is saved."""
    await setup_detectors(hass, compreface)
    bomb = png_bomb()
    frigate.set_latest("front_door", [bomb])
    with pytest.raises(HomeAssistantError) as err:
        await call(
            hass, "train", name="alice", url=f"{frigate.url}/api/front_door/latest.jpg"
        )
    assert err.value.translation_key == "fetch_failed"
    assert "decompression bomb" in err.value.translation_placeholders["error"]

    with (
        patch(
            "custom_components.double_take.sources.async_get_image",
            return_value=CameraImage("image/png", bomb),
        ),
        pytest.raises(HomeAssistantError) as err,
    ):
        await call(hass, "train", name="alice", camera_entity_id="camera.porch")
    assert err.value.translation_key == "fetch_failed"

    hass.config.allowlist_external_dirs = {str(tmp_path)}
    (tmp_path / "bomb.png").write_bytes(bomb)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "train", name="alice", image_path=str(tmp_path / "bomb.png"))
    assert err.value.translation_key == "file_unreadable"
    assert not train_dir(hass, "alice").exists()
    assert compreface.requests_to(FACES, "POST") == []


# -- 6: retained messages, event ids and camera names ---------------------------------


async def test_retained_event_message_is_skipped(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A retained ``frigate/events`` message is a replay: debug line, no run.

    Before: it was processed, firing ``double_take_match`` at every start and reconnect.
    """
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    matches = async_capture_events(hass, EVENT_MATCH)

    async_fire_mqtt_message(hass, "frigate/events", event_message(), retain=True)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert matches == []
    assert frigate.requests_to(SNAPSHOT) == []
    assert "Ignoring retained message on frigate/events" in caplog.text

    await fire(hass, event_message())  # the same message, live
    assert [m.data["name"] for m in matches] == ["alice"]


@pytest.mark.parametrize(
    ("event_id", "camera"),
    [
        ("x" * 250_000, "front_door"),  # 2048 of these kept ~500 MB in the tracker
        ("next-event", "front_door"),
        ("1760011207.412398-K3W9QZ", "front_door"),
        ("1" * 60 + ".1-abc", "front_door"),  # matches the pattern, longer than 64
        (EVENT_ID, "c" * 65),
        (EVENT_ID, "front_door/#"),
        (EVENT_ID, "front+door"),
        (EVENT_ID, "front\x00door"),
    ],
    ids=["huge", "no_time", "upper", "long", "long_camera", "wildcard", "plus", "nul"],
)
async def test_not_frigate_ids_or_cameras_are_rejected(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    event_id: str,
    camera: str,
) -> None:
    """Ids that are not Frigate's, long ids, and unusable camera names: not run, not kept.

    Before: any non-empty id and camera was accepted and remembered by the tracker.
    """
    frigate.set_snapshot(event_id, [face_world.image(ALICE)])
    with pytest.raises(EventRejected):
        parse_event(event_message(event_id=event_id, camera=camera))
    await fire(hass, event_message(event_id=event_id, camera=camera))
    assert not [r for r in frigate.requests if r.path.endswith(".jpg")]
    intake = entry.runtime_data.intake
    assert intake is not None
    assert len(intake.tracker) == 0


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False)
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
NAME_CHARS = st.characters(codec="utf-8") | st.sampled_from("+#/\x00\x1f\x7f\x85 ")
IDS = (
    st.from_regex(FRIGATE_ID, fullmatch=True)
    | st.text(NAME_CHARS, max_size=80)
    | st.integers(1, 200).map(lambda n: "1" * n + ".2-abc")
    | JSON
)
CAMERAS = (
    st.from_regex(r"[a-z_]{1,70}", fullmatch=True)
    | st.text(NAME_CHARS, max_size=80)
    | JSON
)
ZONES = st.lists(st.text(NAME_CHARS, max_size=70) | JSON, max_size=40) | JSON
AREAS = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-(10**20), max_value=10**20)
    | JSON
)
STATE = st.fixed_dictionaries(
    {},
    optional={
        "id": IDS,
        "camera": CAMERAS,
        "label": st.sampled_from(["person", "car", "x" * 100]) | JSON,
        "false_positive": st.booleans() | JSON,
        "area": AREAS,
        "current_zones": ZONES,
    },
)
MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["new", "update", "end", "n" * 100]) | JSON,
        "before": STATE | JSON,
        "after": STATE | JSON,
    },
)


@settings(max_examples=500, deadline=None)
@given(message=MESSAGE | JSON)
def test_mqtt_payloads_parse_within_bounds(message: Any) -> None:
    """Any payload: EventRejected, or an event within every bound.

    Bounds: a Frigate id of at most 64 characters, a camera name of at most 64 without
    MQTT wildcards, separators or control characters, at most 32 zones of at most 64
    characters, short type and label, a finite area.
    """
    raw = json.dumps(message)
    try:
        event = parse_event(raw)
    except EventRejected:
        return
    assert len(event.id) <= MAX_ID_LENGTH
    assert FRIGATE_ID.fullmatch(event.id)
    assert 0 < len(event.camera) <= MAX_NAME_LENGTH
    assert not re.search(r"[+#/\x00-\x1f\x7f-\x9f]", event.camera)
    assert len(event.current_zones) <= MAX_ZONES
    assert all(
        isinstance(zone, str) and len(zone) <= MAX_NAME_LENGTH
        for zone in event.current_zones
    )
    assert len(event.type) <= MAX_NAME_LENGTH
    assert len(event.label) <= MAX_NAME_LENGTH
    assert event.area is None or math.isfinite(event.area)


@settings(max_examples=200, deadline=None)
@given(
    event_id=st.from_regex(r"[0-9]{1,20}\.[0-9]{1,20}-[a-z0-9]{1,20}", fullmatch=True),
    camera=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    kind=st.sampled_from(["new", "update", "end"]),
)
def test_frigate_events_are_accepted(event_id: str, camera: str, kind: str) -> None:
    """Every id and camera name Frigate uses passes."""
    event = parse_event(event_message(kind, event_id=event_id, camera=camera))
    assert (event.id, event.camera, event.type) == (event_id, camera, kind)


# -- 8: train, remove and purge are admin actions --------------------------------------


async def test_admin_actions_refuse_other_users(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    hass_admin_user: User,
    hass_read_only_user: User,
) -> None:
    """A non-admin user may recognize, not train, remove or purge; an admin may.

    Before: any user who could call actions could teach the system their face as alice.
    """
    await setup_detectors(hass, compreface)
    folder = train_dir(hass, "alice")
    folder.mkdir(parents=True)
    (folder / "photo.jpg").write_bytes(face_world.image(ALICE))
    for service, data in (
        ("train", {"name": "alice"}),
        ("remove", {"name": "alice"}),
        ("purge", {}),
        ("evaluate", {}),
    ):
        with pytest.raises(Unauthorized):
            await call(hass, service, hass_read_only_user, **data)
    assert compreface.subjects == {}

    response = await call(hass, "train", hass_admin_user, name="alice")
    assert len(response["trained"]) == 1
    assert await call(hass, "purge", hass_admin_user) == {
        "matches": 0,
        "unknown": 0,
        "history": 0,
    }
    frigate.set_latest("front_door", [face_world.image(ALICE)])
    response = await call(
        hass,
        "recognize",
        hass_read_only_user,
        url=f"{frigate.url}/api/front_door/latest.jpg",
    )
    assert [match["name"] for match in response["matches"]] == ["alice"]
    assert (await call(hass, "remove", hass_admin_user, name="alice"))["removed"]


# -- 9: an update that arrives during its event's run is remembered -------------------


async def test_update_during_a_run_runs_next(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """The first run sees no face; the update that came during it runs next and matches.

    Before: the update was dropped ("a run is in progress") and, nothing following, the
    face was never checked.
    """
    blank = face_world.image()
    frigate.set_snapshot(EVENT_ID, [blank, blank, blank, face_world.image(ALICE)])
    frigate.set_latest("front_door", [404])
    matches = async_capture_events(hass, EVENT_MATCH)

    await fire(hass, event_message("new"), event_message("update"))

    assert [m.data["name"] for m in matches] == ["alice"]
    assert len(frigate.requests_to(SNAPSHOT)) == 4  # three, then one that matched


async def test_update_during_a_matching_run_does_not_run(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """A run that matches: the update remembered during it is not run."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    frigate.set_latest("front_door", [404])
    results = async_capture_events(hass, EVENT_RESULT)
    await fire(hass, event_message("new"), *[event_message("update")] * 5)
    assert len(results) == 1


# -- 10: the recent results keep no image bytes ----------------------------------------


def _bytes_in(value: Any, seen: set[int] | None = None) -> Iterator[bytes]:
    """Every non-empty bytes object reachable from ``value`` (dataclasses, containers)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, bytes | bytearray | memoryview):
        if len(value):
            yield bytes(value[:8])
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from _bytes_in(getattr(value, item.name), seen)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _bytes_in(item, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _bytes_in(item, seen)


async def test_recent_results_keep_no_images(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """After events with matches and unknowns, the kept results reference no image.

    Before: each kept result held every analyzed image (``analyzed``) and each hit its
    image: ~30 MB for 20 results with the defaults.
    """
    frigate.set_snapshot(
        EVENT_ID, [face_world.image(ALICE, FaceSpec("mallory", (10, 10, 80, 80)))]
    )
    frigate.set_latest("front_door", [face_world.image()])
    await fire(hass, event_message())

    recent = list(entry.runtime_data.publisher.recent_results)
    assert len(recent) == 1
    result = recent[0]
    assert isinstance(result, RecognitionResult)
    assert [hit.name for hit in result.matches] == ["alice"]
    assert result.unknowns
    assert list(_bytes_in(recent)) == []
    # What diagnostics shows is still there.
    assert result.as_dict()["matches"][0]["image"].startswith("matches/alice/")


# -- 11: image_path is checked in the executor; a NUL byte is a clear error -----------


async def test_allowlist_check_runs_in_the_executor(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``is_allowed_path`` (blocking I/O) is not called in the event loop.

    Before: ``async_read_image_file`` called it in the event loop.
    """
    await setup_detectors(hass, compreface)
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    (tmp_path / "visitor.jpg").write_bytes(face_world.image(ALICE))
    in_loop: list[bool] = []
    original = hass.config.is_allowed_path

    def spy(path: str) -> bool:
        in_loop.append(asyncio._get_running_loop() is not None)
        return original(path)

    monkeypatch.setattr(hass.config, "is_allowed_path", spy)
    await call(hass, "recognize", image_path=str(tmp_path / "visitor.jpg"))
    assert in_loop == [False]


@pytest.mark.parametrize("service", ["recognize", "train"])
@pytest.mark.parametrize(
    "relative", ["a\x00b.jpg", "a\x00b/c.jpg"], ids=["file", "dir"]
)
async def test_nul_byte_in_image_path(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    tmp_path: Path,
    service: str,
    relative: str,
) -> None:
    """A NUL byte in ``image_path``: a translated validation error, not a ValueError.

    Before: ``ValueError: embedded null byte`` (from the allowlist check or the read)
    escaped ``except OSError`` as an unexpected error.
    """
    await setup_detectors(hass, compreface)
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    data = {"name": "alice"} if service == "train" else {}
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, image_path=f"{tmp_path}/{relative}", **data)
    assert err.value.translation_key in {"file_unreadable", "path_not_allowed"}
    assert "\x00" not in err.value.translation_placeholders["path"]


# -- Low: switches restored before the subscription ------------------------------------


async def test_switched_off_camera_is_skipped_from_the_first_message(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """An event arriving as soon as the entry subscribes, for a camera switched off.

    Before: the subscription came before the switches restored their state, so such an
    event ran.
    """
    mock_restore_cache(
        hass, [State("switch.double_take_front_door_recognition", STATE_OFF)]
    )
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    subscribe = EventIntake.async_subscribe

    async def subscribe_and_receive(self: EventIntake) -> Any:
        unsubscribe = await subscribe(self)
        async_fire_mqtt_message(hass, "frigate/events", event_message())
        return unsubscribe

    with patch.object(EventIntake, "async_subscribe", subscribe_and_receive):
        await setup_frigate_entry(hass, frigate, compreface, options=FAST)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert (
        hass.states.get("switch.double_take_front_door_recognition").state == STATE_OFF
    )
    assert frigate.requests_to(SNAPSHOT) == []


# -- Low: purge never follows a linked folder ------------------------------------------


def test_purge_does_not_follow_a_linked_matches_folder(tmp_path: Path) -> None:
    """``matches -> train`` inside double_take/: purge deletes nothing of train/.

    Before: the link resolved inside the root, so purge deleted the training images.
    """
    store = MediaStore(tmp_path / "double_take")
    store.ensure_folders()
    photo = store.root / "train" / "alice" / "photo.jpg"
    photo.parent.mkdir()
    photo.write_bytes(b"\xff\xd8\xff\xe0 training image")
    os.utime(photo, (0, 0))
    (store.root / "matches").rmdir()
    (store.root / "matches").symlink_to(store.root / "train")

    assert store.purge("matches", time.time()) == 0
    assert photo.exists()


# -- Low: bounded persons and one warning per invalid name -----------------------------


async def test_persons_are_capped_with_one_warning(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beyond MAX_PERSONS no person is added; one warning however many are refused.

    Before: every name a detector listed or matched became a person with entities.
    """
    monkeypatch.setattr(
        "custom_components.double_take.persons.MAX_PERSONS", 5, raising=False
    )
    index = PersonIndex(hass, "capped")
    registry = PersonRegistry(hass, "capped", index)
    for number in range(20):
        registry.async_add(f"person {number}")
    registry.async_add("Person 1")  # known already: fine
    assert len(registry.names) == 5
    assert caplog.text.count("persons are known already") == 1
    await hass.async_block_till_done()


async def test_invalid_name_warned_once(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """A detector matching ``../evil`` in every event: one warning, not one per event.

    Before: a warning for the image and one for the person, in every event.
    """
    await setup_frigate_entry(hass, frigate, compreface, known=("../evil",))
    frigate.set_latest("front_door", [404])
    for number in range(3):
        event_id = f"{EVENT_ID}{number}"
        frigate.set_snapshot(
            event_id, [face_world.image(FaceSpec("../evil", ALICE.box))]
        )
        await fire(hass, event_message(event_id=event_id))
    warnings = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and "evil" in r.message
    ]
    assert len(warnings) == 1


# -- Low: names are NFC and without invisible characters -------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "ali\u200bce",  # zero-width space
        "\u202eecila",  # right-to-left override
        "ali\u2066ce\u2069",  # isolate
        "alice\u200d",  # zero-width joiner
        "\ufeffalice",  # byte order mark
        "ali\u200ece",  # left-to-right mark
        "ali\u0085ce",  # C1 control
    ],
)
def test_names_with_invisible_characters_are_refused(name: str) -> None:
    """Bidi controls and zero-width characters could make two names look the same.

    Before: they were accepted.
    """
    with pytest.raises(InvalidNameError):
        validate_name(name)


def test_names_are_nfc() -> None:
    """Composed and decomposed José are one name (and one MQTT topic, not Jose's)."""
    composed, decomposed = "Jos\u00e9", "Jose\u0301"
    assert validate_name(decomposed) == composed
    assert validate_name(composed) == composed


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=70))
def test_valid_names_are_nfc_and_visible(name: str) -> None:
    """Whatever is accepted is NFC and has no control or format character."""
    try:
        cleaned = validate_name(name)
    except InvalidNameError:
        return
    assert unicodedata.is_normalized("NFC", cleaned)
    assert not any(
        unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"} for char in cleaned
    )


async def test_decomposed_name_trains_the_same_person(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """Training "José" typed decomposed finds the composed person and folder."""
    entry = await setup_detectors(hass, compreface)
    frigate.set_latest("front_door", [face_world.image(ALICE)])
    url = f"{frigate.url}/api/front_door/latest.jpg"
    await call(hass, "train", name="Jos\u00e9", url=url)
    frigate.set_latest("front_door", [face_world.image(ALICE)])
    response = await call(hass, "train", name="Jose\u0301", url=url)
    assert response["name"] == "Jos\u00e9"
    folders = [p.name for p in Path(hass.config.path("double_take", "train")).iterdir()]
    assert folders == ["Jos\u00e9"]
    assert entry.runtime_data.persons.names == ["Jos\u00e9"]


# -- Low: training memory is bounded ----------------------------------------------------


async def test_training_reads_bounded_batches(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Images are read from train/ a bounded batch at a time, never all at once.

    Before: every image of the folder (up to 20 MB each) was read into memory first.
    """
    await setup_detectors(hass, compreface)
    folder = train_dir(hass, "alice")
    folder.mkdir(parents=True)
    photos = [face_world.image(ALICE) for _ in range(5)]
    for number, photo in enumerate(photos):
        (folder / f"photo{number}.jpg").write_bytes(photo)
    limit = 2 * max(len(photo) for photo in photos) + 1
    monkeypatch.setattr(training_module, "MAX_TRAIN_CALL_BYTES", limit, raising=False)
    batches: list[int] = []
    read = getattr(MediaStore, "read_train_images", None)

    def spy(store: MediaStore, files: list[TrainFile]) -> dict[str, bytes]:
        assert read is not None
        images = read(store, files)
        batches.append(sum(len(data) for data in images.values()))
        return images

    monkeypatch.setattr(MediaStore, "read_train_images", spy, raising=False)
    assert not hasattr(TrainFile, "data")

    response = await call(hass, "train", name="alice")

    assert len(response["trained"]) == 5
    assert len(batches) == 3
    assert max(batches) <= limit


async def test_replacing_detector_gets_one_bounded_call(
    hass: HomeAssistant,
    deepstack: DeepStackEmulator,
    face_world: FaceWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DeepStack: one register call (it replaces the person) with what fits; the rest fail."""
    await setup_detectors(hass, deepstack)
    folder = train_dir(hass, "alice")
    folder.mkdir(parents=True)
    photos = [face_world.image(ALICE) for _ in range(3)]
    for number, photo in enumerate(photos):
        (folder / f"photo{number}.jpg").write_bytes(photo)
        os.utime(folder / f"photo{number}.jpg", (1000 + number, 1000 + number))
    limit = 2 * max(len(photo) for photo in photos) + 1
    monkeypatch.setattr(training_module, "MAX_TRAIN_CALL_BYTES", limit, raising=False)

    response = await call(hass, "train", name="alice")

    (register,) = deepstack.requests_to(REGISTER)
    assert len(register.files) == 2
    assert [row["file"] for row in response["trained"]] == [
        "train/alice/photo0.jpg",
        "train/alice/photo1.jpg",
    ]
    (failed,) = response["failed"]
    assert failed["file"] == "train/alice/photo2.jpg"
    assert "in one call" in failed["error"]


async def test_failed_source_keeps_nothing_of_the_call(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """Images are saved as they come; a later source failing removes them again."""
    await setup_detectors(hass, compreface)
    frigate.set_latest("front_door", [face_world.image(ALICE)])
    frigate.set_latest("garden", ["html"])
    with pytest.raises(HomeAssistantError) as err:
        await call(
            hass,
            "train",
            name="alice",
            url=[
                f"{frigate.url}/api/front_door/latest.jpg",
                f"{frigate.url}/api/garden/latest.jpg",
            ],
        )
    assert err.value.translation_key == "fetch_failed"
    assert not train_dir(hass, "alice").exists()
    assert compreface.requests_to(FACES, "POST") == []
