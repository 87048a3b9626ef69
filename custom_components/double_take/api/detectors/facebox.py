"""Machine Box Facebox: check, teach by example id, no way to list what it was taught."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
import hashlib
from typing import Any

from ..errors import ApiResponseError
from ..http import path_segment
from ..models import (
    MANY_FACES,
    NO_FACE,
    UNKNOWN,
    Box,
    Face,
    TrainingImage,
    TrainOutcome,
    confidence_percent,
    normalize_name,
)
from .base import HttpDetector, error_text, image_form, items_of

CHECK_PATH = "/facebox/check"
TEACH_PATH = "/facebox/teach"
INFO_PATH = "/info"


def teach_id(name: str, data: bytes) -> str:
    """Stable unique id of one taught example: the name and a digest of the image."""
    return f"{name}-{hashlib.sha256(data).hexdigest()[:12]}"


class FaceboxDetector(HttpDetector):
    """Facebox: one teach per image under its own id; remove deletes those ids.

    Optional HTTP Basic auth comes from credentials in the URL (see ``HttpDetector``).
    """

    kind = "facebox"
    title = "Facebox"

    async def recognize(self, image: bytes) -> list[Face]:
        """Faces in ``image``; unmatched faces are unknown."""
        response = await self._send(
            "POST", CHECK_PATH, data=image_form([("file", image)])
        )
        data = self._envelope(response, "recognize")
        return [
            _face(item) for item in items_of(data.get("faces"), "faces", self.label)
        ]

    async def train(
        self, name: str, images: Sequence[TrainingImage]
    ) -> list[TrainOutcome]:
        """Teach each image under ``teach_id``; that id is the outcome's ref."""

        async def teach(image: TrainingImage) -> TrainOutcome:
            # Up to 20 MB to hash: not in the event loop.
            ref = await asyncio.get_running_loop().run_in_executor(
                None, teach_id, name, image.data
            )
            response = await self._send(
                "POST",
                TEACH_PATH,
                data=image_form([("file", image.data)], {"name": name, "id": ref}),
            )
            try:
                self._envelope(response, "train")
            except ApiResponseError as err:
                return TrainOutcome(
                    image.filename, error=_train_error(error_text(response), err)
                )
            return TrainOutcome(image.filename, ref=ref)

        return await self._train_each(images, teach)

    async def remove(self, name: str, refs: Sequence[str] = ()) -> None:
        """Delete every taught example in ``refs``; ids the box no longer has are fine."""
        failures: list[str] = []
        for ref in refs:
            response = await self._send("DELETE", f"{TEACH_PATH}/{path_segment(ref)}")
            if response.status == 404:
                continue
            try:
                self._envelope(response, "remove")
            except ApiResponseError as err:
                failures.append(str(err))
        if failures:
            raise ApiResponseError(
                f"{failures[0]}"
                + (
                    f" (and {len(failures) - 1} more examples)"
                    if len(failures) > 1
                    else ""
                )
            )

    async def check(self) -> None:
        """``GET /info`` must answer with status ``ready``."""
        response = await self._send("GET", INFO_PATH)
        data = self._envelope(response, "check")
        status = data.get("status")
        if status != "ready":
            raise ApiResponseError(
                f"{self.label}: box is not ready (status {status!r})"
            )


def _train_error(text: str, err: ApiResponseError) -> str:
    """Word a teach error: common wording for face-count problems, else the full message."""
    lowered = text.lower()
    if "no face" in lowered:
        return NO_FACE
    if "more than one face" in lowered or "multiple faces" in lowered:
        return MANY_FACES
    return str(err)


def _face(item: dict[str, Any]) -> Face:
    """One face: the taught name when ``matched``, else unknown; ``rect`` in pixels."""
    rect = item.get("rect")
    if not isinstance(rect, dict):
        rect = {}
    return Face(
        name=normalize_name(item.get("name"))
        if item.get("matched") is True
        else UNKNOWN,
        confidence=confidence_percent(item.get("confidence")),
        box=Box.from_rect(
            rect.get("top"), rect.get("left"), rect.get("width"), rect.get("height")
        ),
    )
