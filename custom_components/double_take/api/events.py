"""Frigate ``<prefix>/events`` messages: defensive parsing, filters and per-event run control."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
import math
import re
from typing import Any

import orjson

EVENT_TYPES = frozenset({"new", "update"})
MAX_RUNS_PER_EVENT = 3
# Frigate event payloads are a few kB; anything this large is not one.
MAX_PAYLOAD_BYTES = 256 * 1024
# Event ids, camera, zone and label names are kept (tracker, results, topics, logs):
# Frigate's are short, so longer ones are not Frigate's.
MAX_ID_LENGTH = 64
MAX_NAME_LENGTH = 64
MAX_ZONES = 32
# Attributes looked at per list: Frigate sends one entry per attribute box in the frame.
MAX_ATTRIBUTES = 32
# Box coordinates are detect-stream pixels; no camera streams wider or taller than this.
MAX_COORDINATE = 16384
FACE_LABEL = "face"
# Frigate's event ids: "<start time>-<random suffix>" (1760011207.412398-k3w9qz).
_EVENT_ID = re.compile(r"[0-9]+\.[0-9]+-[a-z0-9]+")
# A camera name becomes an MQTT topic level and a dispatcher signal name.
_NOT_IN_CAMERA = re.compile(r"[+#/\x00-\x1f\x7f-\x9f]")


type Box = tuple[int, int, int, int]
"""``(x_min, y_min, x_max, y_max)`` in pixels of the camera's detect stream."""


class EventRejected(Exception):
    """The message is not a Frigate event we process; the text says why (for the debug log)."""


@dataclass(frozen=True, slots=True)
class FrigateEvent:
    """The fields of a Frigate event message that decide whether and how to process it.

    The face fields come from Frigate 0.13+ and only with a model that detects ``face``
    (Frigate+; ``face`` in the camera's ``objects.track``); otherwise they are None.
    Boxes are in detect-stream pixels (``FrigateConfig.detect_size``), each belonging
    to one frame:

    - ``snapshot_face_box``: the best face of the **snapshot frame**
      (``snapshot.attributes``), the frame ``/api/events/<id>/snapshot.jpg`` and
      ``snapshot-clean`` serve. This is the box to crop a snapshot with. When the
      snapshot lists no attributes but is the current frame (same ``frame_time``),
      the current frame's face is used.
    - ``face_box``: the best face of the **current frame** (``current_attributes``,
      at ``frame_time``). No endpoint serves that exact frame (``latest.jpg`` is
      the camera's newest frame, usually a later one): it says where the face was,
      not where it is in an image.
    """

    id: str
    type: str
    camera: str
    label: str
    false_positive: bool
    area: float | None
    current_zones: tuple[str, ...]
    face_box: Box | None = None
    face_score: float | None = None
    snapshot_face_box: Box | None = None
    snapshot_face_score: float | None = None


def parse_event(payload: str | bytes | bytearray) -> FrigateEvent:
    """Parse a ``frigate/events`` payload, using ``after`` with ``before`` as fallback."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise EventRejected(f"payload of {len(payload)} bytes is too large")
    try:
        # orjson (Home Assistant's JSON library): a burst of Frigate events is parsed
        # several times faster than with the standard library.
        message = orjson.loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        raise EventRejected(f"payload is not JSON ({err})") from err
    if not isinstance(message, dict):
        raise EventRejected(
            f"payload is a JSON {type(message).__name__}, not an object"
        )
    state = message.get("after")
    if not isinstance(state, dict):
        state = message.get("before")
    if not isinstance(state, dict):
        raise EventRejected("payload has neither an 'after' nor a 'before' object")
    event_id = state.get("id")
    camera = state.get("camera")
    if not isinstance(event_id, str) or not event_id:
        raise EventRejected("event has no id")
    if not isinstance(camera, str) or not camera:
        raise EventRejected(f"event {event_id[:MAX_ID_LENGTH]!r} has no camera")
    if len(event_id) > MAX_ID_LENGTH or not _EVENT_ID.fullmatch(event_id):
        raise EventRejected(
            f"event id {event_id[:MAX_ID_LENGTH]!r} is not a Frigate event id"
        )
    if len(camera) > MAX_NAME_LENGTH or _NOT_IN_CAMERA.search(camera):
        raise EventRejected(
            f"event {event_id} has an invalid camera name {camera[:MAX_NAME_LENGTH]!r}"
        )
    kind = message.get("type")
    label = state.get("label")
    zones = state.get("current_zones")
    face = _best_face(state.get("current_attributes"))
    snapshot = state.get("snapshot")
    snapshot_face = None
    if isinstance(snapshot, dict):
        snapshot_face = _best_face(snapshot.get("attributes"))
        frame_time = _number(state.get("frame_time"))
        if (
            snapshot_face is None
            and "attributes" not in snapshot
            and frame_time is not None
            and _number(snapshot.get("frame_time")) == frame_time
        ):
            snapshot_face = face
    return FrigateEvent(
        id=event_id,
        type=_short_text(kind),
        camera=camera,
        label=_short_text(label),
        false_positive=state.get("false_positive") is True,
        area=_number(state.get("area")),
        current_zones=tuple(
            zone
            for zone in zones[:MAX_ZONES]
            if isinstance(zone, str) and 0 < len(zone) <= MAX_NAME_LENGTH
        )
        if isinstance(zones, list)
        else (),
        face_box=face[0] if face else None,
        face_score=face[1] if face else None,
        snapshot_face_box=snapshot_face[0] if snapshot_face else None,
        snapshot_face_score=snapshot_face[1] if snapshot_face else None,
    )


def _best_face(attributes: Any) -> tuple[Box, float] | None:
    """Return the best-scoring valid ``face`` entry of a list, as (box, score).

    Entries that are not ``{"label": "face", "box": [x1, y1, x2, y2], "score": s}``
    with a usable box and a score in [0, 1] are ignored; so is anything past the
    first MAX_ATTRIBUTES entries. On equal scores the first one wins.
    """
    if not isinstance(attributes, list):
        return None
    best: tuple[Box, float] | None = None
    for entry in attributes[:MAX_ATTRIBUTES]:
        if not isinstance(entry, dict) or entry.get("label") != FACE_LABEL:
            continue
        score = _number(entry.get("score"))
        box = _box(entry.get("box"))
        if score is None or not 0.0 <= score <= 1.0 or box is None:
            continue
        if best is None or score > best[1]:
            best = (box, score)
    return best


def _box(value: Any) -> Box | None:
    """Read an ``[x_min, y_min, x_max, y_max]`` box in pixels; None if it is not one.

    Coordinates must be numbers within 0..MAX_COORDINATE with a positive width and
    height; fractional ones are widened to whole pixels.
    """
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    coordinates: list[float] = []
    for item in value:
        number = _number(item)
        if number is None or not 0.0 <= number <= MAX_COORDINATE:
            return None
        coordinates.append(number)
    x_min, y_min, x_max, y_max = coordinates
    if x_max <= x_min or y_max <= y_min:
        return None
    return (
        math.floor(x_min),
        math.floor(y_min),
        math.ceil(x_max),
        math.ceil(y_max),
    )


def _short_text(value: Any) -> str:
    """``value`` when it is text of at most MAX_NAME_LENGTH characters, else ``""``."""
    return value if isinstance(value, str) and len(value) <= MAX_NAME_LENGTH else ""


@dataclass(frozen=True, slots=True)
class EventFilter:
    """The options of SPEC §4 step 2, prepared once."""

    labels: frozenset[str]
    cameras: frozenset[str]
    zones: dict[str, frozenset[str]]
    min_object_area: float

    @classmethod
    def create(
        cls,
        labels: Iterable[str],
        cameras: Iterable[str],
        zones: Iterable[str],
        min_object_area: float,
    ) -> EventFilter:
        """Build from option values; zones are ``camera.zone`` strings."""
        zone_map: dict[str, set[str]] = {}
        for entry in zones:
            camera, sep, zone = entry.partition(".")
            if sep and camera and zone:
                zone_map.setdefault(camera, set()).add(zone)
        return cls(
            labels=frozenset(labels),
            cameras=frozenset(cameras),
            zones={camera: frozenset(names) for camera, names in zone_map.items()},
            min_object_area=min_object_area,
        )

    def skip_reason(self, event: FrigateEvent) -> str | None:
        """Why the event is not processed, or None to process it."""
        if event.type not in EVENT_TYPES:
            return f"type {event.type!r} is not processed"
        if event.false_positive:
            return "it is a false positive"
        if event.label not in self.labels:
            return f"label {event.label!r} is not in {sorted(self.labels)}"
        # A camera named in a zone rule is allowed even when the camera list omits it,
        # as in the original Double Take.
        if (
            self.cameras
            and event.camera not in self.cameras
            and event.camera not in self.zones
        ):
            return f"camera {event.camera!r} is not in {sorted(self.cameras)}"
        required = self.zones.get(event.camera)
        if required and not required.intersection(event.current_zones):
            return f"object is in zones {list(event.current_zones)}, not in {sorted(required)}"
        if event.area is not None and event.area < self.min_object_area:
            return f"area {event.area:g} is below {self.min_object_area:g}"
        return None


@dataclass(slots=True)
class _EventRuns:
    runs: int = 0
    running: bool = False
    matched: bool = False
    pending: FrigateEvent | None = None
    """The latest update that arrived while a run was in progress (runs next)."""


class EventTracker:
    """One run at a time per event, none after a match, at most three in all.

    An update that arrives while its event runs is remembered (the latest one) and gets
    the next run as soon as the current one ends without a match: it may carry the
    better snapshot. Remembers a bounded number of events: the oldest idle ones are
    forgotten first, so a day of Frigate events cannot grow memory.
    """

    def __init__(
        self, max_events: int = 2048, max_runs: int = MAX_RUNS_PER_EVENT
    ) -> None:
        """Set the memory bound and the number of runs an unmatched event may get."""
        self._events: OrderedDict[str, _EventRuns] = OrderedDict()
        self._max_events = max_events
        self._max_runs = max_runs

    def __len__(self) -> int:
        """Return the number of events remembered."""
        return len(self._events)

    def try_start(
        self, event_id: str, update: FrigateEvent | None = None
    ) -> str | None:
        """Claim a run for ``event_id``; returns why not, or None when claimed.

        While a run is in progress, ``update`` (the message's event) is remembered for
        the next run, which ``finish`` claims when the current run ends unmatched.
        """
        state = self._events.get(event_id)
        if state is None:
            self._forget_oldest()  # before: the new event must not be the one forgotten
            state = self._events[event_id] = _EventRuns()
        else:
            self._events.move_to_end(event_id)
        if state.matched:
            return "this event already produced a match"
        if state.runs >= self._max_runs:
            return f"this event already had {state.runs} runs"
        if state.running:
            if update is None:
                return "a run for this event is in progress"
            state.pending = update
            return "a run for this event is in progress; it runs again if that one ends unmatched"
        state.runs += 1
        state.running = True
        return None

    def finish(self, event_id: str, matched: bool) -> FrigateEvent | None:
        """Release the event's run and remember whether it matched.

        Returns the update remembered during the run when it gets the next run (claimed
        already: start it, or ``cancel`` it), else None.
        """
        state = self._events.get(event_id)
        if state is None:
            return None
        state.running = False
        state.matched = state.matched or matched
        pending, state.pending = state.pending, None
        if pending is None or state.matched or state.runs >= self._max_runs:
            return None
        state.runs += 1
        state.running = True
        return pending

    def cancel(self, event_id: str) -> None:
        """Give back a claimed run that never started (it does not count)."""
        state = self._events.get(event_id)
        if state is None or not state.running:
            return
        state.running = False
        state.runs -= 1
        state.pending = None

    def _forget_oldest(self) -> None:
        """Make room for one more event: forget the oldest idle ones (never a running one).

        Only the few running events ahead of the oldest idle one are looked at, not
        the whole (full) table every time.
        """
        while len(self._events) >= self._max_events:
            idle = next(
                (key for key, state in self._events.items() if not state.running),
                None,
            )
            if idle is None:
                return
            del self._events[idle]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits
        return None
    return number if math.isfinite(number) else None
