"""What a saved match or unknown image shows, written into its file name and read back.

The media browser titles images with the face's name, confidence and camera. Saved
images carry them in their file name (``CAMERA--CONFIDENCE--EVENT-TYPE-ATTEMPT-xxxxxx``),
so listing a folder needs no database; older names show the time only.
"""

from __future__ import annotations

import re

from .result import FaceHit, RecognitionResult

_SEPARATOR = "--"
_TITLED = re.compile(r"^(?P<camera>.+?)--(?P<confidence>\d{1,3})--")


def saved_image_stem(result: RecognitionResult, hit: FaceHit) -> str:
    """Return the file name stem of a saved image (made file-name safe by storage)."""
    confidence = round(min(100.0, max(0.0, hit.face.confidence)))
    return _SEPARATOR.join(
        (result.camera, str(confidence), f"{result.id}-{hit.type}-{hit.attempt}")
    )


def image_title(file_name: str, person: str | None, taken: str) -> str:
    """Return the media browser's title of a saved image: who, how sure, where, when."""
    found = _TITLED.match(file_name)
    if found is None:
        return taken if person is None else f"{person} · {taken}"
    who = person or "unknown"
    return f"{who} {found['confidence']} % · {found['camera']} · {taken}"
