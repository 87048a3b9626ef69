"""A real Mosquitto broker and an independent MQTT client, for end-to-end tests.

``MosquittoBroker.start`` runs ``mosquitto`` on a free port of 127.0.0.1 with a generated
configuration (anonymous access, no persistence, log file next to the configuration) and
returns once the port accepts connections. ``MqttSpy`` is a paho-mqtt 2.x client running in
its own network thread (``loop_start``) that records what the broker delivers to it and
hands it over to the asyncio loop of the test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
import os
from pathlib import Path
import pwd
import shutil
import socket
import subprocess
import time
from typing import Any

from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.components import mqtt

HOST = "127.0.0.1"
NOT_INSTALLED = "mosquitto not installed (apt-get install mosquitto)"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
# Another process may take the free port between choosing it and mosquitto binding it.
START_ATTEMPTS = 3


def mosquitto_binary() -> str | None:
    """Path of the mosquitto executable, or None when it is not installed."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return binary if os.access(binary, os.X_OK) else None


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


class MosquittoError(RuntimeError):
    """Mosquitto did not start."""


class MosquittoBroker:
    """A running mosquitto process on ``HOST:port``."""

    def __init__(
        self, process: subprocess.Popen[bytes], port: int, directory: Path
    ) -> None:
        """Wrap a started process (use ``start``)."""
        self.process = process
        self.host = HOST
        self.port = port
        self.directory = directory
        self.log_path = directory / "mosquitto.log"

    @classmethod
    def start(
        cls, binary: str, directory: Path, *, tcp_nodelay: bool = False
    ) -> MosquittoBroker:
        """Start mosquitto with a configuration written to ``directory``; wait until it listens.

        ``tcp_nodelay`` adds ``set_tcp_nodelay true`` (Nagle off on the broker's sockets,
        what the README recommends for latency; off is Mosquitto's default).
        """
        directory.mkdir(parents=True, exist_ok=True)
        error: MosquittoError | None = None
        for _ in range(START_ATTEMPTS):
            try:
                return cls._start_once(binary, directory, free_port(), tcp_nodelay)
            except MosquittoError as err:
                error = err
        assert error is not None
        raise error

    @classmethod
    def _start_once(
        cls, binary: str, directory: Path, port: int, tcp_nodelay: bool
    ) -> MosquittoBroker:
        config = directory / "mosquitto.conf"
        config.write_text(
            f"listener {port} {HOST}\n"
            "allow_anonymous true\n"
            "persistence false\n"
            # Run as root, mosquitto would switch to the user "mosquitto", which may not
            # write the log file here; naming the current user keeps it as it is.
            f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
            f"log_dest file {directory / 'mosquitto.log'}\n"
            "log_type all\n"
            "connection_messages true\n"
            + ("set_tcp_nodelay true\n" if tcp_nodelay else ""),
            encoding="utf-8",
        )
        output = directory / "mosquitto.out"
        with output.open("ab") as out:
            process = subprocess.Popen(  # noqa: S603 (fixed arguments, no shell)
                [binary, "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        broker = cls(process, port, directory)
        deadline = time.monotonic() + START_TIMEOUT
        while not _accepts_connections(port):
            if process.poll() is not None:
                raise MosquittoError(
                    f"mosquitto exited with code {process.returncode}:\n{broker.logs()}"
                )
            if time.monotonic() > deadline:
                broker.stop()
                raise MosquittoError(
                    f"mosquitto did not listen on {HOST}:{port} within "
                    f"{START_TIMEOUT} s:\n{broker.logs()}"
                )
            time.sleep(0.02)
        return broker

    def logs(self) -> str:
        """Return what mosquitto wrote to its log file and its standard output/error."""
        parts = [
            path.read_text(encoding="utf-8", errors="replace")
            for path in (self.log_path, self.directory / "mosquitto.out")
            if path.exists()
        ]
        return "\n".join(parts)

    def stop(self) -> None:
        """Terminate mosquitto; kill it if it does not exit in time."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


@dataclass(frozen=True)
class Received:
    """A message the broker delivered to the spy."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


class MqttSpy:
    """An MQTT 5 client independent of Home Assistant, driven from an asyncio test.

    paho's callbacks run in its network thread; they only hand results over to the
    event loop with ``call_soon_threadsafe``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str, port: int) -> None:
        """Create the client; nothing is connected before ``async_connect``."""
        self._loop = loop
        self._host = host
        self._port = port
        self.messages: list[Received] = []
        self._new_message = asyncio.Event()
        self._connected: asyncio.Future[ReasonCode] = loop.create_future()
        self._acks: dict[int, asyncio.Future[None]] = {}
        self._started = False
        client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"double-take-test-spy-{os.getpid()}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        self.client = client

    # -- paho's network thread -------------------------------------------------------------

    def _call(self, function: Callable[..., None], *args: Any) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(function, *args)

    def _on_connect(
        self,
        client: Client,
        userdata: Any,
        flags: ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._call(self._set_connected, reason_code)

    def _on_disconnect(
        self,
        client: Client,
        userdata: Any,
        flags: DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._call(self._set_connected, reason_code)

    def _on_message(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        received = Received(
            message.topic, bytes(message.payload), message.qos, bool(message.retain)
        )
        self._call(self._add_message, received)

    def _on_subscribe(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        self._call(self._ack, mid)

    def _on_publish(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._call(self._ack, mid)

    # -- event loop ------------------------------------------------------------------------

    def _set_connected(self, reason_code: ReasonCode) -> None:
        if not self._connected.done():
            self._connected.set_result(reason_code)

    def _add_message(self, received: Received) -> None:
        self.messages.append(received)
        self._new_message.set()

    def _ack(self, mid: int) -> None:
        future = self._acks.setdefault(mid, self._loop.create_future())
        if not future.done():
            future.set_result(None)

    async def _wait_ack(self, mid: int | None, timeout: float) -> None:
        assert mid is not None
        future = self._acks.setdefault(mid, self._loop.create_future())
        try:
            async with asyncio.timeout(timeout):
                await future
        finally:
            del self._acks[mid]

    async def async_connect(self, timeout: float = 10) -> None:
        """Connect (in paho's thread) and wait for the broker's CONNACK."""
        self.client.connect_async(self._host, self._port, keepalive=10)
        self.client.loop_start()
        self._started = True
        async with asyncio.timeout(timeout):
            reason_code = await self._connected
        assert not reason_code.is_failure, f"spy could not connect: {reason_code}"

    async def async_subscribe(self, topic: str, timeout: float = 10) -> None:
        """Subscribe (QoS 1, retain flag as published) and wait for the SUBACK."""
        # retainAsPublished: the broker keeps the publisher's retain flag instead of
        # clearing it for live messages, so the test can check what the publisher sent.
        options = SubscribeOptions(qos=1, retainAsPublished=True)
        result, mid = self.client.subscribe(topic, options=options)
        assert result == 0, f"subscribe failed: {result}"
        await self._wait_ack(mid, timeout)

    async def async_publish(
        self, topic: str, payload: str | bytes, timeout: float = 10
    ) -> None:
        """Publish with QoS 1 and wait for the broker's PUBACK."""
        info = self.client.publish(topic, payload, qos=1)
        assert info.rc == 0, f"publish failed: {info.rc}"
        await self._wait_ack(info.mid, timeout)

    def on_topic(self, topic: str) -> list[Received]:
        """Messages received so far on ``topic``."""
        return [message for message in self.messages if message.topic == topic]

    async def async_wait_for(
        self, topic: str, count: int = 1, timeout: float = 10
    ) -> list[Received]:
        """Wait until ``count`` messages arrived on ``topic``; return them."""
        async with asyncio.timeout(timeout):
            while len(messages := self.on_topic(topic)) < count:
                self._new_message.clear()
                await self._new_message.wait()
        return messages

    def stop(self) -> None:
        """Disconnect and stop paho's network thread."""
        if not self._started:
            return
        self._started = False
        self.client.disconnect()
        self.client.loop_stop()


def mqtt_broker_entry(broker: MosquittoBroker) -> MockConfigEntry:
    """Build a config entry of HA's real MQTT integration connected to ``broker``.

    No discovery and no birth or will message: none is under test, and the birth message
    waits for MQTT discovery to settle (5 s).
    """
    return MockConfigEntry(
        domain=mqtt.DOMAIN,
        title="MQTT",
        version=1,
        minor_version=2,
        data={
            mqtt.CONF_BROKER: broker.host,
            mqtt.CONF_PORT: broker.port,
            mqtt.CONF_PROTOCOL: "5",
        },
        options={
            mqtt.CONF_DISCOVERY: False,
            mqtt.CONF_BIRTH_MESSAGE: {},
            mqtt.CONF_WILL_MESSAGE: {},
        },
    )
