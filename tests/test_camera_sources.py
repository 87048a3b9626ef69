"""Camera sources: any Home Assistant camera, recognised when a trigger entity fires."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockPlatform,
    async_capture_events,
    mock_platform,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.double_take.camera_sources import starts_run
from custom_components.double_take.const import (
    CONF_ATTEMPTS,
    CONF_CAMERA_ENTITY,
    CONF_DELAY,
    CONF_DETECTORS,
    CONF_ROOM,
    CONF_TRIGGER,
    EVENT_MATCH,
    EVENT_RESULT,
    SUBENTRY_CAMERA,
)
from custom_components.double_take.diagnostics import async_get_config_entry_diagnostics
from homeassistant.components.camera import Camera
from homeassistant.config_entries import ConfigSubentryData, ConfigSubentryDataWithId
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.setup import async_setup_component

from .common import (
    ALICE,
    EVENT_ID,
    FAST,
    emulator_subentry,
    event_message,
    fire,
    make_entry,
    published,
    setup_entry,
)
from .emulators.compreface import CompreFaceEmulator
from .emulators.deepstack import DeepStackEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec, FaceWorld

TRIGGER = "input_boolean.porch_person"
CAMERA = "camera.porch"
RECOGNIZE = "/api/v1/recognition/recognize"
NOBODY = FaceSpec("nobody", (200, 100, 150, 180), similarity=0.3)


class FaceCamera(Camera):
    """A camera entity that serves the images it is given, one per request."""

    def __init__(self, name: str, images: list[bytes]) -> None:
        """Serve ``images`` in turn (the last one again once they run out)."""
        super().__init__()
        self._attr_name = name
        self._attr_unique_id = f"test-camera-{name}"
        self.images = images
        self.requests = 0
        self.gate: asyncio.Event | None = None

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """Return the next image; wait for ``gate`` first when there is one."""
        self.requests += 1
        if self.gate is not None:
            await self.gate.wait()
        return self.images[min(self.requests, len(self.images)) - 1]


@pytest.fixture
async def porch(hass: HomeAssistant, face_world: FaceWorld) -> FaceCamera:
    """``camera.porch`` showing alice, and ``input_boolean.porch_person``, off."""
    camera = FaceCamera("Porch", [face_world.image(ALICE)])

    async def setup_platform(
        hass: HomeAssistant,
        config: dict[str, Any],
        add_entities: AddEntitiesCallback,
        discovery_info: Any = None,
    ) -> None:
        add_entities([camera])

    mock_platform(
        hass, "test.camera", MockPlatform(async_setup_platform=setup_platform)
    )
    assert await async_setup_component(hass, "camera", {"camera": {"platform": "test"}})
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"porch_person": None}}
    )
    await hass.async_block_till_done()
    assert hass.states.get(CAMERA) is not None
    return camera


def camera_subentry(**data: Any) -> ConfigSubentryData:
    """Return a camera source on camera.porch triggered by input_boolean.porch_person."""
    return ConfigSubentryData(
        data={
            CONF_CAMERA_ENTITY: CAMERA,
            CONF_TRIGGER: TRIGGER,
            CONF_ATTEMPTS: 3,
            CONF_DELAY: 0.01,
            CONF_DETECTORS: [],
            **data,
        },
        subentry_type=SUBENTRY_CAMERA,
        title="porch",
        unique_id=data.get(CONF_CAMERA_ENTITY, CAMERA),
    )


async def trigger(hass: HomeAssistant, state: str = STATE_ON) -> None:
    """Turn the trigger on (or off) and wait for the run."""
    service = "turn_on" if state == STATE_ON else "turn_off"
    await hass.services.async_call(
        "input_boolean", service, {"entity_id": TRIGGER}, blocking=True
    )
    await hass.async_block_till_done(wait_background_tasks=True)


async def setup_camera_entry(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    *sources: ConfigSubentryData,
    frigate: FrigateEmulator | None = None,
    detectors: list[ConfigSubentryData] | None = None,
) -> MockConfigEntry:
    """Set up an entry with CompreFace knowing alice and the camera ``sources``."""
    compreface.subjects["alice"] = ["alice"]
    entry = make_entry(
        frigate_url=frigate.url if frigate else "",
        detectors=[*(detectors or [emulator_subentry(compreface)]), *sources],
        options=FAST,
    )
    return await setup_entry(hass, entry)


async def test_camera_source_gives_what_a_frigate_event_gives(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    porch: FaceCamera,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """Same person sensor, image entity, bus events and MQTT payloads, source camera."""
    entry = await setup_camera_entry(
        hass, compreface, camera_subentry(), frigate=frigate
    )
    matches = async_capture_events(hass, EVENT_MATCH)
    results = async_capture_events(hass, EVENT_RESULT)
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await fire(hass, event_message())
    await trigger(hass)

    frigate_match, camera_match = (match.data for match in matches)
    assert frigate_match["camera"] == "front_door"
    assert camera_match["camera"] == "porch"
    assert camera_match["name"] == "alice"
    assert camera_match["type"] == "camera"
    assert camera_match["confidence"] == 95.0
    assert camera_match["room"] == "Porch"
    assert set(camera_match) == set(frigate_match)
    assert set(results[1].data) == set(results[0].data)
    assert porch.requests == 1  # stopped at the first match

    # The person's entities show the camera source's match, as they did Frigate's.
    alice = hass.states.get("sensor.double_take_alice")
    assert alice is not None
    assert alice.state == "porch"
    face = hass.states.get("image.double_take_alice_last_face")
    assert face is not None
    assert face.attributes["file"] == camera_match["image"]
    assert hass.states.get("sensor.double_take_porch").state == "1"
    assert hass.states.get("switch.double_take_porch_recognition").state == STATE_ON
    assert hass.states.get("event.double_take_porch") is not None

    messages = published(mqtt)
    frigate_payload, camera_payload = messages["double-take/matches/alice"]
    assert camera_payload["camera"] == "porch"
    assert camera_payload["match"]["type"] == "camera"
    assert set(camera_payload) == set(frigate_payload)
    assert set(camera_payload["match"]) == set(frigate_payload["match"])
    assert "double-take/cameras/porch" in messages

    history = entry.runtime_data.history
    page = await hass.async_add_executor_job(lambda: history.page(camera="porch"))
    assert [record.source for record in page.records] == ["camera"]


async def test_held_trigger_runs_once(
    hass: HomeAssistant,
    porch: FaceCamera,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """On, still on (attributes change), on during a run: one run; off then on: two."""
    porch.images = [face_world.image(NOBODY)]
    await setup_camera_entry(hass, compreface, camera_subentry())
    results = async_capture_events(hass, EVENT_RESULT)

    await trigger(hass)
    assert (len(results), porch.requests) == (1, 3)  # no match: every attempt

    hass.states.async_set(TRIGGER, STATE_ON, {"changed": True})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(results) == 1

    # Off and on again while a run waits for its camera: still that one run.
    await trigger(hass, STATE_OFF)
    porch.gate = asyncio.Event()
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": TRIGGER}, blocking=True
    )
    await hass.async_block_till_done()
    hass.states.async_set(TRIGGER, STATE_OFF)
    hass.states.async_set(TRIGGER, STATE_ON)
    porch.gate.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert (len(results), porch.requests) == (2, 6)
    assert len(compreface.requests_to(RECOGNIZE)) == 2  # the same image is not re-sent


async def test_camera_switch_and_unavailable_camera(
    hass: HomeAssistant,
    porch: FaceCamera,
    compreface: CompreFaceEmulator,
) -> None:
    """Switched off: no run; a camera without an image: a run with no result faces."""
    await setup_camera_entry(hass, compreface, camera_subentry())
    results = async_capture_events(hass, EVENT_RESULT)
    switch = "switch.double_take_porch_recognition"
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": switch}, blocking=True
    )
    await trigger(hass)
    assert (results, porch.requests) == ([], 0)

    await trigger(hass, STATE_OFF)
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": switch}, blocking=True
    )
    porch.images = [b"not an image"]
    await trigger(hass)
    (result,) = results
    assert (result.data["attempts"], result.data["matches"]) == (0, [])
    assert porch.requests == 3


async def test_event_entity_trigger_room_and_detectors(
    hass: HomeAssistant,
    porch: FaceCamera,
    compreface: CompreFaceEmulator,
    deepstack: DeepStackEmulator,
) -> None:
    """An event entity firing starts a run; the chosen room and detectors are used."""
    deepstack.subjects["alice"] = ["alice"]
    garden = ar.async_get(hass).async_create("Garden")
    hass.states.async_set("event.doorbell", "2026-11-30T08:00:00.000+00:00")
    deepstack_only = ConfigSubentryDataWithId(
        **emulator_subentry(deepstack), subentry_id="deepstack-detector"
    )
    entry = await setup_camera_entry(
        hass,
        compreface,
        camera_subentry(
            **{
                CONF_TRIGGER: "event.doorbell",
                CONF_ROOM: garden.id,
                CONF_DETECTORS: [deepstack_only["subentry_id"]],
            }
        ),
        detectors=[emulator_subentry(compreface), deepstack_only],
    )
    matches = async_capture_events(hass, EVENT_MATCH)

    hass.states.async_set("event.doorbell", "2026-11-30T08:00:05.000+00:00")
    await hass.async_block_till_done(wait_background_tasks=True)
    (match,) = matches
    assert (match.data["room"], match.data["detector"]) == ("Garden", "deepstack")
    assert not compreface.requests_to(RECOGNIZE)
    assert len(deepstack.requests_to("/v1/vision/face/recognize")) == 1

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["camera_sources"] == [
        {
            "camera_entity": CAMERA,
            "trigger": "event.doorbell",
            "attempts": 3,
            "delay": 0.01,
            "room": garden.id,
            "detectors": ["deepstack-detector"],
        }
    ]


@pytest.mark.parametrize(
    ("domain", "old", "new", "starts"),
    [
        ("input_boolean", STATE_OFF, STATE_ON, True),
        ("binary_sensor", STATE_UNKNOWN, STATE_ON, True),
        ("binary_sensor", STATE_ON, STATE_ON, False),
        ("binary_sensor", STATE_ON, STATE_OFF, False),
        ("binary_sensor", STATE_UNAVAILABLE, STATE_ON, False),
        ("binary_sensor", None, STATE_ON, False),
        ("event", STATE_UNKNOWN, "2026-11-30T08:00:00+00:00", True),
        ("event", "2026-11-30T08:00:00+00:00", "2026-11-30T08:01:00+00:00", True),
        ("event", "2026-11-30T08:00:00+00:00", "2026-11-30T08:00:00+00:00", False),
        ("event", STATE_UNAVAILABLE, "2026-11-30T08:00:00+00:00", False),
        ("event", "2026-11-30T08:00:00+00:00", STATE_UNAVAILABLE, False),
    ],
)
def test_what_starts_a_run(
    domain: str, old: str | None, new: str, starts: bool
) -> None:
    """On after off or unknown; a new event timestamp; never a restored state."""
    assert starts_run(old, new, domain) is starts


async def test_add_and_change_a_camera_in_the_ui(
    hass: HomeAssistant,
    porch: FaceCamera,
    compreface: CompreFaceEmulator,
) -> None:
    """Add camera: unknown entities and duplicates are refused; then it runs."""
    entry = await setup_camera_entry(hass, compreface)
    assert hass.states.get("switch.double_take_porch_recognition") is None
    flow = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CAMERA), context={"source": "user"}
    )
    assert flow["type"] is FlowResultType.FORM
    detector_options = flow["data_schema"].schema[CONF_DETECTORS].config["options"]
    assert [option["label"] for option in detector_options] == [
        next(iter(entry.subentries.values())).title
    ]
    answer = {
        CONF_CAMERA_ENTITY: "camera.nowhere",
        CONF_TRIGGER: TRIGGER,
        CONF_ATTEMPTS: 2.0,
        CONF_DELAY: 0.0,
    }
    flow = await hass.config_entries.subentries.async_configure(flow["flow_id"], answer)
    assert flow["errors"] == {CONF_CAMERA_ENTITY: "entity_not_found"}
    flow = await hass.config_entries.subentries.async_configure(
        flow["flow_id"],
        {**answer, CONF_CAMERA_ENTITY: CAMERA, CONF_TRIGGER: "binary_sensor.gone"},
    )
    assert flow["errors"] == {CONF_TRIGGER: "entity_not_found"}
    flow = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {**answer, CONF_CAMERA_ENTITY: CAMERA}
    )
    assert flow["type"] is FlowResultType.CREATE_ENTRY
    assert flow["title"] == "porch"
    assert flow["data"] == {
        CONF_CAMERA_ENTITY: CAMERA,
        CONF_TRIGGER: TRIGGER,
        CONF_ATTEMPTS: 2,
        CONF_DELAY: 0.0,
        CONF_DETECTORS: [],
    }
    await hass.async_block_till_done(wait_background_tasks=True)  # reloaded
    assert hass.states.get("switch.double_take_porch_recognition") is not None
    results = async_capture_events(hass, EVENT_RESULT)
    await trigger(hass)
    assert [result.data["camera"] for result in results] == ["porch"]

    # The same camera again is refused; changing it keeps its form.
    flow = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CAMERA), context={"source": "user"}
    )
    flow = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {**answer, CONF_CAMERA_ENTITY: CAMERA}
    )
    assert flow["errors"] == {CONF_CAMERA_ENTITY: "camera_already_added"}
    camera_id = next(
        sub.subentry_id
        for sub in entry.subentries.values()
        if sub.subentry_type == SUBENTRY_CAMERA
    )
    flow = await entry.start_subentry_reconfigure_flow(hass, camera_id)
    assert flow["step_id"] == "user"
    flow = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {**answer, CONF_CAMERA_ENTITY: CAMERA, CONF_ATTEMPTS: 4}
    )
    assert flow["reason"] == "reconfigure_successful"
    assert entry.subentries[camera_id].data[CONF_ATTEMPTS] == 4
    await hass.async_block_till_done(wait_background_tasks=True)  # reloaded
    assert entry.runtime_data.camera_sources.sources[0].attempts == 4
