"""Recognition rules beyond the thresholds: agreement, margin, small unknown faces."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import async_capture_events
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.double_take.api.models import Box, Candidate, Face
from custom_components.double_take.const import DOMAIN, EVENT_RESULT
from custom_components.double_take.result import FaceKind, MatchRules
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from .common import EVENT_ID, FAST, event_message, fire, setup_detectors
from .emulators.compreface import CompreFaceEmulator
from .emulators.deepstack import DeepStackEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec, FaceWorld

BOX = Box(top=100, left=200, width=150, height=180)
RULES = MatchRules(confidence=60, unknown_confidence=40, min_face_area=1000)


def face(confidence: float, *candidates: tuple[str, float]) -> Face:
    """Alice at ``confidence``, the detector's other candidates after her."""
    return Face(
        "alice",
        confidence,
        BOX,
        tuple(Candidate(name, score) for name, score in candidates),
    )


@pytest.mark.parametrize(
    ("rules", "found", "kind", "reason"),
    [
        (RULES, face(85, ("bob", 83)), FaceKind.MATCH, None),
        (
            MatchRules(60, 40, 1000, min_margin=10),
            face(85, ("bob", 80)),
            FaceKind.MISS,
            "ambiguous: bob 80 is 5 points behind, below min_margin 10",
        ),
        (
            MatchRules(60, 40, 1000, min_margin=10),
            face(85, ("bob", 75)),
            FaceKind.MATCH,
            None,
        ),
        # The same person again among the candidates is no rival.
        (
            MatchRules(60, 40, 1000, min_margin=10),
            face(85, ("alice", 84)),
            FaceKind.MATCH,
            None,
        ),
        (MatchRules(60, 40, 1000, min_margin=10), face(85), FaceKind.MATCH, None),
    ],
)
def test_margin(
    rules: MatchRules, found: Face, kind: FaceKind, reason: str | None
) -> None:
    """The best person must beat the next other person by ``min_margin`` points."""
    assert rules.classify(found) is kind
    assert rules.reason(found) == reason


async def recognize(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call the recognize action and return its response."""
    response = await hass.services.async_call(
        DOMAIN, "recognize", data, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


async def test_detectors_must_agree(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    deepstack: DeepStackEmulator,
    face_world: FaceWorld,
) -> None:
    """Two detectors required: one naming alice is a miss that says so.

    A single detector's match does not stop the run; both naming her is a match that does.
    """
    compreface.subjects["alice"] = ["alice"]
    await setup_detectors(
        hass,
        compreface,
        deepstack,
        frigate_url=frigate.url,
        options={**FAST, "latest_attempts": 0, "min_detectors_agree": 2},
    )
    alice = FaceSpec("alice", (200, 100, 150, 180))
    frigate.set_snapshot(EVENT_ID, [face_world.image(alice) for _ in range(3)])
    results = async_capture_events(hass, EVENT_RESULT)

    await fire(hass, event_message())
    (result,) = (event.data for event in results)
    assert result["matches"] == []
    (miss,) = result["misses"]
    assert miss["name"] == "alice"
    assert miss["reason"] == "matched by 1 detector, below min_detectors_agree 2"
    assert result["attempts"] == 3  # a single detector's match did not stop the run

    deepstack.subjects["alice"] = ["alice"]
    second = "1760011300.000000-abcdef"
    frigate.set_snapshot(second, [face_world.image(alice) for _ in range(3)])
    await fire(hass, event_message(event_id=second))
    result = results[1].data
    assert [match["name"] for match in result["matches"]] == ["alice"]
    assert result["attempts"] == 1


async def test_small_unknown_faces_are_not_reported(
    hass: HomeAssistant, compreface: CompreFaceEmulator, face_world: FaceWorld
) -> None:
    """An unknown face below ``unknown_min_face_area`` is left out; a larger one stays."""
    await setup_detectors(hass, compreface, options={"unknown_min_face_area": 5000})
    image = face_world.image(
        FaceSpec("carol", (40, 40, 40, 50)),  # 2000 px², far away
        FaceSpec("dave", (300, 100, 150, 180)),  # 27000 px²
    )
    path = hass.config.path("double_take", "visitors.jpg")
    await hass.async_add_executor_job(_write, path, image)
    response = await recognize(hass, image_path=path)
    assert [face["box"]["width"] for face in response["unknowns"]] == [150]
    assert response["counts"]["unknown"] == 1


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)


async def test_camera_settings_step(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """Options → Camera settings: front_door demands more; other cameras do not."""
    compreface.subjects["alice"] = ["alice"]
    entry = await setup_detectors(
        hass, compreface, frigate_url=frigate.url, options=FAST
    )
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    assert "adjust_camera" in flow["data_schema"].schema
    shown = flow["data_schema"].schema
    answer = {
        name: {
            str(key): key.description["suggested_value"]
            for key in shown[name].schema.schema
            if key.description and "suggested_value" in key.description
        }
        for name in (
            "recognition",
            "frigate",
            "attempts",
            "storage",
            "mqtt",
            "presence",
        )
    }
    flow = await hass.config_entries.options.async_configure(
        flow["flow_id"], {**answer, "adjust_camera": "front_door"}
    )
    assert (flow["step_id"], flow["description_placeholders"]) == (
        "camera",
        {"camera": "front_door"},
    )
    flow = await hass.config_entries.options.async_configure(
        flow["flow_id"], {"confidence": 99.0, "snapshot_attempts": 2.0}
    )
    assert flow["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["camera_overrides"] == {
        "front_door": {"confidence": 99.0, "snapshot_attempts": 2}
    }
    await hass.async_block_till_done()

    results = async_capture_events(hass, EVENT_RESULT)
    alice = FaceSpec("alice", (200, 100, 150, 180))
    frigate.set_snapshot(EVENT_ID, [face_world.image(alice)])
    await fire(hass, event_message())
    (miss,) = results[0].data["misses"]
    assert miss["reason"] == "confidence 95 is below confidence 99"
    assert len(frigate.snapshot_requests(EVENT_ID)) == 2  # its own attempts

    other = "1760011300.000000-abcdef"
    frigate.set_snapshot(other, [face_world.image(alice)])
    await fire(hass, event_message(event_id=other, camera="backyard"))
    assert [match["name"] for match in results[1].data["matches"]] == ["alice"]

    # Emptied again: the camera has no values of its own any more.
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    flow = await hass.config_entries.options.async_configure(
        flow["flow_id"], {**answer, "adjust_camera": "front_door"}
    )
    assert flow["data_schema"]({}) == {}
    flow = await hass.config_entries.options.async_configure(flow["flow_id"], {})
    assert entry.options["camera_overrides"] == {}


async def test_ambiguous_face_is_a_miss(
    hass: HomeAssistant, compreface: CompreFaceEmulator, face_world: FaceWorld
) -> None:
    """CompreFace ranks alice 90 and bob 86: with min_margin 10 that is no match."""
    compreface.subjects.update({"alice": ["alice"], "bob": ["bob"]})
    await setup_detectors(hass, compreface, options={"min_margin": 10})
    lookalike = FaceSpec(
        "alice", (200, 100, 150, 180), 0.90, resembles=(("bob", 0.86),)
    )
    path = hass.config.path("double_take", "lookalike.jpg")
    await hass.async_add_executor_job(_write, path, face_world.image(lookalike))

    response = await recognize(hass, image_path=path)
    assert response["matches"] == []
    (miss,) = response["misses"]
    assert miss["name"] == "alice"
    assert miss["reason"] == (
        "ambiguous: bob 86 is 4 points behind, below min_margin 10"
    )

    # A clear answer is still a match under the same rule.
    clear = FaceSpec("alice", (200, 100, 150, 180), 0.90, resembles=(("bob", 0.60),))
    await hass.async_add_executor_job(_write, path, face_world.image(clear))
    response = await recognize(hass, image_path=path)
    assert [match["name"] for match in response["matches"]] == ["alice"]
