"""A face too small for the scaled frame, found in the face crop (issue 17 item 5).

A 4K camera sees a person far away: the face is about 70 px wide in the 3840×2160 frame.
Frigate scales the snapshot to ``image_height`` (800 px) for ``crop: none``, and the
face shrinks to about 26 px, below what dlib's HOG detector finds (about 40 px with
upsample 1). ``crop: face`` cuts the face Frigate reported (a box in the 1280×720 detect
frame) out of the full-resolution snapshot, and the local detector names the person.

``crop: person`` is emulated as Frigate does it (``TrackedObject.get_jpg_bytes``): a
square region around the person box in the 1280×720 detect frame, at least 300 px,
1.1 × the box's longer side, scaled to 800 px: the face is found there too, but from
upscaled 720p pixels, with less confidence than in the face crop.

End to end: a Frigate emulator serving the frame, Frigate events whose snapshot lists the
face, an entry with the real local detector (dlib, trained on obama.jpg).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
import io
import json
import logging
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock

from aiohttp import web
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.double_take.api.local import FaceWorker
from custom_components.double_take.api.models import Box, TrainingImage
from custom_components.double_take.const import EVENT_RESULT
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .common import FAST, event_message, fire, local_subentry, make_entry, setup_entry
from .emulators.frigate import DETECT_SIZE, FrigateEmulator

_LOGGER = logging.getLogger(__name__)
FACES = Path(__file__).parent / "fixtures" / "faces"
dlib = pytest.mark.dlib

FRAME = (3840, 2160)  # the camera's full resolution
FACE_WIDTH = 70  # the face's width in the full frame, as dlib measures it
WHERE = (2400, 1200)  # top left corner of the pasted photo in the full frame
IMAGE_HEIGHT = 800  # the integration's default image_height
PERSON_MIN = 300  # Frigate's smallest crop region, in detect pixels
PERSON_MULTIPLIER = 1.1  # Frigate's crop region: the box's longer side times this
CAMERA = "front_door"


def photo(name: str) -> bytes:
    """Bytes of a fixture photo."""
    return (FACES / f"{name}.jpg").read_bytes()


def jpeg(picture: Image.Image) -> bytes:
    """Encode ``picture`` as JPEG."""
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@dataclass(frozen=True)
class Scene:
    """The 4K frame and what Frigate would serve and report of it."""

    full: bytes  # the snapshot at full resolution (crop=0, no height)
    whole: bytes  # crop=0&height=800
    person: bytes  # crop=1&height=800, cut from the 1280×720 detect frame
    face_box: tuple[int, int, int, int]  # the face in detect pixels (1280×720)
    person_box: tuple[int, int, int, int]  # the pasted photo in detect pixels
    face_in_whole: float  # the face's width in ``whole``
    face_in_person: float  # the face's width in ``person``


def build_scene(face: Box) -> Scene:
    """Paste obama2.jpg on a grey 4K frame so that ``face`` is FACE_WIDTH px wide."""
    scale = FACE_WIDTH / face.width
    with Image.open(FACES / "obama2.jpg") as source:
        person = source.convert("RGB").resize(
            (round(source.width * scale), round(source.height * scale)),
            Image.Resampling.LANCZOS,
        )
    frame = Image.new("RGB", FRAME, (128, 128, 128))
    frame.paste(person, WHERE)
    to_detect = DETECT_SIZE[0] / FRAME[0]

    def detect_box(left: float, top: float, right: float, bottom: float) -> Any:
        return tuple(round(value * to_detect) for value in (left, top, right, bottom))

    x, y = WHERE
    face_box = detect_box(
        x + face.left * scale,
        y + face.top * scale,
        x + (face.left + face.width) * scale,
        y + (face.top + face.height) * scale,
    )
    person_box = detect_box(x, y, x + person.width, y + person.height)
    # crop=1: Frigate's square region around the person in the detect frame, scaled.
    detect = frame.resize(DETECT_SIZE, Image.Resampling.LANCZOS)
    left, top, right, bottom = person_box
    side = max(PERSON_MIN, round(max(right - left, bottom - top) * PERSON_MULTIPLIER))
    corner = (
        min(max(0, (left + right - side) // 2), DETECT_SIZE[0] - side),
        min(max(0, (top + bottom - side) // 2), DETECT_SIZE[1] - side),
    )
    region = detect.crop((*corner, corner[0] + side, corner[1] + side))
    whole_width = round(FRAME[0] * IMAGE_HEIGHT / FRAME[1])
    return Scene(
        full=jpeg(frame),
        whole=jpeg(frame.resize((whole_width, IMAGE_HEIGHT), Image.Resampling.LANCZOS)),
        person=jpeg(
            region.resize((IMAGE_HEIGHT, IMAGE_HEIGHT), Image.Resampling.LANCZOS)
        ),
        face_box=face_box,
        person_box=person_box,
        face_in_whole=FACE_WIDTH * IMAGE_HEIGHT / FRAME[1],
        face_in_person=FACE_WIDTH * to_detect * IMAGE_HEIGHT / side,
    )


class SmallFaceFrigate(FrigateEmulator):
    """Frigate serving one event's snapshot of the scene as the query asks."""

    scene: Scene | None = None

    async def _snapshot(self, request: web.Request) -> web.Response:
        self._snapshot_log.append(
            (request.match_info["event_id"], self.recorded(request))
        )
        assert self.scene is not None
        if request.query.get("crop") == "1":
            body = self.scene.person
        elif "height" in request.query:
            assert request.query["height"] == str(IMAGE_HEIGHT)
            body = self.scene.whole
        else:
            body = self.scene.full
        return web.Response(body=body, content_type="image/jpeg")


@pytest.fixture
async def small_face_frigate(socket_enabled: None) -> AsyncIterator[SmallFaceFrigate]:
    """Yield the Frigate emulator of the scene, listening on 127.0.0.1."""
    server = SmallFaceFrigate()
    await server.start()
    yield server
    await server.stop()


def event(number: int, scene: Scene) -> str:
    """Return a Frigate event of the person whose snapshot frame lists the face."""
    face = {"label": "face", "box": list(scene.face_box), "score": 0.81}
    return event_message(
        "new",
        event_id=f"1760011207.412398-small{number}",
        camera=CAMERA,
        box=list(scene.person_box),
        current_attributes=[face],
        snapshot={
            "frame_time": 1760011210.5,
            "box": list(scene.person_box),
            "attributes": [face],
        },
    )


@dlib
async def test_small_face_is_recognized_only_in_the_face_crop(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    worker: FaceWorker,
    install: AsyncMock,
    small_face_frigate: SmallFaceFrigate,
) -> None:
    """No face at 800 px (crop none); found, less sure (person); a match (face)."""
    # min_face_area (default 10,000 px²) is measured in the detector's image: the face
    # crop's 70 px face, the person crop's upscaled one, would be misses by that rule.
    options = {
        **FAST,
        "snapshot_attempts": 1,
        "latest_attempts": 0,
        "crop": "none",
        "min_face_area": 0,
    }
    entry = await setup_entry(
        hass,
        make_entry(
            frigate_url=small_face_frigate.url,
            detectors=[local_subentry()],
            options=options,
        ),
    )
    assert entry.state is ConfigEntryState.LOADED
    (handle,) = entry.runtime_data.detectors
    (trained,) = await handle.detector.train(
        "obama", [TrainingImage("obama.jpg", photo("obama"))]
    )
    assert trained.ok
    # Where the local engine sees the face on the original photo.
    (face,) = await handle.detector.recognize(photo("obama2"))
    assert face.name == "obama"
    scene = await hass.async_add_executor_job(build_scene, face.box)
    small_face_frigate.scene = scene
    results = async_capture_events(hass, EVENT_RESULT)

    found: dict[str, dict[str, Any]] = {}
    for number, crop in enumerate(("none", "person", "face")):
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, "crop": crop}
        )
        await hass.async_block_till_done(wait_background_tasks=True)
        await fire(hass, event(number, scene))
        assert len(results) == number + 1, crop
        found[crop] = results[-1].data
    _LOGGER.info(  # the figures, for the record
        "%s",
        json.dumps(
            {
                "face_px": {
                    "full": FACE_WIDTH,
                    "none": round(scene.face_in_whole, 1),
                    "person": round(scene.face_in_person, 1),
                },
                "face_box_720": scene.face_box,
                "results": {
                    crop: {
                        kind: [(f["name"], f["confidence"]) for f in data[kind]]
                        for kind in ("matches", "misses", "unknowns")
                    }
                    for crop, data in found.items()
                },
            }
        ),
    )

    # none: 70 px in 4K are 26 px at 800 px high: dlib finds no face at all.
    assert scene.face_in_whole < 30
    assert [found["none"][kind] for kind in ("matches", "misses", "unknowns")] == [
        [],
        [],
        [],
    ]
    # face: the face cut from the 4K frame (about 160 px, the face 70 px in it).
    (match,) = found["face"]["matches"]
    assert (match["name"], match["detector"]) == ("obama", "local")
    assert match["confidence"] >= 60
    # person: Frigate upscales a 300 px region of the 720p frame to 800 px; dlib finds
    # the face there, but from a 23 px face of the detect frame: less sure of it.
    person = [
        face
        for kind in ("matches", "misses", "unknowns")
        for face in found["person"][kind]
    ]
    assert all(f["confidence"] < match["confidence"] for f in person)

    # What was asked of Frigate, one snapshot per event.
    queries = [rec.query for _, rec in small_face_frigate._snapshot_log]
    assert [(q.get("crop"), q.get("height")) for q in queries] == [
        ("0", "800"),
        ("1", "800"),
        ("0", None),
    ]
