"""Machine Box Facebox emulator (reference: detector-apis.md § 4).

Routes: ``POST /facebox/check`` (multipart ``file``, JSON or urlencoded ``base64``),
``POST /facebox/teach`` (``file`` + ``name`` + ``id``, values from the form or the query
string), ``DELETE /facebox/teach/{id}``, ``PATCH /facebox/teach/{id}`` (rename one
example), ``POST /facebox/rename`` (``from``/``to``), ``GET /info``, ``GET /healthz``,
``GET /readyz``. Optional HTTP Basic auth on every route (401 without it).

State: ``examples`` (teach id → (name, identity)); ``subjects`` is derived from it
(name → identities), read-only. ``info_status`` is what ``/info`` reports ("ready").
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
import uuid

from aiohttp import web

from .base import EmulatorServer, Handler, RecordedRequest
from .world import FaceSpec, FaceWorld, score

MATCH_THRESHOLD = 0.5


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """(user, password) of an ``Authorization: Basic …`` header, else None."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except binascii.Error, ValueError:
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class _FaceboxError(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


class FaceboxEmulator(EmulatorServer):
    """Facebox; ``basic_auth=(user, password)`` turns on HTTP Basic auth."""

    def __init__(
        self, world: FaceWorld, basic_auth: tuple[str, str] | None = None
    ) -> None:
        """Emulate an untrained box (``MB_BASICAUTH_USER``/``_PASS`` = ``basic_auth``)."""
        super().__init__()
        self.world = world
        self.basic_auth = basic_auth
        self.examples: dict[str, tuple[str, str]] = {}
        self.info_status = "ready"

    @property
    def subjects(self) -> dict[str, list[str]]:
        """Name → identities of its taught examples (derived from ``examples``)."""
        result: dict[str, list[str]] = {}
        for name, identity in self.examples.values():
            result.setdefault(name, []).append(identity)
        return result

    def setup_routes(self, app: web.Application) -> None:
        """Facebox routes plus the auth and error middlewares."""
        app.middlewares.append(self._auth)
        app.middlewares.append(self._errors)
        r = app.router
        r.add_post("/facebox/check", self._check)
        r.add_post("/facebox/teach", self._teach)
        r.add_delete("/facebox/teach/{id}", self._remove)
        r.add_patch("/facebox/teach/{id}", self._rename_example)
        r.add_post("/facebox/rename", self._rename_all)
        r.add_get("/info", self._info)
        r.add_get("/healthz", self._healthz)
        r.add_get("/readyz", self._readyz)

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.basic_auth is not None:
            if (
                _basic_credentials(request.headers.get("Authorization", ""))
                != self.basic_auth
            ):
                return web.Response(
                    status=401,
                    text="Unauthorized\n",
                    headers={"WWW-Authenticate": 'Basic realm="machinebox"'},
                )
        return await handler(request)

    @web.middleware
    async def _errors(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except _FaceboxError as err:
            return web.json_response(
                {"success": False, "error": err.error}, status=err.status
            )

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _values(rec: RecordedRequest) -> dict[str, str]:
        """Go's r.FormValue: body values first, then the query string (JSON too)."""
        values = dict(rec.query)
        if isinstance(rec.json, dict):
            values.update({k: v for k, v in rec.json.items() if isinstance(v, str)})
        values.update(rec.form)
        return values

    def _image(self, rec: RecordedRequest, values: dict[str, str]) -> bytes:
        if (upload := rec.file("file")) is not None:
            return upload.data
        if values.get("base64"):
            try:
                return base64.b64decode(values["base64"], validate=True)
            except (binascii.Error, ValueError) as err:
                raise _FaceboxError(400, f"base64: {err}") from err
        if values.get("url"):
            raise _FaceboxError(400, "url: fetching remote images is not emulated")
        raise _FaceboxError(400, "file, url or base64 required")

    def _faces(self, data: bytes) -> list[FaceSpec]:
        faces = self.world.faces_in(data)
        if faces is None:
            raise _FaceboxError(400, "image: unknown format")
        return faces

    # -- routes --------------------------------------------------------------------------

    async def _check(self, request: web.Request) -> web.Response:
        rec = self.recorded(request)
        faces = self._faces(self._image(rec, self._values(rec)))
        return web.json_response(
            {
                "success": True,
                "facesCount": len(faces),
                "faces": [self._match(f) for f in faces],
            }
        )

    def _match(self, face: FaceSpec) -> dict[str, Any]:
        item: dict[str, Any] = {
            "rect": {
                "top": face.y_min,
                "left": face.x_min,
                "width": face.box[2],
                "height": face.box[3],
            }
        }
        scored = [
            (score(face, identity), example_id, name)
            for example_id, (name, identity) in self.examples.items()
        ]
        best = max(scored, key=lambda s: s[0], default=None)
        if best is not None and best[0] >= MATCH_THRESHOLD:
            item.update(id=best[1], name=best[2], matched=True, confidence=best[0])
        else:
            item.update(matched=False, confidence=0)
        return item

    async def _teach(self, request: web.Request) -> web.Response:
        rec = self.recorded(request)
        values = self._values(rec)
        name = values.get("name", "")
        if not name:
            raise _FaceboxError(400, "name required")
        data = self._image(rec, values)
        faces = self._faces(data)
        if not faces:
            raise _FaceboxError(400, "no faces found in the image")
        if len(faces) > 1:
            raise _FaceboxError(
                400, "multiple faces found in the image; teach one face at a time"
            )
        upload = rec.file("file")
        example_id = (
            values.get("id") or (upload.filename if upload else "") or str(uuid.uuid4())
        )
        self.examples[example_id] = (name, faces[0].identity)
        return web.json_response({"success": True})

    async def _remove(self, request: web.Request) -> web.Response:
        self.examples.pop(request.match_info["id"], None)
        return web.json_response({"success": True})

    async def _rename_example(self, request: web.Request) -> web.Response:
        rec = self.recorded(request)
        example_id = request.match_info["id"]
        name = self._values(rec).get("name", "")
        if not name:
            raise _FaceboxError(400, "name required")
        if example_id not in self.examples:
            raise _FaceboxError(404, "not found")
        self.examples[example_id] = (name, self.examples[example_id][1])
        return web.json_response({"success": True})

    async def _rename_all(self, request: web.Request) -> web.Response:
        values = self._values(self.recorded(request))
        old, new = values.get("from", ""), values.get("to", "")
        if not old or not new:
            raise _FaceboxError(400, "from and to required")
        for example_id, (name, identity) in list(self.examples.items()):
            if name == old:
                self.examples[example_id] = (new, identity)
        return web.json_response({"success": True})

    async def _info(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "success": True,
                "name": "facebox",
                "version": 1,
                "build": "emulator",
                "status": self.info_status,
                "plan": "developer",
            }
        )

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "success": True,
                "hostname": "facebox-emulator",
                "metadata": {"boxname": "facebox", "build": "development"},
                "errors": [],
            }
        )

    async def _readyz(self, request: web.Request) -> web.Response:
        ready = self.info_status == "ready"
        return web.json_response({"success": ready}, status=200 if ready else 503)
