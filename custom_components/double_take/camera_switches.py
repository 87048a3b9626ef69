"""Which cameras have recognition switched off, for every kind of source.

The camera switches set it; Frigate's events and the camera sources' triggers both read
it, so one switch turns a camera off whichever way its images come.
"""

from __future__ import annotations

from homeassistant.core import callback


class CameraSwitches:
    """The cameras switched off (all are on until their switch says otherwise)."""

    def __init__(self) -> None:
        """Start with every camera on."""
        self._off: set[str] = set()

    @property
    def disabled(self) -> list[str]:
        """Cameras whose recognition switch is off, sorted."""
        return sorted(self._off)

    def is_on(self, camera: str) -> bool:
        """Whether ``camera``'s images are recognised."""
        return camera not in self._off

    @callback
    def set_enabled(self, camera: str, enabled: bool) -> None:
        """Recognise (or skip) ``camera``'s images from now on."""
        if enabled:
            self._off.discard(camera)
        else:
            self._off.add(camera)
