"""CompreFace (Exadel): the recognition service REST API, authenticated by ``x-api-key``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ApiAuthError, ApiError
from ..http import Response
from ..models import (
    MANY_FACES,
    MAX_CANDIDATES,
    NO_FACE,
    UNKNOWN,
    Box,
    Candidate,
    Face,
    TrainingImage,
    TrainOutcome,
    confidence_percent,
    normalize_name,
)
from .base import HttpDetector, error_text, image_form, items_of, strings_of

RECOGNIZE_PATH = "/api/v1/recognition/recognize"
FACES_PATH = "/api/v1/recognition/faces"
SUBJECTS_PATH = "/api/v1/recognition/subjects"

# Error codes of CompreFace's {"message", "code"} bodies (CommonExceptionCode).
CODE_SERVICE_NOT_FOUND = 10  # 404: no recognition service with this key
CODE_MISSING_KEY = 20  # 400: no x-api-key header
CODE_VALIDATION = 26  # 400: validation failure, e.g. "Service API key should be UUID"
CODE_NO_FACE = 28  # 400: "No face is found in the given image"
CODE_MANY_FACES = 31  # 400: "More than one face in the source image" (training)

# Subjects asked per face. CompreFace ranks its stored examples, not persons: a person
# trained on many images fills the top of the list, so it takes more than a few entries
# to reach the second person. The answer stays small (one short object per entry).
PREDICTION_COUNT = 20


class CompreFaceDetector(HttpDetector):
    """CompreFace: one ``POST /faces`` per training image, subjects listed by the server."""

    kind = "compreface"
    title = "CompreFace"

    @property
    def _headers(self) -> dict[str, str]:
        """The key header (left out when no key is set, so the server says it is missing)."""
        return {"x-api-key": self.settings.api_key} if self.settings.api_key else {}

    async def recognize(self, image: bytes) -> list[Face]:
        """Faces in ``image``; HTTP 400 code 28 means there is none."""
        response = await self._send(
            "POST",
            RECOGNIZE_PATH,
            params={
                "det_prob_threshold": f"{self.settings.det_prob_threshold:g}",
                "limit": "0",
                "prediction_count": str(PREDICTION_COUNT),
            },
            headers=self._headers,
            data=image_form([("file", image)]),
        )
        if response.status != 200:
            if _code(response) == CODE_NO_FACE:
                return []
            raise self._failure(response, "recognize")
        data = self._json_object(response, "recognize")
        if "result" not in data:
            raise self._failure(response, "recognize", "answer has no result")
        return [_face(item) for item in items_of(data["result"], "result", self.label)]

    async def train(
        self, name: str, images: Sequence[TrainingImage]
    ) -> list[TrainOutcome]:
        """Add each image as one example of ``name``; refs are CompreFace image ids."""

        async def add(image: TrainingImage) -> TrainOutcome:
            response = await self._send(
                "POST",
                FACES_PATH,
                params={"subject": name},
                headers=self._headers,
                data=image_form([("file", image.data)]),
            )
            if response.status in (200, 201):
                ref = self._json_object(response, "train").get("image_id")
                return TrainOutcome(
                    image.filename, ref=ref if isinstance(ref, str) else None
                )
            code = _code(response)
            if code == CODE_NO_FACE:
                return TrainOutcome(image.filename, error=NO_FACE)
            if code == CODE_MANY_FACES:
                return TrainOutcome(image.filename, error=MANY_FACES)
            raise self._failure(response, "train")

        return await self._train_each(images, add)

    async def remove(self, name: str, refs: Sequence[str] = ()) -> None:
        """Delete every example of ``name`` (an unknown name is not an error)."""
        response = await self._send(
            "DELETE", FACES_PATH, params={"subject": name}, headers=self._headers
        )
        if response.status != 200:
            raise self._failure(response, "remove")

    async def check(self) -> None:
        """List subjects: proves the server is up and the recognition key is valid."""
        await self.list_subjects()

    async def list_subjects(self) -> list[str] | None:
        """Subjects of this recognition service."""
        response = await self._send("GET", SUBJECTS_PATH, headers=self._headers)
        if response.status != 200:
            raise self._failure(response, "list subjects")
        data = self._json_object(response, "list subjects")
        return strings_of(data.get("subjects"), "subjects", self.label)

    def _rejection(self, response: Response) -> ApiError | None:
        """401/403, and CompreFace's own key errors (400 code 20/26, 404 code 10)."""
        if (error := super()._rejection(response)) is not None:
            return error
        code = _code(response)
        text = error_text(response)
        if (
            (response.status == 400 and code == CODE_MISSING_KEY)
            or (response.status == 404 and code == CODE_SERVICE_NOT_FOUND)
            or (
                response.status == 400
                and code == CODE_VALIDATION
                and "key" in text.lower()
            )
        ):
            return ApiAuthError(
                f"{self.label}: API key refused (HTTP {response.status}: {text})"
            )
        return None


def _code(response: Response) -> int | None:
    """Return the ``code`` of a CompreFace error body, if it has one."""
    try:
        data = response.json()
    except ApiError:
        return None
    code = data.get("code") if isinstance(data, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _face(item: dict[str, Any]) -> Face:
    """One ``result`` entry: the best subject, or unknown when ``subjects`` is empty.

    The other subjects become the face's candidates: one per person (its best score;
    CompreFace can list a person once per stored example), without the face's own name
    and without unusable names, most confident first, at most ``MAX_CANDIDATES``.
    """
    box = item.get("box")
    if not isinstance(box, dict):
        box = {}
    subjects = item.get("subjects")
    ranked = (
        [
            (
                normalize_name(subject.get("subject")),
                confidence_percent(subject.get("similarity")),
            )
            for subject in subjects
            if isinstance(subject, dict)
        ]
        if isinstance(subjects, list)
        else []
    )
    name, confidence = UNKNOWN, 0.0
    if ranked:
        name, confidence = max(ranked, key=lambda subject: subject[1])
    best: dict[str, float] = {}
    for other, score in ranked:
        if other not in (name, UNKNOWN) and score > best.get(other, -1.0):
            best[other] = score
    candidates = sorted(best.items(), key=lambda entry: entry[1], reverse=True)
    return Face(
        name=name,
        confidence=confidence,
        box=Box.from_corners(
            box.get("x_min"), box.get("y_min"), box.get("x_max"), box.get("y_max")
        ),
        candidates=tuple(
            Candidate(other, score) for other, score in candidates[:MAX_CANDIDATES]
        ),
    )
