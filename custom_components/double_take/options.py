"""The entry options, declared once: form schema, defaults and the typed ``Settings``.

``OPTIONS`` lists every option of SPEC §3.3 with its default, how its value is
converted, the selector of the options form and the ``Settings`` attribute it becomes
(``rules.confidence`` is ``Settings.rules.confidence``). The selectors used by every
form of the integration are here too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import probatio as vol

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
    OPT_ATTEMPT_DELAY,
    OPT_CAMERA_RESET,
    OPT_CAMERAS,
    OPT_CONFIDENCE,
    OPT_FRIGATE_JITTER,
    OPT_IMAGE_HEIGHT,
    OPT_LABELS,
    OPT_LATEST_ATTEMPTS,
    OPT_MIN_FACE_AREA,
    OPT_MIN_OBJECT_AREA,
    OPT_MQTT_PUBLISH,
    OPT_MQTT_TOPIC_CAMERAS,
    OPT_MQTT_TOPIC_MATCHES,
    OPT_PRESENCE_TIMEOUT,
    OPT_PROCESSING,
    OPT_PURGE_MATCHES_HOURS,
    OPT_PURGE_UNKNOWN_HOURS,
    OPT_SAVE_UNKNOWN,
    OPT_SNAPSHOT_ATTEMPTS,
    OPT_STOP_ON_MATCH,
    OPT_UNKNOWN_CONFIDENCE,
    OPT_UPDATE_SUB_LABEL,
    OPT_ZONES,
    PROCESSING_PARALLEL,
    PROCESSING_SERIAL,
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


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option: key, default, conversion, form selector and ``Settings`` attribute.

    ``selector`` None: a multiple choice among the values the form is given for the key
    (Frigate's cameras or zones). ``to``: the ``Settings`` attribute, ``group.field`` for
    one inside ``rules``, ``event_filter`` or ``run``; the key when empty.
    """

    key: str
    default: Any
    convert: Callable[[Any], Any]
    selector: Selector[Any] | None
    to: str = ""


_BOOL = BooleanSelector()
_HOURS = number(0, 8760, 1, "h")
_SECONDS = number(0, 86400, 1, "s")
_ATTEMPTS = number(0, 100, 1)
_PERCENT = number(0, 100, 1, "%")
_AREA = number(0, 100_000_000, 1, "px²")
_LABELS = SelectSelector(
    SelectSelectorConfig(options=["person"], multiple=True, custom_value=True)
)
_PROCESSING = SelectSelector(
    SelectSelectorConfig(
        options=[PROCESSING_PARALLEL, PROCESSING_SERIAL], translation_key="processing"
    )
)

OPTIONS: Final[tuple[OptionSpec, ...]] = (
    OptionSpec(OPT_CONFIDENCE, 50, float, _PERCENT, "rules.confidence"),
    OptionSpec(OPT_UNKNOWN_CONFIDENCE, 40, float, _PERCENT, "rules.unknown_confidence"),
    OptionSpec(
        OPT_MIN_FACE_AREA,
        10_000,
        int,
        number(0, 10_000_000, 1, "px²"),
        "rules.min_face_area",
    ),
    OptionSpec(OPT_LABELS, ["person"], _same, _LABELS, "event_filter.labels"),
    OptionSpec(OPT_CAMERAS, [], _same, None, "event_filter.cameras"),
    OptionSpec(OPT_ZONES, [], _same, None, "event_filter.zones"),
    OptionSpec(OPT_MIN_OBJECT_AREA, 0, float, _AREA, "event_filter.min_object_area"),
    OptionSpec(OPT_SNAPSHOT_ATTEMPTS, 10, int, _ATTEMPTS),
    OptionSpec(OPT_LATEST_ATTEMPTS, 10, int, _ATTEMPTS),
    OptionSpec(OPT_ATTEMPT_DELAY, 0.5, float, number(0, 60, 0.1, "s"), "run.delay"),
    OptionSpec(OPT_FRIGATE_JITTER, 0, float, number(0, 10, 0.1, "s")),
    OptionSpec(OPT_IMAGE_HEIGHT, 800, int, number(100, 4320, 1, "px")),
    OptionSpec(OPT_STOP_ON_MATCH, True, bool, _BOOL, "run.stop_on_match"),
    OptionSpec(
        OPT_PROCESSING, PROCESSING_PARALLEL, _parallel, _PROCESSING, "run.parallel"
    ),
    OptionSpec(OPT_SAVE_UNKNOWN, False, bool, _BOOL),
    OptionSpec(OPT_PURGE_MATCHES_HOURS, 48, float, _HOURS),
    OptionSpec(OPT_PURGE_UNKNOWN_HOURS, 48, float, _HOURS),
    OptionSpec(OPT_UPDATE_SUB_LABEL, False, bool, _BOOL),
    OptionSpec(OPT_MQTT_PUBLISH, True, bool, _BOOL),
    OptionSpec(OPT_MQTT_TOPIC_MATCHES, "double-take/matches", _topic, TEXT_SELECTOR),
    OptionSpec(OPT_MQTT_TOPIC_CAMERAS, "double-take/cameras", _topic, TEXT_SELECTOR),
    OptionSpec(OPT_PRESENCE_TIMEOUT, 600, float, _SECONDS),
    OptionSpec(OPT_CAMERA_RESET, 30, float, _SECONDS),
)

DEFAULT_OPTIONS: Final[dict[str, Any]] = {spec.key: spec.default for spec in OPTIONS}


def options_schema(choices: Mapping[str, list[str]]) -> vol.Schema:
    """Return the options form: every option with its default.

    ``choices`` offers values for the options without a fixed selector (cameras, zones).
    """
    return vol.Schema(
        {
            vol.Optional(spec.key, default=spec.default): (
                choice_selector(choices.get(spec.key, []))
                if spec.selector is None
                else spec.selector
            )
            for spec in OPTIONS
        }
    )


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
    of this object sees the new ``current`` at its next read.
    """

    def __init__(self, options: Mapping[str, Any]) -> None:
        """Start from the entry's options."""
        self.current = Settings.from_options(options)

    def update(self, options: Mapping[str, Any]) -> None:
        """Take changed options into use."""
        self.current = Settings.from_options(options)
