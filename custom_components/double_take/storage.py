"""Image files under ``<config>/double_take/`` (SPEC §7), written in the executor.

Names come from users and from detector servers, so both are validated before they
become part of a path, and every path is checked to stay inside the storage root.
"""

from __future__ import annotations

from collections.abc import Iterable
import contextlib
from dataclasses import dataclass
import hashlib
import logging
import os
from pathlib import Path
import re
import secrets
import unicodedata

from .api.http import MAX_IMAGE_BYTES, looks_like_image
from .api.images import image_problem

_LOGGER = logging.getLogger(__name__)

MAX_NAME_LENGTH = 64
# What a folder name may take on Linux file systems (64 emoji would be 256).
MAX_NAME_BYTES = 255
MATCHES = "matches"
UNKNOWN_FOLDER = "unknown"
TRAIN = "train"
LOCAL = "local"
HISTORY = "history"
FOLDERS = (MATCHES, UNKNOWN_FOLDER, TRAIN, LOCAL, HISTORY)
BROWSABLE = (MATCHES, UNKNOWN_FOLDER, TRAIN)
"""Folders of images a user may look at (``local/`` holds face descriptors)."""
PERSON_FOLDERS = (MATCHES, TRAIN)
"""Folders that have one sub-folder per person."""
PURGEABLE = (MATCHES, UNKNOWN_FOLDER)
SERVED = (*BROWSABLE, HISTORY)
"""Folders whose images the media view serves (``history/``: frames and face crops)."""
"""The only folders purge deletes in; never ``train/``."""

MAX_TRAIN_IMAGE_BYTES = MAX_IMAGE_BYTES
MIME_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".webp": "image/webp",
}

_BAD_NAME_CHARS = re.compile(r"[/\\\x00-\x1f\x7f]")
# Invisible characters a name must not hide: controls, format characters (bidi
# controls such as U+202E, zero-width spaces and joiners, U+FEFF) and line separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_IMAGE_EXTENSIONS = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"GIF8", ".gif"),
    (b"BM", ".bmp"),
    (b"RIFF", ".webp"),
)


class InvalidNameError(ValueError):
    """A person name that cannot be used (the message says why)."""


@dataclass(frozen=True, slots=True)
class StoredImage:
    """An image file under the storage root."""

    path: str
    """Path relative to the root, with ``/`` separators (``matches/alice/x.jpg``)."""
    modified: float
    """Modification time (seconds since the epoch)."""

    @property
    def name(self) -> str:
        """The file name."""
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class TrainFile:
    """A training image of ``train/<name>/``: its content hash, not its bytes.

    The bytes are read again, a bounded batch at a time, when a detector is sent the
    image (``read_train_images``).
    """

    path: str
    """Path relative to the root (``train/alice/3fa2….jpg``)."""
    digest: str
    """sha256 of the content, hex."""
    size: int
    """Bytes."""


def content_hash(data: bytes) -> str:
    """Return the content hash that tells training images apart (sha256, hex)."""
    return hashlib.sha256(data).hexdigest()


def mime_type(path: str | Path) -> str | None:
    """MIME type of an image file name, or None when it is not one we serve."""
    return MIME_TYPES.get(Path(path).suffix.lower())


def validate_name(name: str) -> str:
    """Return ``name`` NFC-normalised and stripped, or raise InvalidNameError.

    No path separators, no ``..``, no control characters, no invisible characters (bidi
    controls, zero-width characters), 1–64 characters. NFC makes a composed and a
    decomposed ``José`` one name. Case is kept for display; callers compare names
    case-insensitively.
    """
    if not isinstance(name, str):
        raise InvalidNameError("the name must be text")
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise InvalidNameError("the name is empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidNameError(f"the name is longer than {MAX_NAME_LENGTH} characters")
    if _BAD_NAME_CHARS.search(cleaned):
        raise InvalidNameError(
            "the name contains a path separator or a control character"
        )
    if any(unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in cleaned):
        raise InvalidNameError(
            "the name contains an invisible character (a bidi control, a zero-width"
            " character or a control character)"
        )
    if cleaned in {".", ".."} or ".." in cleaned:
        raise InvalidNameError("the name contains '..'")
    try:
        encoded = cleaned.encode("utf-8")
    except UnicodeEncodeError as err:
        # A lone surrogate: valid in JSON from a detector, not in a file name.
        raise InvalidNameError("the name is not valid Unicode text") from err
    if len(encoded) > MAX_NAME_BYTES:
        raise InvalidNameError(
            f"the name is longer than a file name may be ({MAX_NAME_BYTES} bytes)"
        )
    return cleaned


def image_extension(data: bytes) -> str:
    """File extension for image bytes (JPEG unless the magic says otherwise)."""
    for magic, extension in _IMAGE_EXTENSIONS:
        if data.startswith(magic):
            return extension
    return ".jpg"


def hard_link(source: Path, target: Path) -> bool:
    """Give the file ``source`` the second name ``target``; False when it cannot be.

    A hard link costs a directory entry where writing the bytes again costs a new file
    (about 20 µs against 0.3–1 ms of CPU on the development machine); each name lives
    on until it is deleted. False when the file system refuses links or ``source`` is
    a symbolic link (its target may be anywhere): then write the file instead.
    """
    try:
        if source.is_symlink():
            return False
        os.link(source, target, follow_symlinks=False)
    except OSError as err:
        _LOGGER.debug("Cannot link %s to %s (writing it): %s", target, source, err)
        return False
    return True


def write_whole(path: Path, data: bytes, same_as: Path | None = None) -> None:
    """Write a file whole or not at all: a reader never sees half an image.

    ``same_as``: a file already holding these very bytes (an image just saved under
    another name): ``path`` becomes a second name of it (``hard_link``) when it can.
    """
    if same_as is not None and hard_link(same_as, path):
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


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
        """Write ``data`` under ``folder[/person]`` and return the path relative to root."""
        relative = self.plan_image_path(folder, person, stem, data)
        if not self.write_images({relative: data}):
            raise InvalidNameError(f"{relative} is outside {self.root}")
        return relative

    @staticmethod
    def plan_image_path(folder: str, person: str | None, stem: str, data: bytes) -> str:
        """Choose the path (relative to root) an image will be saved at; no I/O.

        ``stem`` is made file-name safe; a random suffix keeps two saves of the same
        attempt apart. Raises InvalidNameError for a person name that cannot be a folder.
        """
        parts = [folder]
        if person is not None:
            parts.append(validate_name(person))
        safe_stem = _UNSAFE_ID_CHARS.sub("_", stem).lstrip(".")[:120] or "image"
        parts.append(f"{safe_stem}-{secrets.token_hex(3)}{image_extension(data)}")
        return "/".join(parts)

    def write_images(self, files: dict[str, bytes]) -> set[str]:
        """Write planned images (relative path → bytes); returns the paths written.

        A path that leads outside the root (a person folder that is a link elsewhere) is
        not written.
        """
        written: set[str] = set()
        first: dict[int, Path] = {}  # by image: where it was written first
        root = self.root.resolve()
        for relative, data in files.items():
            planned = self.root / relative
            # The folder is resolved (links followed) and checked, once; the file name
            # is new (a random suffix), so the file is that folder's.
            try:
                folder = self._inside(planned.parent, root)
            except InvalidNameError:
                continue
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / planned.name
            # One image saved twice (a match and an unknown face of one frame): a
            # second name of the same file, not a second file.
            source = first.setdefault(id(data), path)
            write_whole(path, data, None if source is path else source)
            written.add(relative)
        return written

    def train_names(self) -> list[str]:
        """Names of the person folders under ``train/`` that are valid names."""
        return self.person_names(TRAIN)

    def person_names(self, folder: str) -> list[str]:
        """Names of the person folders under ``folder`` that are valid names, sorted."""
        base = self.root / folder
        if not base.is_dir():
            return []
        names = []
        for child in base.iterdir():
            try:
                name = validate_name(child.name)
            except InvalidNameError:
                continue
            # A folder spelt otherwise than its name (not NFC, spaces around it) is
            # not one ``_folder`` would find.
            if name == child.name and child.is_dir() and not child.is_symlink():
                names.append(name)
        return sorted(names, key=str.casefold)

    def person_folder(self, folder: str, name: str) -> str | None:
        """Spelling of the existing person folder matching ``name`` case-insensitively."""
        key = validate_name(name).casefold()
        return next(
            (
                existing
                for existing in self.person_names(folder)
                if existing.casefold() == key
            ),
            None,
        )

    def images(self, folder: str, person: str | None = None) -> list[StoredImage]:
        """Image files of ``folder[/person]``, newest first (symlinks are left out)."""
        directory = self._folder(folder, person)
        if not directory.is_dir():
            return []
        root = self.root.resolve()
        found = []
        with os.scandir(directory) as entries:
            for entry in entries:
                if mime_type(entry.name) is None or not entry.is_file(
                    follow_symlinks=False
                ):
                    continue
                found.append(
                    StoredImage(
                        (directory / entry.name).relative_to(root).as_posix(),
                        entry.stat(follow_symlinks=False).st_mtime,
                    )
                )
        return sorted(found, key=lambda image: (-image.modified, image.path))

    def image_path(self, relative: str) -> Path:
        """Absolute path of a browsable image given relative to the root.

        Accepts ``matches/<name>/<file>``, ``unknown/<file>``, ``train/<name>/<file>``
        and ``history/<file>`` only; raises InvalidNameError for anything else and
        FileNotFoundError when the file does not exist.
        """
        parts = relative.split("/")
        folder = parts[0]
        expected = 3 if folder in PERSON_FOLDERS else 2
        if folder not in SERVED or len(parts) != expected:
            raise InvalidNameError(f"not an image path: {relative!r}")
        person = validate_name(parts[1]) if expected == 3 else None
        # Checked like a name, used as spelt (a file copied from macOS is NFD).
        file_name = parts[-1]
        if validate_name(file_name) != unicodedata.normalize("NFC", file_name):
            raise InvalidNameError(f"not an image file name: {relative!r}")
        if mime_type(file_name) is None:
            raise InvalidNameError(f"not an image file name: {relative!r}")
        path = self._folder(folder, person) / file_name
        if path.is_symlink() or not path.is_file():
            raise FileNotFoundError(relative)
        return self._inside(path)

    def save_train_image(self, person: str, data: bytes) -> str:
        """Write ``data`` into ``train/<person>/`` named by its content hash.

        An identical image already there is not written again. Returns the path
        relative to the root.
        """
        return self.add_train_image(person, data)[0]

    def add_train_image(self, person: str, data: bytes) -> tuple[str, bool]:
        """Like ``save_train_image``; also says whether the file is new (written now)."""
        directory = self._folder(TRAIN, person)
        directory.mkdir(parents=True, exist_ok=True)
        path = self._inside(
            directory / f"{content_hash(data)[:16]}{image_extension(data)}"
        )
        created = not path.exists()
        if created:
            write_whole(path, data)
        return path.relative_to(self.root.resolve()).as_posix(), created

    def remove_train_images(self, paths: Iterable[str]) -> None:
        """Delete training images given relative to the root (links are not touched).

        A person folder left empty is removed too.
        """
        for relative in paths:
            if not relative.startswith(f"{TRAIN}/"):
                continue
            try:
                path = self.image_path(relative)
            except InvalidNameError, FileNotFoundError:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            with contextlib.suppress(OSError):  # not empty
                path.parent.rmdir()

    def read(self, relative: str) -> bytes:
        """Read a served image given relative to the root (see ``image_path``)."""
        return self.image_path(relative).read_bytes()

    def delete_files(self, paths: Iterable[str]) -> None:
        """Delete history files given relative to the root (links are not touched)."""
        for relative in paths:
            if not relative.startswith(f"{HISTORY}/"):
                continue
            with contextlib.suppress(InvalidNameError, FileNotFoundError):
                self.image_path(relative).unlink()

    def train_digests(self, person: str) -> list[tuple[str, str]]:
        """(path, content hash) of each usable image of ``train/<person>/``."""
        folder = self.person_folder(TRAIN, person) or person
        return [(file.path, file.digest) for file in self.train_files(folder)]

    def delete_train_image(self, person: str, file_name: str) -> None:
        """Delete ``train/<person>/<file_name>``; raise FileNotFoundError if it is not one."""
        folder = self.person_folder(TRAIN, person) or person
        relative = f"{TRAIN}/{folder}/{file_name}"
        self.image_path(relative)  # refuses anything but an image of that folder
        self.remove_train_images([relative])

    def train_files(self, person: str) -> list[TrainFile]:
        """List the images of ``train/<person>/`` with their hashes, oldest first.

        Each file is read and checked like an image to recognize (a decompression bomb,
        a truncated file or something that is not an image is left out), one at a time:
        the bytes are not kept. Identical content under two names counts once.
        """
        files: list[TrainFile] = []
        seen: set[str] = set()
        for image in reversed(self.images(TRAIN, person)):
            data = self._read_train_image(image.path)
            if data is None:
                continue
            digest = content_hash(data)
            if digest not in seen:
                seen.add(digest)
                files.append(TrainFile(image.path, digest, len(data)))
        return files

    def read_train_images(self, files: Iterable[TrainFile]) -> dict[str, bytes]:
        """Path → bytes of ``files``; one changed or gone since it was listed is left out."""
        images: dict[str, bytes] = {}
        for file in files:
            data = self._read_train_image(file.path)
            if data is not None and content_hash(data) == file.digest:
                images[file.path] = data
        return images

    def _read_train_image(self, relative: str) -> bytes | None:
        """Return a training image's bytes, or None when unreadable or not usable."""
        # ``relative`` comes from ``images``: inside the root, no link.
        try:
            with (self.root / relative).open("rb") as file:
                data = file.read(MAX_TRAIN_IMAGE_BYTES + 1)
        except OSError:
            return None
        if (
            len(data) > MAX_TRAIN_IMAGE_BYTES
            or not looks_like_image(data)
            or image_problem(data) is not None
        ):
            return None
        return data

    def count_images(self) -> dict[str, int]:
        """Count the files of each top-level folder (person folders included)."""
        counts = {}
        for folder in FOLDERS:
            base = self.root / folder
            counts[folder] = (
                sum(
                    1
                    for path in base.rglob("*")
                    if path.is_file() and not path.is_symlink()
                )
                if base.is_dir()
                else 0
            )
        return counts

    def purge(self, folder: str, older_than: float) -> int:
        """Delete the files of ``folder`` (and its person folders) modified before ``older_than``.

        Only ``matches/`` and ``unknown/``; symlinks are never followed or deleted, and
        person folders left empty are removed. Returns the number of deleted files.
        """
        if folder not in PURGEABLE:
            raise ValueError(f"{folder} is never purged")
        path = self.root / folder
        if path.is_symlink() or not path.is_dir():
            # A link (``matches -> train``) or not a folder: links are never followed.
            return 0
        base = self._inside(path)
        if base != self.root.resolve() / folder:
            return 0
        deleted = self._purge_dir(base, older_than)
        with os.scandir(base) as entries:
            subfolders = [
                Path(entry.path)
                for entry in entries
                if entry.is_dir(follow_symlinks=False)
            ]
        for directory in subfolders:
            deleted += self._purge_dir(directory, older_than)
            with contextlib.suppress(OSError):  # not empty
                directory.rmdir()
        return deleted

    @staticmethod
    def _purge_dir(directory: Path, older_than: float) -> int:
        deleted = 0
        with os.scandir(directory) as entries:
            for entry in entries:
                if not entry.is_file(follow_symlinks=False):
                    continue
                if entry.stat(follow_symlinks=False).st_mtime < older_than:
                    try:
                        Path(entry.path).unlink()
                    except FileNotFoundError:
                        continue
                    deleted += 1
        return deleted

    def _folder(self, folder: str, person: str | None) -> Path:
        """``folder[/person]`` inside the root, the person name validated."""
        if folder not in FOLDERS:
            raise InvalidNameError(f"unknown folder {folder!r}")
        parts = [folder] if person is None else [folder, validate_name(person)]
        return self._inside(self.root.joinpath(*parts))

    def _inside(self, path: Path, root: Path | None = None) -> Path:
        """``path`` resolved, refusing anything outside the storage root.

        ``root``: the root already resolved, by a caller checking many paths.
        """
        resolved = path.resolve()
        if not resolved.is_relative_to(root or self.root.resolve()):
            raise InvalidNameError(f"{path} is outside {self.root}")
        return resolved
