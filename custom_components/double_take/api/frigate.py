"""Client for the parts of Frigate's HTTP API that Double Take uses.

Covers ``/api/version``, ``/api/config``, event snapshots, a camera's latest frame and
writing a sub_label back. Works against the unauthenticated internal port (5000) and the
authenticated port (8971), where it logs in with ``POST /api/login`` and sends the JWT
from the ``frigate_token`` cookie as a bearer token.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterator, Mapping
import contextlib
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
import math
import re
import time
from typing import Any

import aiohttp
import orjson

from .errors import ApiAuthError, ApiError, ApiResponseError, ImageUnavailableError
from .http import Response, fetch_image, path_segment, request

DEFAULT_TOPIC_PREFIX = "frigate"
DEFAULT_TIMEOUT = 10.0
# Requests to one Frigate at a time: Frigate encodes every image on demand, and old
# versions crashed under bursts; more requests wait for a free slot.
DEFAULT_MAX_CONCURRENT = 8
TOKEN_COOKIE = "frigate_token"
SUB_LABEL_MAX_LENGTH = 100
# Frigate answers 422 for a score outside (0, 1]; this is the floor we clamp up to.
MIN_SUB_LABEL_SCORE = 0.01
# A token whose ``exp`` cannot be read is trusted for this long.
FALLBACK_TOKEN_LIFETIME = 3600.0
# Log in again this long (at most half the token's lifetime) before it expires.
TOKEN_EXPIRY_MARGIN = 60.0

_VERSION_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_~-]{0,63}")
# A detect stream wider or taller than this is not a camera's (8K is 7680×4320).
MAX_DETECT_SIDE = 16384
FACE_LABEL = "face"


@dataclass(frozen=True, slots=True)
class FrigateCamera:
    """What face cropping needs to know about one camera of ``/api/config``."""

    detect_size: tuple[int, int] | None = None
    """``detect.width``×``detect.height``: the pixels event boxes are given in (None
    when the config does not say)."""
    tracks_faces: bool = False
    """``face`` is in ``objects.track``: the model (Frigate+) detects faces, so events
    carry face boxes (``current_attributes``, ``snapshot.attributes``)."""
    snapshots_cropped: bool = False
    """``snapshots.crop``: the stored snapshot of an *ended* event (``snapshot.jpg``
    ignores its query then) is cut to the object, so detect boxes do not map onto it."""


@dataclass(frozen=True, slots=True)
class FrigateConfig:
    """What Double Take needs from ``GET /api/config``."""

    topic_prefix: str
    cameras: dict[str, tuple[str, ...]]
    """Camera name → its zone names, in config order."""
    camera_details: dict[str, FrigateCamera] = field(
        default_factory=dict, compare=False
    )
    """Camera name → detect size and face tracking. Not part of equality, which stays
    what the options are built from (prefix, cameras, zones)."""

    def detect_size(self, camera: str) -> tuple[int, int] | None:
        """Return the camera's detect resolution (width, height), or None if unknown."""
        details = self.camera_details.get(camera)
        return details.detect_size if details is not None else None

    def tracks_faces(self, camera: str | None = None) -> bool:
        """Whether ``camera`` (any camera when None) tracks ``face`` attributes."""
        if camera is None:
            return any(d.tracks_faces for d in self.camera_details.values())
        details = self.camera_details.get(camera)
        return details is not None and details.tracks_faces

    @property
    def zones(self) -> list[str]:
        """Every zone as ``camera.zone`` (how the ``zones`` option names them)."""
        return [
            f"{camera}.{zone}"
            for camera, zones in self.cameras.items()
            for zone in zones
        ]

    @classmethod
    def from_json(cls, data: Any) -> FrigateConfig:
        """Parse a ``/api/config`` answer; raise ApiResponseError when it is not one."""
        if not isinstance(data, Mapping):
            raise ApiResponseError(
                f"Frigate config: expected a JSON object, got {type(data).__name__}"
            )
        cameras_data = data.get("cameras")
        if not isinstance(cameras_data, Mapping):
            raise ApiResponseError(
                "Frigate config: no 'cameras' object (is this URL a Frigate server?)"
            )
        cameras: dict[str, tuple[str, ...]] = {}
        details: dict[str, FrigateCamera] = {}
        for name, camera in cameras_data.items():
            if not isinstance(name, str) or not name:
                continue
            if not isinstance(camera, Mapping):
                camera = {}
            cameras[name] = _zone_names(camera.get("zones"))
            details[name] = _camera_details(camera)
        return cls(
            topic_prefix=_topic_prefix(data.get("mqtt")),
            cameras=cameras,
            camera_details=details,
        )


def _camera_details(camera: Mapping[str, Any]) -> FrigateCamera:
    """Detect size, face tracking and snapshot cropping from a camera's config."""
    detect = camera.get("detect")
    size = None
    if isinstance(detect, Mapping):
        width, height = _side(detect.get("width")), _side(detect.get("height"))
        if width is not None and height is not None:
            size = (width, height)
    objects = camera.get("objects")
    track = objects.get("track") if isinstance(objects, Mapping) else None
    snapshots = camera.get("snapshots")
    return FrigateCamera(
        detect_size=size,
        tracks_faces=isinstance(track, list) and FACE_LABEL in track,
        snapshots_cropped=isinstance(snapshots, Mapping)
        and snapshots.get("crop") is True,
    )


def _side(value: Any) -> int | None:
    """Return ``value`` when it is a usable detect width or height, else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value <= MAX_DETECT_SIDE else None


def _topic_prefix(mqtt: Any) -> str:
    """``mqtt.topic_prefix``, or Frigate's default when absent or unusable."""
    if not isinstance(mqtt, Mapping):
        return DEFAULT_TOPIC_PREFIX
    prefix = mqtt.get("topic_prefix")
    if not isinstance(prefix, str):
        return DEFAULT_TOPIC_PREFIX
    prefix = prefix.strip().strip("/")
    # MQTT wildcards in a prefix would make our subscriptions match other topics.
    if not prefix or "+" in prefix or "#" in prefix:
        return DEFAULT_TOPIC_PREFIX
    return prefix


def _zone_names(zones: Any) -> tuple[str, ...]:
    """Zone names from a camera's ``zones`` (a dict; a list of names is tolerated)."""
    if isinstance(zones, Mapping):
        names: Any = zones.keys()
    elif isinstance(zones, list):
        names = zones
    else:
        return ()
    return tuple(dict.fromkeys(n for n in names if isinstance(n, str) and n))


class FrigateClient:
    """Talks to one Frigate server through an injected ``aiohttp.ClientSession``.

    With ``username`` set, it logs in on first use and again when the token expires or
    is refused. Every method raises ApiConnectionError when Frigate cannot be reached,
    ApiAuthError when it refuses the credentials, and ApiResponseError for answers it
    cannot use; the image methods raise ImageUnavailableError when there is no image.
    Before a method raises ApiAuthError it calls ``on_auth_failure`` (once per call), so
    the owner can ask for new credentials without wrapping every call. Redirects are
    not followed (ApiResponseError): the password and token go to this server only.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        *,
        username: str = "",
        password: str = "",
        verify_ssl: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        on_auth_failure: Callable[[], None] | None = None,
        on_error: Callable[[ApiError], None] | None = None,
    ) -> None:
        """Bind the client to a session and a Frigate base URL (``http://host:5000``).

        At most ``max_concurrent`` requests are sent at once; the others wait.
        ``on_auth_failure`` is called (in the caller's task, must not raise) whenever a
        call ends in ApiAuthError, just before it is raised; ``on_error`` (same rules,
        settable later) whenever a request fails for another reason than a missing
        image or an error status: Frigate unreachable, or refusing the credentials.
        """
        self._session = session
        self._base = url.strip().rstrip("/")
        self._username = username
        self._password = password
        self._ssl: dict[str, Any] = {} if verify_ssl else {"ssl": False}
        self._timeout = timeout
        self._token: str | None = None
        self._token_refresh_at = 0.0  # time.monotonic() after which we log in again
        self._login_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(max(1, max_concurrent))
        self._on_auth_failure = on_auth_failure
        self.on_error = on_error

    @property
    def url(self) -> str:
        """Base URL of the Frigate server, without a trailing slash."""
        return self._base

    async def version(self) -> str:
        """Frigate's version string, e.g. ``0.16.4-4131252``."""
        response = await self._send("GET", "/api/version")
        _raise_for_status(response, "GET /api/version")
        text = response.body.decode("utf-8", "replace").strip().strip('"').strip()
        if not _VERSION_RE.fullmatch(text):
            raise ApiResponseError(
                f"GET /api/version: not a Frigate version ({response.content_type},"
                f" {text[:40]!r})"
            )
        return text

    async def config(self) -> FrigateConfig:
        """Topic prefix and cameras/zones from ``/api/config``."""
        response = await self._send("GET", "/api/config")
        _raise_for_status(response, "GET /api/config")
        return FrigateConfig.from_json(response.json())

    async def snapshot(
        self,
        event_id: str,
        *,
        height: int | None,
        crop: bool = True,
        clean: bool = False,
    ) -> bytes:
        """Fetch the event's current best frame, ``height`` px tall.

        ``crop`` cuts it to the object (``crop=1``, else ``crop=0``: the whole frame);
        ``height=None`` leaves it at detect resolution (no height parameter); ``clean``
        asks for no bounding box and no timestamp drawn (``bbox=0&timestamp=0``).
        Frigate applies these to in-progress events only: an ended event's stored
        snapshot comes as its ``snapshots:`` config saved it.

        Raises ImageUnavailableError while Frigate has no frame for the event (404), or
        when something other than an image comes back.
        """
        event = _segment(event_id, "event id", ImageUnavailableError)
        params = {"crop": "1" if crop else "0"}
        if clean:
            params |= {"bbox": "0", "timestamp": "0"}
        if height is not None:
            params |= _height(height)
        return await self._image(f"/api/events/{event}/snapshot.jpg", params)

    async def latest(self, camera: str, *, height: int | None) -> bytes:
        """Fetch the camera's most recent frame, ``height`` px tall (None: detect size)."""
        name = _segment(camera, "camera name", ImageUnavailableError)
        params = _height(height) if height is not None else {}
        return await self._image(f"/api/{name}/latest.jpg", params)

    async def set_sub_label(self, event_id: str, label: str, score: float) -> None:
        """Write ``label`` with ``score`` (0–1) onto the event as its sub_label.

        The label is cut to Frigate's 100 characters and the score clamped into (0, 1].
        """
        event = _segment(event_id, "event id", ApiResponseError)
        body = {
            "subLabel": label[:SUB_LABEL_MAX_LENGTH],
            "subLabelScore": _clamp_score(score),
        }
        path = f"/api/events/{event}/sub_label"
        response = await self._send("POST", path, json=body)
        _raise_for_status(response, f"POST {path}")

    # Requests and authentication

    @contextlib.contextmanager
    def _reporting_auth_failure(self) -> Iterator[None]:
        """Call ``on_auth_failure`` / ``on_error`` when the block fails, then re-raise."""
        try:
            yield
        except ApiAuthError as err:
            if self._on_auth_failure is not None:
                self._on_auth_failure()
            if self.on_error is not None:
                self.on_error(err)
            raise
        except ImageUnavailableError:
            raise
        except ApiError as err:
            if self.on_error is not None:
                self.on_error(err)
            raise

    async def _send(self, method: str, path: str, **kwargs: Any) -> Response:
        """One API request with auth, re-logging in once on a 401; 401/403 raise."""
        with self._reporting_auth_failure():
            token = await self._valid_token()
            response = await self._request(method, path, token, **kwargs)
            if response.status == 401 and self._username:
                token = await self._valid_token(stale=token)
                response = await self._request(method, path, token, **kwargs)
            if response.status in (401, 403):
                raise ApiAuthError(
                    f"{method} {path}: HTTP {response.status} {_message(response)}"
                )
            return response

    async def _request(
        self, method: str, path: str, token: str | None, **kwargs: Any
    ) -> Response:
        async with self._slots:
            return await request(
                self._session,
                method,
                f"{self._base}{path}",
                timeout=self._timeout,
                headers=_headers(method, token),
                follow_redirects=False,
                **self._ssl,
                **kwargs,
            )

    async def _image(self, path: str, params: dict[str, str]) -> bytes:
        """GET an image with auth, re-logging in once when it is refused."""
        with self._reporting_auth_failure():
            token = await self._valid_token()
            try:
                return await self._fetch_image(path, params, token)
            except ApiAuthError:
                if not self._username:
                    raise
            token = await self._valid_token(stale=token)
            return await self._fetch_image(path, params, token)

    async def _fetch_image(
        self, path: str, params: dict[str, str], token: str | None
    ) -> bytes:
        async with self._slots:
            return await fetch_image(
                self._session,
                f"{self._base}{path}",
                timeout=self._timeout,
                params=params,
                headers=_headers("GET", token),
                follow_redirects=False,
                **self._ssl,
            )

    async def _valid_token(self, *, stale: str | None = None) -> str | None:
        """Return a token to send (None without credentials), logging in when needed.

        ``stale`` is a token the server just refused: unless another request already
        replaced it, log in again. The lock makes concurrent callers share one login.
        """
        if not self._username:
            return None
        async with self._login_lock:
            if self._token is not None and self._token != stale:
                if stale is not None or time.monotonic() < self._token_refresh_at:
                    # Still fresh, or another request logged in while this one waited.
                    return self._token
            self._token = None
            token, lifetime = await self._login()
            margin = min(TOKEN_EXPIRY_MARGIN, lifetime / 2)
            self._token, self._token_refresh_at = (
                token,
                time.monotonic() + lifetime - margin,
            )
            return token

    async def _login(self) -> tuple[str, float]:
        """``POST /api/login``; the JWT and how many seconds it stays valid."""
        response = await request(
            self._session,
            "POST",
            f"{self._base}/api/login",
            timeout=self._timeout,
            json={"user": self._username, "password": self._password},
            headers=_headers("POST", None),
            follow_redirects=False,
            **self._ssl,
        )
        if response.status in (400, 401, 403, 422):
            raise ApiAuthError(
                f"Frigate login as {self._username!r} failed: HTTP {response.status}"
                f" {_message(response)}"
            )
        _raise_for_status(response, "POST /api/login")
        token = _token_from_headers(response.headers)
        if token is None:
            raise ApiResponseError(
                f"POST /api/login: HTTP {response.status} without a {TOKEN_COOKIE} cookie"
            )
        return token, _token_lifetime(token, response.headers)


def _headers(method: str, token: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if method != "GET":
        # Frigate refuses non-GET requests that carry an Origin without this header;
        # a proxy may add an Origin, and any value satisfies the check.
        headers["X-CSRF-TOKEN"] = "1"
    return headers


def _segment(value: str, what: str, error: type[Exception]) -> str:
    """Quote ``value`` as one path segment, so untrusted ids cannot leave the path."""
    if not isinstance(value, str) or value in ("", ".", ".."):
        # URL normalization would drop these segments (or climb out of the path).
        raise error(f"invalid Frigate {what}: {value!r}")
    return path_segment(value)


def _height(height: int) -> dict[str, str]:
    """Both names of the height parameter: ``h`` (Frigate ≤0.14) and ``height`` (0.15+)."""
    if isinstance(height, bool) or not isinstance(height, int) or height < 1:
        raise ValueError(f"image height must be a positive integer, not {height!r}")
    return {"h": str(height), "height": str(height)}


def _clamp_score(score: float) -> float:
    """Clamp into (0, 1], the range Frigate accepts; NaN becomes the floor."""
    try:
        value = float(score)
    except TypeError, ValueError, OverflowError:
        return MIN_SUB_LABEL_SCORE
    if math.isnan(value):
        return MIN_SUB_LABEL_SCORE
    return min(1.0, max(MIN_SUB_LABEL_SCORE, value))


def _raise_for_status(response: Response, what: str) -> None:
    """ApiResponseError for any status outside 2xx, with Frigate's message."""
    if not 200 <= response.status < 300:
        raise ApiResponseError(f"{what}: HTTP {response.status} {_message(response)}")


def _message(response: Response) -> str:
    """Frigate's error message from a JSON body, else a short excerpt of the body."""
    try:
        data = response.json()
    except ApiResponseError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "detail", "error"):
            value = data.get(key)
            if isinstance(value, str):
                return value
            if value is not None:
                try:
                    return orjson.dumps(value).decode()[:200]
                except orjson.JSONEncodeError:  # nested deeper than orjson writes
                    return f"({type(value).__name__} nested too deep to show)"
    text = response.body[:120].decode("utf-8", "replace").strip()
    return repr(text) if text else ""


def _token_from_headers(headers: Mapping[str, str]) -> str | None:
    """Find the JWT in the login answer's ``Set-Cookie`` header."""
    for header, value in headers.items():
        if header.lower() != "set-cookie":
            continue
        # Only the leading name=value pair matters; attributes follow the first ";".
        name, _, token = value.split(";", 1)[0].partition("=")
        name, token = name.strip(), token.strip().strip('"')
        if not token:
            continue
        # ``auth.cookie_name`` can rename the cookie; accept any cookie holding a JWT.
        if name == TOKEN_COOKIE or token.count(".") == 2:
            return token
    return None


def _token_lifetime(token: str, headers: Mapping[str, str]) -> float:
    """Seconds until the JWT's ``exp`` (read unverified), by the server's own clock.

    ``exp`` is compared with the answer's ``Date`` header so a skewed clock on either
    side does not matter; a token whose ``exp`` cannot be read lasts an hour.
    """
    try:
        payload = token.split(".")[1]
        claims = orjson.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
        exp = float(claims["exp"])
    except IndexError, KeyError, TypeError, ValueError, OverflowError:
        return FALLBACK_TOKEN_LIFETIME
    lifetime = exp - _server_time(headers)
    if not math.isfinite(lifetime) or lifetime <= 0:
        # Expired on arrival: the clocks disagree; a 401 will tell when it really ends.
        return FALLBACK_TOKEN_LIFETIME
    return lifetime


def _server_time(headers: Mapping[str, str]) -> float:
    """Epoch time from the ``Date`` header, or our clock when there is none."""
    for name, value in headers.items():
        if name.lower() == "date":
            try:
                return parsedate_to_datetime(value).timestamp()
            except TypeError, ValueError, IndexError:
                break
    return time.time()
