"""The entry options, declared once: form schema, defaults and the typed ``Settings``.

``OPTIONS`` lists every option of SPEC §3.3 with its default, how its value is
converted, the selector and section of the options form, what it needs of the entry
(Frigate, MQTT) to be offered, and the ``Settings`` attribute it becomes
(``rules.confidence`` is ``Settings.rules.confidence``). Options are stored flat in
``entry.options``; only the form groups them. The selectors used by every form of the
integration are here too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

import probatio as vol

from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    Selector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .api.events import EventFilter
from .const import (
    CROP_FACE,
    CROP_NONE,
    CROP_PERSON,
    OPT_ATTEMPT_DELAY,
    OPT_CAMERA_OVERRIDES,
    OPT_CAMERA_RESET,
    OPT_CAMERAS,
    OPT_CONFIDENCE,
    OPT_CROP,
    OPT_FRIGATE_JITTER,
    OPT_IMAGE_HEIGHT,
    OPT_LABELS,
    OPT_LATEST_ATTEMPTS,
    OPT_MIN_DETECTORS_AGREE,
    OPT_MIN_FACE_AREA,
    OPT_MIN_MARGIN,
    OPT_MIN_OBJECT_AREA,
    OPT_MQTT_PUBLISH,
    OPT_MQTT_SNAPSHOTS,
    OPT_MQTT_TOPIC_CAMERAS,
    OPT_MQTT_TOPIC_MATCHES,
    OPT_PRESENCE_TIMEOUT,
    OPT_PROCESSING,
    OPT_PURGE_MATCHES_HOURS,
    OPT_PURGE_UNKNOWN_HOURS,
    OPT_REQUIRE_FACE,
    OPT_SAVE_UNKNOWN,
    OPT_SNAPSHOT_ATTEMPTS,
    OPT_STOP_ON_MATCH,
    OPT_UNKNOWN_CONFIDENCE,
    OPT_UNKNOWN_MIN_FACE_AREA,
    OPT_UPDATE_SUB_LABEL,
    OPT_ZONES,
    PROCESSING_PARALLEL,
    PROCESSING_SERIAL,
    REQUIRE_FACE_AUTO,
    REQUIRE_FACE_OFF,
    REQUIRE_FACE_ON,
)
from .pipeline import RunSettings
from .result import MatchRules

# Selectors of every form of the integration (options, Frigate, detectors).
TEXT_SELECTOR: Final = TextSelector()
URL_SELECTOR: Final = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
PASSWORD_SELECTOR: Final = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD)
)


def number(
    minimum: float, maximum: float, step: float, unit: str | None = None
) -> NumberSelector:
    """Return a number box from ``minimum`` to ``maximum``."""
    config = NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def choice_selector(choices: list[str]) -> SelectSelector:
    """Pick any of ``choices`` (e.g. Frigate's cameras), or type other values."""
    return SelectSelector(
        SelectSelectorConfig(
            options=choices,
            multiple=True,
            custom_value=True,
            mode=SelectSelectorMode.DROPDOWN,
        )
    )


def _topic(value: Any) -> str:
    return str(value).rstrip("/")


def _parallel(value: Any) -> bool:
    return bool(value == PROCESSING_PARALLEL)


def _same(value: Any) -> Any:
    return value


# Sections of the options form, in form order: name → shown collapsed.
SECTION_RECOGNITION: Final = "recognition"
SECTION_FRIGATE: Final = "frigate"
SECTION_ATTEMPTS: Final = "attempts"
SECTION_STORAGE: Final = "storage"
SECTION_MQTT: Final = "mqtt"
SECTION_PRESENCE: Final = "presence"
SECTIONS: Final[dict[str, bool]] = {
    SECTION_RECOGNITION: False,
    SECTION_FRIGATE: False,
    SECTION_ATTEMPTS: True,
    SECTION_STORAGE: True,
    SECTION_MQTT: True,
    SECTION_PRESENCE: True,
}

# What an option can need of the entry to apply (``OptionSpec.needs``).
NEEDS_FRIGATE: Final = "frigate"
# Cameras: Frigate's or camera sources (runs of several images, camera counts).
NEEDS_CAMERAS: Final = "cameras"
NEEDS_MQTT: Final = "mqtt"


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option: key, default, conversion, form selector and ``Settings`` attribute.

    ``selector`` None: a multiple choice among the values the form is given for the key
    (Frigate's cameras or zones). ``to``: the ``Settings`` attribute, ``group.field`` for
    one inside ``rules``, ``event_filter`` or ``run``; the key when empty. ``section``:
    the options form's section; ``needs``: what the entry must have for the option to
    apply (``NEEDS_FRIGATE``, ``NEEDS_MQTT``), else the form leaves it out.
    """

    key: str
    default: Any
    convert: Callable[[Any], Any]
    selector: Selector[Any] | None
    section: str
    to: str = ""
    needs: str = ""


_BOOL = BooleanSelector()
_HOURS = number(0, 8760, 1, "h")
_SECONDS = number(0, 86400, 1, "s")
_ATTEMPTS = number(0, 100, 1)
_PERCENT = number(0, 100, 1, "%")
_AREA = number(0, 100_000_000, 1, "px²")
_LABELS = SelectSelector(
    SelectSelectorConfig(options=["person"], multiple=True, custom_value=True)
)
_CROP = SelectSelector(
    SelectSelectorConfig(
        options=[CROP_NONE, CROP_PERSON, CROP_FACE], translation_key="crop"
    )
)
_REQUIRE_FACE = SelectSelector(
    SelectSelectorConfig(
        options=[REQUIRE_FACE_AUTO, REQUIRE_FACE_ON, REQUIRE_FACE_OFF],
        translation_key="require_face",
    )
)
_PROCESSING = SelectSelector(
    SelectSelectorConfig(
        options=[PROCESSING_PARALLEL, PROCESSING_SERIAL], translation_key="processing"
    )
)

OPTIONS: Final[tuple[OptionSpec, ...]] = (
    # Recognition thresholds: every run, Frigate's and the recognize action's.
    OptionSpec(
        OPT_CONFIDENCE, 50, float, _PERCENT, SECTION_RECOGNITION, "rules.confidence"
    ),
    OptionSpec(
        OPT_UNKNOWN_CONFIDENCE,
        40,
        float,
        _PERCENT,
        SECTION_RECOGNITION,
        "rules.unknown_confidence",
    ),
    OptionSpec(
        OPT_MIN_FACE_AREA,
        10_000,
        int,
        number(0, 10_000_000, 1, "px²"),
        SECTION_RECOGNITION,
        "rules.min_face_area",
    ),
    OptionSpec(
        OPT_UNKNOWN_MIN_FACE_AREA,
        0,
        int,
        number(0, 10_000_000, 1, "px²"),
        SECTION_RECOGNITION,
        "rules.unknown_min_face_area",
    ),
    OptionSpec(
        OPT_MIN_MARGIN, 0, float, _PERCENT, SECTION_RECOGNITION, "rules.min_margin"
    ),
    OptionSpec(
        OPT_MIN_DETECTORS_AGREE,
        1,
        int,
        number(1, 10, 1),
        SECTION_RECOGNITION,
        "rules.min_detectors_agree",
    ),
    # Which Frigate events are processed, and what is written back.
    OptionSpec(
        OPT_LABELS,
        ["person"],
        _same,
        _LABELS,
        SECTION_FRIGATE,
        "event_filter.labels",
        NEEDS_FRIGATE,
    ),
    OptionSpec(
        OPT_CAMERAS,
        [],
        _same,
        None,
        SECTION_FRIGATE,
        "event_filter.cameras",
        NEEDS_FRIGATE,
    ),
    OptionSpec(
        OPT_ZONES, [], _same, None, SECTION_FRIGATE, "event_filter.zones", NEEDS_FRIGATE
    ),
    OptionSpec(
        OPT_MIN_OBJECT_AREA,
        0,
        float,
        _AREA,
        SECTION_FRIGATE,
        "event_filter.min_object_area",
        NEEDS_FRIGATE,
    ),
    OptionSpec(
        OPT_UPDATE_SUB_LABEL, False, bool, _BOOL, SECTION_FRIGATE, needs=NEEDS_FRIGATE
    ),
    # How a Frigate event is worked on.
    OptionSpec(
        OPT_SNAPSHOT_ATTEMPTS, 10, int, _ATTEMPTS, SECTION_ATTEMPTS, needs=NEEDS_FRIGATE
    ),
    OptionSpec(
        OPT_LATEST_ATTEMPTS, 10, int, _ATTEMPTS, SECTION_ATTEMPTS, needs=NEEDS_FRIGATE
    ),
    OptionSpec(
        OPT_ATTEMPT_DELAY,
        0.5,
        float,
        number(0, 60, 0.1, "s"),
        SECTION_ATTEMPTS,
        "run.delay",
        NEEDS_FRIGATE,
    ),
    OptionSpec(
        OPT_STOP_ON_MATCH,
        True,
        bool,
        _BOOL,
        SECTION_ATTEMPTS,
        "run.stop_on_match",
        NEEDS_CAMERAS,
    ),
    OptionSpec(
        OPT_PROCESSING,
        PROCESSING_PARALLEL,
        _parallel,
        _PROCESSING,
        SECTION_ATTEMPTS,
        "run.parallel",
        NEEDS_CAMERAS,
    ),
    OptionSpec(
        OPT_IMAGE_HEIGHT,
        800,
        int,
        number(100, 4320, 1, "px"),
        SECTION_ATTEMPTS,
        needs=NEEDS_FRIGATE,
    ),
    OptionSpec(
        OPT_CROP, CROP_PERSON, str, _CROP, SECTION_ATTEMPTS, needs=NEEDS_FRIGATE
    ),
    OptionSpec(
        OPT_REQUIRE_FACE,
        REQUIRE_FACE_AUTO,
        str,
        _REQUIRE_FACE,
        SECTION_ATTEMPTS,
        needs=NEEDS_FRIGATE,
    ),
    OptionSpec(
        OPT_MQTT_SNAPSHOTS, False, bool, _BOOL, SECTION_ATTEMPTS, needs=NEEDS_FRIGATE
    ),
    OptionSpec(
        OPT_FRIGATE_JITTER,
        0,
        float,
        number(0, 10, 0.1, "s"),
        SECTION_ATTEMPTS,
        needs=NEEDS_FRIGATE,
    ),
    # Saved images.
    OptionSpec(OPT_SAVE_UNKNOWN, False, bool, _BOOL, SECTION_STORAGE),
    OptionSpec(OPT_PURGE_MATCHES_HOURS, 48, float, _HOURS, SECTION_STORAGE),
    OptionSpec(OPT_PURGE_UNKNOWN_HOURS, 48, float, _HOURS, SECTION_STORAGE),
    # MQTT, as the original published.
    OptionSpec(OPT_MQTT_PUBLISH, True, bool, _BOOL, SECTION_MQTT, needs=NEEDS_MQTT),
    OptionSpec(
        OPT_MQTT_TOPIC_MATCHES,
        "double-take/matches",
        _topic,
        TEXT_SELECTOR,
        SECTION_MQTT,
        needs=NEEDS_MQTT,
    ),
    OptionSpec(
        OPT_MQTT_TOPIC_CAMERAS,
        "double-take/cameras",
        _topic,
        TEXT_SELECTOR,
        SECTION_MQTT,
        needs=NEEDS_MQTT,
    ),
    # Presence and camera counts.
    OptionSpec(OPT_PRESENCE_TIMEOUT, 600, float, _SECONDS, SECTION_PRESENCE),
    OptionSpec(
        OPT_CAMERA_RESET, 30, float, _SECONDS, SECTION_PRESENCE, needs=NEEDS_CAMERAS
    ),
)

DEFAULT_OPTIONS: Final[dict[str, Any]] = {spec.key: spec.default for spec in OPTIONS}
_SPECS: Final[dict[str, OptionSpec]] = {spec.key: spec for spec in OPTIONS}

# Options a camera can set for itself (the options form's "Camera settings" step);
# everything else is the same for every camera.
CAMERA_OPTIONS: Final = (
    OPT_CONFIDENCE,
    OPT_UNKNOWN_CONFIDENCE,
    OPT_MIN_FACE_AREA,
    OPT_SNAPSHOT_ATTEMPTS,
    OPT_LATEST_ATTEMPTS,
    OPT_IMAGE_HEIGHT,
    OPT_CROP,
    OPT_REQUIRE_FACE,
)


def camera_options_schema() -> vol.Schema:
    """Return the form of one camera's own values (an empty field: the global value)."""
    return vol.Schema(
        {vol.Optional(key): _SPECS[key].selector for key in CAMERA_OPTIONS}
    )


def camera_overrides(options: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Return each camera's own option values, converted; anything else is dropped."""
    stored = options.get(OPT_CAMERA_OVERRIDES)
    if not isinstance(stored, Mapping):
        return {}
    overrides: dict[str, dict[str, Any]] = {}
    for camera, values in stored.items():
        if not isinstance(camera, str) or not isinstance(values, Mapping):
            continue
        kept = {
            key: _SPECS[key].convert(value)
            for key, value in values.items()
            if key in CAMERA_OPTIONS and value is not None
        }
        if kept:
            overrides[camera] = kept
    return overrides


def options_schema(
    choices: Mapping[str, list[str]], available: Collection[str]
) -> vol.Schema:
    """Return the options form: the options that apply, in sections, with defaults.

    ``choices`` offers values for the options without a fixed selector (cameras, zones).
    ``available`` says what the entry has (``NEEDS_FRIGATE``, ``NEEDS_MQTT``): an option
    that needs something else is left out, and so is a section left empty.
    """
    sections: dict[str, dict[vol.Marker, Any]] = {name: {} for name in SECTIONS}
    for spec in OPTIONS:
        if spec.needs and spec.needs not in available:
            continue
        sections[spec.section][vol.Optional(spec.key, default=spec.default)] = (
            choice_selector(choices.get(spec.key, []))
            if spec.selector is None
            else spec.selector
        )
    return vol.Schema(
        {
            vol.Required(name): section(
                vol.Schema(fields), {"collapsed": SECTIONS[name]}
            )
            for name, fields in sections.items()
            if fields
        }
    )


def sectioned(options: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Nest flat ``options`` by form section (the form's suggested values)."""
    nested: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for key, value in options.items():
        if (spec := _SPECS.get(key)) is not None:
            nested[spec.section][key] = value
    return nested


def flattened(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Return the options form's answer (one mapping per section) as flat options."""
    return {
        key: value
        for name, values in user_input.items()
        if name in SECTIONS
        for key, value in values.items()
    }


def normalized(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with numbers converted as ``Settings`` reads them (``10.0`` → ``10``).

    Number selectors answer floats; a count is an int in ``Settings`` and is stored and
    shown as one. Other values, and keys this version does not know, stay as they are.
    """
    return {
        key: spec.convert(value)
        if (spec := _SPECS.get(key)) is not None and spec.convert in (int, float)
        else value
        for key, value in options.items()
    }


@dataclass(frozen=True, slots=True)
class Settings:
    """All options of SPEC §3.3, with defaults filled in."""

    rules: MatchRules
    event_filter: EventFilter
    snapshot_attempts: int
    latest_attempts: int
    run: RunSettings
    frigate_jitter: float
    image_height: int
    crop: str
    require_face: str
    mqtt_snapshots: bool
    save_unknown: bool
    purge_matches_hours: float
    purge_unknown_hours: float
    update_sub_label: bool
    mqtt_publish: bool
    mqtt_topic_matches: str
    mqtt_topic_cameras: str
    presence_timeout: float
    camera_reset: float

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Settings:
        """Convert ``options`` (defaults for what is missing) as ``OPTIONS`` says."""
        groups: defaultdict[str, dict[str, Any]] = defaultdict(dict)
        for spec in OPTIONS:
            group, _, field = (spec.to or spec.key).rpartition(".")
            groups[group][field] = spec.convert(options.get(spec.key, spec.default))
        return cls(
            rules=MatchRules(**groups["rules"]),
            event_filter=EventFilter.create(**groups["event_filter"]),
            run=RunSettings(**groups["run"]),
            **groups[""],
        )


class LiveSettings:
    """The entry's current options, shared by everything that reads them at run time.

    Options apply without a reload: the update listener calls ``update`` and every holder
    of this object sees the new ``current`` (and ``for_camera``) at its next read.
    """

    def __init__(self, options: Mapping[str, Any]) -> None:
        """Start from the entry's options."""
        self.update(options)

    def update(self, options: Mapping[str, Any]) -> None:
        """Take changed options into use."""
        self.current = Settings.from_options(options)
        # Built once per change, not per event.
        self._by_camera = {
            camera: Settings.from_options({**options, **values})
            for camera, values in camera_overrides(options).items()
        }

    def for_camera(self, camera: str) -> Settings:
        """Return the settings of ``camera``: the options with its own values."""
        return self._by_camera.get(camera, self.current)
