"""Face boxes from Frigate (issue 17 item 1, protocol half).

Event face attributes, the camera's detect size and face tracking from ``/api/config``,
``crop_box`` (a face cut from the full-resolution frame) and the FrigateImage crop modes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import copy
import io
import json
from typing import Any

import aiohttp
from hypothesis import given, settings, strategies as st
from PIL import Image, ImageDraw
import pytest

from custom_components.double_take.api.errors import ImageUnavailableError
from custom_components.double_take.api.events import (
    MAX_ATTRIBUTES,
    MAX_COORDINATE,
    EventRejected,
    FrigateEvent,
    _best_face,
    parse_event,
)
from custom_components.double_take.api.frigate import (
    FrigateCamera,
    FrigateClient,
    FrigateConfig,
)
from custom_components.double_take.api.images import crop_box, image_problem, image_size
from custom_components.double_take.api.sources import FrigateImage

from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec, FaceWorld

EVENT = "1760011207.412398-k3w9qz"
RED = (255, 0, 0)
DETECT = (1280, 720)

# The reference's realistic 0.16 ``update`` (frigate.md § 1.1), the fields that matter.
STATE: dict[str, Any] = {
    "id": EVENT,
    "camera": "front_door",
    "frame_time": 1760011212.905113,
    "snapshot": {
        "frame_time": 1760011210.904871,
        "box": [612, 188, 742, 571],
        "attributes": [{"label": "face", "box": [651, 191, 701, 253], "score": 0.78}],
    },
    "label": "person",
    "false_positive": False,
    "area": 49790,
    "current_zones": ["porch"],
    "attributes": {"face": 0.86},
    "current_attributes": [
        {"label": "face", "box": [655, 196, 705, 258], "score": 0.86}
    ],
}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Open a plain aiohttp session, closed at teardown."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def message(**changes: Any) -> bytes:
    """Build an ``update`` message whose ``after`` is STATE with ``changes``."""
    state = copy.deepcopy(STATE)
    for key, value in changes.items():
        if value is ...:
            state.pop(key, None)
        else:
            state[key] = value
    return json.dumps({"type": "update", "before": STATE, "after": state}).encode()


def face(box: Any, score: Any = 0.8, label: Any = "face") -> dict[str, Any]:
    """Build an attribute entry."""
    return {"label": label, "box": box, "score": score}


# -- event parsing ---------------------------------------------------------------------


def test_reference_payload_boxes() -> None:
    """Current and snapshot faces are read from their own frames."""
    event = parse_event(message())
    assert event.face_box == (655, 196, 705, 258)
    assert event.face_score == 0.86
    assert event.snapshot_face_box == (651, 191, 701, 253)
    assert event.snapshot_face_score == 0.78


def test_no_attributes() -> None:
    """Before 0.13, or with a model that detects no faces: no boxes, still an event."""
    event = parse_event(message(current_attributes=..., snapshot=..., attributes=...))
    assert event.face_box is event.snapshot_face_box is None
    assert event.face_score is event.snapshot_face_score is None
    assert event.label == "person"
    event = parse_event(message(current_attributes=[], snapshot=None))
    assert event.face_box is event.snapshot_face_box is None


def test_event_constructible_without_faces() -> None:
    """The face fields default to None (code building events by hand keeps working)."""
    event = FrigateEvent(EVENT, "new", "cam", "person", False, None, ())
    assert event.face_box is None
    assert event.snapshot_face_box is None


def test_best_score_wins_and_other_labels_ignored() -> None:
    """Several faces: the best score; a plate or a logo never counts."""
    attributes = [
        face([10, 10, 50, 60], 0.6),
        face([100, 100, 140, 150], 0.9),
        face([200, 200, 240, 250], 0.95, label="license_plate"),
        face([300, 300, 340, 350], 0.99, label="amazon"),
        face([400, 100, 440, 150], 0.9),  # a tie: the first one stays
        face([500, 100, 540, 150], 0.7),
    ]
    snapshot = {"frame_time": 1.0, "attributes": list(reversed(attributes))}
    event = parse_event(message(current_attributes=attributes, snapshot=snapshot))
    assert event.face_box == (100, 100, 140, 150)
    assert event.face_score == 0.9
    assert event.snapshot_face_box == (400, 100, 440, 150)


def test_snapshot_without_attributes_uses_current_face_of_same_frame() -> None:
    """A snapshot without an attribute list is the current frame only if times match."""
    same = {"frame_time": STATE["frame_time"], "box": [1, 1, 2, 2]}
    event = parse_event(message(snapshot=same))
    assert event.snapshot_face_box == event.face_box == (655, 196, 705, 258)
    other = {"frame_time": STATE["frame_time"] - 1, "box": [1, 1, 2, 2]}
    assert parse_event(message(snapshot=other)).snapshot_face_box is None
    # An empty list is an answer (no face in that frame), not a missing one.
    empty = {"frame_time": STATE["frame_time"], "attributes": []}
    assert parse_event(message(snapshot=empty)).snapshot_face_box is None
    no_time = {"box": [1, 1, 2, 2]}
    assert parse_event(message(snapshot=no_time, frame_time=...)).snapshot_face_box is (
        None
    )


def test_before_state_fallback_carries_faces() -> None:
    """When only ``before`` is there, its attributes are read."""
    payload = json.dumps({"type": "update", "before": STATE}).encode()
    assert parse_event(payload).face_box == (655, 196, 705, 258)


def test_fractional_boxes_widen_to_whole_pixels() -> None:
    """Fractions are floored at the low edges and ceiled at the high ones."""
    event = parse_event(message(current_attributes=[face([10.2, 20.7, 30.1, 40.9])]))
    assert event.face_box == (10, 20, 31, 41)


BAD_BOXES: list[Any] = [
    None,
    "655,196,705,258",
    ["655", "196", "705", "258"],
    [655, 196, 705],
    [655, 196, 705, 258, 1],
    [655, 196, 705, "258"],
    [True, 196, 705, 258],
    [655, None, 705, 258],
    [655, 196, [705], 258],
    [-5, 196, 705, 258],
    [655, -0.5, 705, 258],
    [655, 196, MAX_COORDINATE + 1, 258],
    [655, 196, 705, 10**30],
    [655, 196, 705, 2**64],
    [705, 196, 655, 258],  # inverted
    [655, 258, 705, 196],
    [655, 196, 655, 258],  # empty
    [655, 196, 705, 196],
    {"x": 1},
    12,
]


@pytest.mark.parametrize("box", BAD_BOXES)
def test_bad_boxes_ignored(box: Any) -> None:
    """A bad box only loses its attribute: the event and the good faces stay."""
    attributes = [face(box, 0.99), face([1, 2, 3, 4], 0.5)]
    snapshot = {"frame_time": 1.0, "attributes": [face(box, 0.99)]}
    event = parse_event(message(current_attributes=attributes, snapshot=snapshot))
    assert event.id == EVENT
    assert event.face_box == (1, 2, 3, 4)
    assert event.face_score == 0.5
    assert event.snapshot_face_box is None


BAD_ENTRIES: list[Any] = [
    face([1, 2, 30, 40], "0.9"),
    face([1, 2, 30, 40], None),
    face([1, 2, 30, 40], True),
    face([1, 2, 30, 40], -0.1),
    face([1, 2, 30, 40], 1.5),
    face([1, 2, 30, 40], 2**70),
    face([1, 2, 30, 40], label="Face"),
    face([1, 2, 30, 40], label=None),
    face([1, 2, 30, 40], label=["face"]),
    {"box": [1, 2, 30, 40], "score": 0.9},
    {"label": "face", "score": 0.9},
    "face",
    ["face", [1, 2, 30, 40], 0.9],
    None,
    42,
]


@pytest.mark.parametrize("entry", BAD_ENTRIES)
def test_bad_entries_ignored(entry: Any) -> None:
    """Wrong score, label or shape: the entry is skipped."""
    event = parse_event(message(current_attributes=[entry, face([5, 5, 9, 9], 0.1)]))
    assert event.face_box == (5, 5, 9, 9)


@pytest.mark.parametrize(
    "attributes",
    [None, {"face": 0.9}, "face", 3, {"label": "face", "box": [1, 2, 3, 4]}],
)
def test_attribute_lists_of_the_wrong_type(attributes: Any) -> None:
    """Not a list: no face, no error."""
    snapshot = {"frame_time": 1.0, "attributes": attributes}
    event = parse_event(message(current_attributes=attributes, snapshot=snapshot))
    assert event.face_box is event.snapshot_face_box is None


@pytest.mark.parametrize("snapshot", [None, "x", [], 5, {"attributes": "face"}])
def test_snapshot_of_the_wrong_type(snapshot: Any) -> None:
    """A missing or strange snapshot has no face; the current one is kept."""
    event = parse_event(message(snapshot=snapshot))
    assert event.snapshot_face_box is None
    assert event.face_box == (655, 196, 705, 258)


def test_non_finite_values() -> None:
    """JSON has no NaN/Infinity: such a payload is rejected whole, and only that way.

    ``_best_face`` refuses them too, should they come from elsewhere.
    """
    for raw in (b"NaN", b"Infinity", b"1e999"):
        payload = message().replace(b"0.86", raw, 1)
        with pytest.raises(EventRejected):
            parse_event(payload)
    nan, inf = float("nan"), float("inf")
    assert _best_face([face([nan, 1, 2, 3]), face([1, 2, inf, 4])]) is None
    assert _best_face([face([1, 2, 3, 4], nan), face([1, 2, 3, 4], inf)]) is None


def test_attribute_list_bounded() -> None:
    """Only the first MAX_ATTRIBUTES entries are looked at."""
    padding = [face([1, 1, 2, 2], 0.1)] * MAX_ATTRIBUTES
    event = parse_event(message(current_attributes=[*padding, face([5, 5, 9, 9], 0.9)]))
    assert event.face_box == (1, 1, 2, 2)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.just("face"),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(["label", "box", "score", "x"]), children)
    ),
    max_leaves=20,
)
ENTRY = st.fixed_dictionaries(
    {
        "label": st.sampled_from(["face", "face", "license_plate", 1]),
        "box": st.lists(
            st.integers(min_value=-10, max_value=MAX_COORDINATE + 10)
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(max_size=2),
            min_size=3,
            max_size=5,
        ),
        "score": st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=2),
    }
)


@settings(max_examples=300, deadline=None)
@given(
    current=JSON | st.lists(ENTRY | JSON, max_size=6),
    snapshot=JSON
    | st.fixed_dictionaries(
        {"attributes": st.lists(ENTRY | JSON, max_size=6) | JSON, "frame_time": JSON}
    ),
)
def test_hostile_attributes_never_raise(current: Any, snapshot: Any) -> None:
    """Whatever the attributes, the event parses; every box returned is sane."""
    event = parse_event(message(current_attributes=current, snapshot=snapshot))
    assert event.id == EVENT
    for box, score in (
        (event.face_box, event.face_score),
        (event.snapshot_face_box, event.snapshot_face_score),
    ):
        if box is None:
            assert score is None
            continue
        assert all(type(v) is int for v in box)
        x_min, y_min, x_max, y_max = box
        assert 0 <= x_min < x_max <= MAX_COORDINATE
        assert 0 <= y_min < y_max <= MAX_COORDINATE
        assert score is not None
        assert 0.0 <= score <= 1.0


# -- config ----------------------------------------------------------------------------


async def test_config_detect_size_and_faces(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """Detect size per camera; ``face`` in ``objects.track`` means faces are tracked."""
    client = FrigateClient(session, frigate.url)
    config = await client.config()
    assert config.detect_size("front_door") == DETECT
    assert config.detect_size("garden") == DETECT
    assert config.detect_size("attic") is None
    assert not config.tracks_faces()
    assert not config.tracks_faces("front_door")
    frigate.face_cameras = {"front_door"}
    frigate.detect_size = (3840, 2160)
    config = await client.config()
    assert config.tracks_faces()
    assert config.tracks_faces("front_door")
    assert not config.tracks_faces("garden")
    assert not config.tracks_faces("attic")
    assert config.camera_details["garden"] == FrigateCamera(
        detect_size=(3840, 2160), tracks_faces=False, snapshots_cropped=False
    )
    # Equality stays what the options are built from.
    assert config == FrigateConfig(
        "frigate", {"front_door": ("porch", "driveway"), "garden": ()}
    )


@pytest.mark.parametrize(
    ("camera", "expected"),
    [
        ({}, FrigateCamera()),
        ({"detect": None, "objects": None, "snapshots": None}, FrigateCamera()),
        ({"detect": {"width": 640, "height": 480}}, FrigateCamera((640, 480))),
        ({"detect": {"width": 640}}, FrigateCamera()),
        ({"detect": {"width": None, "height": None}}, FrigateCamera()),
        ({"detect": {"width": "640", "height": 480}}, FrigateCamera()),
        ({"detect": {"width": 640.0, "height": 480}}, FrigateCamera()),
        ({"detect": {"width": True, "height": 480}}, FrigateCamera()),
        ({"detect": {"width": 0, "height": 480}}, FrigateCamera()),
        ({"detect": {"width": -640, "height": 480}}, FrigateCamera()),
        ({"detect": {"width": 10**9, "height": 480}}, FrigateCamera()),
        ({"detect": [640, 480]}, FrigateCamera()),
        ({"objects": {"track": ["person", "face"]}}, FrigateCamera(tracks_faces=True)),
        ({"objects": {"track": ["person"]}}, FrigateCamera()),
        ({"objects": {"track": "face"}}, FrigateCamera()),
        ({"objects": {"track": {"face": 1}}}, FrigateCamera()),
        ({"snapshots": {"crop": True}}, FrigateCamera(snapshots_cropped=True)),
        ({"snapshots": {"crop": "yes"}}, FrigateCamera()),
    ],
)
def test_camera_details_parsing(camera: Any, expected: FrigateCamera) -> None:
    """Anything unusable is 'unknown' (None/False), never an error."""
    config = FrigateConfig.from_json({"cameras": {"cam": camera}})
    assert config.camera_details["cam"] == expected
    assert config.cameras == {"cam": ()}


def test_camera_that_is_not_an_object() -> None:
    """A camera entry that is not an object has no details, and still counts."""
    config = FrigateConfig.from_json({"cameras": {"a": [], "b": None}})
    assert config.cameras == {"a": (), "b": ()}
    assert config.detect_size("a") is None
    assert not config.tracks_faces()


# -- crop_box --------------------------------------------------------------------------


def frame(
    size: tuple[int, int], square: tuple[int, int, int, int], fmt: str = "PNG"
) -> bytes:
    """Draw a grey frame with a red square at ``square`` (x_min, y_min, x_max, y_max)."""
    img = Image.new("RGB", size, (90, 90, 90))
    ImageDraw.Draw(img).rectangle(
        (square[0], square[1], square[2] - 1, square[3] - 1), fill=RED
    )
    buffer = io.BytesIO()
    img.save(buffer, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def red_square(data: bytes) -> tuple[int, int, int, int] | None:
    """Find where the red pixels are in ``data``: (x_min, y_min, x_max, y_max)."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    width = img.width
    pixels: list[tuple[int, int, int]] = list(img.get_flattened_data())  # type: ignore[arg-type]
    red = [
        (i % width, i // width)
        for i, (r, g, b) in enumerate(pixels)
        if r > 180 and g < 80 and b < 80
    ]
    if not red:
        return None
    xs, ys = [x for x, _ in red], [y for _, y in red]
    return min(xs), min(ys), max(xs) + 1, max(ys) + 1


def near(
    actual: tuple[int, ...] | None, expected: tuple[int, ...], tolerance: int = 2
) -> bool:
    """Tell whether equal within ``tolerance`` pixels (JPEG blurs the edges)."""
    return actual is not None and all(
        abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)
    )


def test_crop_contains_the_face_with_margin() -> None:
    """Margin of half the box on every side: a 60 px face in a 120 px crop, centred."""
    image = frame(DETECT, (600, 200, 660, 260))
    crop = crop_box(image, (600, 200, 660, 260), DETECT, min_side=0)
    assert crop.startswith(b"\xff\xd8\xff")
    assert image_problem(crop) is None
    assert image_size(crop) == (120, 120)
    assert near(red_square(crop), (30, 30, 90, 90))


def test_crop_min_side() -> None:
    """A crop smaller than ``min_side`` is widened around the face (no upscaling)."""
    image = frame(DETECT, (600, 200, 660, 260))
    crop = crop_box(image, (600, 200, 660, 260), DETECT)  # margin 0.5, min_side 160
    assert image_size(crop) == (160, 160)
    assert near(red_square(crop), (50, 50, 110, 110))
    # An image smaller than min_side: all of it.
    small = frame((100, 80), (40, 30, 60, 50))
    crop = crop_box(small, (40, 30, 60, 50), (100, 80))
    assert image_size(crop) == (100, 80)
    assert near(red_square(crop), (40, 30, 60, 50))


def test_crop_from_4k_frame_scaled_from_detect_box() -> None:
    """A box in 1280×720 detect pixels lands on the face of a 3840×2160 frame, whole."""
    face_4k = (1800, 600, 1980, 780)  # detect (600, 200, 660, 260) × 3
    image = frame((3840, 2160), face_4k, fmt="JPEG")
    crop = crop_box(image, (600, 200, 660, 260), DETECT)
    assert image_size(crop) == (360, 360)  # 180 px face + 90 px each side
    assert near(red_square(crop), (90, 90, 270, 270))


def test_crop_scaled_down_image() -> None:
    """Frigate's ``height`` scaled frame (1422×800 of 1280×720) maps within rounding."""
    image = frame((1422, 800), (667, 222, 733, 289))
    crop = crop_box(image, (600, 200, 660, 260), DETECT, min_side=0)
    square = red_square(crop)
    assert square is not None
    width, height = image_size(crop) or (0, 0)
    # The square is centred with about a third of the crop on each side.
    assert abs(square[0] - (width - square[2])) <= 2
    assert abs(square[1] - (height - square[3])) <= 2
    assert near((width, height), (133, 133), 3)


@pytest.mark.parametrize(
    ("box", "expected_crop", "expected_square"),
    [
        # Top-left corner: the margin above and left is cut off.
        ((0, 0, 40, 40), (60, 60), (0, 0, 40, 40)),
        # Bottom-right corner.
        ((1240, 680, 1280, 720), (60, 60), (20, 20, 60, 60)),
        # Left edge, mid height.
        ((0, 300, 40, 340), (60, 80), (0, 20, 40, 60)),
    ],
)
def test_crop_margin_clamped_at_edges(
    box: tuple[int, int, int, int],
    expected_crop: tuple[int, int],
    expected_square: tuple[int, int, int, int],
) -> None:
    """The margin stops at the image's edges."""
    image = frame(DETECT, box)
    crop = crop_box(image, box, DETECT, min_side=0)
    assert image_size(crop) == expected_crop
    assert near(red_square(crop), expected_square)


def test_crop_min_side_slides_inside_at_edges() -> None:
    """At an edge the min_side window slides inward instead of shrinking."""
    box = (1240, 680, 1280, 720)
    crop = crop_box(frame(DETECT, box), box, DETECT)
    assert image_size(crop) == (160, 160)
    assert near(red_square(crop), (120, 120, 160, 160))


def test_crop_box_partly_outside_the_frame_is_clamped() -> None:
    """A box running off the frame keeps its part inside."""
    image = frame(DETECT, (1250, 700, 1280, 720))
    crop = crop_box(image, (1250, 700, 1300, 760), DETECT, margin=0, min_side=0)
    assert image_size(crop) == (30, 20)


def test_crop_real_face_world_image(face_world: FaceWorld) -> None:
    """A JPEG face from the emulators' world: cut with its box, the face is all there."""
    spec = FaceSpec("alice", (600, 200, 60, 80))
    image = face_world.image(spec, size=DETECT)
    box = (spec.x_min, spec.y_min, spec.x_max, spec.y_max)
    crop = crop_box(image, box, DETECT, margin=0.5, min_side=0)
    assert image_size(crop) == (120, 160)
    picture = Image.open(io.BytesIO(crop)).convert("RGB")
    # The skin-coloured ellipse is centred in the crop.
    r, g, b = picture.getpixel((60, 80))  # type: ignore[misc]
    assert (r, g, b) != (0, 0, 0)
    assert abs(r - 224) < 40
    assert abs(g - 172) < 40


def test_crop_other_modes_become_jpeg() -> None:
    """Palette, transparent and grey images all come out as JPEG."""
    for mode in ("P", "RGBA", "LA", "L", "1", "I;16"):
        img = Image.new(mode, (200, 100))
        buffer = io.BytesIO()
        img.save(buffer, "PNG")
        crop = crop_box(buffer.getvalue(), (50, 25, 70, 45), (200, 100), min_side=0)
        assert crop.startswith(b"\xff\xd8\xff"), mode
        assert image_size(crop) == (40, 40)


def test_crop_refuses_another_shape() -> None:
    """An image of another aspect ratio (cut to the object) cannot take a detect box."""
    with pytest.raises(ImageUnavailableError, match="shape"):
        crop_box(frame((400, 400), (0, 0, 10, 10)), (600, 200, 660, 260), DETECT)


@pytest.mark.parametrize(
    "box",
    [(1280, 0, 1300, 20), (0, 720, 20, 740), (60, 20, 50, 40), (10, 20, 30, 20)],
)
def test_crop_refuses_box_outside_frame(box: tuple[int, int, int, int]) -> None:
    """A box outside the frame, inverted or empty is ImageUnavailableError."""
    with pytest.raises(ImageUnavailableError, match="box"):
        crop_box(frame(DETECT, (0, 0, 10, 10)), box, DETECT)


def test_crop_programming_errors() -> None:
    """A nonsense frame size, margin or min_side is a ValueError."""
    image = frame(DETECT, (0, 0, 10, 10))
    for source, margin, min_side in (
        ((0, 720), 0.5, 160),
        ((1280, -1), 0.5, 160),
        (DETECT, -0.1, 160),
        (DETECT, float("nan"), 160),
        (DETECT, 0.5, -1),
    ):
        with pytest.raises(ValueError, match=r"source size|margin"):
            crop_box(image, (0, 0, 10, 10), source, margin, min_side)


def _png_claiming(width: int, height: int) -> bytes:
    """Make a small PNG whose header claims ``width``×``height``."""
    data = bytearray(frame((16, 9), (0, 0, 1, 1)))
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    return bytes(data)


def _jpeg_claiming(width: int, height: int) -> bytes:
    """Make a small JPEG whose frame header claims ``width``×``height``."""
    data = bytearray(frame((16, 9), (0, 0, 1, 1), fmt="JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (b"", "empty"),
        (b"<html>not found</html>", "not a JPEG"),
        (_png_claiming(20000, 20000), "decompression bomb"),
        (_jpeg_claiming(65000, 65000), "decompression bomb"),
        (frame(DETECT, (0, 0, 10, 10), fmt="JPEG")[:5000], "truncated"),
        (frame(DETECT, (0, 0, 10, 10))[:300] + b"IEND\xaeB`\x82", "decode"),
        (b"\xff\xd8\xff" + b"\x00" * 100 + b"\xff\xd9", "header"),
    ],
    ids=["empty", "html", "png-bomb", "jpeg-bomb", "truncated", "png-cut", "no-sof"],
)
def test_crop_refuses_unusable_images(image: bytes, match: str) -> None:
    """Bombs, truncated and broken files raise ImageUnavailableError, never decode."""
    with pytest.raises(ImageUnavailableError, match=match):
        crop_box(image, (0, 0, 10, 10), DETECT)


def test_crop_refuses_gif_frame_bomb() -> None:
    """A GIF whose tiny screen holds a huge frame is refused by the same size rule."""
    img = Image.new("P", (10, 10))
    buffer = io.BytesIO()
    img.save(buffer, "GIF")
    data = bytearray(buffer.getvalue())
    descriptor = data.index(b"\x2c", 13)
    data[descriptor + 5 : descriptor + 9] = (9000).to_bytes(2, "little") * 2
    with pytest.raises(ImageUnavailableError, match="decompression bomb|header"):
        crop_box(bytes(data), (0, 0, 10, 10), (10, 10))


# -- FrigateImage crop modes -----------------------------------------------------------


async def test_frigate_image_crop_modes(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """Each mode's request, as the emulator received it; the default is today's."""
    client = FrigateClient(session, frigate.url)
    image = frame(DETECT, (600, 200, 660, 260), fmt="JPEG")
    frigate.set_snapshot(EVENT, image)
    for crop in (None, "person", "none", "face"):
        source = (
            FrigateImage(client, "snapshot", EVENT, 800)
            if crop is None
            else FrigateImage(client, "snapshot", EVENT, 800, crop=crop)
        )
        assert await source.fetch() == image
    queries = [rec.query for rec in frigate.snapshot_requests(EVENT)]
    assert queries == [
        {"crop": "1", "h": "800", "height": "800"},
        {"crop": "1", "h": "800", "height": "800"},
        {"crop": "0", "h": "800", "height": "800"},
        {"crop": "0", "bbox": "0", "timestamp": "0"},
    ]
    for crop in ("person", "none", "face"):
        await FrigateImage(client, "latest", "garden", 360, crop=crop).fetch()  # type: ignore[arg-type]
    queries = [rec.query for rec in frigate.latest_requests("garden")]
    assert queries == [
        {"h": "360", "height": "360"},
        {"h": "360", "height": "360"},
        {},
    ]


async def test_face_mode_latest_is_detect_size(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """Without a height, Frigate answers at detect resolution."""
    client = FrigateClient(session, frigate.url)
    data = await FrigateImage(client, "latest", "garden", 360, crop="face").fetch()
    assert image_size(data) == DETECT


async def test_event_to_face_crop(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """Event box + config detect size + full-resolution snapshot → the face, whole."""
    frigate.detect_size = DETECT
    frigate.face_cameras = {"front_door"}
    snapshot_face = (651, 191, 701, 253)
    frigate.set_snapshot(EVENT, frame(DETECT, snapshot_face, fmt="JPEG"))
    client = FrigateClient(session, frigate.url)
    config = await client.config()
    event = parse_event(message())
    assert config.tracks_faces(event.camera)
    source_size = config.detect_size(event.camera)
    assert source_size is not None
    assert event.snapshot_face_box == snapshot_face
    image = await FrigateImage(client, "snapshot", event.id, 800, crop="face").fetch()
    crop = crop_box(image, event.snapshot_face_box, source_size, min_side=0)
    assert image_size(crop) == (100, 124)
    assert near(red_square(crop), (25, 31, 75, 93))
