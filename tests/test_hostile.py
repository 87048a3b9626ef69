"""Hostile input (SPEC §8): whatever Frigate, a detector, a file or a user sends.

Every case checks the same three things: a clear log line (or a clear error for the
action), no exception escaping (the harness fails a test on any unhandled exception, and
no ERROR line comes from the integration's catch-alls), nothing written outside
``<config>/double_take/``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import io
import json
import logging
import math
from pathlib import Path
import struct
import tempfile
from typing import Any
import zlib

from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image, ImageDraw
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.double_take import intake as intake_module
from custom_components.double_take.api.detectors import compreface, deepstack, facebox
from custom_components.double_take.api.events import (
    EVENT_TYPES,
    EventFilter,
    EventRejected,
    FrigateEvent,
    parse_event,
)
from custom_components.double_take.api.images import (
    MAX_PIXELS,
    image_problem,
    image_size,
)
from custom_components.double_take.api.models import (
    Box,
    confidence_percent,
    normalize_name,
)
from custom_components.double_take.const import DOMAIN, EVENT_RESULT
from custom_components.double_take.draw import Label, UndrawableImageError, draw_faces
from custom_components.double_take.storage import (
    FOLDERS,
    MAX_NAME_LENGTH,
    InvalidNameError,
    MediaStore,
    validate_name,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .common import ALICE, EVENT_ID, event_message, fire, setup_frigate_entry
from .emulators.compreface import CompreFaceEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec, FaceWorld

LOGGER = "custom_components.double_take"
MATCH_COLOUR = (46, 204, 64)

# -- property tests -------------------------------------------------------------------

HUGE = st.integers(min_value=10**300, max_value=10**400) | st.integers(
    max_value=-(10**300), min_value=-(10**400)
)
JSON_SCALAR = (
    st.none()
    | st.booleans()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers()
    | HUGE
    | st.text(max_size=12)
)
JSON = st.recursive(
    JSON_SCALAR,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
STATE = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=30) | JSON,
        "camera": st.sampled_from(["front_door", "garden", ""]) | JSON,
        "label": st.sampled_from(["person", "car"]) | JSON,
        "false_positive": st.booleans() | JSON,
        "area": st.floats(allow_nan=True) | HUGE | JSON,
        "current_zones": st.lists(st.text(max_size=8) | JSON, max_size=3) | JSON,
    },
)
MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["new", "update", "end"]) | JSON,
        "before": STATE | JSON,
        "after": STATE | JSON,
    },
)
FILTER = st.builds(
    EventFilter.create,
    labels=st.lists(st.sampled_from(["person", "car", ""]), max_size=2),
    cameras=st.lists(st.sampled_from(["front_door", "garden"]), max_size=2),
    zones=st.lists(
        st.sampled_from(["front_door.porch", "garden.", ".x", "a.b.c", "junk"]),
        max_size=3,
    ),
    min_object_area=st.floats(min_value=0, max_value=1e9),
)


@settings(max_examples=400, deadline=None)
@given(message=MESSAGE, event_filter=FILTER)
def test_frigate_payload_parser(message: Any, event_filter: EventFilter) -> None:
    """Any JSON with Frigate's keys: an event or EventRejected; filtering never raises."""
    # allow_nan: Python's json writes the NaN/Infinity tokens Frigate never sends.
    raw = json.dumps(message)
    try:
        event = parse_event(raw)
    except EventRejected:
        return
    assert isinstance(event.id, str) and event.id
    assert isinstance(event.camera, str) and event.camera
    assert event.area is None or math.isfinite(event.area)
    reason = event_filter.skip_reason(event)
    if reason is None:
        assert event.type in EVENT_TYPES
        assert not event.false_positive
        assert event.label in event_filter.labels
    else:
        assert isinstance(reason, str) and reason


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_frigate_payload_parser_bytes(raw: bytes | str) -> None:
    """Arbitrary bytes or text: parsed or rejected with a reason."""
    try:
        parse_event(raw)
    except EventRejected as err:
        reason = str(err)
        assert reason


NAMES = st.text(max_size=80) | st.sampled_from(
    [
        "../etc",
        "..",
        ".",
        "a/b",
        "a\\b",
        "/abs",
        "alice\x00",
        "\ud800",  # a lone surrogate: valid in JSON, not in a file name
        "😀" * 64,  # 64 characters, 256 bytes: more than a file name may have
        " alice ",
        "Ålice",
        "con",
    ]
)


@settings(max_examples=400, deadline=None)
@given(NAMES)
def test_validate_name(name: str) -> None:
    """Either InvalidNameError, or a name that is safe as one path component."""
    try:
        cleaned = validate_name(name)
    except InvalidNameError as err:
        reason = str(err)
        assert reason
        return
    assert cleaned == cleaned.strip() and cleaned
    assert len(cleaned) <= MAX_NAME_LENGTH
    assert "/" not in cleaned and "\\" not in cleaned and ".." not in cleaned
    assert not any(ord(char) < 32 or ord(char) == 127 for char in cleaned)
    assert len(cleaned.encode("utf-8")) <= 255


@pytest.mark.parametrize("value", [None, 7, b"alice", ["alice"]])
def test_validate_name_needs_text(value: Any) -> None:
    """A name that is not text is refused."""
    with pytest.raises(InvalidNameError):
        validate_name(value)


def _tree(path: Path) -> set[str]:
    return {str(child.relative_to(path)) for child in path.rglob("*")}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    folder=st.sampled_from([*FOLDERS, "../outside", "/tmp", "matches/../.."]),
    person=st.none() | NAMES,
    stem=st.text(max_size=200) | st.sampled_from(["../../x", "/etc/passwd", ".."]),
)
def test_save_image_stays_inside(folder: str, person: str | None, stem: str) -> None:
    """Whatever the person and stem, MediaStore writes inside its root or refuses."""
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        root = base / "config" / "double_take"
        store = MediaStore(root)
        store.ensure_folders()
        try:
            relative = store.save_image(folder, person, stem, b"\xff\xd8\xff data")
        except InvalidNameError:
            pass
        else:
            saved = (root / relative).resolve()
            assert saved.is_relative_to(root.resolve())
            assert saved.read_bytes() == b"\xff\xd8\xff data"
        assert _tree(base) <= {
            "config",
            "config/double_take",
            *(f"config/double_take/{path}" for path in _tree(root)),
        }


def test_save_image_refuses_symlinked_person_folder(tmp_path: Path) -> None:
    """A person folder that is a symlink out of the root is refused."""
    root = tmp_path / "double_take"
    store = MediaStore(root)
    store.ensure_folders()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "matches" / "mallory").symlink_to(outside)
    with pytest.raises(InvalidNameError, match="outside"):
        store.save_image("matches", "mallory", "event", b"\xff\xd8\xff")
    assert not any(outside.iterdir())


# A detector's parser of one face, and answer items of any shape for it.
FACE_ITEMS: dict[str, tuple[Callable[[dict[str, Any]], Any], st.SearchStrategy]] = {
    # A CompreFace result item.
    "compreface": (
        compreface._face,
        st.dictionaries(st.sampled_from(["box", "subjects", "x"]), JSON, max_size=3),
    ),
    # A DeepStack / CodeProject.AI prediction.
    "deepstack": (
        deepstack._face,
        st.fixed_dictionaries(
            {},
            optional=dict.fromkeys(
                ("userid", "confidence", "x_min", "y_min", "x_max", "y_max"), JSON
            ),
        ),
    ),
    # A Facebox face.
    "facebox": (
        facebox._face,
        st.fixed_dictionaries(
            {},
            optional={
                "matched": JSON,
                "name": JSON,
                "confidence": JSON,
                "rect": st.fixed_dictionaries(
                    {}, optional=dict.fromkeys(("top", "left", "width", "height"), JSON)
                )
                | JSON,
            },
        ),
    ),
}


@pytest.mark.parametrize("kind", FACE_ITEMS)
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_face_from_any_answer(kind: str, data: st.DataObject) -> None:
    """A detector's answer item of any shape is a face with sane numbers."""
    parse, items = FACE_ITEMS[kind]
    _assert_sane(parse(data.draw(items)))


@settings(max_examples=300, deadline=None)
@given(JSON, JSON, JSON, JSON)
def test_models_never_raise(a: Any, b: Any, c: Any, d: Any) -> None:
    """Scores, names and boxes from any JSON value."""
    assert 0 <= confidence_percent(a) <= 100
    assert isinstance(normalize_name(a), str)
    for box in (Box.from_corners(a, b, c, d), Box.from_rect(a, b, c, d)):
        assert min(box.top, box.left, box.width, box.height) >= 0


def _assert_sane(face: Any) -> None:
    assert isinstance(face.name, str) and face.name
    assert 0 <= face.confidence <= 100 and math.isfinite(face.confidence)
    assert min(face.box.top, face.box.left, face.box.width, face.box.height) >= 0


# -- hostile images ------------------------------------------------------------------


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """Make a valid PNG of a few kB whose header claims ``width``×``height``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data))
        )

    # One row of zeros, compressed: decoding all rows would take 1.2 GB.
    rows = zlib.compress(b"\x00" * (1 + width * 3))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", rows)
        + chunk(b"IEND", b"")
    )


def truncated_jpeg(world: FaceWorld) -> bytes:
    """Make a JPEG with a face, cut in the middle (a connection dropped mid-transfer)."""
    data = world.image(ALICE)
    return data[: len(data) // 2]


HOSTILE_IMAGES: dict[str, tuple[Callable[[FaceWorld], bytes | str], str]] = {
    "truncated": (truncated_jpeg, "truncated JPEG"),
    "zero_bytes": (lambda world: b"", "0 bytes"),
    "text": (lambda world: b"GIF8 is how this text starts", "header cannot be read"),
    "not_an_image": (lambda world: b"hello, I am text", "not an image"),
    "bomb": (lambda world: png_bomb(), "decompression bomb"),
    "html_200": (lambda world: "html", "not an image (text/html"),
}


def outside_double_take(config_dir: Path) -> set[str]:
    """Files and folders of the config dir that are not under double_take/."""
    return {
        str(path.relative_to(config_dir))
        for path in config_dir.rglob("*")
        if path.relative_to(config_dir).parts[0] != "double_take"
    }


def assert_no_errors(caplog: pytest.LogCaptureFixture) -> None:
    """No ERROR line from the integration's catch-alls or about it (e.g. HA's dispatcher)."""
    errors = [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR
        and (record.name.startswith(LOGGER) or "double_take" in record.getMessage())
    ]
    assert not errors


@pytest.fixture
async def entry(
    hass: HomeAssistant,
    mqtt: Any,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
) -> MockConfigEntry:
    """Set up an entry on the Frigate emulator with CompreFace knowing alice."""
    return await setup_frigate_entry(hass, frigate, compreface, known=("alice",))


@pytest.mark.parametrize("case", HOSTILE_IMAGES)
async def test_hostile_frigate_images(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    config_dir: Path,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    """Frigate serves junk: failed attempts with a debug line, nothing sent to detectors."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    make, expected = HOSTILE_IMAGES[case]
    frigate.set_snapshot(EVENT_ID, [make(face_world)])
    frigate.set_latest("front_door", [404])
    results = async_capture_events(hass, EVENT_RESULT)
    before = outside_double_take(config_dir)

    await fire(hass, event_message())

    (result,) = results
    assert result.data["matches"] == [] and result.data["attempts"] == 0
    assert not compreface.requests_to("/api/v1/recognition/recognize")
    assert expected in caplog.text
    assert_no_errors(caplog)
    assert outside_double_take(config_dir) == before

    # The event is not lost: the next update runs again, and a good image matches.
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await fire(hass, event_message("update"))
    assert [m["name"] for m in results[-1].data["matches"]] == ["alice"]


@pytest.mark.parametrize("case", [c for c in HOSTILE_IMAGES if c != "html_200"])
async def test_hostile_files_for_the_action(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    face_world: FaceWorld,
    tmp_path: Path,
    config_dir: Path,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    """``image_path`` with junk: a ServiceValidationError naming the problem."""
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    path = tmp_path / "upload.jpg"
    data = HOSTILE_IMAGES[case][0](face_world)
    assert isinstance(data, bytes)
    path.write_bytes(data)
    before = outside_double_take(config_dir)

    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN,
            "recognize",
            {"image_path": str(path)},
            blocking=True,
            return_response=True,
        )
    assert raised.value.translation_key in {"not_an_image", "file_unreadable"}
    assert outside_double_take(config_dir) == before
    assert_no_errors(caplog)


@pytest.mark.parametrize("case", HOSTILE_IMAGES)
async def test_hostile_urls_for_the_action(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    config_dir: Path,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    """A URL that answers junk: HomeAssistantError "no image", a debug line saying why."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    make, expected = HOSTILE_IMAGES[case]
    frigate.set_latest("front_door", [make(face_world)])
    before = outside_double_take(config_dir)

    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            DOMAIN,
            "recognize",
            {"url": f"{frigate.url}/api/front_door/latest.jpg", "attempts": 2},
            blocking=True,
            return_response=True,
        )
    assert raised.value.translation_key == "no_image"
    assert expected in caplog.text
    assert not compreface.requests_to("/api/v1/recognition/recognize")
    assert outside_double_take(config_dir) == before
    assert_no_errors(caplog)


def cmyk_jpeg(box: tuple[int, int, int, int]) -> bytes:
    """Make a CMYK JPEG (as some cameras and photo tools write them)."""
    picture = Image.new("CMYK", (640, 480), (40, 20, 10, 0))
    left, top, width, height = box
    ImageDraw.Draw(picture).ellipse(
        (left, top, left + width, top + height), fill=(0, 60, 90, 10)
    )
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def rgba_png(world: FaceWorld, box: tuple[int, int, int, int]) -> bytes:
    """Make a PNG with a half-transparent alpha channel."""
    with Image.open(io.BytesIO(world.image(FaceSpec("x", box), fmt="PNG"))) as image:
        picture = image.convert("RGBA")
    picture.putalpha(128)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def exif_rotated_jpeg(box: tuple[int, int, int, int]) -> bytes:
    """Make a JPEG stored 640×480 with EXIF orientation 6: shown as 480×640."""
    upright = Image.new("RGB", (480, 640), (30, 60, 90))
    left, top, width, height = box
    ImageDraw.Draw(upright).ellipse(
        (left, top, left + width, top + height), fill=(224, 172, 105)
    )
    # Orientation 6 means "rotate 90° clockwise to show": store it turned back.
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = stored.getexif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


UNUSUAL_BOX = (100, 200, 150, 180)
UNUSUAL_IMAGES: dict[str, tuple[Callable[[FaceWorld], bytes], tuple[int, int]]] = {
    "cmyk_jpeg": (lambda world: cmyk_jpeg(UNUSUAL_BOX), (640, 480)),
    "rgba_png": (lambda world: rgba_png(world, UNUSUAL_BOX), (640, 480)),
    "exif_rotated": (lambda world: exif_rotated_jpeg(UNUSUAL_BOX), (480, 640)),
}


@pytest.mark.parametrize("case", UNUSUAL_IMAGES)
async def test_unusual_images_are_recognized_and_drawn(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    config_dir: Path,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    """CMYK, alpha and EXIF rotation: matched, saved, drawn upright in RGB."""
    make, drawn_size = UNUSUAL_IMAGES[case]
    data = face_world.register(make(face_world), [FaceSpec("alice", UNUSUAL_BOX)])
    frigate.set_snapshot(EVENT_ID, [data])
    frigate.set_latest("front_door", [404])
    results = async_capture_events(hass, EVENT_RESULT)
    before = outside_double_take(config_dir)

    await fire(hass, event_message())

    (match,) = results[0].data["matches"]
    assert match["name"] == "alice"
    saved = Path(hass.config.path("double_take", match["image"]))
    assert saved.read_bytes() == data
    client = await hass_client()
    response = await client.get("/api/image_proxy/image.double_take_alice_last_face")
    assert response.content_type == "image/jpeg"
    with Image.open(io.BytesIO(await response.read())) as face:
        # The face with its margin, cut from the upright RGB image, whatever the source.
        assert (face.format, face.mode, face.size) == ("JPEG", "RGB", (226, 270))
    response = await client.get("/api/image_proxy/image.double_take_front_door")
    assert response.status == 200
    with Image.open(io.BytesIO(await response.read())) as drawn:
        assert drawn.format == "JPEG"
        assert drawn.mode == "RGB"
        assert drawn.size == drawn_size
        # The box's left edge is drawn where the detector saw it on the upright image.
        left, top, _, height = UNUSUAL_BOX
        pixel = drawn.getpixel((left, top + height // 2))
    assert all(abs(a - b) < 60 for a, b in zip(pixel, MATCH_COLOUR, strict=True)), pixel
    assert outside_double_take(config_dir) == before
    assert_no_errors(caplog)


@pytest.mark.parametrize(
    ("fmt", "mode", "options"),
    [
        ("JPEG", "RGB", {"progressive": True}),
        ("JPEG", "CMYK", {}),
        ("PNG", "RGBA", {}),
        ("GIF", "P", {}),
        ("BMP", "RGB", {}),
        ("WEBP", "RGB", {}),
        ("WEBP", "RGBA", {"lossless": True}),
        ("WEBP", "RGBA", {"exif": b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00"}),
    ],
)
def test_image_header_checks(fmt: str, mode: str, options: dict[str, Any]) -> None:
    """Every format's size is read from its header; cut short, it is refused."""
    buffer = io.BytesIO()
    Image.new(mode, (641, 479)).save(buffer, fmt, **options)
    data = buffer.getvalue()
    assert image_size(data) == (641, 479)
    assert image_problem(data) is None
    assert image_problem(data[: len(data) // 2]) is not None
    assert image_problem(data[:12]) is not None


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe0\x00\x01",  # a segment shorter than its own length field
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
        b"\xff\xd8\xffZ" + b"\x00" * 20,  # no marker where one must be
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,  # no IHDR first
        b"BM" + b"\x00" * 30,  # no DIB header
        b"RIFF\x00\x00\x00\x00WEBPVP8Z" + b"\x00" * 20,  # unknown chunk
        b"GIF89a\x00\x00\x00\x00;",  # 0×0 pixels
    ],
)
def test_image_headers_that_cannot_be_read(data: bytes) -> None:
    """Broken headers are problems, never exceptions."""
    assert image_problem(data) is not None


def test_draw_refuses_bombs_and_junk() -> None:
    """draw_faces raises UndrawableImageError, never Pillow's own errors."""
    label = Label(10, 10, 50, 50, "alice 99%", "match")
    for junk in (png_bomb(), png_bomb(7000, 7000), b"", b"\xff\xd8\xff\xe0junk"):
        with pytest.raises(UndrawableImageError):
            draw_faces(junk, [label])
    assert image_problem(png_bomb(7000, 7000)) is not None
    assert MAX_PIXELS < 7000 * 7000


def test_draw_keeps_hostile_boxes_on_the_canvas(face_world: FaceWorld) -> None:
    """Boxes far outside the image, or absurdly large, are clamped, not crashed on."""
    labels = [
        Label(10**400, -(10**400), 10**400, 5, "x" * 10_000, "match"),
        Label(-50, -50, -10, -10, "😀 ünïcode \x00", "unknown"),
        Label(630, 470, 500, 500, "edge", "weird kind"),
    ]
    with Image.open(io.BytesIO(draw_faces(face_world.image(), labels))) as drawn:
        assert drawn.size == (640, 480)


# -- hostile detector answers ---------------------------------------------------------

BOX = {"x_min": 200, "y_min": 100, "x_max": 350, "y_max": 280}
HOSTILE_ANSWERS: dict[str, tuple[Any, str | None]] = {
    "result_not_a_list": ({"result": "alice"}, "expected a list"),
    "no_result": ({"faces": []}, "answer has no result"),
    "not_json": ("<html>Bad gateway</html>", "not JSON"),
    "json_list": ([1, 2, 3], "expected a JSON object"),
    "items_of_wrong_types": (
        {"result": ["x", 7, None, {"box": "x", "subjects": "alice"}]},
        None,
    ),
    "missing_fields": ({"result": [{}]}, None),
    "negative_box": (
        {
            "result": [
                {
                    "box": {"x_min": -500, "y_min": -20, "x_max": -5, "y_max": 90},
                    "subjects": [{"subject": "alice", "similarity": 0.99}],
                }
            ]
        },
        None,
    ),
    "nan_confidence": (
        (
            '{"result": [{"box": {"x_min": 200, "y_min": 100, "x_max": 350,'
            ' "y_max": 280}, "subjects": [{"subject": "alice", "similarity": NaN}]}]}'
        ),
        None,
    ),
    "huge_numbers": (
        '{"result": [{"box": {"x_min": '
        + "9" * 400
        + ', "y_min": -1e999, "x_max": 1e400, "y_max": '
        + "9" * 400
        + '}, "subjects": [{"subject": "alice", "similarity": '
        + "9" * 400
        + "}]}]}",
        None,
    ),
    "path_in_name": (
        {
            "result": [
                {
                    "box": BOX,
                    "subjects": [{"subject": "../../evil", "similarity": 0.99}],
                }
            ]
        },
        "Ignoring person name",
    ),
    "surrogate_name": (
        (
            '{"result": [{"box": {"x_min": 200, "y_min": 100, "x_max": 350,'
            ' "y_max": 280}, "subjects": [{"subject": "\\ud800", "similarity": 0.99}]}]}'
        ),
        # A lone surrogate is not valid JSON text (orjson): a failed detection.
        "body is not JSON",
    ),
    "huge_name": (
        {
            "result": [
                {"box": BOX, "subjects": [{"subject": "a" * 5000, "similarity": 0.99}]}
            ]
        },
        "Ignoring person name",
    ),
}


@pytest.mark.parametrize("case", HOSTILE_ANSWERS)
async def test_hostile_detector_answers(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    config_dir: Path,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    """CompreFace answers 200 with nonsense: no crash, a clear line, the next event works."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    body, expected = HOSTILE_ANSWERS[case]
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    frigate.set_latest("front_door", [404])
    compreface.fail_next(
        200,
        body,
        content_type="application/json" if isinstance(body, str) else None,
    )
    results = async_capture_events(hass, EVENT_RESULT)
    before = outside_double_take(config_dir)

    await fire(hass, event_message())

    (result,) = results
    if expected is not None:
        assert expected in caplog.text
    for hit in result.data["matches"] + result.data["misses"] + result.data["unknowns"]:
        assert 0 <= hit["confidence"] <= 100
        assert min(hit["box"].values()) >= 0
    # The camera image is drawn whatever the boxes.
    client = await hass_client()
    response = await client.get("/api/image_proxy/image.double_take_front_door")
    assert response.status == 200
    assert outside_double_take(config_dir) == before
    assert_no_errors(caplog)

    # The detector answers normally again: the next event is recognized.
    frigate.set_snapshot("1760011300.5-next", [face_world.image(ALICE)])
    await fire(hass, event_message(event_id="1760011300.5-next"))
    assert [m["name"] for m in results[-1].data["matches"]] == ["alice"]


async def test_undecodable_image_keeps_the_last_drawing(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A PNG with a sound header but corrupt pixels: a warning, the last image stays."""
    good = face_world.image(ALICE)
    frigate.set_snapshot(EVENT_ID, [good])
    frigate.set_latest("front_door", [404])
    await fire(hass, event_message())
    client = await hass_client()
    response = await client.get("/api/image_proxy/image.double_take_front_door")
    first = await response.read()

    corrupt = bytearray(png_bomb(64, 48))
    corrupt[45:60] = b"\x00" * 15  # inside the compressed pixels
    face_world.register(bytes(corrupt), [ALICE])
    frigate.set_snapshot("1760011300.5-second", [bytes(corrupt)])
    await fire(hass, event_message(event_id="1760011300.5-second"))
    response = await client.get("/api/image_proxy/image.double_take_front_door")

    assert response.status == 200
    assert await response.read() == first
    assert "Cannot draw the faces of front_door" in caplog.text
    assert_no_errors(caplog)


async def test_event_flood_is_bounded(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """More events than may wait: the excess is skipped with one warning, none crash."""
    monkeypatch.setattr(intake_module, "MAX_CONCURRENT_RUNS", 2)
    monkeypatch.setattr(intake_module, "MAX_WAITING_RUNS", 3)
    frigate.delay = 0.05
    frigate.set_latest("front_door", [404])
    for number in range(8):
        frigate.set_snapshot(f"1760011300.5-flood{number}", [face_world.image(ALICE)])
    results = async_capture_events(hass, EVENT_RESULT)

    await fire(
        hass, *(event_message(event_id=f"1760011300.5-flood{n}") for n in range(8))
    )

    assert sorted(result.data["id"] for result in results) == [
        f"1760011300.5-flood{n}" for n in range(5)
    ]
    assert caplog.text.count("waiting for recognition") == 1
    # A skipped event is not marked as run: its next update is processed.
    await fire(hass, event_message("update", event_id="1760011300.5-flood7"))
    assert results[-1].data["id"] == "1760011300.5-flood7"
    assert_no_errors(caplog)


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the ids of the Frigate events the intake parses, in that order."""
    ids: list[str] = []

    def counting_parse(payload: str | bytes | bytearray) -> FrigateEvent:
        event = parse_event(payload)
        ids.append(event.id)
        return event

    monkeypatch.setattr(intake_module, "parse_event", counting_parse)
    return ids


async def test_a_burst_is_read_in_slices(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    parsed: list[str],
) -> None:
    """Messages handed over in one go are parsed a slice per loop iteration, all of them.

    Home Assistant's MQTT client delivers up to 500 messages in one callback; parsing
    them all there would hold the event loop as long.
    """
    started: list[str] = []
    run = intake_module.EventIntake._async_run  # noqa: SLF001

    async def counting_run(
        intake: intake_module.EventIntake, event: FrigateEvent
    ) -> None:
        started.append(event.id)
        await run(intake, event)

    monkeypatch.setattr(intake_module.EventIntake, "_async_run", counting_run)
    monkeypatch.setattr(intake_module, "MAX_HELD_MESSAGES", 60)
    ids = [f"1760011300.5-slice{number}" for number in range(130)]
    frigate.set_latest("front_door", [404])
    for event_id in ids:
        frigate.set_snapshot(event_id, [face_world.image(ALICE)])
    results = async_capture_events(hass, EVENT_RESULT)

    for event_id in ids:  # one callback, as the MQTT client's reader does
        async_fire_mqtt_message(
            hass, "frigate/events", event_message(event_id=event_id)
        )
    assert len(parsed) == intake_module.MESSAGES_PER_ITERATION
    assert len(started) == intake_module.RUNS_PER_ITERATION
    # What diagnostics show of the burst (read before the loop runs again: the
    # diagnostics' own await would let the next slices in): 50 read (4 running, 46
    # waiting), 60 held, 20 dropped.
    intake = entry.runtime_data.intake
    assert intake is not None
    assert intake.load() == {
        "running": 4,
        "waiting": 46,
        "held_messages": 60,
        "remembered_events": 50,
    }
    await asyncio.sleep(0)  # the next iteration takes the next slice
    assert len(parsed) == 2 * intake_module.MESSAGES_PER_ITERATION
    assert len(started) == 2 * intake_module.RUNS_PER_ITERATION
    await hass.async_block_till_done(wait_background_tasks=True)

    # 50 read at once and 60 held: the last 20 were dropped, with one warning.
    kept = ids[:110]
    assert parsed == started == kept  # in arrival order
    assert sorted(result.data["id"] for result in results) == sorted(kept)
    assert caplog.text.count("messages are waiting to be read") == 1
    # Once the backlog is read, new messages are taken again.
    await fire(hass, event_message("update", event_id=ids[-1]))
    assert results[-1].data["id"] == ids[-1]
    assert_no_errors(caplog)


async def test_held_messages_are_bounded_in_bytes(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    parsed: list[str],
) -> None:
    """Large messages beyond MAX_HELD_BYTES are dropped while a burst waits."""
    monkeypatch.setattr(intake_module, "MAX_HELD_BYTES", 50_000)
    frigate.set_latest("front_door", [404])
    ids = [f"1760011300.5-large{number}" for number in range(60)]
    # The note is in both "before" and "after": about 11 kB a message.
    payloads = [event_message(event_id=event_id, notes="x" * 5_000) for event_id in ids]
    assert all(10_000 < len(payload) < 12_500 for payload in payloads)

    for payload in payloads:
        async_fire_mqtt_message(hass, "frigate/events", payload)
    await hass.async_block_till_done(wait_background_tasks=True)

    # 50 read at once, 4 of about 11 kB held within 50,000 bytes, the other 6 dropped.
    assert parsed == ids[:54]
    assert caplog.text.count("messages are waiting to be read") == 1
    assert_no_errors(caplog)
