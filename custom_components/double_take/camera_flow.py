"""The camera subentry flow: add or change a camera source (SPEC: camera sources)."""

from __future__ import annotations

from typing import Any

import probatio as vol

from homeassistant.config_entries import SubentryFlowResult
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    AreaSelector,
    EntitySelector,
    EntitySelectorConfig,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .camera_sources import DEFAULT_ATTEMPTS, DEFAULT_DELAY, CameraSource
from .const import (
    CONF_ATTEMPTS,
    CONF_CAMERA_ENTITY,
    CONF_DELAY,
    CONF_DETECTORS,
    CONF_ROOM,
    CONF_TRIGGER,
    SUBENTRY_CAMERA,
    SUBENTRY_DETECTOR,
)
from .options import number
from .subentry_flow import AddOrChangeSubentryFlow

# What can start a run: on/off entities, and event entities firing.
TRIGGER_DOMAINS = ["binary_sensor", "input_boolean", "switch", "event"]


def camera_schema(detectors: list[SelectOptionDict]) -> vol.Schema:
    """Return the camera source form; ``detectors``: the entry's detectors to offer."""
    return vol.Schema(
        {
            vol.Required(CONF_CAMERA_ENTITY): EntitySelector(
                EntitySelectorConfig(domain="camera")
            ),
            vol.Required(CONF_TRIGGER): EntitySelector(
                EntitySelectorConfig(domain=TRIGGER_DOMAINS)
            ),
            vol.Required(CONF_ATTEMPTS, default=DEFAULT_ATTEMPTS): number(1, 100, 1),
            vol.Required(CONF_DELAY, default=DEFAULT_DELAY): number(0, 60, 0.1, "s"),
            vol.Optional(CONF_ROOM): AreaSelector(),
            vol.Optional(CONF_DETECTORS, default=[]): SelectSelector(
                SelectSelectorConfig(
                    options=detectors, multiple=True, mode=SelectSelectorMode.LIST
                )
            ),
        }
    )


class CameraSubentryFlow(AddOrChangeSubentryFlow):
    """Add a camera source, or change one (same form, its values filled in)."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Camera, trigger, attempts, delay, room, detectors."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _cleaned(user_input)
            source = CameraSource.from_data(data)
            if not self._exists(source.camera_entity):
                errors[CONF_CAMERA_ENTITY] = "entity_not_found"
            elif not self._exists(source.trigger):
                errors[CONF_TRIGGER] = "entity_not_found"
            elif self._taken(source.camera_entity, SUBENTRY_CAMERA):
                errors[CONF_CAMERA_ENTITY] = "camera_already_added"
            else:
                return self._saved(source.camera, data, source.camera_entity)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                camera_schema(self._detector_choices()),
                user_input or self._changed_data(),
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a camera source: the same form."""
        return await self.async_step_user(user_input)

    def _exists(self, entity_id: str) -> bool:
        """Whether Home Assistant knows the entity (it may be unavailable right now)."""
        return (
            self.hass.states.get(entity_id) is not None
            or er.async_get(self.hass).async_get(entity_id) is not None
        )

    def _detector_choices(self) -> list[SelectOptionDict]:
        return [
            SelectOptionDict(value=sub.subentry_id, label=sub.title)
            for sub in self._get_entry().subentries.values()
            if sub.subentry_type == SUBENTRY_DETECTOR
        ]


def _cleaned(user_input: dict[str, Any]) -> dict[str, Any]:
    """Return the form's answer as stored: counts as ints, no empty room."""
    data = {
        **user_input,
        CONF_ATTEMPTS: int(user_input[CONF_ATTEMPTS]),
        CONF_DELAY: float(user_input[CONF_DELAY]),
        CONF_DETECTORS: list(user_input.get(CONF_DETECTORS) or []),
    }
    if not data.get(CONF_ROOM):
        data.pop(CONF_ROOM, None)
    return data
