"""Frigate NVR HTTP API emulator (reference: frigate.md § 2, Frigate 0.16 behaviour).

Routes: ``GET /api/version`` (plain text), ``GET /api/config`` (a realistic subset of the
resolved config), ``POST /api/login`` (JWT in a ``frigate_token`` cookie),
``GET /api/events/{id}/snapshot.jpg``, ``GET /api/{camera}/latest.jpg`` and
``POST /api/events/{id}/sub_label``.

Auth: with ``username`` set the server behaves like port 8971 — every route but
``/api/login`` needs ``Authorization: Bearer <jwt>`` or the ``frigate_token`` cookie, else
nginx answers 401; ``sub_label`` also needs the ``admin`` role (403 otherwise). Without
``username`` it behaves like the unauthenticated port 5000. As in Frigate, a non-GET
request that carries an ``Origin`` header must send ``X-CSRF-TOKEN``.

Scripting: ``set_snapshot(event_id, responses)`` / ``set_latest(camera, responses)``; a
response is image ``bytes`` (served as image/jpeg, or image/png when it is a PNG), an
``int`` status (404 → Frigate's JSON 404 body; other statuses get the body Frigate or its
nginx would send) or ``"html"`` (a 200 text/html page, like a reverse proxy's login or
error page). Each fetch consumes the next response; the last one repeats. Unscripted: a
snapshot is 404 "Live frame not available"; a known camera's latest frame is a generated
JPEG (``height`` query parameter honoured, as in 0.15+; ``h`` before 0.15); an unknown
camera is 404 "Camera not found". ``raw_config`` replaces the ``/api/config`` answer.

Config: every camera's ``detect`` is ``detect_size``; cameras in ``face_cameras`` track
``face`` (``objects.track``, as with a Frigate+ model), the others ``person`` only.

Sub labels: events are known once ``add_event()``-ed or given a scripted snapshot; others
answer 404 "Event <id> not found.". Accepted bodies land in ``sub_labels``; the current
value per event in ``event_sub_labels``.

Inspection: ``logins`` / ``failed_logins``, ``snapshot_requests(id)``,
``latest_requests(camera)``, and the base class's ``requests``. ``expire_tokens()``
invalidates every issued token (like a restart with a new JWT secret).
"""

from __future__ import annotations

import base64
from collections import deque
from collections.abc import Iterable
import hashlib
import hmac
from http import HTTPStatus
import io
import json
import math
import secrets
import time
from typing import Any

from aiohttp import web
from PIL import Image, ImageDraw

from .base import EmulatorServer, Handler, RecordedRequest
from .world import FaceWorld

DEFAULT_CAMERAS: dict[str, list[str]] = {
    "front_door": ["porch", "driveway"],
    "garden": [],
}
DEFAULT_VERSION = "0.16.4-4131252"
TOKEN_COOKIE = "frigate_token"
DETECT_SIZE = (1280, 720)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n"
    '<body><form method="post" action="/login"><input name="username">'
    '<input type="password" name="password"></form></body></html>\n'
)

type ImageResponse = bytes | int | str


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def nginx_error_page(status: int) -> web.Response:
    """Build the HTML page nginx (in front of Frigate) serves for an error status."""
    reason = {401: "Authorization Required"}.get(status) or HTTPStatus(status).phrase
    title = f"{status} {reason}"
    return web.Response(
        status=status,
        text=(
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        ),
        content_type="text/html",
    )


def _validation_error(errors: list[dict[str, Any]]) -> web.Response:
    """FastAPI's 422 answer."""
    return web.json_response({"detail": errors}, status=422)


class FrigateEmulator(EmulatorServer):
    """A Frigate 0.16 server (see the module docstring)."""

    def __init__(
        self,
        world: FaceWorld | None = None,
        *,
        cameras: dict[str, list[str]] | None = None,
        topic_prefix: str | None = "frigate",
        version: str = DEFAULT_VERSION,
        username: str | None = None,
        password: str | None = None,
        token_lifetime: int = 86400,
        role: str = "admin",
    ) -> None:
        """Emulate Frigate; ``topic_prefix=None`` leaves ``mqtt.topic_prefix`` out."""
        super().__init__()
        self.world = world
        self.cameras: dict[str, list[str]] = (
            {name: list(zones) for name, zones in DEFAULT_CAMERAS.items()}
            if cameras is None
            else cameras
        )
        self.topic_prefix = topic_prefix
        self.version = version
        self.username = username
        self.password = password
        self.token_lifetime = token_lifetime
        self.role = role
        self.detect_size: tuple[int, int] = DETECT_SIZE
        self.face_cameras: set[str] = set()
        """Cameras whose ``objects.track`` lists ``face`` (a face-detecting model)."""
        self.raw_config: Any = None
        """When not None, served by ``/api/config`` instead (bytes/str raw, else JSON)."""

        self.events: set[str] = set()
        self.sub_labels: list[tuple[str, dict[str, Any]]] = []
        self.event_sub_labels: dict[str, tuple[str | None, float | None]] = {}
        self.logins = 0
        self.failed_logins = 0

        self._secret = secrets.token_bytes(32)
        self._issued: set[str] = set()
        self._snapshots: dict[str, deque[ImageResponse]] = {}
        self._latest: dict[str, deque[ImageResponse]] = {}
        self._snapshot_log: list[tuple[str, RecordedRequest]] = []
        self._latest_log: list[tuple[str, RecordedRequest]] = []
        self._frames = 0

    # -- scripting / inspection ----------------------------------------------------------

    def set_snapshot(
        self, event_id: str, responses: ImageResponse | Iterable[ImageResponse]
    ) -> None:
        """Script ``/api/events/<id>/snapshot.jpg`` (and make the event known)."""
        self._snapshots[event_id] = _script(responses)
        self.events.add(event_id)

    def set_latest(
        self, camera: str, responses: ImageResponse | Iterable[ImageResponse]
    ) -> None:
        """Script ``/api/<camera>/latest.jpg``."""
        self._latest[camera] = _script(responses)

    def add_event(self, *event_ids: str) -> None:
        """Make events known (sub_label answers 404 for unknown ones)."""
        self.events.update(event_ids)

    def snapshot_requests(self, event_id: str) -> list[RecordedRequest]:
        """Return the requests for this event's snapshot, in order."""
        return [rec for eid, rec in self._snapshot_log if eid == event_id]

    def latest_requests(self, camera: str) -> list[RecordedRequest]:
        """Return the requests for this camera's latest frame, in order."""
        return [rec for cam, rec in self._latest_log if cam == camera]

    def expire_tokens(self) -> None:
        """Invalidate every issued token: requests get 401 until the next login."""
        self._secret = secrets.token_bytes(32)
        self._issued.clear()

    def issue_token(self, *, lifetime: int | None = None) -> str:
        """Mint a valid token as ``/api/login`` would (for tests that bypass login)."""
        now = int(time.time())
        exp = now + (self.token_lifetime if lifetime is None else lifetime)
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {"sub": self.username, "role": self.role, "exp": exp, "iat": now}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}"
            f".{_b64url(json.dumps(claims).encode())}"
        )
        signature = hmac.new(
            self._secret, signing_input.encode("ascii"), hashlib.sha256
        ).digest()
        token = f"{signing_input}.{_b64url(signature)}"
        self._issued.add(token)
        return token

    def config_json(self) -> dict[str, Any]:
        """Build the ``/api/config`` body (served unless ``raw_config`` is set)."""
        mqtt: dict[str, Any] = {
            "enabled": True,
            "host": "mosquitto",
            "port": 1883,
            "client_id": "frigate",
            "stats_interval": 60,
            "user": None,
            "tls_ca_certs": None,
            "tls_client_cert": None,
            "tls_client_key": None,
            "tls_insecure": None,
            "qos": 0,
        }
        if self.topic_prefix is not None:
            mqtt["topic_prefix"] = self.topic_prefix
        width, height = self.detect_size
        return {
            "version": "0.16-0",
            "mqtt": mqtt,
            "auth": {
                "enabled": self.username is not None,
                "cookie_name": TOKEN_COOKIE,
                "session_length": self.token_lifetime,
                "refresh_time": 43200,
            },
            "face_recognition": {
                "enabled": False,
                "model_size": "small",
                "unknown_score": 0.8,
                "detection_threshold": 0.7,
                "recognition_threshold": 0.9,
                "min_area": 750,
                "min_faces": 1,
                "save_attempts": 100,
                "blur_confidence_filter": True,
            },
            "model": {
                "all_attributes": ["amazon", "face", "fedex", "license_plate", "ups"],
                "non_logo_attributes": ["face", "license_plate"],
            },
            "cameras": {
                name: self._camera_json(
                    name, zones, width, height, faces=name in self.face_cameras
                )
                for name, zones in self.cameras.items()
            },
        }

    @staticmethod
    def _camera_json(
        name: str, zones: list[str], width: int, height: int, *, faces: bool = False
    ) -> dict[str, Any]:
        return {
            "name": name,
            "enabled": True,
            "detect": {
                "enabled": True,
                "width": width,
                "height": height,
                "fps": 5,
                "min_initialized": 2,
                "max_disappeared": 25,
            },
            "objects": {
                "track": ["person", "face"] if faces else ["person"],
                "filters": {},
            },
            "zones": {
                zone: {
                    "coordinates": "0.1,0.5,0.9,0.5,0.9,1,0.1,1",
                    "distances": [],
                    "filters": {},
                    "inertia": 3,
                    "loitering_time": 0,
                    "objects": [],
                }
                for zone in zones
            },
            "snapshots": {
                "enabled": True,
                "clean_copy": True,
                "timestamp": False,
                "bounding_box": True,
                "crop": False,
                "height": None,
                "required_zones": [],
                "retain": {"default": 10, "mode": "motion", "objects": {}},
                "quality": 70,
            },
            "mqtt": {
                "enabled": True,
                "timestamp": True,
                "bounding_box": True,
                "crop": True,
                "height": 270,
                "quality": 70,
                "required_zones": [],
            },
            "face_recognition": {"enabled": False, "min_area": 750},
        }

    # -- routes --------------------------------------------------------------------------

    def setup_routes(self, app: web.Application) -> None:
        """Frigate routes plus the CSRF/auth middleware."""
        app.middlewares.append(self._auth)
        r = app.router
        r.add_get("/api/version", self._version)
        r.add_get("/api/config", self._config)
        r.add_post("/api/login", self._login)
        r.add_get("/api/events/{event_id}/snapshot.jpg", self._snapshot)
        r.add_post("/api/events/{event_id}/sub_label", self._sub_label)
        r.add_get("/api/{camera}/latest.jpg", self._latest_frame)

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if (
            request.method not in ("GET", "HEAD", "OPTIONS", "TRACE")
            and "Origin" in request.headers
            and "X-CSRF-TOKEN" not in request.headers
        ):
            return web.json_response({"message": "Missing CSRF header"}, status=401)
        if self.username is None or request.path == "/api/login":
            return await handler(request)
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token: str | None = authorization.removeprefix("Bearer ")
        else:
            token = request.cookies.get(TOKEN_COOKIE)
        if token is None or not self._token_valid(token):
            return nginx_error_page(401)
        return await handler(request)

    def _token_valid(self, token: str) -> bool:
        if token not in self._issued:
            return False
        try:
            header, payload, signature = token.split(".")
            expected = hmac.new(
                self._secret, f"{header}.{payload}".encode("ascii"), hashlib.sha256
            ).digest()
            if not hmac.compare_digest(_b64url_decode(signature), expected):
                return False
            claims = json.loads(_b64url_decode(payload))
            return int(claims["exp"]) > int(time.time())
        except ValueError, KeyError, TypeError:
            return False

    async def _version(self, request: web.Request) -> web.Response:
        return web.Response(text=self.version, content_type="text/plain")

    async def _config(self, request: web.Request) -> web.Response:
        if self.raw_config is None:
            return web.json_response(self.config_json())
        if isinstance(self.raw_config, bytes | str):
            body = (
                self.raw_config.encode()
                if isinstance(self.raw_config, str)
                else self.raw_config
            )
            return web.Response(body=body, content_type="application/json")
        return web.json_response(self.raw_config)

    async def _login(self, request: web.Request) -> web.Response:
        body = self.recorded(request).json
        errors = [
            {
                "type": "missing",
                "loc": ["body", key],
                "msg": "Field required",
                "input": body,
            }
            for key in ("user", "password")
            if not isinstance(body, dict) or not isinstance(body.get(key), str)
        ]
        if errors:
            return _validation_error(errors)
        if (
            self.username is None
            or body["user"] != self.username
            or body["password"] != self.password
        ):
            self.failed_logins += 1
            return web.json_response({"message": "Login failed"}, status=401)
        self.logins += 1
        token = self.issue_token()
        expires = int(time.time()) + self.token_lifetime
        response = web.Response(status=200)
        response.headers["Set-Cookie"] = (
            f"{TOKEN_COOKIE}={token}; HttpOnly; Path=/; SameSite=lax; "
            f"expires={time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime(expires))}"
        )
        return response

    async def _snapshot(self, request: web.Request) -> web.Response:
        event_id = request.match_info["event_id"]
        self._snapshot_log.append((event_id, self.recorded(request)))
        script = self._snapshots.get(event_id)
        if script is None:
            return _frigate_404("Live frame not available")
        return _image_response(_next(script), "Live frame not available")

    async def _latest_frame(self, request: web.Request) -> web.Response:
        camera = request.match_info["camera"]
        self._latest_log.append((camera, self.recorded(request)))
        script = self._latest.get(camera)
        if script is not None:
            return _image_response(_next(script), "Camera not found")
        if camera not in self.cameras:
            return _frigate_404("Camera not found")
        return web.Response(
            body=self._frame(self.recorded(request)), content_type="image/jpeg"
        )

    def _frame(self, rec: RecordedRequest) -> bytes:
        """Generate a frame of the detect stream, resized as Frigate would."""
        width, height = self.detect_size
        param = "height" if _version_tuple(self.version) >= (0, 15) else "h"
        try:
            wanted = int(rec.query.get(param, ""))
        except ValueError:
            wanted = 0
        if wanted > 0:
            width, height = max(1, round(width * wanted / height)), wanted
        if self.world is not None:
            return self.world.image(size=(width, height))
        self._frames += 1
        img = Image.new("RGB", (width, height), (40, 60, 40))
        ImageDraw.Draw(img).text(
            (10, 10), f"frame {self._frames}", fill=(255, 255, 255)
        )
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=70)
        return buf.getvalue()

    async def _sub_label(self, request: web.Request) -> web.Response:
        if self.username is not None and self.role != "admin":
            return web.json_response(
                {"detail": f"Role {self.role} not authorized. Required: admin"},
                status=403,
            )
        event_id = request.match_info["event_id"]
        body = self.recorded(request).json
        if (errors := _sub_label_errors(body)) is not None:
            return _validation_error(errors)
        assert isinstance(body, dict)
        if event_id not in self.events:
            return web.json_response(
                {"success": False, "message": f"Event {event_id} not found."},
                status=404,
            )
        label: str | None = body["subLabel"]
        score = body.get("subLabelScore")
        if label == "":
            label, score = None, None
        self.sub_labels.append((event_id, body))
        self.event_sub_labels[event_id] = (
            label,
            None if score is None else float(score),
        )
        return web.json_response(
            {
                "success": True,
                "message": f"Event {event_id} sub label set to "
                f"{label if label is not None else 'None'}",
            }
        )


def _script(responses: ImageResponse | Iterable[ImageResponse]) -> deque[ImageResponse]:
    items: list[ImageResponse] = (
        [responses] if isinstance(responses, bytes | int | str) else list(responses)
    )
    if not items:
        raise ValueError("script at least one response")
    for item in items:
        if isinstance(item, str) and item != "html":
            raise ValueError(f"unknown scripted response {item!r} (use 'html')")
    return deque(items)


def _next(script: deque[ImageResponse]) -> ImageResponse:
    """Consume the next scripted response; the last one repeats."""
    return script.popleft() if len(script) > 1 else script[0]


def _frigate_404(message: str) -> web.Response:
    return web.json_response({"success": False, "message": message}, status=404)


def _image_response(item: ImageResponse, not_found: str) -> web.Response:
    if isinstance(item, bytes):
        ctype = "image/png" if item.startswith(PNG_MAGIC) else "image/jpeg"
        return web.Response(body=item, content_type=ctype)
    if isinstance(item, str):
        return web.Response(text=HTML_PAGE, content_type="text/html")
    return _status_response(item, not_found)


def _status_response(status: int, not_found: str) -> web.Response:
    """Build the answer Frigate (or nginx in front of it) sends with ``status``."""
    if status == 404:
        return _frigate_404(not_found)
    if status == 401 or status >= 502:
        return nginx_error_page(status)
    if status == 500:
        return web.Response(status=500, text="Internal Server Error")
    if status == 403:
        return web.json_response({"detail": "Access denied"}, status=403)
    if 200 <= status < 300:
        return web.Response(status=status, body=b"", content_type="image/jpeg")
    return web.json_response(
        {"success": False, "message": HTTPStatus(status).phrase}, status=status
    )


def _sub_label_errors(body: Any) -> list[dict[str, Any]] | None:
    """Pydantic's errors for ``EventsSubLabelBody`` (None when the body is valid)."""
    if not isinstance(body, dict):
        return [
            {
                "type": "model_attributes_type",
                "loc": ["body"],
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "input": body,
            }
        ]
    errors: list[dict[str, Any]] = []
    label = body.get("subLabel")
    if "subLabel" not in body:
        errors.append(
            {
                "type": "missing",
                "loc": ["body", "subLabel"],
                "msg": "Field required",
                "input": body,
            }
        )
    elif not isinstance(label, str):
        errors.append(
            {
                "type": "string_type",
                "loc": ["body", "subLabel"],
                "msg": "Input should be a valid string",
                "input": label,
            }
        )
    elif len(label) > 100:
        errors.append(
            {
                "type": "string_too_long",
                "loc": ["body", "subLabel"],
                "msg": "String should have at most 100 characters",
                "input": label,
                "ctx": {"max_length": 100},
            }
        )
    score = body.get("subLabelScore")
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, int | float):
            errors.append(
                {
                    "type": "float_type",
                    "loc": ["body", "subLabelScore"],
                    "msg": "Input should be a valid number",
                    "input": score,
                }
            )
        elif not math.isfinite(score) or score <= 0:
            errors.append(
                {
                    "type": "greater_than",
                    "loc": ["body", "subLabelScore"],
                    "msg": "Input should be greater than 0",
                    "input": score,
                    "ctx": {"gt": 0.0},
                }
            )
        elif score > 1:
            errors.append(
                {
                    "type": "less_than_equal",
                    "loc": ["body", "subLabelScore"],
                    "msg": "Input should be less than or equal to 1",
                    "input": score,
                    "ctx": {"le": 1.0},
                }
            )
    return errors or None


def _version_tuple(version: str) -> tuple[int, ...]:
    parts: list[int] = []
    for part in version.split("-", 1)[0].split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)
