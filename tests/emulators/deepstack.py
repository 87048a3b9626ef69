"""DeepStack and CodeProject.AI face-API emulators (reference: detector-apis.md § 2, § 3).

Both serve ``POST /v1/vision/face`` (detect), ``…/face/recognize``, ``…/face/register``,
``…/face/delete`` and ``…/face/list`` with the same payloads; they differ in envelope and
error handling:

* DeepStack: HTTP status carries errors (400/401/403/500), every body has
  ``"duration": 0``, no face on recognize → 200 ``predictions: []``, optional ``api_key``
  form field (401), face endpoints can be disabled (403), register reads the first file
  of each distinct field name.
* CodeProject.AI: always HTTP 200 with the module envelope (``code`` 200/500,
  ``moduleId``, ``command``, ``requestId`` …); no face → ``success: false``
  ``"No face found in image"``; files are read by index (every file counts);
  ``min_confidence`` also filters detection; plus ``GET /v1/server/status/ping`` and
  ``GET /v1/module/list/status``.

State: ``subjects`` maps userid → identities of the faces of the last register call for
that userid (the servers average them into one embedding and replace the old one).
"""

from __future__ import annotations

from email.utils import formatdate
import json
from typing import Any
import uuid

from aiohttp import web

from .base import EmulatorServer, Handler, RecordedRequest, UploadedFile
from .world import FACE_DETECTION_PROBABILITY, FaceSpec, FaceWorld, score

FACE = "/v1/vision/face"
DEFAULT_MIN_CONFIDENCE = 0.67
DEEPSTACK_DETECT_THRESHOLD = 0.55  # fixed detector threshold (recognize/register)

CPAI_SERVER_VERSION = "2.9.6"
CPAI_MODULE_VERSION = "1.12.3"


class _Failed(Exception):
    """A worker/middleware failure: (DeepStack HTTP status, error text, extra fields)."""

    def __init__(self, status: int, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.extra = extra


def _box(face: FaceSpec) -> dict[str, int]:
    """Absolute pixel box, negative coordinates clamped to 0 (as both servers do)."""
    return {
        "x_min": max(0, face.x_min),
        "y_min": max(0, face.y_min),
        "x_max": max(0, face.x_max),
        "y_max": max(0, face.y_max),
    }


class _FaceModuleServer(EmulatorServer):
    """What DeepStack and CodeProject.AI share: state, scoring, routes, handler skeleton."""

    command_paths = {
        "detect": (FACE, f"{FACE}/"),
        "recognize": (f"{FACE}/recognize",),
        "register": (f"{FACE}/register",),
        "delete": (f"{FACE}/delete",),
        "list": (f"{FACE}/list",),
    }

    def __init__(self, world: FaceWorld) -> None:
        """Emulate a server that has not been trained yet."""
        super().__init__()
        self.world = world
        self.subjects: dict[str, list[str]] = {}

    # -- flavour hooks -------------------------------------------------------------------

    def _reply(self, command: str, payload: dict[str, Any]) -> web.Response:
        """Encode a successful worker result."""
        raise NotImplementedError

    def _reply_error(self, command: str, failure: _Failed) -> web.Response:
        """Encode a failure."""
        raise NotImplementedError

    def _check(self, command: str, rec: RecordedRequest) -> None:
        """Front-server checks before the worker runs (raise _Failed)."""

    def _recognize_input(self, rec: RecordedRequest) -> tuple[bytes, float, float]:
        """(image, detection threshold, recognition threshold) for recognize."""
        raise NotImplementedError

    def _detect_input(self, rec: RecordedRequest) -> tuple[bytes, float]:
        """(image, detection threshold) for detect."""
        raise NotImplementedError

    def _register_input(self, rec: RecordedRequest) -> tuple[str, list[UploadedFile]]:
        """(userid, images) for register."""
        raise NotImplementedError

    def _decode(self, data: bytes) -> list[FaceSpec]:
        faces = self.world.faces_in(data)
        if faces is None:
            raise _Failed(400, self.invalid_image_error)
        return faces

    invalid_image_error = "invalid image"
    register_no_face_error = "no face detected"

    # -- routes --------------------------------------------------------------------------

    def setup_routes(self, app: web.Application) -> None:
        """Face routes (POST only)."""
        for command, paths in self.command_paths.items():
            for path in paths:
                app.router.add_post(path, self._make_handler(command))

    def _make_handler(self, command: str) -> Any:
        work = {
            "detect": self._detect,
            "recognize": self._recognize,
            "register": self._register,
            "delete": self._delete,
            "list": self._list,
        }[command]

        async def handler(request: web.Request) -> web.Response:
            rec = self.recorded(request)
            try:
                self._check(command, rec)
                return self._reply(command, work(rec))
            except _Failed as failure:
                return self._reply_error(command, failure)

        return handler

    # -- worker logic --------------------------------------------------------------------

    def _best_match(self, face: FaceSpec, threshold: float) -> tuple[str, float]:
        scores = [
            (score(face, identity), name)
            for name, identities in self.subjects.items()
            for identity in identities
        ]
        if not scores:
            return "unknown", 0
        best, best_name = max(scores, key=lambda item: item[0])
        if best < threshold:
            return "unknown", 0
        return best_name, best

    def _predictions(
        self, faces: list[FaceSpec], threshold: float
    ) -> list[dict[str, Any]]:
        predictions = []
        for face in faces:
            userid, confidence = self._best_match(face, threshold)
            predictions.append(self._prediction(confidence, userid, _box(face)))
        return predictions

    @staticmethod
    def _prediction(
        confidence: float, userid: str | None, box: dict[str, int]
    ) -> dict[str, Any]:
        """One prediction in the server's own field order."""
        item: dict[str, Any] = {"confidence": confidence}
        if userid is not None:
            item["userid"] = userid
        item.update(box)
        return item

    def _detect(self, rec: RecordedRequest) -> dict[str, Any]:
        data, threshold = self._detect_input(rec)
        faces = [
            f for f in self._decode(data) if threshold <= FACE_DETECTION_PROBABILITY
        ]
        predictions = [
            self._prediction(FACE_DETECTION_PROBABILITY, None, _box(f)) for f in faces
        ]
        return {"success": True, "predictions": predictions}

    def _recognize(self, rec: RecordedRequest) -> dict[str, Any]:
        data, detect_threshold, threshold = self._recognize_input(rec)
        faces = [
            f
            for f in self._decode(data)
            if detect_threshold <= FACE_DETECTION_PROBABILITY
        ]
        return self._recognition_result(faces, threshold)

    def _recognition_result(
        self, faces: list[FaceSpec], threshold: float
    ) -> dict[str, Any]:
        return {"success": True, "predictions": self._predictions(faces, threshold)}

    def _register(self, rec: RecordedRequest) -> dict[str, Any]:
        userid, uploads = self._register_input(rec)
        identities = []
        for upload in uploads:
            faces = [
                f
                for f in self._decode(upload.data)
                if FACE_DETECTION_PROBABILITY >= DEEPSTACK_DETECT_THRESHOLD
            ]
            if faces:  # the first detected face of each image
                identities.append(faces[0].identity)
        if not identities:
            raise _Failed(400, self.register_no_face_error)
        message = "face updated" if userid in self.subjects else "face added"
        self.subjects[userid] = identities  # averaged into one embedding: replaces
        return {"success": True, "message": message}

    def _delete(self, rec: RecordedRequest) -> dict[str, Any]:
        userid = rec.value("userid")
        if userid is not None:
            self.subjects.pop(userid, None)
        return {"success": True}

    def _list(self, rec: RecordedRequest) -> dict[str, Any]:
        return {"success": True, "faces": list(self.subjects)}


def _go_json(data: Any, status: int = 200) -> web.Response:
    """Compact JSON as gin's c.JSON writes it."""
    return web.Response(
        text=json.dumps(data, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )


class DeepStackEmulator(_FaceModuleServer):
    """DeepStack (Go front server + Python face worker)."""

    def __init__(
        self, world: FaceWorld, api_key: str | None = None, face_enabled: bool = True
    ) -> None:
        """Emulate DeepStack with face endpoints.

        ``api_key``: require form field ``api_key`` (401 otherwise); ``face_enabled``:
        False answers 403 "Face endpoints not activated" (VISION-FACE not set). Both
        can be changed while running.
        """
        super().__init__(world)
        self.api_key = api_key
        self.face_enabled = face_enabled

    def setup_routes(self, app: web.Application) -> None:
        """Face routes, the HTML home page, gin's plain 404 for anything else."""
        super().setup_routes(app)
        app.router.add_get("/", self._home)
        app.router.add_get("/admin", self._home)
        app.router.add_route("*", "/{tail:.*}", self._not_found)

    async def _home(self, request: web.Request) -> web.Response:
        return web.Response(
            text="<!DOCTYPE html><html><head><title>DeepStack</title></head>"
            "<body><h1>DeepStack</h1><p>Activated</p></body></html>",
            content_type="text/html",
        )

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.Response(status=404, text="404 page not found")

    def _reply(self, command: str, payload: dict[str, Any]) -> web.Response:
        return _go_json({**payload, "duration": 0})

    def _reply_error(self, command: str, failure: _Failed) -> web.Response:
        if failure.status == 500 and failure.error == "":
            return web.Response(status=500)  # gin.Recovery after a panic: empty body
        return _go_json(
            {"success": False, "error": failure.error, "duration": 0}, failure.status
        )

    def _check(self, command: str, rec: RecordedRequest) -> None:
        # Middleware order of the route table: api key → face enabled → route checks.
        if self.api_key is not None and rec.form.get("api_key") != self.api_key:
            raise _Failed(401, "Incorrect api key")
        if not self.face_enabled:
            raise _Failed(403, "Face endpoints not activated")
        if command in ("detect", "recognize"):
            if rec.file("image") is None:
                raise _Failed(400, "No valid image file found")
            raw = rec.form.get("min_confidence", "")
            if raw:
                try:
                    value = float(raw)
                except ValueError as err:
                    raise _Failed(400, "Invalid value for min_confidence") from err
                if value > 1.0:
                    raise _Failed(400, "min_confidence cannot be greater than 1")
        elif command == "register":
            if rec.content_type != "multipart/form-data":
                raise _Failed(500, "")  # nil multipart form → panic in CheckMultiImage
            if not rec.files:
                raise _Failed(400, "No valid image file found")
            if not rec.form.get("userid"):
                raise _Failed(400, "userid not specified")
        elif command == "delete" and not rec.form.get("userid"):
            raise _Failed(400, "userid not specified")

    def _detect_input(self, rec: RecordedRequest) -> tuple[bytes, float]:
        upload = rec.file("image")
        assert upload is not None
        return upload.data, float(
            rec.form.get("min_confidence") or DEEPSTACK_DETECT_THRESHOLD
        )

    def _recognize_input(self, rec: RecordedRequest) -> tuple[bytes, float, float]:
        upload = rec.file("image")
        assert upload is not None
        threshold = float(rec.form.get("min_confidence") or DEFAULT_MIN_CONFIDENCE)
        return upload.data, DEEPSTACK_DETECT_THRESHOLD, threshold

    def _register_input(self, rec: RecordedRequest) -> tuple[str, list[UploadedFile]]:
        # Go iterates form.File by field name and takes the first file of each name.
        firsts: dict[str, UploadedFile] = {}
        for upload in rec.files:
            firsts.setdefault(upload.field, upload)
        return rec.form["userid"], list(firsts.values())

    @staticmethod
    def _prediction(
        confidence: float, userid: str | None, box: dict[str, int]
    ) -> dict[str, Any]:
        # Go struct order: confidence, userid, y_min, x_min, y_max, x_max.
        item: dict[str, Any] = {"confidence": confidence}
        if userid is not None:
            item["userid"] = userid
        item.update(
            y_min=box["y_min"],
            x_min=box["x_min"],
            y_max=box["y_max"],
            x_max=box["x_max"],
        )
        return item


class CodeProjectEmulator(_FaceModuleServer):
    """CodeProject.AI Server with the Face Processing module (no auth)."""

    invalid_image_error = "The image provided was of an unknown type"
    register_no_face_error = "No face detected"

    def __init__(self, world: FaceWorld, *, face_module_installed: bool = True) -> None:
        """Emulate CodeProject.AI Server with the Face Processing module.

        ``face_module_installed=False`` (also settable later): face routes answer 404
        and the module list is empty. ``module_status`` (default "Started") is what
        /v1/module/list/status shows.
        """
        super().__init__(world)
        self.face_module_installed = face_module_installed
        self.module_status = "Started"
        self.hostname = "cpai-emulator"
        self._started = formatdate(usegmt=True)

    def setup_routes(self, app: web.Application) -> None:
        """Face routes, status routes, 404 for other /v1 POSTs."""
        app.middlewares.append(self._module_gate)
        super().setup_routes(app)
        app.router.add_get("/v1/server/status/ping", self._ping)
        app.router.add_get("/v1/status/ping", self._ping)
        app.router.add_get("/v1/module/list/status", self._module_status)
        app.router.add_route("*", "/{tail:.*}", self._not_found)

    @web.middleware
    async def _module_gate(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        """Without the module its routes are not registered: 404."""
        if not self.face_module_installed and request.path.startswith(FACE):
            return await self._not_found(request)
        return await handler(request)

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "type": "https://tools.ietf.org/html/rfc9110#section-15.5.5",
                "title": "Not Found",
                "status": 404,
                "traceId": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00",
            },
            status=404,
            content_type="application/problem+json",
        )

    async def _ping(self, request: web.Request) -> web.Response:
        major, minor, patch = (int(p) for p in CPAI_SERVER_VERSION.split("."))
        return web.json_response(
            {
                "message": CPAI_SERVER_VERSION,
                "version": {
                    "major": major,
                    "minor": minor,
                    "patch": patch,
                    "preRelease": "",
                    "securityUpdate": False,
                    "build": 0,
                    "file": f"CodeProject.AI-Server-linux-x64-{CPAI_SERVER_VERSION}.zip",
                    "releaseNotes": "Emulated server",
                },
                "code": 200,
                "hostname": self.hostname,
                "success": True,
            }
        )

    async def _module_status(self, request: web.Request) -> web.Response:
        statuses = []
        if self.face_module_installed:
            statuses.append(
                {
                    "moduleId": "FaceProcessing",
                    "queue": "faceprocessing_queue",
                    "name": "Face Processing",
                    "version": CPAI_MODULE_VERSION,
                    "started": self._started,
                    "lastSeen": formatdate(usegmt=True),
                    "status": self.module_status,
                    "inferenceDevice": "CPU",
                    "requestCount": len(self.requests),
                }
            )
        return web.json_response(
            {
                "statuses": statuses,
                "code": 200,
                "hostname": self.hostname,
                "success": True,
            }
        )

    def _envelope(self, command: str, payload: dict[str, Any]) -> web.Response:
        success = bool(payload.get("success"))
        if success:
            payload["processMs"] = 2
        body = {
            **payload,
            "moduleId": "FaceProcessing",
            "moduleName": "Face Processing",
            "code": 200 if success else 500,
            "command": command,
            "requestId": str(uuid.uuid4()),
            "inferenceDevice": "CPU",
            "analysisRoundTripMs": 5,
            "processedBy": "localhost",
            "timestampUTC": formatdate(usegmt=True),
        }
        return web.json_response(body)  # always HTTP 200

    def _reply(self, command: str, payload: dict[str, Any]) -> web.Response:
        return self._envelope(command, payload)

    def _reply_error(self, command: str, failure: _Failed) -> web.Response:
        return self._envelope(
            command, {"success": False, "error": failure.error, **failure.extra}
        )

    @staticmethod
    def _processing_error(err: Exception) -> _Failed:
        return _Failed(
            500,
            "An Error occurred during processing",
            err_trace=f"Traceback (most recent call last):\n{type(err).__name__}: {err}\n",
        )

    def _threshold(self, rec: RecordedRequest) -> float:
        raw = rec.value("min_confidence")  # query and form values are merged
        try:
            return float(raw if raw not in (None, "") else DEFAULT_MIN_CONFIDENCE)
        except ValueError as err:
            raise self._processing_error(err) from err

    def _first_image(self, rec: RecordedRequest) -> bytes:
        if not rec.files:  # get_image(0) is None → the detector raises
            raise self._processing_error(
                AttributeError("'NoneType' object has no attribute")
            )
        return rec.files[0].data

    def _detect_input(self, rec: RecordedRequest) -> tuple[bytes, float]:
        threshold = self._threshold(rec)
        return self._first_image(rec), threshold

    def _recognize_input(self, rec: RecordedRequest) -> tuple[bytes, float, float]:
        threshold = self._threshold(rec)
        return self._first_image(rec), threshold, threshold

    def _register_input(self, rec: RecordedRequest) -> tuple[str, list[UploadedFile]]:
        userid = rec.value("userid")
        if userid is None:
            raise self._processing_error(ValueError("userid is None"))
        return userid, list(rec.files)

    def _detect(self, rec: RecordedRequest) -> dict[str, Any]:
        result = super()._detect(rec)
        count = len(result["predictions"])
        return {
            **result,
            "count": count,
            "message": "Found 1 face" if count == 1 else f"Found {count} faces",
            "inferenceMs": 30,
        }

    def _recognition_result(
        self, faces: list[FaceSpec], threshold: float
    ) -> dict[str, Any]:
        if not faces:
            raise _Failed(500, "No face found in image", inferenceMs=30)
        predictions = self._predictions(faces, threshold)
        known = any(p["userid"] != "unknown" for p in predictions)
        return {
            "message": "A face was recognized" if known else "No known faces",
            "count": len(predictions),
            "predictions": predictions,
            "success": True,
            "inferenceMs": 40,
        }

    def _register(self, rec: RecordedRequest) -> dict[str, Any]:
        return {**super()._register(rec), "inferenceMs": 40}
