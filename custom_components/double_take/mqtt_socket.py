"""``TCP_NODELAY`` on Home Assistant's MQTT connection (docs/mqtt-latency.md).

Home Assistant's MQTT client leaves Nagle's algorithm on. A match is published as two
messages back to back (``matches/NAME``, then ``cameras/CAM``): the second is held by the
kernel until the broker acknowledges the first, which a delayed ACK does after ~40 ms,
and the next event's result waits behind it. Measured end to end through Mosquitto, that
is the whole p95/p99 of a result on the broker.

Home Assistant offers no hook to set socket options, so the socket is reached through
its client's paho client, which is not public: every step is guarded, and when anything
is not as expected the connection stays as Home Assistant made it (a debug line says
so). Set again at each (re)connection, which makes a new socket.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from homeassistant.components import mqtt
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

_LOGGER = logging.getLogger(__name__)

_TCP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def _mqtt_socket(hass: HomeAssistant) -> socket.socket | None:
    """Return the TCP socket of Home Assistant's MQTT client, if it can be found."""
    data: Any = hass.data.get("mqtt")
    paho: Any = getattr(getattr(data, "client", None), "_mqttc", None)
    get_socket = getattr(paho, "socket", None)
    if not callable(get_socket):
        return None
    sock: Any = get_socket()
    if not isinstance(sock, socket.socket):
        # paho's WebsocketWrapper keeps the TCP (or TLS) socket as ``_socket``.
        sock = getattr(sock, "_socket", None)
    if not isinstance(sock, socket.socket) or sock.family not in _TCP_FAMILIES:
        return None
    return sock


@callback
def async_set_nodelay(hass: HomeAssistant) -> bool:
    """Set ``TCP_NODELAY`` on the MQTT connection now; False when it could not be."""
    try:
        sock = _mqtt_socket(hass)
        if sock is None:
            _LOGGER.debug("MQTT connection without a TCP socket: TCP_NODELAY not set")
            return False
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except Exception:  # noqa: BLE001 (never in the way of MQTT itself)
        _LOGGER.debug("Could not set TCP_NODELAY on the MQTT connection", exc_info=True)
        return False
    return True


@callback
def async_keep_nodelay(hass: HomeAssistant) -> CALLBACK_TYPE:
    """Set ``TCP_NODELAY`` now and after every reconnection; returns the unsubscribe."""

    @callback
    def connection_changed(connected: bool) -> None:
        if connected:
            async_set_nodelay(hass)

    unsubscribe = mqtt.async_subscribe_connection_status(hass, connection_changed)
    async_set_nodelay(hass)
    return unsubscribe
