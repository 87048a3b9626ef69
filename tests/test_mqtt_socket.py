"""TCP_NODELAY on HA's MQTT connection: reached through private attributes, so guarded.

The real connection is covered by ``test_end_to_end.py``; here whatever is not as
expected leaves the connection alone without an error.
"""

from __future__ import annotations

import socket
from types import SimpleNamespace
from typing import Any

import pytest

from custom_components.double_take.mqtt_socket import async_set_nodelay
from homeassistant.core import HomeAssistant


def _mqtt_data(sock: Any) -> SimpleNamespace:
    """Build what ``hass.data["mqtt"]`` looks like to the integration."""
    return SimpleNamespace(
        client=SimpleNamespace(_mqttc=SimpleNamespace(socket=lambda: sock))
    )


async def test_sets_nodelay_on_a_tcp_socket(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """A TCP socket (connected or not) gets TCP_NODELAY."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        hass.data["mqtt"] = _mqtt_data(sock)
        assert async_set_nodelay(hass)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


@pytest.mark.parametrize(
    "data",
    [
        None,  # MQTT not set up
        SimpleNamespace(),  # no client
        SimpleNamespace(client=SimpleNamespace()),  # no paho client
        _mqtt_data(None),  # not connected
        _mqtt_data(object()),  # something else than a socket
    ],
)
async def test_leaves_anything_else_alone(hass: HomeAssistant, data: Any) -> None:
    """Nothing to tune: False, no exception."""
    if data is not None:
        hass.data["mqtt"] = data
    assert not async_set_nodelay(hass)


async def test_unix_socket_and_failing_socket(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """A Unix socket has no Nagle; a socket that refuses the option is left alone."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        hass.data["mqtt"] = _mqtt_data(sock)
        assert not async_set_nodelay(hass)

    def broken() -> None:
        raise OSError("closed")

    hass.data["mqtt"] = SimpleNamespace(
        client=SimpleNamespace(_mqttc=SimpleNamespace(socket=broken))
    )
    assert not async_set_nodelay(hass)
