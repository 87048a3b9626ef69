"""FrigateClient against the Frigate emulator."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
import io
import json
import time
from typing import Any
from unittest.mock import patch

import aiohttp
from PIL import Image
import pytest

from custom_components.double_take.api import frigate as frigate_api
from custom_components.double_take.api.errors import (
    ApiAuthError,
    ApiConnectionError,
    ApiResponseError,
    ImageUnavailableError,
)
from custom_components.double_take.api.frigate import FrigateClient, FrigateConfig

from .emulators.fixtures import StartEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec, FaceWorld

EVENT = "1760011207.412398-k3w9qz"
USER = "admin"
PASSWORD = "correct horse battery staple"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Open a plain aiohttp session, closed at teardown."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def secured(start_emulator: StartEmulator) -> FrigateEmulator:
    """Run a Frigate emulator that requires a login (port 8971 behaviour)."""
    return await start_emulator("frigate", username=USER, password=PASSWORD)


def client_for(
    session: aiohttp.ClientSession, server: FrigateEmulator, **kwargs: Any
) -> FrigateClient:
    """Make a client for ``server``, with credentials when it requires them."""
    if server.username is not None:
        kwargs.setdefault("username", USER)
        kwargs.setdefault("password", PASSWORD)
    return FrigateClient(session, server.url, **kwargs)


def _b64(data: Any) -> str:
    """base64url of JSON, without padding, as in a JWT."""
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    """Encode a small real JPEG."""
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 100, 50)).save(buf, "JPEG")
    return buf.getvalue()


# -- version and config -------------------------------------------------------------------


async def test_version(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """/api/version is plain text."""
    client = FrigateClient(session, frigate.url + "/")
    assert client.url == frigate.url
    assert await client.version() == "0.16.4-4131252"
    frigate.version = "0.14.1-f4f3cfa"
    assert await client.version() == "0.14.1-f4f3cfa"


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, "<html><body>Home Assistant</body></html>", "text/html"),
        (200, "", "text/plain"),
        (500, "Internal Server Error", None),
        (404, {"detail": "Not Found"}, None),
    ],
)
async def test_version_not_frigate(
    session: aiohttp.ClientSession,
    frigate: FrigateEmulator,
    status: int,
    body: Any,
    content_type: str | None,
) -> None:
    """Anything but a version string is an ApiResponseError."""
    frigate.fail_next(status, body, content_type=content_type)
    with pytest.raises(ApiResponseError):
        await FrigateClient(session, frigate.url).version()


async def test_config(session: aiohttp.ClientSession, frigate: FrigateEmulator) -> None:
    """Topic prefix and cameras with their zones, in config order."""
    config = await FrigateClient(session, frigate.url).config()
    assert config == FrigateConfig(
        topic_prefix="frigate",
        cameras={"front_door": ("porch", "driveway"), "garden": ()},
    )
    frigate.topic_prefix = "nvr/frigate2"
    frigate.cameras = {"back": ["lawn"]}
    config = await FrigateClient(session, frigate.url).config()
    assert config.topic_prefix == "nvr/frigate2"
    assert config.cameras == {"back": ("lawn",)}


async def test_config_missing_topic_prefix(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """No mqtt.topic_prefix means Frigate's default, ``frigate``."""
    frigate.topic_prefix = None
    assert (
        await FrigateClient(session, frigate.url).config()
    ).topic_prefix == "frigate"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"cameras": {"a": {}}}, FrigateConfig("frigate", {"a": ()})),
        ({"mqtt": None, "cameras": {}}, FrigateConfig("frigate", {})),
        ({"mqtt": {"topic_prefix": 5}, "cameras": {}}, FrigateConfig("frigate", {})),
        ({"mqtt": {"topic_prefix": "  "}, "cameras": {}}, FrigateConfig("frigate", {})),
        (
            {"mqtt": {"topic_prefix": "a/#"}, "cameras": {}},
            FrigateConfig("frigate", {}),
        ),
        ({"mqtt": {"topic_prefix": "fr/"}, "cameras": {}}, FrigateConfig("fr", {})),
        ({"cameras": {"": {}, "b": {}}}, FrigateConfig("frigate", {"b": ()})),
        (
            {"cameras": {"a": {"zones": None}, "b": [], "c": {"zones": ["x", 3, "x"]}}},
            FrigateConfig("frigate", {"a": (), "b": (), "c": ("x",)}),
        ),
        (
            {"cameras": {"a": {"zones": {"z1": {}, "z2": None}}}},
            FrigateConfig("frigate", {"a": ("z1", "z2")}),
        ),
    ],
)
async def test_config_lenient(
    session: aiohttp.ClientSession,
    frigate: FrigateEmulator,
    raw: Any,
    expected: FrigateConfig,
) -> None:
    """Odd but usable configs fall back to defaults."""
    frigate.raw_config = raw
    assert await FrigateClient(session, frigate.url).config() == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"not json{",
        b"<html></html>",
        [],
        "frigate",
        {"mqtt": {"topic_prefix": "frigate"}},
        {"cameras": ["front_door"]},
        {"cameras": None},
    ],
)
async def test_config_malformed(
    session: aiohttp.ClientSession, frigate: FrigateEmulator, raw: Any
) -> None:
    """A body that is not a Frigate config raises ApiResponseError."""
    frigate.raw_config = json.dumps(raw) if isinstance(raw, str) else raw
    with pytest.raises(ApiResponseError):
        await FrigateClient(session, frigate.url).config()


async def test_config_server_error(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """5xx garbage is an ApiResponseError carrying the status."""
    frigate.fail_next(502, b"\x00\x01garbage")
    with pytest.raises(ApiResponseError, match="502"):
        await FrigateClient(session, frigate.url).config()


# -- images -------------------------------------------------------------------------------


async def test_snapshot_query(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """Both height names and crop=1 are sent; the bytes come back untouched."""
    image = jpeg()
    frigate.set_snapshot(EVENT, [image])
    client = FrigateClient(session, frigate.url)
    assert await client.snapshot(EVENT, height=500) == image
    (rec,) = frigate.snapshot_requests(EVENT)
    assert rec.method == "GET"
    assert rec.path == f"/api/events/{EVENT}/snapshot.jpg"
    assert rec.query == {"crop": "1", "h": "500", "height": "500"}
    assert "Authorization" not in rec.headers


async def test_snapshot_png_and_script_order(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """Scripted answers are consumed in order and the last one repeats."""
    world = FaceWorld()
    png = world.image(FaceSpec("alice", (8, 8, 16, 20)), size=(64, 48), fmt="PNG")
    frigate.set_snapshot(EVENT, [404, "html", png])
    client = FrigateClient(session, frigate.url)
    with pytest.raises(ImageUnavailableError, match="Live frame not available"):
        await client.snapshot(EVENT, height=300)
    with pytest.raises(ImageUnavailableError, match="text/html"):
        await client.snapshot(EVENT, height=300)
    assert await client.snapshot(EVENT, height=300) == png
    assert await client.snapshot(EVENT, height=300) == png
    assert len(frigate.snapshot_requests(EVENT)) == 4


async def test_snapshot_large_image_complete(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """A full-size snapshot (several network chunks) arrives whole."""
    image = FaceWorld().image(FaceSpec("alice"), size=(1920, 1080))
    assert len(image) > 2 * 64 * 1024
    frigate.set_snapshot(EVENT, image)
    assert (
        await FrigateClient(session, frigate.url).snapshot(EVENT, height=720) == image
    )


async def test_snapshot_unscripted_404(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """An event Frigate has no frame for is ImageUnavailableError."""
    with pytest.raises(ImageUnavailableError, match="404"):
        await FrigateClient(session, frigate.url).snapshot("nope", height=100)


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (500, "Internal Server Error", None),
        (502, "<html>Bad Gateway</html>", "text/html"),
        (200, b"\x00garbage", "image/jpeg"),
        (200, b"", "image/jpeg"),
        (200, {"success": True}, None),
    ],
)
async def test_snapshot_not_an_image(
    session: aiohttp.ClientSession,
    frigate: FrigateEmulator,
    status: int,
    body: Any,
    content_type: str | None,
) -> None:
    """Errors, garbage and empty bodies are ImageUnavailableError."""
    frigate.set_snapshot(EVENT, jpeg())
    frigate.fail_next(status, body, content_type=content_type)
    with pytest.raises(ImageUnavailableError):
        await FrigateClient(session, frigate.url).snapshot(EVENT, height=100)


async def test_latest(session: aiohttp.ClientSession, frigate: FrigateEmulator) -> None:
    """latest.jpg sends h and height; the emulator resizes on ``height`` (0.15+)."""
    client = FrigateClient(session, frigate.url)
    data = await client.latest("front_door", height=360)
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        assert img.size == (640, 360)
    (rec,) = frigate.latest_requests("front_door")
    assert rec.path == "/api/front_door/latest.jpg"
    assert rec.query == {"h": "360", "height": "360"}
    assert "crop" not in rec.query


async def test_latest_old_frigate_reads_h(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """Frigate ≤0.14 reads ``h``: sending both works there too."""
    frigate.version = "0.14.1-f4f3cfa"
    data = await FrigateClient(session, frigate.url).latest("garden", height=180)
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (320, 180)


async def test_latest_scripted_and_unknown_camera(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """Scripted frames are served; an unknown camera is ImageUnavailableError."""
    image = jpeg()
    frigate.set_latest("garden", [image, 404])
    client = FrigateClient(session, frigate.url)
    assert await client.latest("garden", height=100) == image
    with pytest.raises(ImageUnavailableError, match="Camera not found"):
        await client.latest("garden", height=100)
    with pytest.raises(ImageUnavailableError, match="Camera not found"):
        await client.latest("attic", height=100)


async def test_image_height_validated(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """A nonsense height is a programming error, not a request."""
    client = FrigateClient(session, frigate.url)
    with pytest.raises(ValueError, match="height"):
        await client.latest("garden", height=0)
    with pytest.raises(ValueError, match="height"):
        await client.snapshot(EVENT, height=True)
    assert frigate.requests == []


@pytest.mark.parametrize(
    ("event_id", "decoded_path"),
    [
        ("../../x", "/api/events/../../x/snapshot.jpg"),
        ("a/b?c=1#d", "/api/events/a/b?c=1#d/snapshot.jpg"),
        ("%2e%2e", "/api/events/%2e%2e/snapshot.jpg"),
        ("...", "/api/events/.../snapshot.jpg"),
    ],
)
async def test_untrusted_event_ids_are_quoted(
    session: aiohttp.ClientSession,
    frigate: FrigateEmulator,
    event_id: str,
    decoded_path: str,
) -> None:
    """Ids from MQTT stay one path segment: no traversal, no query injection."""
    image = jpeg()
    frigate.set_snapshot(event_id, image)
    client = FrigateClient(session, frigate.url)
    assert await client.snapshot(event_id, height=10) == image
    (rec,) = frigate.requests
    assert rec.path == decoded_path
    assert rec.query == {"crop": "1", "h": "10", "height": "10"}
    assert len(frigate.snapshot_requests(event_id)) == 1

    await client.set_sub_label(event_id, "alice", 0.5)
    assert frigate.sub_labels == [
        (event_id, {"subLabel": "alice", "subLabelScore": 0.5})
    ]


@pytest.mark.parametrize("event_id", ["", ".", ".."])
async def test_dot_segments_refused(
    session: aiohttp.ClientSession, frigate: FrigateEmulator, event_id: str
) -> None:
    """Ids that URL normalization would collapse are refused before any request."""
    client = FrigateClient(session, frigate.url)
    with pytest.raises(ImageUnavailableError, match="invalid"):
        await client.snapshot(event_id, height=10)
    with pytest.raises(ImageUnavailableError, match="invalid"):
        await client.latest(event_id, height=10)
    with pytest.raises(ApiResponseError, match="invalid"):
        await client.set_sub_label(event_id, "alice", 0.5)
    assert frigate.requests == []


async def test_camera_name_quoted(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """Camera names are quoted too."""
    frigate.cameras["../config"] = []
    await FrigateClient(session, frigate.url).latest("../config", height=10)
    assert len(frigate.latest_requests("../config")) == 1
    assert frigate.requests_to("/api/config") == []


# -- transport failures -------------------------------------------------------------------


async def test_timeout(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """A server slower than ``timeout`` is ApiConnectionError, on every method."""
    frigate.delay = 2.0
    frigate.set_snapshot(EVENT, jpeg())
    client = FrigateClient(session, frigate.url, timeout=0.1)
    with pytest.raises(ApiConnectionError, match="timed out"):
        await client.version()
    with pytest.raises(ApiConnectionError, match="timed out"):
        await client.snapshot(EVENT, height=10)
    with pytest.raises(ApiConnectionError, match="timed out"):
        await client.set_sub_label(EVENT, "alice", 0.9)
    frigate.delay = 0
    assert await client.version() == frigate.version


async def test_connection_refused(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """Nothing listening is ApiConnectionError."""
    server = FrigateEmulator()
    url = await server.start()
    await server.stop()
    client = FrigateClient(session, url)
    with pytest.raises(ApiConnectionError):
        await client.version()
    with pytest.raises(ApiConnectionError):
        await client.latest("garden", height=10)
    with pytest.raises(ApiConnectionError):
        await client.set_sub_label(EVENT, "alice", 0.9)


async def test_verify_ssl_false_passes_ssl_false(
    session: aiohttp.ClientSession, secured: FrigateEmulator
) -> None:
    """``verify_ssl=False`` sends ``ssl=False`` with every request, login included."""
    secured.set_snapshot(EVENT, jpeg())
    client = client_for(session, secured, verify_ssl=False)
    with patch.object(session, "request", wraps=session.request) as spy:
        await client.version()
        await client.snapshot(EVENT, height=10)
    assert spy.call_count == 3
    assert all(call.kwargs["ssl"] is False for call in spy.call_args_list)

    client = client_for(session, secured)
    with patch.object(session, "request", wraps=session.request) as spy:
        await client.version()
    assert all("ssl" not in call.kwargs for call in spy.call_args_list)


# -- sub labels ---------------------------------------------------------------------------


async def test_set_sub_label(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """The body Frigate expects, as JSON."""
    frigate.add_event(EVENT)
    await FrigateClient(session, frigate.url).set_sub_label(EVENT, "alice", 0.87)
    assert frigate.sub_labels == [(EVENT, {"subLabel": "alice", "subLabelScore": 0.87})]
    assert frigate.event_sub_labels[EVENT] == ("alice", 0.87)
    rec = frigate.requests_to(f"/api/events/{EVENT}/sub_label", "POST")[0]
    assert rec.content_type == "application/json"
    assert rec.headers["X-CSRF-TOKEN"]


@pytest.mark.parametrize(
    ("score", "sent"),
    [
        (1.0, 1.0),
        (1.7, 1.0),
        (87.5, 1.0),
        (0.0, 0.01),
        (-3, 0.01),
        (0.004, 0.01),
        (float("nan"), 0.01),
        (float("inf"), 1.0),
        (float("-inf"), 0.01),
        (0.5, 0.5),
    ],
)
async def test_sub_label_score_clamped(
    session: aiohttp.ClientSession, frigate: FrigateEmulator, score: float, sent: float
) -> None:
    """The score is clamped into (0, 1], which Frigate accepts."""
    frigate.add_event(EVENT)
    await FrigateClient(session, frigate.url).set_sub_label(EVENT, "bob", score)
    assert frigate.sub_labels == [(EVENT, {"subLabel": "bob", "subLabelScore": sent})]


@pytest.mark.parametrize("score", ["abc", None, object()])
def test_clamp_score_garbage(score: Any) -> None:
    """A score that is not a number at all still yields a value Frigate accepts."""
    assert frigate_api._clamp_score(score) == 0.01


async def test_sub_label_truncated(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """Labels longer than Frigate's 100 characters are cut, not refused."""
    frigate.add_event(EVENT)
    await FrigateClient(session, frigate.url).set_sub_label(EVENT, "x" * 150, 0.9)
    assert frigate.sub_labels[0][1]["subLabel"] == "x" * 100


async def test_sub_label_unknown_event(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """404 from Frigate is an ApiResponseError with its message."""
    with pytest.raises(ApiResponseError, match=r"404 Event nope not found\."):
        await FrigateClient(session, frigate.url).set_sub_label("nope", "alice", 0.9)
    assert frigate.sub_labels == []


async def test_sub_label_422(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """A 422 (which our clamping avoids) is an ApiResponseError with the details."""
    frigate.add_event(EVENT)
    frigate.fail_next(
        422,
        {
            "detail": [
                {
                    "type": "less_than_equal",
                    "loc": ["body", "subLabelScore"],
                    "msg": "Input should be less than or equal to 1",
                }
            ]
        },
    )
    with pytest.raises(ApiResponseError, match="422.*less than or equal"):
        await FrigateClient(session, frigate.url).set_sub_label(EVENT, "alice", 0.9)


async def test_emulator_validates_sub_label_like_frigate(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """The emulator answers 422 for an out-of-range score and clears on ``""``."""
    frigate.add_event(EVENT)
    url = f"{frigate.url}/api/events/{EVENT}/sub_label"
    for body in (
        {"subLabel": "a", "subLabelScore": 0},
        {"subLabel": "a", "subLabelScore": 1.5},
        {"subLabel": "a" * 101},
        {"subLabelScore": 0.5},
    ):
        async with session.post(url, json=body) as resp:
            assert resp.status == 422
            assert (await resp.json())["detail"][0]["loc"][0] == "body"
    async with session.post(url, json={"subLabel": ""}) as resp:
        assert resp.status == 200
        assert await resp.json() == {
            "success": True,
            "message": f"Event {EVENT} sub label set to None",
        }
    assert frigate.event_sub_labels[EVENT] == (None, None)
    async with session.post(
        url, json={"subLabel": "a"}, headers={"Origin": "http://evil"}
    ) as resp:
        assert resp.status == 401
        assert await resp.json() == {"message": "Missing CSRF header"}


async def test_sub_label_server_error(
    session: aiohttp.ClientSession, frigate: FrigateEmulator
) -> None:
    """5xx is ApiResponseError."""
    frigate.add_event(EVENT)
    frigate.fail_next(500, "Internal Server Error")
    with pytest.raises(ApiResponseError, match="500"):
        await FrigateClient(session, frigate.url).set_sub_label(EVENT, "alice", 0.9)


# -- authentication -----------------------------------------------------------------------


async def test_login_and_bearer(
    session: aiohttp.ClientSession, secured: FrigateEmulator
) -> None:
    """Logs in lazily, then sends the cookie's JWT as a bearer token."""
    client = client_for(session, secured)
    assert secured.logins == 0
    assert await client.version() == secured.version
    assert secured.logins == 1
    login, version = secured.requests
    assert login.path == "/api/login"
    assert login.json == {"user": USER, "password": PASSWORD}
    token = version.headers["Authorization"].removeprefix("Bearer ")
    assert token.count(".") == 2
    assert token in secured._issued


async def test_unauthenticated_requests_refused(
    session: aiohttp.ClientSession, secured: FrigateEmulator
) -> None:
    """Without credentials every route answers 401: ApiAuthError."""
    secured.set_snapshot(EVENT, jpeg())
    client = FrigateClient(session, secured.url)
    with pytest.raises(ApiAuthError, match="401"):
        await client.version()
    with pytest.raises(ApiAuthError, match="401"):
        await client.config()
    with pytest.raises(ApiAuthError):
        await client.snapshot(EVENT, height=10)
    with pytest.raises(ApiAuthError):
        await client.latest("garden", height=10)
    with pytest.raises(ApiAuthError, match="401"):
        await client.set_sub_label(EVENT, "alice", 0.9)
    assert secured.sub_labels == []
    assert secured.logins == 0


async def test_token_reused(
    session: aiohttp.ClientSession, secured: FrigateEmulator
) -> None:
    """One login serves many requests of every kind."""
    secured.set_snapshot(EVENT, jpeg())
    client = client_for(session, secured)
    await client.version()
    await client.config()
    await client.snapshot(EVENT, height=100)
    await client.latest("front_door", height=100)
    await client.set_sub_label(EVENT, "alice", 0.9)
    assert secured.logins == 1
    assert secured.sub_labels == [(EVENT, {"subLabel": "alice", "subLabelScore": 0.9})]


async def test_relogin_after_tokens_expire(
    session: aiohttp.ClientSession, secured: FrigateEmulator
) -> None:
    """A 401 with a known token triggers one new login and one retry."""
    secured.set_snapshot(EVENT, jpeg())
    client = client_for(session, secured)
    await client.version()
    secured.expire_tokens()
    assert await client.version() == secured.version
    assert secured.logins == 2
    secured.expire_tokens()
    assert await client.snapshot(EVENT, height=10)
    assert secured.logins == 3
    secured.expire_tokens()
    await client.set_sub_label(EVENT, "alice", 0.9)
    assert secured.logins == 4
    assert [r.path for r in secured.requests].count("/api/login") == 4


async def test_relogin_when_token_exp_passes(
    session: aiohttp.ClientSession, secured: FrigateEmulator
) -> None:
    """The client reads ``exp`` and logs in again before the token runs out."""
    secured.token_lifetime = 2
    client = client_for(session, secured)
    await client.version()
    await client.version()
    assert secured.logins == 1
    await asyncio.sleep(1.6)  # past half the lifetime: refresh before it expires
    await client.version()
    assert secured.logins == 2
    # Logged in ahead of time: no request was refused and retried.
    assert [r.path for r in secured.requests] == [
        "/api/login",
        "/api/version",
        "/api/version",
        "/api/login",
        "/api/version",
    ]


async def test_still_refused_after_relogin(
    session: aiohttp.ClientSession, secured: FrigateEmulator
) -> None:
    """A 401 right after a fresh login is an ApiAuthError, not a loop."""
    secured.token_lifetime = 0  # every token is already expired
    client = client_for(session, secured)
    with pytest.raises(ApiAuthError, match="401"):
        await client.version()
    assert secured.logins == 2
    assert len(secured.requests) == 4


async def test_bad_credentials(
    session: aiohttp.ClientSession, secured: FrigateEmulator
) -> None:
    """A refused login is ApiAuthError, and nothing else is sent."""
    client = client_for(session, secured, password="wrong")
    with pytest.raises(ApiAuthError, match="Login failed"):
        await client.version()
    with pytest.raises(ApiAuthError, match="Login failed"):
        await client.snapshot(EVENT, height=10)
    assert secured.failed_logins == 2
    assert {r.path for r in secured.requests} == {"/api/login"}


async def test_auth_failure_hook(
    session: aiohttp.ClientSession, secured: FrigateEmulator
) -> None:
    """``on_auth_failure`` runs once per call that ends in ApiAuthError, before it.

    Not for calls that succeed (a re-login after an expired token included), nor for
    other errors.
    """
    secured.set_snapshot(EVENT, jpeg())
    secured.add_event(EVENT)
    calls: list[str] = []
    client = client_for(
        session, secured, on_auth_failure=lambda: calls.append("reauth")
    )
    await client.version()
    secured.expire_tokens()
    assert await client.snapshot(EVENT, height=10)
    with pytest.raises(ImageUnavailableError):
        await client.latest("nowhere", height=10)
    assert calls == []

    secured.token_lifetime = 0  # refused even right after a new login
    secured.expire_tokens()
    with pytest.raises(ApiAuthError, match="401"):
        await client.version()
    assert calls == ["reauth"]
    with pytest.raises(ApiAuthError):
        await client.snapshot(EVENT, height=10)
    assert calls == ["reauth"] * 2

    wrong = client_for(
        session,
        secured,
        password="wrong",
        on_auth_failure=lambda: calls.append("login"),
    )
    with pytest.raises(ApiAuthError, match="Login failed"):
        await wrong.set_sub_label(EVENT, "alice", 0.9)
    assert calls == ["reauth", "reauth", "login"]

    anonymous = FrigateClient(
        session, secured.url, on_auth_failure=lambda: calls.append("anonymous")
    )
    for call in (
        anonymous.config(),
        anonymous.latest("garden", height=10),
        anonymous.set_sub_label(EVENT, "alice", 0.9),
    ):
        with pytest.raises(ApiAuthError):
            await call
    assert calls[3:] == ["anonymous"] * 3


@pytest.mark.parametrize("status", [400, 403, 422])
async def test_login_refused_statuses(
    session: aiohttp.ClientSession, secured: FrigateEmulator, status: int
) -> None:
    """Other refusals of the login are ApiAuthError too."""
    secured.fail_next(status, {"message": "nope"})
    with pytest.raises(ApiAuthError):
        await client_for(session, secured).version()


@pytest.mark.parametrize(
    ("status", "body"), [(500, "Internal Server Error"), (200, "")]
)
async def test_login_unusable_answer(
    session: aiohttp.ClientSession, secured: FrigateEmulator, status: int, body: str
) -> None:
    """A login answer without a token is ApiResponseError."""
    secured.fail_next(status, body)
    with pytest.raises(ApiResponseError):
        await client_for(session, secured).version()


async def test_viewer_cannot_set_sub_label(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """0.16 needs the admin role for sub_label: 403 is ApiAuthError, without re-login."""
    async with FrigateEmulator(
        username=USER, password=PASSWORD, role="viewer"
    ) as server:
        server.add_event(EVENT)
        client = client_for(session, server)
        await client.version()
        with pytest.raises(ApiAuthError, match="403.*not authorized"):
            await client.set_sub_label(EVENT, "alice", 0.9)
        assert server.logins == 1


async def test_concurrent_requests_log_in_once(
    session: aiohttp.ClientSession, secured: FrigateEmulator
) -> None:
    """Requests started together share one login."""
    secured.set_snapshot(EVENT, jpeg())
    client = client_for(session, secured)
    results = await asyncio.gather(
        *(client.snapshot(EVENT, height=10) for _ in range(5)),
        *(client.version() for _ in range(5)),
    )
    assert len(results) == 10
    assert secured.logins == 1

    secured.expire_tokens()
    await asyncio.gather(*(client.latest("garden", height=10) for _ in range(5)))
    assert secured.logins == 2


async def test_emulator_accepts_cookie_and_rejects_forgery(
    session: aiohttp.ClientSession, secured: FrigateEmulator
) -> None:
    """The emulator takes the cookie like Frigate does, and checks the signature."""
    url = f"{secured.url}/api/version"
    token = secured.issue_token()
    async with session.get(url, headers={"Cookie": f"frigate_token={token}"}) as resp:
        assert resp.status == 200
    header, payload, _ = token.split(".")
    forged = f"{header}.{payload}.c2lnbmF0dXJl"
    async with session.get(url, headers={"Authorization": f"Bearer {forged}"}) as resp:
        assert resp.status == 401
        assert resp.content_type == "text/html"
    async with session.post(f"{secured.url}/api/login", json={"user": USER}) as resp:
        assert resp.status == 422


@pytest.mark.parametrize(
    ("token", "date", "lifetime"),
    [
        # exp compared with the server's Date header, not our clock.
        (f"h.{_b64({'exp': 1_000_100})}.s", "Mon, 12 Jan 1970 13:46:40 GMT", 100.0),
        (f"h.{_b64({'exp': 1_000_000})}.s", "Mon, 12 Jan 1970 13:46:40 GMT", 3600.0),
        (f"h.{_b64({'exp': 'soon'})}.s", None, 3600.0),
        (f"h.{_b64({'sub': 'admin'})}.s", None, 3600.0),
        (f"h.{_b64([1])}.s", None, 3600.0),
        ("h.%%%.s", None, 3600.0),
        ("not-a-jwt", None, 3600.0),
        (f"h.{_b64({'exp': 'nan'})}.s", None, 3600.0),
        (f"h.{_b64({'exp': 1_000_100})}.s", "garbage", 3600.0),
    ],
)
def test_token_lifetime(token: str, date: str | None, lifetime: float) -> None:
    """``exp`` is read without verification; garbage means an hour."""
    headers = {"Date": date} if date else {}
    assert frigate_api._token_lifetime(token, headers) == pytest.approx(lifetime)


def test_token_lifetime_without_date() -> None:
    """Without a Date header our clock is used."""
    token = f"h.{_b64({'exp': int(time.time()) + 500})}.s"
    assert frigate_api._token_lifetime(token, {}) == pytest.approx(500, abs=2)


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        (
            {"Set-Cookie": "frigate_token=a.b.c; HttpOnly; Path=/; SameSite=lax"},
            "a.b.c",
        ),
        (
            {
                "set-cookie": "frigate_token=a.b.c; expires=Fri, 28 Nov 2026 23:48:26 GMT"
            },
            "a.b.c",
        ),
        ({"Set-Cookie": "my_token=x.y.z; Path=/"}, "x.y.z"),
        ({"Set-Cookie": "session=abc; Path=/"}, None),
        ({"Set-Cookie": "frigate_token=; Path=/"}, None),
        ({"Set-Cookie": '\x00;;="'}, None),
        ({"Set-Cookie": 'frigate_token="a.b.c"; Partitioned; Priority=High'}, "a.b.c"),
        ({"Set-Cookie": "frigate_token=opaque; Path=/; Weird"}, "opaque"),
        ({"Content-Type": "text/plain"}, None),
    ],
)
def test_token_from_headers(headers: dict[str, str], token: str | None) -> None:
    """The JWT comes from the ``frigate_token`` cookie (or a renamed JWT cookie)."""
    assert frigate_api._token_from_headers(headers) == token
