"""Generic machinery shared by every emulator: an aiohttp server that records, fails, delays.

Writing an emulator
-------------------
Subclass ``EmulatorServer``, call ``super().__init__()`` (it takes no arguments) and
override ``setup_routes(app)`` to add routes to the ``aiohttp.web.Application``::

    class MyServer(EmulatorServer):
        def setup_routes(self, app: web.Application) -> None:
            app.router.add_get("/hello", self._hello)

        async def _hello(self, request: web.Request) -> web.Response:
            rec = self.recorded(request)  # parsed query/form/files/json of this request
            return web.json_response({"name": rec.query.get("name")})

Every request first goes through the base middleware, which

1. reads the whole body and parses it into a ``RecordedRequest`` (query, headers, text
   form fields, uploaded files, JSON), appends it to ``server.requests`` and stores it on
   the request (``self.recorded(request)``). Handlers should use that object instead of
   ``request.post()`` / ``request.multipart()`` (the body stream is already consumed;
   ``await request.read()`` / ``request.json()`` still work, aiohttp caches the body);
2. waits ``server.delay`` seconds (cut short by ``stop()``);
3. answers with the next scripted failure (``fail_next``) if there is one;
4. otherwise calls the route handler (or aiohttp's 404/405 when nothing matches).

Subclass middlewares (append them to ``app.middlewares`` in ``setup_routes``) run after
that, i.e. only for requests that reach the routes (use this for auth checks).

``stop()`` then ``start()`` again restarts on the same port with the same state, to
emulate a server that goes away and comes back.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message
import json
from typing import Any, Self
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.multipart import content_disposition_filename, parse_content_disposition

HOST = "127.0.0.1"
# Generous: real servers accept several MB (CompreFace 5 MB per file, 10 MB per request).
MAX_BODY_BYTES = 64 * 1024 * 1024
_RECORDED_KEY = "emulator_recorded_request"

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Headers(dict[str, str]):
    """A plain dict of headers whose keys are stored lower-case and looked up ignoring case."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        """Store the headers; a repeated header keeps its values joined with ', '."""
        super().__init__()
        for key, value in items:
            low = key.lower()
            if dict.__contains__(self, low):
                value = f"{dict.__getitem__(self, low)}, {value}"
            dict.__setitem__(self, low, value)

    def __getitem__(self, key: str) -> str:
        """Case-insensitive lookup."""
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        """Case-insensitive membership."""
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        """Case-insensitive get."""
        return super().get(key.lower(), default)


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One file part of a multipart body (a part that has a non-empty filename)."""

    field: str
    filename: str
    data: bytes
    content_type: str | None = None


@dataclass(slots=True)
class RecordedRequest:
    """What the emulator received, parsed.

    ``query`` and ``form`` keep the first value of a repeated name. ``form`` holds text
    fields of a multipart or urlencoded body; ``files`` the multipart parts that carry a
    filename, in order (repeated field names included). ``json`` is the decoded body when
    it was sent as JSON (None otherwise or when it did not parse). ``headers`` is a dict
    with case-insensitive lookups. ``body`` is the raw body.
    """

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=Headers)
    form: dict[str, str] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)
    json: Any = None
    body: bytes = b""
    content_type: str = ""

    def file(self, field_name: str) -> UploadedFile | None:
        """Return the first uploaded file sent under ``field_name``."""
        return next((f for f in self.files if f.field == field_name), None)

    def value(self, name: str) -> str | None:
        """Return a text value from the form, else from the query string."""
        if name in self.form:
            return self.form[name]
        return self.query.get(name)


@dataclass(frozen=True, slots=True)
class _Failure:
    status: int
    body: bytes
    content_type: str


def parse_multipart(
    body: bytes, boundary: str
) -> tuple[dict[str, str], list[UploadedFile]]:
    """Split a multipart/form-data body into text fields and files.

    A part whose Content-Disposition has a non-empty ``filename`` (or ``filename*``) is a
    file; any other part is a text field (first value of a repeated name wins). Lenient:
    a truncated body yields the parts that could be read.
    """
    form: dict[str, str] = {}
    files: list[UploadedFile] = []
    delimiter = b"--" + boundary.encode("latin-1")
    pos = body.find(delimiter)
    while pos >= 0:
        pos += len(delimiter)
        if body.startswith(b"--", pos):  # close delimiter
            break
        line_end = body.find(b"\r\n", pos)
        if line_end < 0:
            break
        header_end = body.find(b"\r\n\r\n", line_end)
        if header_end < 0:
            break
        headers = Headers()
        for raw_line in body[line_end + 2 : header_end].split(b"\r\n"):
            name, sep, value = raw_line.decode("utf-8", "replace").partition(":")
            if sep:
                dict.__setitem__(headers, name.strip().lower(), value.strip())
        start = header_end + 4
        next_pos = body.find(b"\r\n" + delimiter, start)
        content = body[start:] if next_pos < 0 else body[start:next_pos]
        params: dict[str, str] = {}
        if disposition := headers.get("content-disposition"):
            _, params = parse_content_disposition(disposition)
        field_name = params.get("name", "")
        filename = content_disposition_filename(params, "filename")
        if filename:
            files.append(
                UploadedFile(field_name, filename, content, headers.get("content-type"))
            )
        elif field_name not in form:
            form[field_name] = content.decode("utf-8", "replace")
        if next_pos < 0:
            break
        pos = next_pos + 2
    return form, files


def _first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, value in pairs:
        result.setdefault(key, value)
    return result


async def record_request(request: web.Request) -> RecordedRequest:
    """Read and parse a request into a RecordedRequest."""
    body = await request.read()
    raw_type = request.headers.get("Content-Type", "")
    message = Message()
    message["content-type"] = raw_type or "application/octet-stream"
    mime = message.get_content_type()
    rec = RecordedRequest(
        method=request.method,
        path=request.path,
        query=_first_values(request.query.items()),
        headers=Headers(request.headers.items()),
        body=body,
        content_type=mime if raw_type else "",
    )
    if mime == "multipart/form-data":
        boundary = message.get_param("boundary")
        if isinstance(boundary, str) and boundary:
            rec.form, rec.files = parse_multipart(body, boundary)
    elif mime == "application/x-www-form-urlencoded":
        rec.form = _first_values(
            parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        )
    elif mime == "application/json" or mime.endswith("+json"):
        try:
            rec.json = json.loads(body)
        except ValueError:
            rec.json = None
    return rec


def encode_body(
    body: bytes | str | dict[str, Any] | list[Any] | None, content_type: str | None
) -> tuple[bytes, str]:
    """Bytes and Content-Type for a scripted body (dict/list → JSON, str → text)."""
    if body is None:
        return b"", content_type or "text/plain; charset=utf-8"
    if isinstance(body, (dict, list)):
        return json.dumps(body).encode(), content_type or "application/json"
    if isinstance(body, str):
        return body.encode(), content_type or "text/plain; charset=utf-8"
    return bytes(body), content_type or "application/octet-stream"


class EmulatorServer:
    """Base class of all emulators (see the module docstring for how to subclass).

    Public API:

    * ``await start() -> str`` / ``await stop()``; also ``async with server:``.
    * ``url``: base URL (``http://127.0.0.1:PORT``) once started.
    * ``requests``: list of ``RecordedRequest``, in arrival order; ``requests_to(path)``.
    * ``fail_next(status, body, count=1, content_type=None)``: queue canned answers.
    * ``delay``: seconds to wait before answering each request.
    """

    def __init__(self) -> None:
        """Create a stopped server with no requests recorded."""
        self.requests: list[RecordedRequest] = []
        self.delay: float = 0.0
        self._failures: deque[_Failure] = deque()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._url: str | None = None
        self._stopping = asyncio.Event()

    # -- hooks ---------------------------------------------------------------------------

    def setup_routes(self, app: web.Application) -> None:
        """Add the emulator's routes to ``app`` (override in subclasses)."""

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        if self._url is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._url

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._runner is not None

    async def start(self) -> str:
        """Listen on 127.0.0.1 (a free port; the same port again after a stop)."""
        if self._runner is not None:
            return self.url
        self._stopping = asyncio.Event()
        app = web.Application(
            middlewares=[self._middleware], client_max_size=MAX_BODY_BYTES
        )
        self.setup_routes(app)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            shutdown_timeout=1.0,
            access_log=None,
            handler_cancellation=True,
        )
        await runner.setup()
        site = web.TCPSite(runner, HOST, self._port or 0)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = runner.addresses[0][1]
        self._url = f"http://{HOST}:{self._port}"
        return self._url

    async def stop(self) -> None:
        """Stop listening and close connections (delayed answers are released first)."""
        runner, self._runner = self._runner, None
        self._stopping.set()
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        """Start the server."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the server."""
        await self.stop()

    # -- scripting / inspection ----------------------------------------------------------

    def fail_next(
        self,
        status: int,
        body: bytes | str | dict[str, Any] | list[Any] | None = None,
        count: int = 1,
        content_type: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests (any path) with this instead of normally.

        ``body``: dict/list → JSON (application/json), str → text/plain, bytes →
        application/octet-stream, unless ``content_type`` says otherwise. Calls queue up.
        """
        data, ctype = encode_body(body, content_type)
        self._failures.extend(_Failure(status, data, ctype) for _ in range(count))

    def clear_failures(self) -> None:
        """Drop the scripted failures not yet used."""
        self._failures.clear()

    def requests_to(
        self, path: str, method: str | None = None
    ) -> list[RecordedRequest]:
        """Return the recorded requests for ``path`` (and ``method`` if given)."""
        return [
            r
            for r in self.requests
            if r.path == path and (method is None or r.method == method.upper())
        ]

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request (IndexError if none)."""
        return self.requests[-1]

    @staticmethod
    def recorded(request: web.Request) -> RecordedRequest:
        """Return the parsed form of ``request`` (made by the base middleware)."""
        rec: RecordedRequest = request[_RECORDED_KEY]
        return rec

    # -- middleware ----------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        rec = await record_request(request)
        request[_RECORDED_KEY] = rec
        self.requests.append(rec)
        if self.delay > 0:
            try:
                async with asyncio.timeout(self.delay):
                    await self._stopping.wait()
            except TimeoutError:
                pass
        if self._failures:
            failure = self._failures.popleft()
            return web.Response(
                status=failure.status,
                body=failure.body,
                headers={"Content-Type": failure.content_type},
            )
        return await handler(request)
