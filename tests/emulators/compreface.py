"""CompreFace (Exadel) recognition-service emulator (reference: detector-apis.md § 1).

Routes (all but ``/api/v1/consistence/status`` need header ``x-api-key``):

* ``POST /api/v1/recognition/recognize`` (multipart ``file`` or JSON ``{"file": b64}``;
  query ``limit``, ``prediction_count``, ``det_prob_threshold``, ``face_plugins``, ``status``)
* ``POST /api/v1/recognition/faces?subject=`` add an example → 201
* ``GET /api/v1/recognition/faces`` list examples; ``DELETE …/faces?subject=`` →
  ``{"deleted": N}``; ``DELETE …/faces/{image_id}``; ``POST …/faces/delete`` (JSON ids)
* ``GET|POST|DELETE /api/v1/recognition/subjects``, ``PUT|DELETE …/subjects/{name}``
* ``GET /api/v1/consistence/status`` (no key)

State: ``subjects`` (name as first trained → identities of its examples, one per added
image; tests may seed it directly) and ``image_ids`` (same shape, the example ids).
Subject lookups ignore case, as in the real server.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import PurePath
from typing import Any
import uuid

from aiohttp import web

from .base import EmulatorServer, Handler, RecordedRequest
from .world import FACE_DETECTION_PROBABILITY, FaceSpec, FaceWorld, score

COMPREFACE_KEY = "00000000-0000-4000-8000-00000000cf01"

ALLOWED_EXTENSIONS = frozenset(
    {"tif", "tiff", "jpg", "jpeg", "png", "bmp", "ico", "gif", "webp"}
)
_PREFIX = "/api/v1/recognition"
_NO_KEY_PATHS = ("/swagger", "/webjars", "/v2", "/api/v1/migrate", "/api/v1/consistence/status",
                 "/api/v1/static", "/api/v1/config")  # fmt: skip
_PLUGINS = ("age", "gender", "landmarks", "calculator", "mask", "pose")


class CompreFaceError(Exception):
    """An error answered as ``{"message": …, "code": …}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        """Store the HTTP status, CompreFace code and message."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _dumps(data: Any) -> str:
    """Spring's pretty printer style (indent-output: true)."""
    return json.dumps(data, indent=2, separators=(",", " : "))


def cf_json(data: Any, status: int = 200) -> web.Response:
    """Answer JSON the way CompreFace formats it."""
    return web.Response(
        text=_dumps(data), status=status, content_type="application/json"
    )


def _no_face() -> CompreFaceError:
    return CompreFaceError(400, 28, "No face is found in the given image")


class CompreFaceEmulator(EmulatorServer):
    """CompreFace with one recognition service whose key is ``api_key``."""

    def __init__(self, world: FaceWorld, api_key: str = COMPREFACE_KEY) -> None:
        """Emulate a server with one recognition service (``api_key``)."""
        super().__init__()
        self.world = world
        self.api_key = api_key
        self.subjects: dict[str, list[str]] = {}
        self.image_ids: dict[str, list[str]] = {}

    # -- routing -------------------------------------------------------------------------

    def setup_routes(self, app: web.Application) -> None:
        """Register CompreFace's routes and the x-api-key filter."""
        app.middlewares.append(self._api_key_filter)
        app.middlewares.append(self._errors)
        r = app.router
        r.add_post(f"{_PREFIX}/recognize", self._recognize)
        r.add_post(f"{_PREFIX}/faces", self._add_face)
        r.add_get(f"{_PREFIX}/faces", self._list_faces)
        r.add_delete(f"{_PREFIX}/faces", self._delete_faces)
        r.add_post(f"{_PREFIX}/faces/delete", self._delete_faces_by_ids)
        r.add_delete(f"{_PREFIX}/faces/{{image_id}}", self._delete_face)
        r.add_get(f"{_PREFIX}/subjects", self._list_subjects)
        r.add_post(f"{_PREFIX}/subjects", self._create_subject)
        r.add_delete(f"{_PREFIX}/subjects", self._delete_all_subjects)
        r.add_put(f"{_PREFIX}/subjects/{{subject}}", self._rename_subject)
        r.add_delete(f"{_PREFIX}/subjects/{{subject}}", self._delete_subject)
        r.add_get("/api/v1/consistence/status", self._consistence_status)

    @web.middleware
    async def _api_key_filter(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        if request.path.startswith(_NO_KEY_PATHS):
            return await handler(request)
        key = request.headers.get("x-api-key")
        if key is None:
            return cf_json({"message": "Missing header: x-api-key", "code": 20}, 400)
        try:
            valid = len(key) >= 36 and uuid.UUID(key) is not None
        except ValueError:
            valid = False
        if not valid:
            return cf_json(
                {"message": "Service API key should be UUID", "code": 26}, 400
            )
        if key != self.api_key and request.path.startswith(_PREFIX):
            return cf_json(
                {
                    "message": f"Recognition service with API Key {key} not found",
                    "code": 10,
                },
                404,
            )
        return await handler(request)

    @web.middleware
    async def _errors(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except CompreFaceError as err:
            return cf_json({"message": err.message, "code": err.code}, err.status)

    # -- state helpers -------------------------------------------------------------------

    def _sync_ids(self) -> None:
        """Keep ``image_ids`` in step with ``subjects`` (tests may edit ``subjects``)."""
        for name in list(self.image_ids):
            if name not in self.subjects:
                del self.image_ids[name]
        for name, identities in self.subjects.items():
            ids = self.image_ids.setdefault(name, [])
            del ids[len(identities) :]
            ids.extend(str(uuid.uuid4()) for _ in range(len(identities) - len(ids)))

    def _find(self, name: str) -> str | None:
        """Return the stored subject name matching ``name``, ignoring case."""
        low = name.lower()
        return next((s for s in self.subjects if s.lower() == low), None)

    # -- request helpers -----------------------------------------------------------------

    @staticmethod
    def _image_bytes(rec: RecordedRequest) -> bytes:
        """Return the uploaded image: multipart part ``file`` or JSON ``{"file": b64}``."""
        if rec.content_type == "application/json":
            value = rec.json.get("file") if isinstance(rec.json, dict) else None
            if not isinstance(value, str):
                raise CompreFaceError(400, 5, "Field file cannot be empty")
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError) as err:
                raise CompreFaceError(400, 21, "Provided value is not Base64") from err
        upload = rec.file("file")
        if upload is None:
            if "file" in rec.form:  # a part without filename
                raise CompreFaceError(400, 21, "File [] has an unavailable extension")
            raise CompreFaceError(400, 34, "Required part file is missing")
        ext = PurePath(upload.filename).suffix.lstrip(".").lower()
        if ext not in ALLOWED_EXTENSIONS:
            raise CompreFaceError(
                400, 21, f"File [{upload.filename}] has an unavailable extension"
            )
        return upload.data

    @staticmethod
    def _int_param(rec: RecordedRequest, name: str, default: int, minimum: int) -> int:
        raw = rec.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError as err:
            raise CompreFaceError(
                400, 0, "Something went wrong, please try again"
            ) from err
        if value < minimum:
            raise CompreFaceError(
                400, 26, f"{name}: must be greater than or equal to {minimum}; "
            )
        return value

    def _detect(self, data: bytes, rec: RecordedRequest) -> list[FaceSpec]:
        """Faces in the image as the core would find them (400 code 28 when none)."""
        raw = rec.query.get("det_prob_threshold")
        threshold = 0.0
        if raw not in (None, ""):
            try:
                threshold = float(raw)
            except ValueError as err:
                raise CompreFaceError(
                    400, 0, "Something went wrong, please try again"
                ) from err
            if not 0.0 <= threshold <= 1.0:
                raise _no_face()  # the core's 400 is always reported as code 28
        faces = self.world.faces_in(data)
        if not faces or threshold > FACE_DETECTION_PROBABILITY:
            raise _no_face()
        return faces

    # -- recognition ---------------------------------------------------------------------

    async def _recognize(self, request: web.Request) -> web.Response:
        rec = self.recorded(request)
        data = self._image_bytes(rec)
        limit = self._int_param(rec, "limit", 0, 0)
        prediction_count = self._int_param(rec, "prediction_count", 1, 1)
        plugins = [
            p.strip() for p in rec.query.get("face_plugins", "").split(",") if p.strip()
        ]
        with_status = rec.query.get("status", "false").lower() == "true"
        faces = self._detect(data, rec)
        if limit:
            faces = sorted(faces, key=lambda f: f.area, reverse=True)[:limit]
        result = [
            self._face_result(face, prediction_count, plugins, with_status)
            for face in faces
        ]
        body: dict[str, Any] = {"result": result}
        if with_status:
            versions = {
                "detector": "facenet.FaceDetector",
                "calculator": "facenet.Calculator",
            }
            versions.update(_plugin_versions(plugins))
            body["plugins_versions"] = versions
        return cf_json(body)

    def _face_result(
        self,
        face: FaceSpec,
        prediction_count: int,
        plugins: list[str],
        with_status: bool,
    ) -> dict[str, Any]:
        # Ranked per stored example, as EuclideanDistanceClassifier does (a subject can
        # appear twice when prediction_count > 1).
        ranked = sorted(
            (
                (score(face, identity), name)
                for name, identities in self.subjects.items()
                for identity in identities
            ),
            key=lambda item: item[0],
            reverse=True,
        )
        item: dict[str, Any] = {}
        if "age" in plugins:
            item["age"] = {"probability": 0.93, "high": 32, "low": 25}
        if "gender" in plugins:
            item["gender"] = {"probability": 0.98, "value": "male"}
        if "mask" in plugins:
            item["mask"] = {"probability": 0.99, "value": "without_mask"}
        if "calculator" in plugins:
            seed = sum(face.identity.encode())
            item["embedding"] = [
                ((seed * (i + 7)) % 200 - 100) / 1000 for i in range(128)
            ]
        item["box"] = {
            "probability": round(FACE_DETECTION_PROBABILITY, 5),
            "x_max": face.x_max,
            "y_max": face.y_max,
            "x_min": face.x_min,
            "y_min": face.y_min,
        }
        if "landmarks" in plugins:
            left, top, w, h = face.box
            item["landmarks"] = [
                [left + w // 3, top + h * 2 // 5],
                [left + w * 2 // 3, top + h * 2 // 5],
                [left + w // 2, top + h // 2],
                [left + w // 3, top + h * 3 // 4],
                [left + w * 2 // 3, top + h * 3 // 4],
            ]
        if "pose" in plugins:
            item["pose"] = {"pitch": -2.5, "roll": 1.2, "yaw": 4.8}
        item["subjects"] = [
            {"subject": name, "similarity": round(similarity, 5)}
            for similarity, name in ranked[:prediction_count]
        ]
        if with_status:
            times = {"detector": 117.0, "calculator": 45.0}
            times.update(
                {p: 30.0 for p in plugins if p in _PLUGINS and p != "calculator"}
            )
            item["execution_time"] = times
        return item

    # -- examples ------------------------------------------------------------------------

    async def _add_face(self, request: web.Request) -> web.Response:
        rec = self.recorded(request)
        subject = rec.query.get("subject")
        if subject is None:
            raise CompreFaceError(400, 33, "Required parameter subject is missing")
        if not subject.strip():
            raise CompreFaceError(400, 26, "Subject name is empty; ")
        data = self._image_bytes(rec)
        faces = self._detect(data, rec)
        if len(faces) > 1:
            raise CompreFaceError(400, 31, "More than one face in the source image")
        self._sync_ids()
        name = self._find(subject) or subject
        self.subjects.setdefault(name, []).append(faces[0].identity)
        image_id = str(uuid.uuid4())
        self.image_ids.setdefault(name, []).append(image_id)
        return cf_json({"image_id": image_id, "subject": subject}, 201)

    async def _list_faces(self, request: web.Request) -> web.Response:
        rec = self.recorded(request)
        self._sync_ids()
        page = self._int_param(rec, "page", 0, 0)
        size = self._int_param(rec, "size", 20, 1)
        wanted = rec.query.get("subject")
        match = self._find(wanted) if wanted else None
        faces = [
            {"image_id": image_id, "subject": name}
            for name, ids in self.image_ids.items()
            if not wanted or name == match
            for image_id in ids
        ]
        return cf_json(
            {
                "faces": faces[page * size : (page + 1) * size],
                "page_number": page,
                "page_size": size,
                "total_pages": -(-len(faces) // size),
                "total_elements": len(faces),
            }
        )

    async def _delete_faces(self, request: web.Request) -> web.Response:
        rec = self.recorded(request)
        subject = rec.query.get("subject")
        if subject is None or not subject.strip():
            # Source: @NotBlank on the parameter (docs claim it would wipe everything).
            raise CompreFaceError(400, 26, "Subject name is empty; ")
        self._sync_ids()
        name = self._find(subject)
        if name is None:
            return cf_json({"deleted": 0})
        deleted = len(self.subjects.pop(name))
        self.image_ids.pop(name, None)
        return cf_json({"deleted": deleted})

    def _remove_example(self, image_id: str) -> dict[str, str] | None:
        for name, ids in self.image_ids.items():
            if image_id in ids:
                index = ids.index(image_id)
                del ids[index]
                del self.subjects[name][index]
                return {"image_id": image_id, "subject": name}
        return None

    async def _delete_face(self, request: web.Request) -> web.Response:
        self._sync_ids()
        image_id = request.match_info["image_id"]
        removed = self._remove_example(image_id)
        if removed is None:
            raise CompreFaceError(404, 44, f"Image {image_id} not found")
        return cf_json(removed)

    async def _delete_faces_by_ids(self, request: web.Request) -> web.Response:
        rec = self.recorded(request)
        self._sync_ids()
        ids = rec.json if isinstance(rec.json, list) else []
        removed = [
            r for i in ids if isinstance(i, str) and (r := self._remove_example(i))
        ]
        return cf_json(removed)

    # -- subjects ------------------------------------------------------------------------

    async def _list_subjects(self, request: web.Request) -> web.Response:
        return cf_json({"subjects": list(self.subjects)})

    async def _create_subject(self, request: web.Request) -> web.Response:
        rec = self.recorded(request)
        subject = rec.json.get("subject") if isinstance(rec.json, dict) else None
        if not isinstance(subject, str) or not subject.strip():
            raise CompreFaceError(400, 26, "Subject name is empty; ")
        if any(c in subject for c in ";/\\"):
            raise CompreFaceError(
                400, 36, "The subject name should not contain special characters"
            )
        if self._find(subject) is not None:
            raise CompreFaceError(400, 43, "Subject already exists")
        self.subjects[subject] = []
        return cf_json({"subject": subject}, 201)

    async def _rename_subject(self, request: web.Request) -> web.Response:
        rec = self.recorded(request)
        self._sync_ids()
        old = self._find(request.match_info["subject"])
        new = rec.json.get("subject") if isinstance(rec.json, dict) else None
        if not isinstance(new, str) or not new.strip():
            raise CompreFaceError(400, 26, "Subject name is empty; ")
        if old is None:
            raise CompreFaceError(
                404, 42, f"Subject {request.match_info['subject']} not found"
            )
        if old == new:
            return cf_json({"updated": False})
        identities, ids = self.subjects.pop(old), self.image_ids.pop(old, [])
        target = self._find(new) or new  # an existing subject absorbs the examples
        self.subjects.setdefault(target, []).extend(identities)
        self.image_ids.setdefault(target, []).extend(ids)
        return cf_json({"updated": True})

    async def _delete_subject(self, request: web.Request) -> web.Response:
        name = self._find(request.match_info["subject"])
        if name is None:
            raise CompreFaceError(
                404, 42, f"Subject {request.match_info['subject']} not found"
            )
        del self.subjects[name]
        self.image_ids.pop(name, None)
        return cf_json({"subject": name})

    async def _delete_all_subjects(self, request: web.Request) -> web.Response:
        count = len(self.subjects)
        self.subjects.clear()
        self.image_ids.clear()
        return cf_json({"deleted": count})

    async def _consistence_status(self, request: web.Request) -> web.Response:
        return cf_json(
            {
                "demoFaceCollectionIsInconsistent": False,
                "dbIsInconsistent": False,
                "saveImagesToDB": True,
                "status": "OK",
            }
        )


def _plugin_versions(plugins: list[str]) -> dict[str, str]:
    names = {
        "age": "agegender.AgeDetector",
        "gender": "agegender.GenderDetector",
        "mask": "facemask.MaskDetector",
        "pose": "facenet.PoseEstimator",
        "landmarks": "facenet.LandmarksDetector",
    }
    return {p: names[p] for p in plugins if p in names}
