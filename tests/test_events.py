"""Parsing and filtering of Frigate event messages, and per-event run control (SPEC §4)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.double_take.api.events import (
    EventFilter,
    EventRejected,
    EventTracker,
    FrigateEvent,
    parse_event,
)


def payload(kind: str = "new", **after: Any) -> str:
    """Build a Frigate events message with sensible defaults."""
    state = {
        "id": "1760011207.412398-k3w9qz",
        "camera": "front_door",
        "label": "person",
        "false_positive": False,
        "area": 50000,
        "current_zones": ["porch"],
        **after,
    }
    return json.dumps({"type": kind, "before": state, "after": state})


def test_parse_realistic_event() -> None:
    """Fields come from ``after``."""
    event = parse_event(payload("update"))
    assert event == FrigateEvent(
        id="1760011207.412398-k3w9qz",
        type="update",
        camera="front_door",
        label="person",
        false_positive=False,
        area=50000.0,
        current_zones=("porch",),
    )


def test_parse_falls_back_to_before() -> None:
    """An ``after`` that is not an object falls back to ``before``."""
    message = json.loads(payload())
    message["after"] = None
    assert parse_event(json.dumps(message)).camera == "front_door"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON list"),
        ('{"type": "new"}', "neither"),
        ('{"type": "new", "after": {"camera": "x"}}', "no id"),
        ('{"type": "new", "after": {"id": "1"}}', "no camera"),
        (b"\xff\xfe", "not JSON"),
        ("x" * 300_000, "too large"),
    ],
)
def test_parse_rejects_malformed(raw: str | bytes, reason: str) -> None:
    """Malformed payloads are rejected with a reason, never an exception of another kind."""
    with pytest.raises(EventRejected, match=reason):
        parse_event(raw)


def test_parse_tolerates_wrong_types() -> None:
    """Wrong field types become neutral values."""
    event = parse_event(
        payload(label=7, area="big", current_zones="porch", false_positive="yes")
    )
    assert event.label == ""
    assert event.area is None
    assert event.current_zones == ()
    assert event.false_positive is False


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200),
        st.recursive(
            st.none()
            | st.booleans()
            | st.floats()
            | st.integers()
            | st.text(max_size=10),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "type",
                            "after",
                            "before",
                            "id",
                            "camera",
                            "label",
                            "area",
                            "current_zones",
                        ]
                    ),
                    children,
                    max_size=6,
                )
            ),
            max_leaves=20,
        ).map(json.dumps),
    )
)
def test_parse_never_raises_anything_else(raw: str | bytes) -> None:
    """Whatever arrives on the topic, parsing either works or says why not."""
    try:
        event = parse_event(raw)
    except EventRejected:
        return
    assert isinstance(event.id, str) and event.id
    assert isinstance(event.camera, str) and event.camera
    assert all(isinstance(zone, str) for zone in event.current_zones)


FILTER = EventFilter.create(
    labels=["person"],
    cameras=["front_door"],
    zones=["garden.lawn", "bad-entry", "front_door.porch"],
    min_object_area=1000,
)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (payload("new"), None),
        (payload("update"), None),
        (payload("end"), "type 'end'"),
        (payload(false_positive=True), "false positive"),
        (payload(label="car"), "label 'car'"),
        (payload(camera="driveway"), "camera 'driveway'"),
        # garden is not in the camera list but has a zone rule: allowed while in the zone.
        (payload(camera="garden", current_zones=["lawn"]), None),
        (payload(camera="garden", current_zones=["street"]), "not in ['lawn']"),
        (payload(current_zones=[]), "not in ['porch']"),
        (payload(area=999), "area 999"),
    ],
)
def test_filters(message: str, reason: str | None) -> None:
    """Each filter of SPEC §4 step 2 says why it skipped."""
    result = FILTER.skip_reason(parse_event(message))
    if reason is None:
        assert result is None
    else:
        assert result is not None and reason in result


def test_no_camera_list_allows_all() -> None:
    """An empty camera list means every camera."""
    event_filter = EventFilter.create(["person"], [], [], 0)
    assert event_filter.skip_reason(parse_event(payload(camera="anything"))) is None


def test_tracker_one_run_at_a_time_and_none_after_match() -> None:
    """A running event is not started again; a matched one never again."""
    tracker = EventTracker()
    assert tracker.try_start("a") is None
    assert "in progress" in (tracker.try_start("a") or "")
    assert tracker.try_start("b") is None  # other events run concurrently
    tracker.finish("a", matched=True)
    assert "match" in (tracker.try_start("a") or "")


def test_tracker_at_most_three_runs() -> None:
    """An unmatched event may run again on later updates, three times in all."""
    tracker = EventTracker()
    for _ in range(3):
        assert tracker.try_start("a") is None
        tracker.finish("a", matched=False)
    assert "3 runs" in (tracker.try_start("a") or "")


def test_tracker_memory_is_bounded() -> None:
    """Old idle events are forgotten; running ones are kept."""
    tracker = EventTracker(max_events=100)
    assert tracker.try_start("running") is None
    for number in range(1000):
        tracker.try_start(str(number))
        tracker.finish(str(number), matched=False)
    assert len(tracker) <= 100
    assert "in progress" in (tracker.try_start("running") or "")
    tracker.finish("never-started", matched=True)  # unknown ids are ignored


def test_tracker_forgets_the_oldest_idle_event_first() -> None:
    """Running events ahead of it are skipped; with all running, none is forgotten."""
    tracker = EventTracker(max_events=3)
    for event in ("run1", "run2", "old"):
        assert tracker.try_start(event) is None
    tracker.finish("old", matched=True)
    assert tracker.try_start("new") is None  # one too many: "old" goes
    tracker.finish("new", matched=True)
    assert len(tracker) == 3
    assert "already produced a match" in (tracker.try_start("new") or "")
    assert "in progress" in (tracker.try_start("run1") or "")
    assert tracker.try_start("old") is None  # forgotten: it may run again
    full = EventTracker(max_events=2)
    for event in ("a", "b", "c"):
        assert full.try_start(event) is None
    assert len(full) == 3  # every one is running: nothing can be forgotten


def test_tracker_cancelled_claim_does_not_count() -> None:
    """A run claimed but never started (queue full) is given back."""
    tracker = EventTracker()
    for _ in range(5):
        assert tracker.try_start("a") is None
        tracker.cancel("a")
    tracker.cancel("unknown-id")
    assert tracker.try_start("a") is None
