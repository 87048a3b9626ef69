"""The automation blueprints in blueprints/automation/double_take/ (issue 16).

Each blueprint is loaded from the repository (the test config dir links to the folder),
validated by Home Assistant's blueprint and automation schemas, instantiated with
``use_blueprint`` and driven by the integration's events: the real ones from a Frigate
event where the picture matters, ``hass.bus.async_fire`` for the filters.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MqttMockHAClient,
)

from custom_components.double_take.const import EVENT_MATCH, EVENT_UNKNOWN
from homeassistant.components.automation.config import (
    AUTOMATION_BLUEPRINT_SCHEMA,
    async_validate_config_item,
)
from homeassistant.components.blueprint import importer
from homeassistant.components.blueprint.models import Blueprint
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, ServiceCall, State
from homeassistant.helpers import entity_registry as er, selector
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict
from homeassistant.util.yaml.objects import Input

from .common import ALICE, BOB, EVENT_ID, FAST, event_message, fire, setup_frigate_entry
from .emulators.compreface import CompreFaceEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec, FaceWorld

REPOSITORY = Path(__file__).parent.parent
BLUEPRINTS = REPOSITORY / "blueprints" / "automation" / "double_take"
RECOGNISED = "notify_recognised.yaml"
UNKNOWN = "notify_unknown.yaml"
ARRIVES = "person_arrives.yaml"
FILES = (RECOGNISED, UNKNOWN, ARRIVES)
OPTIONS = {**FAST, "presence_timeout": 60}
PHONE = "mobile_app_phone"
# Further Frigate event ids (an event that matched is never processed again).
EVENT_IDS = [f"17600113{number}0.412398-k3w9q{number}" for number in range(4)]


@pytest.fixture(autouse=True)
def no_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail on any ERROR line: a template of a blueprint that fails is only logged."""
    yield
    errors = [
        record.getMessage()
        for record in caplog.get_records("call")
        if record.levelno >= logging.ERROR
    ]
    assert not errors, f"unexpected ERROR log lines: {errors}"


def raw_url(file: str) -> str:
    """Raw GitHub URL of a blueprint, from the repository named in the manifest."""
    manifest = json.loads(
        (REPOSITORY / "custom_components" / "double_take" / "manifest.json").read_text()
    )
    repository = manifest["documentation"].removeprefix("https://github.com/")
    return (
        f"https://raw.githubusercontent.com/{repository}/main/"
        f"blueprints/automation/double_take/{file}"
    )


def used_inputs(value: Any) -> set[str]:
    """Names of the ``!input`` tags in a loaded blueprint."""
    if isinstance(value, Input):
        return {value.name}
    if isinstance(value, dict):
        return {name for item in value.values() for name in used_inputs(item)}
    if isinstance(value, list):
        return {name for item in value for name in used_inputs(item)}
    return set()


@pytest.mark.parametrize("file", FILES)
def test_blueprint_is_valid(file: str) -> None:
    """Home Assistant accepts the blueprint; every input is used and its default valid."""
    data = load_yaml_dict(BLUEPRINTS / file)
    blueprint = Blueprint(
        data,
        expected_domain="automation",
        path=file,
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    assert blueprint.validate() is None  # the running version meets min_version
    assert used_inputs(data) == set(blueprint.inputs)
    for name, spec in blueprint.inputs.items():
        assert spec.get("name"), name
        if "default" in spec:
            validate: Any = selector.selector(spec["selector"])
            validate(spec["default"])
    # Imported with the badge link, the source URL is the raw file's.
    assert blueprint.metadata["source_url"] == raw_url(file)


@pytest.mark.parametrize("file", FILES)
async def test_import_badge_url(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, file: str
) -> None:
    """The README's import link: Home Assistant's importer accepts the raw file's URL."""
    url = raw_url(file)
    text = await hass.async_add_executor_job((BLUEPRINTS / file).read_text)
    aioclient_mock.get(url, text=text)
    imported = await importer.fetch_blueprint_from_url(hass, url)
    assert imported.blueprint.domain == "automation"
    assert imported.blueprint.metadata["source_url"] == url
    assert imported.suggested_filename == f"double-take-ha/{file.removesuffix('.yaml')}"
    # ... and the README links to it with Home Assistant's import redirect.
    readme = await hass.async_add_executor_job((REPOSITORY / "README.md").read_text)
    badge = "https://my.home-assistant.io/redirect/blueprint_import/?blueprint_url="
    assert f"{badge}{quote(url, safe='')}" in readme


@pytest.fixture
def blueprints(config_dir: Path) -> Path:
    """Link the repository's blueprint folder into the test config dir."""
    folder = config_dir / "blueprints" / "automation"
    folder.mkdir(parents=True)
    (folder / "double_take").symlink_to(BLUEPRINTS, target_is_directory=True)
    return folder / "double_take"


async def use_blueprint(
    hass: HomeAssistant, file: str, inputs: dict[str, Any], alias: str = "under test"
) -> None:
    """Validate an automation made from ``file`` (errors raise) and set it up."""
    config = {
        "id": alias,
        "alias": alias,
        "use_blueprint": {"path": f"double_take/{file}", "input": inputs},
    }
    await async_validate_config_item(hass, alias, config)
    assert await async_setup_component(hass, "automation", {"automation": [config]})
    await hass.async_block_till_done()
    entity_id = f"automation.{alias.replace(' ', '_')}"
    assert state(hass, entity_id).state == STATE_ON


def state(hass: HomeAssistant, entity_id: str) -> State:
    """Return the state of ``entity_id``, which must exist."""
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found


def match_data(**data: Any) -> dict[str, Any]:
    """Build the data of a ``double_take_match`` event (as ``face_event_data``)."""
    return {
        "name": "alice",
        "confidence": 95.0,
        "camera": "front_door",
        "room": None,
        "detector": "compreface",
        "type": "snapshot",
        "event_id": EVENT_ID,
        "zones": ["porch"],
        "box": {"top": 100, "left": 200, "width": 150, "height": 180},
        "image": None,
        **data,
    }


async def fire_event(
    hass: HomeAssistant, event_type: str, data: dict[str, Any]
) -> None:
    """Fire a bus event and let the automations run."""
    hass.bus.async_fire(event_type, data)
    await hass.async_block_till_done()


async def at_local_time(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, clock: str
) -> None:
    """Freeze the clock at ``clock`` (HH:MM) today in Home Assistant's time zone."""
    hour, minute = (int(part) for part in clock.split(":"))
    freezer.move_to(
        dt_util.now().replace(hour=hour, minute=minute, second=0, microsecond=0)
    )
    await hass.async_block_till_done()


@pytest.fixture
async def entry(
    hass: HomeAssistant,
    blueprints: Path,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
) -> MockConfigEntry:
    """Set up an entry on Frigate whose CompreFace knows alice and bob."""
    return await setup_frigate_entry(hass, frigate, compreface, options=OPTIONS)


async def fetch_picture(hass_client: ClientSessionGenerator, path: str) -> bytes:
    """GET a notification's picture from Home Assistant, as the Companion app does."""
    client = await hass_client()
    response = await client.get(path)
    assert response.status == 200
    assert response.content_type == "image/jpeg"
    body: bytes = await response.read()
    return body


# notify_recognised.yaml


async def test_recognised_notifies_with_the_face(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    hass_client: ClientSessionGenerator,
) -> None:
    """A real match notifies with the person's Last face image, served by the proxy."""
    calls = async_mock_service(hass, "notify", PHONE)
    await use_blueprint(hass, RECOGNISED, {"notify_action": f"notify.{PHONE}"})
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await fire(hass, event_message())
    await hass.async_block_till_done()

    assert len(calls) == 1
    assert calls[0].data == {
        "title": "Double Take",
        "message": "Alice is at front_door (95 %)",
        "data": {"image": "/api/image_proxy/image.double_take_alice_last_face"},
    }
    face = state(hass, "image.double_take_alice_last_face")
    assert face.attributes["file"].startswith("matches/alice/")
    assert await fetch_picture(hass_client, calls[0].data["data"]["image"])


async def test_recognised_finds_a_renamed_image_entity(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    hass_client: ClientSessionGenerator,
) -> None:
    """The picture follows the saved file, so a renamed image entity still works."""
    er.async_get(hass).async_update_entity(
        "image.double_take_bob_last_face", new_entity_id="image.bobs_face"
    )
    await hass.async_block_till_done()
    calls = async_mock_service(hass, "notify", PHONE)
    # Without "notify.", and a message template of the user's.
    await use_blueprint(
        hass,
        RECOGNISED,
        {
            "notify_action": PHONE,
            "title": "Door",
            "message": "{{ name }} {{ room or 'nowhere' }} {{ zones | join(',') }}",
        },
    )
    frigate.set_snapshot(EVENT_ID, [face_world.image(BOB)])
    await fire(hass, event_message())
    await hass.async_block_till_done()

    assert [call.data for call in calls] == [
        {
            "title": "Door",
            "message": "bob Front Door porch",
            "data": {"image": "/api/image_proxy/image.bobs_face"},
        }
    ]
    assert await fetch_picture(hass_client, calls[0].data["data"]["image"])


@pytest.mark.parametrize(
    ("data", "notified"),
    [
        (match_data(), True),
        (match_data(name="Alice"), True),
        (match_data(name="carol"), True),
        (match_data(name="bob"), False),
        (match_data(camera="garden"), False),
        (match_data(name="carol", camera="Front_Door"), True),
        (match_data(name="bob", camera="garden"), False),
    ],
)
async def test_recognised_filters_persons_and_cameras(
    hass: HomeAssistant, blueprints: Path, data: dict[str, Any], notified: bool
) -> None:
    """Only the chosen persons (any case) on the chosen cameras are notified."""
    calls = async_mock_service(hass, "notify", PHONE)
    await use_blueprint(
        hass,
        RECOGNISED,
        {
            "notify_action": f"notify.{PHONE}",
            "persons": ["ALICE", "carol"],
            "cameras": ["front_door"],
        },
    )
    await fire_event(hass, EVENT_MATCH, data)
    assert len(calls) == int(notified)
    if notified:
        # Without the integration there is no image entity: no picture, no broken link.
        assert calls[0].data["data"] == {}


async def test_recognised_everyone_everywhere_by_default(
    hass: HomeAssistant, blueprints: Path
) -> None:
    """Empty person and camera lists mean everyone on every camera; other events do nothing."""
    calls = async_mock_service(hass, "notify", PHONE)
    await use_blueprint(hass, RECOGNISED, {"notify_action": PHONE})
    await fire_event(hass, EVENT_MATCH, match_data(name="zoe", camera="garden"))
    await fire_event(hass, EVENT_MATCH, match_data(name="bob", camera="double-take"))
    await fire_event(hass, EVENT_UNKNOWN, match_data(name="unknown", count=1))
    await fire_event(hass, "double_take_result", {"camera": "garden"})
    assert [call.data["message"] for call in calls] == [
        "Zoe is at garden (95 %)",
        "Bob is at double-take (95 %)",
    ]


@pytest.mark.parametrize(
    ("quiet", "clock", "notified"),
    [
        (("22:00:00", "07:00:00"), "23:30", False),
        (("22:00:00", "07:00:00"), "22:00", False),
        (("22:00:00", "07:00:00"), "03:00", False),
        (("22:00:00", "07:00:00"), "06:59", False),
        (("22:00:00", "07:00:00"), "07:00", True),
        (("22:00:00", "07:00:00"), "12:00", True),
        (("22:00:00", "07:00:00"), "21:59", True),
        (("12:00:00", "14:00:00"), "13:00", False),
        (("12:00:00", "14:00:00"), "14:30", True),
        (("12:00:00", "14:00:00"), "11:00", True),
        (("00:00:00", "00:00:00"), "00:00", True),
        (("08:00:00", "08:00:00"), "08:00", True),
        (None, "03:00", True),
    ],
)
async def test_recognised_quiet_hours(
    hass: HomeAssistant,
    blueprints: Path,
    freezer: FrozenDateTimeFactory,
    quiet: tuple[str, str] | None,
    clock: str,
    notified: bool,
) -> None:
    """No notification inside the quiet hours (across midnight too); equal = none."""
    calls = async_mock_service(hass, "notify", PHONE)
    inputs = {"notify_action": PHONE}
    if quiet is not None:
        inputs |= {"quiet_start": quiet[0], "quiet_end": quiet[1]}
    await use_blueprint(hass, RECOGNISED, inputs)
    await at_local_time(hass, freezer, clock)
    await fire_event(hass, EVENT_MATCH, match_data())
    assert len(calls) == int(notified)


# notify_unknown.yaml


async def test_unknown_notifies_with_the_face(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    hass_client: ClientSessionGenerator,
) -> None:
    """A real stranger notifies with the unknown faces' image; a match does not."""
    calls = async_mock_service(hass, "notify", PHONE)
    await use_blueprint(hass, UNKNOWN, {"notify_action": f"notify.{PHONE}"})
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await fire(hass, event_message())
    await hass.async_block_till_done()
    assert calls == []

    frigate.set_snapshot(EVENT_IDS[3], [face_world.image(FaceSpec("mallory"))])
    frigate.set_latest("front_door", [404])
    await fire(hass, event_message(event_id=EVENT_IDS[3]))
    await hass.async_block_till_done()
    assert [call.data for call in calls] == [
        {
            "title": "Double Take",
            "message": "An unknown face at front_door",
            "data": {"image": "/api/image_proxy/image.double_take_unknown_last_face"},
        }
    ]
    assert await fetch_picture(hass_client, calls[0].data["data"]["image"])


@pytest.mark.parametrize(
    ("data", "clock", "message"),
    [
        (match_data(name="unknown", count=3), "12:00", "3 unknown faces at front_door"),
        (match_data(name="unknown", count=1, camera="Garden"), "12:00", None),
        (match_data(name="unknown", count=1), "23:00", None),
        (match_data(name="unknown", count=1), "07:00", "An unknown face at front_door"),
    ],
)
async def test_unknown_filters_cameras_and_quiet_hours(
    hass: HomeAssistant,
    blueprints: Path,
    freezer: FrozenDateTimeFactory,
    data: dict[str, Any],
    clock: str,
    message: str | None,
) -> None:
    """Only the chosen cameras, outside the quiet hours; matches never."""
    calls = async_mock_service(hass, "notify", PHONE)
    await use_blueprint(
        hass,
        UNKNOWN,
        {
            "notify_action": PHONE,
            "cameras": ["front_door"],
            "quiet_start": "22:00:00",
            "quiet_end": "07:00:00",
        },
    )
    await at_local_time(hass, freezer, clock)
    await fire_event(hass, EVENT_MATCH, match_data())
    await fire_event(hass, EVENT_UNKNOWN, data)
    assert [call.data["message"] for call in calls] == (
        [message] if message is not None else []
    )


# person_arrives.yaml

ARRIVED: list[dict[str, Any]] = [
    {
        "action": "test.arrived",
        "data": {"person": "{{ person }}", "sensor": "{{ trigger.entity_id }}"},
    }
]


def arrivals(calls: list[ServiceCall]) -> list[tuple[str, str]]:
    """(person, sensor) of each run of the actions."""
    return [(call.data["person"], call.data["sensor"]) for call in calls]


async def test_person_arrives_runs_once_per_arrival(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Off → on runs the actions; a match while present does not; after leaving it does."""
    calls = async_mock_service(hass, "test", "arrived")
    alice = "binary_sensor.double_take_alice_presence"
    await use_blueprint(hass, ARRIVES, {"presence": [alice], "arrive_actions": ARRIVED})

    frigate.set_snapshot(EVENT_IDS[0], [face_world.image(ALICE, BOB)])
    await fire(hass, event_message(event_id=EVENT_IDS[0]))
    await hass.async_block_till_done()
    assert state(hass, alice).state == STATE_ON
    assert state(hass, "binary_sensor.double_take_bob_presence").state == STATE_ON
    assert arrivals(calls) == [("alice", alice)]

    # Seen again while present: on → on (only "until" changes).
    until = state(hass, alice).attributes["until"]
    freezer.tick(timedelta(seconds=30))
    frigate.set_snapshot(EVENT_IDS[1], [face_world.image(ALICE)])
    await fire(hass, event_message(event_id=EVENT_IDS[1]))
    await hass.async_block_till_done()
    assert state(hass, alice).attributes["until"] != until
    assert len(calls) == 1

    # Presence ends, then she comes back.
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state(hass, alice).state == STATE_OFF
    assert len(calls) == 1
    frigate.set_snapshot(EVENT_IDS[2], [face_world.image(ALICE)])
    await fire(hass, event_message(event_id=EVENT_IDS[2]))
    await hass.async_block_till_done()
    assert arrivals(calls) == [("alice", alice), ("alice", alice)]


@pytest.mark.parametrize(
    ("states", "runs"),
    [
        ((STATE_OFF, STATE_ON), 1),
        ((STATE_OFF, STATE_ON, STATE_OFF), 1),
        ((STATE_OFF, STATE_ON, STATE_OFF, STATE_ON), 2),
        ((STATE_ON, STATE_ON), 0),
        ((STATE_UNAVAILABLE, STATE_ON), 0),
        (("unknown", STATE_ON), 0),
        ((STATE_ON, STATE_OFF), 0),
    ],
)
async def test_person_arrives_only_from_off_to_on(
    hass: HomeAssistant, blueprints: Path, states: tuple[str, ...], runs: int
) -> None:
    """Only off → on counts: not a restored presence, not an attribute change."""
    calls = async_mock_service(hass, "test", "arrived")
    carol = "binary_sensor.double_take_carol_presence"
    hass.states.async_set(carol, states[0], {"until": None})
    await use_blueprint(hass, ARRIVES, {"presence": [carol], "arrive_actions": ARRIVED})
    for number, value in enumerate(states[1:]):
        hass.states.async_set(carol, value, {"until": f"2026-10-01T12:0{number}:00"})
        await hass.async_block_till_done()
    # Without the integration's device the name comes from the entity id.
    assert arrivals(calls) == [("carol", carol)] * runs


async def test_person_arrives_ignores_other_sensors(
    hass: HomeAssistant, blueprints: Path
) -> None:
    """Only the chosen presence sensors run the actions, each with its person."""
    calls = async_mock_service(hass, "test", "arrived")
    chosen = [
        "binary_sensor.double_take_alice_presence",
        "binary_sensor.double_take_bob_presence",
    ]
    other = "binary_sensor.double_take_dave_presence"
    for entity_id in [*chosen, other]:
        hass.states.async_set(entity_id, STATE_OFF)
    await use_blueprint(hass, ARRIVES, {"presence": chosen, "arrive_actions": ARRIVED})
    for entity_id in [other, *chosen]:
        hass.states.async_set(entity_id, STATE_ON)
        await hass.async_block_till_done()
    assert arrivals(calls) == [("alice", chosen[0]), ("bob", chosen[1])]


async def test_broken_inputs_fail_validation(
    hass: HomeAssistant, blueprints: Path
) -> None:
    """The validation the tests rely on does reject a blueprint instance it cannot build."""
    with pytest.raises(Exception, match="notify_action"):
        await async_validate_config_item(
            hass,
            "broken",
            {"use_blueprint": {"path": f"double_take/{RECOGNISED}", "input": {}}},
        )
