"""Image files under ``<config>/double_take/`` (SPEC §7), written in the executor.

Names come from users and from detector servers, so both are validated before they
become part of a path, and every path is checked to stay inside the storage root.
"""

from __future__ import annotations

from pathlib import Path
import re
import secrets

MAX_NAME_LENGTH = 64
MATCHES = "matches"
UNKNOWN = "unknown"
TRAIN = "train"
LOCAL = "local"
FOLDERS = (MATCHES, UNKNOWN, TRAIN, LOCAL)

_BAD_NAME_CHARS = re.compile(r"[/\\\x00-\x1f\x7f]")
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_IMAGE_EXTENSIONS = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"GIF8", ".gif"),
    (b"BM", ".bmp"),
    (b"RIFF", ".webp"),
)


class InvalidNameError(ValueError):
    """A person name that cannot be used (the message says why)."""


def validate_name(name: str) -> str:
    """Return ``name`` stripped, or raise InvalidNameError.

    No path separators, no ``..``, no control characters, 1–64 characters. Case is kept
    for display; callers compare names case-insensitively.
    """
    if not isinstance(name, str):
        raise InvalidNameError("the name must be text")
    cleaned = name.strip()
    if not cleaned:
        raise InvalidNameError("the name is empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidNameError(f"the name is longer than {MAX_NAME_LENGTH} characters")
    if _BAD_NAME_CHARS.search(cleaned):
        raise InvalidNameError(
            "the name contains a path separator or a control character"
        )
    if cleaned in {".", ".."} or ".." in cleaned:
        raise InvalidNameError("the name contains '..'")
    return cleaned


def image_extension(data: bytes) -> str:
    """File extension for image bytes (JPEG unless the magic says otherwise)."""
    for magic, extension in _IMAGE_EXTENSIONS:
        if data.startswith(magic):
            return extension
    return ".jpg"


class MediaStore:
    """The integration's folder tree; all methods do blocking I/O (run them in the executor)."""

    def __init__(self, root: Path) -> None:
        """``root`` is ``<config>/double_take``."""
        self.root = root

    def ensure_folders(self) -> None:
        """Create the folder tree (idempotent)."""
        for folder in FOLDERS:
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    def save_image(
        self, folder: str, person: str | None, stem: str, data: bytes
    ) -> str:
        """Write ``data`` under ``folder[/person]`` and return the path relative to root.

        ``stem`` is made file-name safe; a random suffix keeps two saves of the same
        attempt apart.
        """
        parts = [folder]
        if person is not None:
            parts.append(validate_name(person))
        directory = self._inside(self.root.joinpath(*parts))
        directory.mkdir(parents=True, exist_ok=True)
        safe_stem = _UNSAFE_ID_CHARS.sub("_", stem).lstrip(".")[:120] or "image"
        path = self._inside(
            directory / f"{safe_stem}-{secrets.token_hex(3)}{image_extension(data)}"
        )
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return path.relative_to(self.root).as_posix()

    def train_names(self) -> list[str]:
        """Names of the person folders under ``train/`` that are valid names."""
        train = self.root / TRAIN
        if not train.is_dir():
            return []
        names = []
        for child in train.iterdir():
            try:
                names.append(validate_name(child.name))
            except InvalidNameError:
                continue
            if not child.is_dir():
                names.pop()
        return sorted(names, key=str.casefold)

    def _inside(self, path: Path) -> Path:
        """``path`` resolved, refusing anything outside the storage root."""
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root.resolve()):
            raise InvalidNameError(f"{path} is outside {self.root}")
        return resolved
