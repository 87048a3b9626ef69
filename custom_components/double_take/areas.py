"""The room of a camera: the Home Assistant area of its camera entity or device."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)


def room_for(hass: HomeAssistant, camera: str) -> str:
    """Return the area of ``camera.<camera>`` (or its device), else the title-cased name."""
    entity = er.async_get(hass).async_get(f"camera.{camera}")
    area_id = entity.area_id if entity else None
    if entity and area_id is None and entity.device_id:
        device = dr.async_get(hass).async_get(entity.device_id)
        area_id = device.area_id if device else None
    if area_id and (area := ar.async_get(hass).async_get_area(area_id)):
        return area.name
    return camera.replace("_", " ").title()
