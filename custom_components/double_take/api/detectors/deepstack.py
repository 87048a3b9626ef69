"""DeepStack's face API: every call is a form POST under ``/v1/vision/face/``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ..errors import ApiError, ApiResponseError
from ..http import Response
from ..models import (
    NO_FACE,
    Box,
    Face,
    TrainingImage,
    TrainOutcome,
    confidence_percent,
    normalize_name,
)
from .base import HttpDetector, error_text, image_form, items_of, strings_of

RECOGNIZE_PATH = "/v1/vision/face/recognize"
REGISTER_PATH = "/v1/vision/face/register"
DELETE_PATH = "/v1/vision/face/delete"
LIST_PATH = "/v1/vision/face/list"


class _NoFace(Exception):
    """The server's answer means "no face in the image"."""


class DeepStackDetector(HttpDetector):
    """DeepStack: ``userid`` names, one register call with all of a person's images.

    Errors come as ``{"success": false, "error": …}`` with an HTTP error status; the
    subclass for CodeProject.AI gets the same body with HTTP 200, which this handles too.
    """

    kind = "deepstack"
    title = "DeepStack"
    replaces_on_train = (
        True  # register averages its images into the user's one embedding
    )

    recognize_no_face: ClassVar[frozenset[str]] = frozenset()
    """Lower-cased ``error`` texts of a recognize answer that mean "no face"."""

    register_no_face: ClassVar[frozenset[str]] = frozenset({"no face detected"})
    """Lower-cased ``error`` texts of a register answer that mean "no face"."""

    async def recognize(self, image: bytes) -> list[Face]:
        """Faces in ``image``; DeepStack labels strangers ``unknown``."""
        try:
            data = await self._call(
                RECOGNIZE_PATH,
                "recognize",
                [("image", image)],
                no_face=self.recognize_no_face,
            )
        except _NoFace:
            return []
        return [
            _face(item)
            for item in items_of(data.get("predictions"), "predictions", self.label)
        ]

    async def train(
        self, name: str, images: Sequence[TrainingImage]
    ) -> list[TrainOutcome]:
        """Register all ``images`` in ONE call: each register replaces the user's embedding.

        The server answers for the call as a whole, so its outcome applies to every image.
        """
        if not images:
            return []
        files = [(f"image{index}", image.data) for index, image in enumerate(images, 1)]
        error: str | None = None
        try:
            await self._call(
                REGISTER_PATH,
                "train",
                files,
                {"userid": name},
                no_face=self.register_no_face,
            )
        except _NoFace:
            error = NO_FACE
        except ApiResponseError as err:
            error = str(err)
        return [TrainOutcome(image.filename, error=error) for image in images]

    async def remove(self, name: str, refs: Sequence[str] = ()) -> None:
        """Delete the user (the server succeeds for unknown users too)."""
        await self._call(DELETE_PATH, "remove", fields={"userid": name})

    async def check(self) -> None:
        """List faces: checks the key and that the face endpoints are enabled."""
        await self.list_subjects()

    async def list_subjects(self) -> list[str] | None:
        """Return the registered user ids."""
        data = await self._call(LIST_PATH, "list subjects")
        return strings_of(data.get("faces"), "faces", self.label)

    def _fields(self) -> dict[str, str]:
        """Form fields sent with every call: the API key when one is set."""
        return {"api_key": self.settings.api_key} if self.settings.api_key else {}

    async def _post(
        self,
        path: str,
        files: Sequence[tuple[str, bytes]] = (),
        fields: dict[str, str] | None = None,
    ) -> Response:
        """POST a form with ``fields``, our own fields and ``files``."""
        return await self._send(
            "POST", path, data=image_form(files, {**(fields or {}), **self._fields()})
        )

    async def _call(
        self,
        path: str,
        what: str,
        files: Sequence[tuple[str, bytes]] = (),
        fields: dict[str, str] | None = None,
        *,
        no_face: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """POST and return the JSON answer; raises _NoFace or ApiResponseError."""
        return self._result(await self._post(path, files, fields), what, no_face)

    def _result(
        self, response: Response, what: str, no_face: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """Return the answer of a successful call; a ``no_face`` error text raises _NoFace."""
        try:
            return self._envelope(response, what)
        except ApiResponseError:
            if error_text(response).lower() in no_face:
                raise _NoFace from None
            raise

    def _rejection(self, response: Response) -> ApiError | None:
        """403 "Face endpoints not activated" is a server setup problem, not a bad key."""
        if response.status == 403 and "not activated" in error_text(response).lower():
            return ApiResponseError(
                f"{self.label}: face endpoints not activated (HTTP 403); start the server"
                " with VISION-FACE=True"
            )
        return super()._rejection(response)


def _face(item: dict[str, Any]) -> Face:
    """One prediction: ``userid`` (``unknown`` for strangers), 0–1 confidence, corners."""
    return Face(
        name=normalize_name(item.get("userid")),
        confidence=confidence_percent(item.get("confidence")),
        box=Box.from_corners(
            item.get("x_min"), item.get("y_min"), item.get("x_max"), item.get("y_max")
        ),
    )
