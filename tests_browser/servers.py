"""The servers around Home Assistant: Frigate and CompreFace emulators, Frigate's MQTT.

``Emulators`` runs ``tests/emulators``' Frigate and CompreFace servers on a
``BackgroundLoop`` (real aiohttp servers on 127.0.0.1). They share one ``FaceWorld`` in
which the photos of ``tests/fixtures/faces/`` are registered with the person they show
(``PHOTOS``), so the CompreFace emulator recognises those exact files once trained, as the
real server would. ``FrigateMqtt`` publishes Frigate's messages on the real broker, as
Frigate does.
"""

from __future__ import annotations

from collections.abc import Sequence
import json
import os
from pathlib import Path
from typing import Any

from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from tests.common import EVENT_ID, event_message
from tests.emulators.compreface import COMPREFACE_KEY, CompreFaceEmulator
from tests.emulators.frigate import FrigateEmulator
from tests.emulators.world import FaceSpec, FaceWorld
from tests.mosquitto import MosquittoBroker

from .aio import BackgroundLoop
from .hass_process import REPO

FACES = REPO / "tests" / "fixtures" / "faces"
PHOTOS: dict[str, FaceSpec | None] = {
    "obama.jpg": FaceSpec("obama", (182, 60, 158, 178)),
    "obama2.jpg": FaceSpec("obama", (64, 120, 190, 214)),
    "biden.jpg": FaceSpec("biden", (243, 106, 225, 252)),
    "no_face.jpg": None,
}
"""The photos in tests/fixtures/faces/ and who is on each (None: nobody), with the box a
detector reports: where the face really is (dlib's box, grown as CompreFace's are), so
face crops and the boxes drawn on frames show the face."""

__all__ = [
    "COMPREFACE_KEY",
    "EVENT_ID",
    "FACES",
    "PHOTOS",
    "Emulators",
    "FrigateMqtt",
    "face_photo",
]


def face_photo(name: str) -> Path:
    """Path of a photo of tests/fixtures/faces/ (``"obama.jpg"``…)."""
    path = FACES / name
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


class Emulators:
    """A Frigate and a CompreFace emulator, started on ``loop``."""

    def __init__(self, loop: BackgroundLoop) -> None:
        """Create the servers and register the fixture photos (nothing listens yet)."""
        self.loop = loop
        self.world = FaceWorld()
        for name, face in PHOTOS.items():
            faces = [] if face is None else [face]
            self.world.register(face_photo(name).read_bytes(), faces)
        self.frigate = FrigateEmulator(self.world)
        self.compreface = CompreFaceEmulator(self.world)

    def start(self) -> None:
        """Start both servers."""
        self.loop.run(self.frigate.start())
        self.loop.run(self.compreface.start())

    def stop(self) -> None:
        """Stop both servers."""
        self.loop.run(self.frigate.stop())
        self.loop.run(self.compreface.stop())

    def set_snapshot(self, event_id: str, photo: str | bytes) -> None:
        """Serve ``photo`` (a name in tests/fixtures/faces/, or bytes) as the event's snapshot."""
        data = face_photo(photo).read_bytes() if isinstance(photo, str) else photo
        self.loop.call(lambda: self.frigate.set_snapshot(event_id, [data]))


class FrigateMqtt:
    """An MQTT client that publishes what Frigate publishes (paho, its own thread)."""

    def __init__(self, broker: MosquittoBroker, topic_prefix: str = "frigate") -> None:
        """Connect to ``broker``."""
        self.topic_prefix = topic_prefix
        self.client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"frigate-emulator-{os.getpid()}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()

    def publish(self, topic: str, payload: str | bytes, timeout: float = 10.0) -> None:
        """Publish with QoS 1 and wait until the broker acknowledged it."""
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout)

    def publish_event(
        self,
        kind: str = "new",
        event_id: str = EVENT_ID,
        camera: str = "front_door",
        **after: Any,
    ) -> None:
        """Publish a ``<prefix>/events`` message (``tests.common.event_message``)."""
        self.publish(
            f"{self.topic_prefix}/events",
            event_message(kind, event_id, camera, **after),
        )

    def publish_json(self, topic: str, payload: dict[str, Any] | Sequence[Any]) -> None:
        """Publish ``payload`` as JSON on ``topic``."""
        self.publish(topic, json.dumps(payload))

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()
