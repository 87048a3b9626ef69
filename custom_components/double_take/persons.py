"""The persons an entry knows: trained, listed by a detector, or matched before.

A new person gets entities at once (dispatcher); a removed one loses its device, and
with it its entities.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
import logging

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .api.errors import ApiError
from .const import DOMAIN
from .ids import person_device_id
from .index import PersonIndex
from .pipeline import DetectorHandle
from .signals import UNKNOWN_PERSON, person_added_signal
from .storage import InvalidNameError, MediaStore, validate_name

_LOGGER = logging.getLogger(__name__)

# Listing a detector's subjects at start must not hold up Home Assistant's start.
SUBJECTS_TIMEOUT = 30
# Each person has a device and entities; a detector listing (or matching) ever more
# names must not create them without end.
MAX_PERSONS = 1000
# Invalid names warned about (each once); beyond this, at debug level only.
MAX_WARNED_NAMES = 1000


class PersonRegistry:
    """Known persons of one entry, kept in its index."""

    def __init__(self, hass: HomeAssistant, entry_id: str, index: PersonIndex) -> None:
        """Bind the registry to the entry's index."""
        self._hass = hass
        self._entry_id = entry_id
        self._index = index
        self._warned_names: set[str] = set()
        self._full_told = False

    @property
    def names(self) -> list[str]:
        """Display names of the known persons, sorted."""
        return self._index.persons

    @callback
    def async_add(self, name: str) -> None:
        """Remember a person; entities for a new one appear at once.

        An invalid name is warned about once; beyond MAX_PERSONS no person is added
        (one warning).
        """
        try:
            name = validate_name(name)
        except InvalidNameError as err:
            self.warn_invalid_name(name, err)
            return
        if name.casefold() == UNKNOWN_PERSON:
            return
        if (
            self._index.display_name(name) is None
            and self._index.person_count >= MAX_PERSONS
        ):
            if not self._full_told:
                self._full_told = True
                _LOGGER.warning(
                    "%d persons are known already: not adding %r or any other new"
                    " person (remove persons you do not need)",
                    MAX_PERSONS,
                    name,
                )
            return
        if self._index.add_person(name):
            _LOGGER.debug("New person %s", name)
            async_dispatcher_send(self._hass, person_added_signal(self._entry_id), name)

    @callback
    def warn_invalid_name(self, name: object, err: InvalidNameError) -> None:
        """Warn about a person name that cannot be used, once per name."""
        key = repr(name)[:200]
        if key in self._warned_names or len(self._warned_names) >= MAX_WARNED_NAMES:
            _LOGGER.debug("Ignoring person name %s: %s", key, err)
            return
        self._warned_names.add(key)
        _LOGGER.warning("Ignoring person name %s: %s", key, err)

    @callback
    def async_remove(self, name: str) -> None:
        """Forget a person; removing their device removes their entities."""
        display = self._index.display_name(name)
        if display is None:
            return
        self._index.remove_person(display)
        self._full_told = False
        registry = dr.async_get(self._hass)
        identifier = (DOMAIN, person_device_id(self._entry_id, display))
        if device := registry.async_get_device_by_identifier(
            identifier, self._entry_id
        ):
            registry.async_remove_device(device.id)

    async def async_discover(
        self, media: MediaStore, detectors: Sequence[DetectorHandle]
    ) -> None:
        """Add the persons of the train folder and of every detector that lists them."""
        for name in await self._hass.async_add_executor_job(media.train_names):
            self.async_add(name)
        for handle in detectors:
            try:
                async with asyncio.timeout(SUBJECTS_TIMEOUT):
                    subjects = await handle.detector.list_subjects()
            except (ApiError, TimeoutError) as err:
                _LOGGER.debug("Cannot list the persons of %s: %s", handle.name, err)
                continue
            for name in subjects or ():
                self.async_add(name)
