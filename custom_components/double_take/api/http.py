"""One place that turns aiohttp's many failure modes into the protocol layer's errors.

URLs are handled with ``yarl`` (as aiohttp does) and JSON with ``orjson`` (as Home
Assistant does), throughout the protocol layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

from .errors import (
    ApiAuthError,
    ApiConnectionError,
    ApiResponseError,
    ImageUnavailableError,
)
from .images import looks_like_image

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_JSON_BYTES",
    "Response",
    "fetch_image",
    "looks_like_image",
    "path_segment",
    "request",
    "safe_url",
]

# A JSON answer larger than this is not something any server we talk to sends.
MAX_JSON_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Response:
    """Status, headers and body of a finished request."""

    status: int
    content_type: str
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        """Decode the body as JSON; raises ApiResponseError when it is not JSON.

        Strict JSON (orjson): ``NaN``, numbers beyond a double and lone surrogates are
        not JSON either.
        """
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as err:
            raise ApiResponseError(
                f"HTTP {self.status}: body is not JSON ({_preview(self.body)})"
            ) from err

    def json_object(self) -> dict[str, Any]:
        """Decode the body as a JSON object; anything else raises ApiResponseError."""
        data = self.json()
        if not isinstance(data, dict):
            raise ApiResponseError(
                f"HTTP {self.status}: expected a JSON object, got {type(data).__name__}"
            )
        return data


async def request(
    session: aiohttp.ClientSession,
    method: str,
    url: URL | str,
    *,
    timeout: float,
    max_bytes: int = MAX_JSON_BYTES,
    follow_redirects: bool = True,
    **kwargs: Any,
) -> Response:
    """Send one request and read the whole body, bounded in time and size.

    Transport failures and timeouts raise ApiConnectionError; a body over ``max_bytes``
    raises ApiResponseError. HTTP error statuses are returned, not raised: each server
    encodes errors differently and its client decides.

    With ``follow_redirects`` false a redirect raises ApiResponseError naming where it
    points: the API clients of Frigate and the detectors send credentials (API keys,
    tokens) that must reach no other server, and none of those servers redirects.
    """
    try:
        async with session.request(
            method,
            url,
            timeout=aiohttp.ClientTimeout(total=timeout),
            allow_redirects=follow_redirects,
            **kwargs,
        ) as resp:
            if not follow_redirects and 300 <= resp.status < 400:
                raise ApiResponseError(
                    f"{method} {safe_url(url)}: HTTP {resp.status} redirect to"
                    f" {safe_url(resp.headers.get('Location', ''))} not followed"
                    " (set the URL it points to instead)"
                )
            if resp.content_length is not None and resp.content_length > max_bytes:
                raise ApiResponseError(
                    f"HTTP {resp.status}: body of {resp.content_length} bytes is too large"
                )
            chunks = bytearray()
            async for chunk in resp.content.iter_chunked(64 * 1024):
                chunks += chunk
                if len(chunks) > max_bytes:
                    raise ApiResponseError(f"HTTP {resp.status}: body is too large")
            body = bytes(chunks)
            return Response(
                status=resp.status,
                content_type=resp.content_type,
                body=body,
                headers=dict(resp.headers),
            )
    except TimeoutError as err:
        raise ApiConnectionError(
            f"{method} {safe_url(url)} timed out after {timeout:g} s"
        ) from err
    except aiohttp.ClientError as err:
        raise ApiConnectionError(f"{method} {safe_url(url)} failed: {err}") from err


def safe_url(url: URL | str) -> str:
    """Return the URL for messages: no credentials, no query string (they may hold keys)."""
    try:
        parsed = URL(url)
    except TypeError, ValueError:
        return "(invalid URL)"
    if parsed.absolute:
        parsed = parsed.with_user(None)
    return str(parsed.with_query(None).with_fragment(None))


def path_segment(value: str) -> str:
    """Percent-encode ``value`` as one path segment, ``/`` included.

    For names that come from outside (event ids, camera names): yarl takes every ``/``
    of a path as a separator and has no public quoting of a single segment.
    """
    return quote(value, safe="")


def _preview(body: bytes, limit: int = 80) -> str:
    """Make a short printable excerpt of a body for log lines."""
    text = body[:limit].decode("utf-8", "replace")
    return repr(text + ("…" if len(body) > limit else ""))


# Frigate's snapshots are well under this; anything larger is refused before decoding.
MAX_IMAGE_BYTES = 20 * 1024 * 1024


async def fetch_image(
    session: aiohttp.ClientSession,
    url: URL | str,
    *,
    timeout: float,
    max_bytes: int = MAX_IMAGE_BYTES,
    **kwargs: Any,
) -> bytes:
    """GET an image; anything that is not one raises ImageUnavailableError.

    401/403 raise ApiAuthError so callers can re-authenticate; 404, other error statuses,
    HTML pages served with 200 and empty bodies are "no image this time".
    """
    response = await request(
        session, "GET", url, timeout=timeout, max_bytes=max_bytes, **kwargs
    )
    if response.status in (401, 403):
        raise ApiAuthError(f"GET {safe_url(url)}: HTTP {response.status}")
    if response.status != 200:
        raise ImageUnavailableError(
            f"GET {safe_url(url)}: HTTP {response.status} {_preview(response.body)}"
        )
    if not looks_like_image(response.body):
        raise ImageUnavailableError(
            f"GET {safe_url(url)}: not an image ({response.content_type or 'no content type'},"
            f" {len(response.body)} bytes)"
        )
    return response.body
