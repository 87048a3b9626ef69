"""The face-detector emulators answer as the reference (detector-apis.md) says."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
import io
from typing import Any

import aiohttp
from PIL import Image
import pytest

from .emulators.base import EmulatorServer
from .emulators.compreface import COMPREFACE_KEY, CompreFaceEmulator
from .emulators.deepstack import DeepStackEmulator
from .emulators.fixtures import StartEmulator
from .emulators.world import DIFFERENT_PERSON_SIMILARITY, FaceSpec, FaceWorld

ALICE = FaceSpec("alice", (100, 80, 120, 160), similarity=0.91234567)
BOB = FaceSpec("bob", (400, 60, 100, 140), similarity=0.88)
CF_HEADERS = {"x-api-key": COMPREFACE_KEY}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Open a plain aiohttp client session, closed at teardown."""
    async with aiohttp.ClientSession() as client:
        yield client


def form(*files: tuple[str, str, bytes], **fields: str) -> aiohttp.FormData:
    """Multipart body with (field, filename, data) files and text fields."""
    data = aiohttp.FormData()
    for name, value in fields.items():
        data.add_field(name, value)
    for field, filename, content in files:
        data.add_field(field, content, filename=filename, content_type="image/jpeg")
    return data


async def call(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, Any]:
    """Status and JSON body (or text when not JSON)."""
    async with session.request(method, url, **kwargs) as resp:
        text = await resp.text()
        try:
            return resp.status, await resp.json(content_type=None)
        except ValueError:
            return resp.status, text


# --- world -------------------------------------------------------------------------------


def test_world_images_are_unique_real_and_remembered() -> None:
    """Every call draws a new decodable image; registered faces come back."""
    world = FaceWorld()
    first, second = world.image(ALICE), world.image(ALICE)
    assert first != second
    assert Image.open(io.BytesIO(first)).format == "JPEG"
    assert Image.open(io.BytesIO(world.image(fmt="PNG"))).size == (640, 480)
    assert world.faces_in(first) == [ALICE]
    assert world.faces_in(world.image()) == []

    other = io.BytesIO()
    Image.new("RGB", (10, 10)).save(other, "PNG")
    assert world.faces_in(other.getvalue()) == []
    assert world.faces_in(b"not an image") is None
    world.register(other.getvalue(), [BOB])
    assert world.faces_in(other.getvalue()) == [BOB]


# --- shared machinery --------------------------------------------------------------------


async def test_recording_fail_next_and_restart(
    start_emulator: StartEmulator,
    face_world: FaceWorld,
    session: aiohttp.ClientSession,
) -> None:
    """Requests are recorded parsed; fail_next answers instead; restart keeps the URL."""
    facebox = await start_emulator("facebox")
    image = face_world.image(ALICE)
    status, body = await call(
        session,
        "POST",
        f"{facebox.url}/facebox/teach?name=alice",
        data=form(("file", "alice.jpg", image), id="a1"),
        headers={"X-Test": "yes"},
    )
    assert (status, body) == (200, {"success": True})
    rec = facebox.requests_to("/facebox/teach")[0]
    assert rec.method == "POST"
    assert rec.query == {"name": "alice"}
    assert rec.form == {"id": "a1"}
    assert [(f.field, f.filename, f.data) for f in rec.files] == [
        ("file", "alice.jpg", image)
    ]
    assert rec.headers["x-test"] == rec.headers["X-Test"] == "yes"

    facebox.fail_next(503, {"oops": True}, count=2)
    facebox.fail_next(200, "<html>", content_type="text/html")
    for _ in range(2):
        assert await call(session, "GET", f"{facebox.url}/info") == (
            503,
            {"oops": True},
        )
    async with session.get(f"{facebox.url}/info") as resp:
        assert resp.content_type == "text/html"
        assert await resp.text() == "<html>"
    assert (await call(session, "GET", f"{facebox.url}/info"))[0] == 200
    assert len(facebox.requests) == 5

    url = facebox.url
    await facebox.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await call(session, "GET", f"{url}/info")
    assert await facebox.start() == url
    assert facebox.examples == {"a1": ("alice", "alice")}


async def test_delay_provokes_client_timeout(
    deepstack: DeepStackEmulator, session: aiohttp.ClientSession
) -> None:
    """With a delay the client times out; the request is still recorded."""
    deepstack.delay = 5
    with pytest.raises(TimeoutError):
        await call(
            session,
            "POST",
            f"{deepstack.url}/v1/vision/face/list",
            timeout=aiohttp.ClientTimeout(total=0.2),
        )
    assert deepstack.requests_to("/v1/vision/face/list", "POST")


async def test_stop_releases_a_delayed_request(socket_enabled: None) -> None:
    """stop() does not wait for the delay to run out."""
    server = EmulatorServer()
    await server.start()
    server.delay = 30
    async with aiohttp.ClientSession() as client:
        pending = asyncio.ensure_future(call(client, "GET", f"{server.url}/nothing"))
        while not server.requests:
            await asyncio.sleep(0.01)
        async with asyncio.timeout(5):
            await server.stop()
            assert (await pending)[0] == 404


# --- CompreFace --------------------------------------------------------------------------


async def test_compreface_api_key_errors(
    compreface: CompreFaceEmulator, session: aiohttp.ClientSession
) -> None:
    """Missing key 400/20, malformed key 400/26, unknown key 404/10; status needs none."""
    url = f"{compreface.url}/api/v1/recognition/subjects"
    assert await call(session, "GET", url) == (
        400,
        {"message": "Missing header: x-api-key", "code": 20},
    )
    assert await call(session, "GET", url, headers={"x-api-key": "nope"}) == (
        400,
        {"message": "Service API key should be UUID", "code": 26},
    )
    other = "11111111-2222-3333-4444-555555555555"
    status, body = await call(session, "GET", url, headers={"x-api-key": other})
    assert (status, body["code"]) == (404, 10)
    assert body["message"] == f"Recognition service with API Key {other} not found"
    assert await call(session, "GET", url, headers=CF_HEADERS) == (
        200,
        {"subjects": []},
    )
    status, body = await call(
        session, "GET", f"{compreface.url}/api/v1/consistence/status"
    )
    assert (status, body["status"]) == (200, "OK")


async def test_compreface_upload_rules_and_no_face(
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    session: aiohttp.ClientSession,
) -> None:
    """Part ``file`` needs an image extension (21); no face → 400/28; junk → 400/28."""
    url = f"{compreface.url}/api/v1/recognition/recognize"
    image = face_world.image(ALICE)
    status, body = await call(
        session, "POST", url, data=form(("file", "snapshot", image)), headers=CF_HEADERS
    )
    assert (status, body) == (
        400,
        {"message": "File [snapshot] has an unavailable extension", "code": 21},
    )
    no_face = {"message": "No face is found in the given image", "code": 28}
    for data in (face_world.image(), b"garbage"):
        assert await call(
            session, "POST", url, data=form(("file", "a.JPG", data)), headers=CF_HEADERS
        ) == (400, no_face)
    # A face but an empty collection: subjects is [].
    status, body = await call(
        session, "POST", url, data=form(("file", "a.jpg", image)), headers=CF_HEADERS
    )
    assert status == 200
    assert body == {
        "result": [
            {
                "box": {
                    "probability": 0.99983,
                    "x_max": 220,
                    "y_max": 240,
                    "x_min": 100,
                    "y_min": 80,
                },
                "subjects": [],
            }
        ]
    }


async def test_compreface_train_recognize_delete(
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    session: aiohttp.ClientSession,
) -> None:
    """Add → 201; >1 face → 31; subjects sorted, rounded; case-insensitive; delete count."""
    faces_url = f"{compreface.url}/api/v1/recognition/faces"

    async def add(subject: str, *faces: FaceSpec) -> tuple[int, Any]:
        return await call(
            session,
            "POST",
            faces_url,
            params={"subject": subject},
            data=form(("file", "x.jpg", face_world.image(*faces))),
            headers=CF_HEADERS,
        )

    status, body = await add("Alice", ALICE)
    assert status == 201
    assert body["subject"] == "Alice"
    assert len(body["image_id"]) == 36
    assert (await add("alice", ALICE))[0] == 201  # same subject, other case
    assert await add("bob", ALICE, BOB) == (
        400,
        {"message": "More than one face in the source image", "code": 31},
    )
    assert (await add("bob", BOB))[0] == 201
    assert (await add("nobody"))[1]["code"] == 28
    assert compreface.subjects == {"Alice": ["alice", "alice"], "bob": ["bob"]}

    status, body = await call(
        session,
        "POST",
        f"{compreface.url}/api/v1/recognition/recognize",
        params={"prediction_count": "3"},
        data=form(("file", "x.png", face_world.image(ALICE, fmt="PNG"))),
        headers=CF_HEADERS,
    )
    assert status == 200
    assert body["result"][0]["subjects"] == [
        {"subject": "Alice", "similarity": 0.91235},
        {"subject": "Alice", "similarity": 0.91235},
        {"subject": "bob", "similarity": DIFFERENT_PERSON_SIMILARITY},
    ]

    status, body = await call(
        session,
        "GET",
        f"{compreface.url}/api/v1/recognition/subjects",
        headers=CF_HEADERS,
    )
    assert body == {"subjects": ["Alice", "bob"]}
    for subject, deleted in (("ALICE", 2), ("ghost", 0)):
        assert await call(
            session,
            "DELETE",
            faces_url,
            params={"subject": subject},
            headers=CF_HEADERS,
        ) == (200, {"deleted": deleted})
    assert compreface.subjects == {"bob": ["bob"]}


# --- DeepStack ---------------------------------------------------------------------------


async def test_deepstack_auth_and_activation(
    deepstack: DeepStackEmulator, session: aiohttp.ClientSession
) -> None:
    """api_key form field → 401 when wrong; face disabled → 403; duration 0 everywhere."""
    url = f"{deepstack.url}/v1/vision/face/list"
    assert await call(session, "POST", url) == (
        200,
        {"success": True, "faces": [], "duration": 0},
    )
    deepstack.api_key = "secret"
    unauthorized = (
        401,
        {"success": False, "error": "Incorrect api key", "duration": 0},
    )
    assert await call(session, "POST", url) == unauthorized
    assert (
        await call(session, "POST", url, params={"api_key": "secret"}) == unauthorized
    )
    assert (await call(session, "POST", url, data={"api_key": "secret"}))[0] == 200
    deepstack.face_enabled = False
    assert await call(session, "POST", url, data={"api_key": "secret"}) == (
        403,
        {"success": False, "error": "Face endpoints not activated", "duration": 0},
    )


async def test_deepstack_register_replaces_and_recognize(
    deepstack: DeepStackEmulator, face_world: FaceWorld, session: aiohttp.ClientSession
) -> None:
    """Register averages & replaces; unknown below min_confidence; no face → []."""
    register = f"{deepstack.url}/v1/vision/face/register"
    recognize = f"{deepstack.url}/v1/vision/face/recognize"
    alice1, alice2, bob = (
        face_world.image(ALICE),
        face_world.image(ALICE),
        face_world.image(BOB),
    )

    status, body = await call(
        session, "POST", register, data=form(("image", "a.jpg", alice1), userid="alice")
    )
    assert (status, body) == (
        200,
        {"success": True, "message": "face added", "duration": 0},
    )
    # Repeated field name counts once; distinct names each count.
    await call(
        session,
        "POST",
        register,
        data=form(
            ("image", "1.jpg", alice1), ("image", "2.jpg", alice2), userid="alice"
        ),
    )
    assert deepstack.subjects == {"alice": ["alice"]}
    status, body = await call(
        session,
        "POST",
        register,
        data=form(
            ("image1", "1.jpg", bob), ("image2", "2.jpg", alice2), userid="alice"
        ),
    )
    assert body["message"] == "face updated"
    assert deepstack.subjects == {"alice": ["bob", "alice"]}
    assert await call(
        session,
        "POST",
        register,
        data=form(("image", "n.jpg", face_world.image()), userid="x"),
    ) == (400, {"success": False, "error": "no face detected", "duration": 0})
    assert (
        await call(session, "POST", register, data=form(("image", "a.jpg", alice1)))
    )[1]["error"] == "userid not specified"

    await call(
        session, "POST", register, data=form(("image", "b.jpg", bob), userid="alice")
    )
    status, body = await call(
        session,
        "POST",
        recognize,
        data=form(("image", "x.jpg", face_world.image(ALICE, BOB))),
    )
    assert status == 200
    assert body == {
        "success": True,
        "predictions": [
            {"confidence": 0, "userid": "unknown", "y_min": 80, "x_min": 100, "y_max": 240, "x_max": 220},
            {"confidence": 0.88, "userid": "alice", "y_min": 60, "x_min": 400, "y_max": 200, "x_max": 500},
        ],
        "duration": 0,
    }  # fmt: skip
    status, body = await call(
        session,
        "POST",
        recognize,
        data=form(("image", "x.jpg", face_world.image(BOB)), min_confidence="0.9"),
    )
    assert body["predictions"][0]["userid"] == "unknown"
    assert await call(
        session, "POST", recognize, data=form(("image", "x.jpg", face_world.image()))
    ) == (200, {"success": True, "predictions": [], "duration": 0})
    assert (
        await call(session, "POST", recognize, data=form(("image", "x.jpg", b"junk")))
    ) == (
        400,
        {"success": False, "error": "invalid image", "duration": 0},
    )

    delete = f"{deepstack.url}/v1/vision/face/delete"
    for userid in ("alice", "ghost"):
        assert await call(session, "POST", delete, data={"userid": userid}) == (
            200,
            {"success": True, "duration": 0},
        )
    assert deepstack.subjects == {}


# --- CodeProject.AI ----------------------------------------------------------------------


async def test_codeproject_always_200_with_envelope(
    start_emulator: StartEmulator,
    face_world: FaceWorld,
    session: aiohttp.ClientSession,
) -> None:
    """Failures are HTTP 200 success:false code 500; files are read by index."""
    codeproject = await start_emulator("codeproject")
    base = f"{codeproject.url}/v1/vision/face"
    status, body = await call(
        session,
        "POST",
        f"{base}/recognize",
        data=form(("image", "x.jpg", face_world.image())),
    )
    assert status == 200
    assert body["success"] is False
    assert body["error"] == "No face found in image"
    assert body["code"] == 500
    assert body["moduleId"] == "FaceProcessing"
    assert body["command"] == "recognize"
    for key in ("requestId", "inferenceDevice", "analysisRoundTripMs", "timestampUTC"):
        assert key in body
    assert "processMs" not in body

    status, body = await call(
        session, "POST", f"{base}/register", data=form(("image", "x.jpg", face_world.image()), userid="a")
    )  # fmt: skip
    assert (status, body["success"], body["error"]) == (200, False, "No face detected")
    status, body = await call(
        session, "POST", f"{base}/recognize", data=form(("image", "x.jpg", b"junk"))
    )
    assert (status, body["error"]) == (200, "The image provided was of an unknown type")

    alice = face_world.image(ALICE)
    status, body = await call(
        session,
        "POST",
        f"{base}/register",
        data=form(("image", "1.jpg", alice), ("image", "2.jpg", face_world.image(BOB)), userid="al"),
    )  # fmt: skip
    assert (body["success"], body["message"], body["code"]) == (True, "face added", 200)
    assert codeproject.subjects == {"al": ["alice", "bob"]}

    status, body = await call(
        session, "POST", f"{base}/recognize", data=form(("upload", "x.jpg", alice))
    )
    assert body["success"] is True
    assert body["message"] == "A face was recognized"
    assert body["count"] == 1
    assert body["predictions"] == [
        {"confidence": 0.91234567, "userid": "al", "x_min": 100, "y_min": 80, "x_max": 220, "y_max": 240}
    ]  # fmt: skip
    assert "processMs" in body
    status, body = await call(session, "POST", f"{base}/list")
    assert body["faces"] == ["al"]

    status, body = await call(
        session, "GET", f"{codeproject.url}/v1/server/status/ping"
    )
    assert (status, body["success"]) == (200, True)
    status, body = await call(
        session, "GET", f"{codeproject.url}/v1/module/list/status"
    )
    assert body["statuses"][0]["moduleId"] == "FaceProcessing"
    assert body["statuses"][0]["status"] == "Started"
    codeproject.face_module_installed = False
    assert (await call(session, "POST", f"{base}/list"))[0] == 404


# --- Facebox -----------------------------------------------------------------------------


async def test_facebox_teach_check_remove(
    start_emulator: StartEmulator,
    face_world: FaceWorld,
    session: aiohttp.ClientSession,
) -> None:
    """Teach with query params; check multipart and JSON base64; remove by id."""
    facebox = await start_emulator("facebox")
    status, body = await call(
        session,
        "POST",
        f"{facebox.url}/facebox/teach",
        params={"name": "alice", "id": "alice"},
        data=form(("file", "alice.jpg", face_world.image(ALICE))),
    )
    assert (status, body) == (200, {"success": True})
    assert facebox.examples == {"alice": ("alice", "alice")}
    assert facebox.subjects == {"alice": ["alice"]}
    status, body = await call(
        session,
        "POST",
        f"{facebox.url}/facebox/teach",
        data=form(("file", "two.jpg", face_world.image(ALICE, BOB)), name="x"),
    )
    assert (status, body["success"]) == (400, False)

    image = face_world.image(ALICE, BOB)
    expected = {
        "success": True,
        "facesCount": 2,
        "faces": [
            {
                "rect": {"top": 80, "left": 100, "width": 120, "height": 160},
                "id": "alice",
                "name": "alice",
                "matched": True,
                "confidence": 0.91234567,
            },
            {"rect": {"top": 60, "left": 400, "width": 100, "height": 140}, "matched": False, "confidence": 0},
        ],
    }  # fmt: skip
    check = f"{facebox.url}/facebox/check"
    assert await call(session, "POST", check, data=form(("file", "x.jpg", image))) == (
        200,
        expected,
    )
    assert await call(
        session, "POST", check, json={"base64": base64.b64encode(image).decode()}
    ) == (200, expected)
    assert await call(
        session, "POST", check, data=form(("file", "x.jpg", face_world.image()))
    ) == (
        200,
        {"success": True, "facesCount": 0, "faces": []},
    )
    status, body = await call(
        session, "POST", check, data=form(("file", "x.jpg", b"junk"))
    )
    assert (status, body["success"]) == (400, False)

    assert await call(session, "DELETE", f"{facebox.url}/facebox/teach/alice") == (
        200,
        {"success": True},
    )
    assert facebox.examples == {}
    status, body = await call(session, "GET", f"{facebox.url}/info")
    assert body["status"] == "ready"


async def test_facebox_basic_auth(
    start_emulator: StartEmulator, session: aiohttp.ClientSession
) -> None:
    """With Basic auth configured, requests without the right credentials get 401."""
    facebox = await start_emulator("facebox", basic_auth=("user", "pass"))
    assert (await call(session, "GET", f"{facebox.url}/info"))[0] == 401
    wrong = {"Authorization": aiohttp.encode_basic_auth("user", "nope")}
    assert (await call(session, "GET", f"{facebox.url}/info", headers=wrong))[0] == 401
    right = {"Authorization": aiohttp.encode_basic_auth("user", "pass")}
    assert (await call(session, "GET", f"{facebox.url}/healthz", headers=right))[
        0
    ] == 200
