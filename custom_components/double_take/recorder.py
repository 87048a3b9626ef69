"""Recording results in the history: each face of a run once, with its frame and a face crop.

A run may analyze twenty images; the history keeps each face of the result from the image
it was found in (its best attempt), so a 20-attempt event writes one row and one frame per
face. Misses are always kept (they are what users correct); unknown faces only with
``save_unknown`` (the user's privacy choice). Files go under ``double_take/history/``;
everything here but building the rows runs in the executor, after the run's outputs are
published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
import logging
from pathlib import Path
import secrets
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .api.models import Box
from .draw import UndrawableImageError, crop_face
from .history import HistoryStore, NewRecord, Record
from .options import LiveSettings
from .result import AnalyzedImage, FaceHit, MatchRules, RecognitionResult
from .signals import history_signal
from .storage import image_extension, write_whole

_LOGGER = logging.getLogger(__name__)

HISTORY_FOLDER = "history"


def face_detections(
    hit: FaceHit, image: AnalyzedImage | None, rules: MatchRules
) -> list[dict[str, Any]]:
    """Every detector's answer for the face of ``hit``: the face its box overlaps most.

    A miss says why: the reason ``MatchRules.reason`` gives.
    """
    answers: list[dict[str, Any]] = []
    for detection in image.detections if image is not None else ():
        if detection.error is not None:
            answers.append({"detector": detection.detector, "error": detection.error})
            continue
        best = max(
            detection.faces,
            key=lambda found: overlap(hit.face.box, found.face.box),
            default=None,
        )
        if best is None or overlap(hit.face.box, best.face.box) < MIN_OVERLAP:
            answers.append({"detector": detection.detector, "name": None})
            continue
        answers.append(
            {
                "detector": detection.detector,
                "name": best.name,
                "confidence": best.face.confidence,
                "box": best.face.box.as_dict(),
                "kind": best.kind.value,
                "reason": rules.reason(best.face),
            }
        )
    return answers


MIN_OVERLAP = 0.3
"""Intersection over union above which two detectors' boxes are the same face."""


def overlap(first: Box, second: Box) -> float:
    """Intersection over union of two boxes (0: apart, 1: the same)."""
    width = min(first.left + first.width, second.left + second.width) - max(
        first.left, second.left
    )
    height = min(first.top + first.height, second.top + second.height) - max(
        first.top, second.top
    )
    if width <= 0 or height <= 0:
        return 0.0
    shared = width * height
    return shared / (first.area + second.area - shared)


class ResultRecorder:
    """Writes the faces of finished results into the history."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        *,
        history: HistoryStore,
        root: Path,
        settings: LiveSettings,
    ) -> None:
        """Bind the recorder to the history, the ``double_take/`` folder and the options."""
        self._hass = hass
        self._entry_id = entry_id
        self._history = history
        self._root = root
        self._settings = settings

    async def async_record(
        self, result: RecognitionResult, source: str
    ) -> list[Record]:
        """Record the faces of ``result``; returns the rows written."""
        settings = self._settings.for_camera(result.camera)
        hits = [*result.matches, *result.misses]
        if settings.save_unknown:
            hits += result.unknowns
        if not hits:
            return []
        images = {(image.type, image.attempt): image for image in result.analyzed}
        rows = [
            (
                hit,
                face_detections(
                    hit, images.get((hit.type, hit.attempt)), settings.rules
                ),
            )
            for hit in hits
        ]
        time = result.time.timestamp()

        def new_record(hit: FaceHit, detections: list[dict[str, Any]]) -> NewRecord:
            # Frame, crop and their size are filled in once they are written.
            return NewRecord(
                time=time,
                source=source,
                camera=result.camera,
                event_id=result.id,
                kind=hit.kind.value,
                name=hit.face.name,
                confidence=hit.face.confidence,
                detector=hit.detector,
                box=hit.face.box.as_dict(),
                detections=detections,
            )

        records = await self._hass.async_add_executor_job(self._write, rows, new_record)
        if records:
            async_dispatcher_send(self._hass, history_signal(self._entry_id), records)
        return records

    def _write(
        self,
        rows: list[tuple[FaceHit, list[dict[str, Any]]]],
        new_record: Callable[[FaceHit, list[dict[str, Any]]], NewRecord],
    ) -> list[Record]:
        """Save frames (once per image) and crops, insert the rows, drop what overflows."""
        folder = self._root / HISTORY_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        frames: dict[int, str] = {}
        # The image a match (or unknown face) was just saved as is this very frame.
        saved: dict[int, Path] = {}
        for hit, _ in rows:
            if hit.image_path:
                saved.setdefault(id(hit.image), self._root / hit.image_path)
        records: list[NewRecord] = []
        for hit, detections in rows:
            size = 0
            if (frame := frames.get(id(hit.image))) is None:
                # Several faces of one image share its frame; its size counts once.
                frame = frames[id(hit.image)] = self._save(
                    folder, "frame", hit.image, saved.get(id(hit.image))
                )
                size += len(hit.image)
            # The crop is only named here: it is cut when first asked for (make_face).
            # Most faces are never looked at, and cutting one decodes the whole frame.
            face = f"{HISTORY_FOLDER}/{secrets.token_hex(8)}-face.jpg"
            records.append(
                replace(new_record(hit, detections), frame=frame, face=face, bytes=size)
            )
        recorded, dropped = self._history.add(records)
        for relative in dropped:
            (self._root / relative).unlink(missing_ok=True)
        return recorded

    @staticmethod
    def _save(folder: Path, kind: str, data: bytes, same_as: Path | None) -> str:
        """Save ``data`` in ``folder``, as a second name of ``same_as`` if possible.

        ``same_as`` is the match image just saved from the same bytes.
        """
        name = f"{secrets.token_hex(8)}-{kind}{image_extension(data)}"
        write_whole(folder / name, data, same_as)
        return f"{HISTORY_FOLDER}/{name}"


def make_face(history: HistoryStore, root: Path, face: str) -> bytes:
    """Return the face crop ``face`` (``history/…-face.jpg``), cutting it on first use.

    Blocking (Pillow, files, SQLite): run it in the executor. Raises FileNotFoundError
    when no recorded face has that crop, its frame is gone, or the face cannot be cut
    out of it.
    """
    path = root / face
    if path.is_file() and not path.is_symlink():
        return path.read_bytes()
    if (source := history.face_source(face)) is None:
        raise FileNotFoundError(face)
    frame, box = source
    try:
        image = (root / frame).read_bytes()
        crop = crop_face(image, Box.from_rect(**box))
    except (OSError, UndrawableImageError, TypeError) as err:
        _LOGGER.debug("No face crop %s: %s", face, err)
        raise FileNotFoundError(face) from err
    write_whole(path, crop)
    history.add_bytes(face, len(crop))
    return crop
