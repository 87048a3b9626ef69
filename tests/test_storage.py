"""Files under double_take/ (SPEC §7), name validation and the person index's Store."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any
from unittest.mock import patch

from PIL import Image
import pytest

from custom_components.double_take.index import STORAGE_VERSION, PersonIndex
from custom_components.double_take.storage import (
    InvalidNameError,
    MediaStore,
    content_hash,
    hard_link,
    mime_type,
    validate_name,
)
from homeassistant.core import HomeAssistant

from .common import make_entry, setup_entry


def _image(kind: str) -> bytes:
    """Make a small real image: training images are checked like images to recognize."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, kind)
    return buffer.getvalue()


JPEG = _image("JPEG")
PNG = _image("PNG")


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    """Create a media store with its folders under tmp_path/config/double_take."""
    media = MediaStore(tmp_path / "config" / "double_take")
    media.ensure_folders()
    return media


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Alice", "Alice"),
        ("  Bob Smith ", "Bob Smith"),
        ("Zoë", "Zoë"),
        ("x" * 64, "x" * 64),
    ],
)
def test_valid_names(name: str, expected: str) -> None:
    """Case and inner spaces are kept; the ends are trimmed."""
    assert validate_name(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        "../x",
        "a/b",
        "a\\b",
        "..",
        ".",
        "a..b",
        "x" * 65,
        "a\x00b",
        "a\nb",
        "\x7f",
        5,
    ],
)
def test_invalid_names(name: Any) -> None:
    """Separators, '..', control characters, empty and too long names are refused."""
    with pytest.raises(InvalidNameError):
        validate_name(name)


def test_hard_link_only_of_a_real_file(tmp_path: Path) -> None:
    """A second name of a regular file; never of a symbolic link, nor of nothing."""
    folder = tmp_path / "files"
    folder.mkdir()
    source = folder / "a.jpg"
    source.write_bytes(b"\xff\xd8\xff image")
    assert hard_link(source, folder / "b.jpg")
    assert (folder / "b.jpg").samefile(source)
    outside = folder / "outside.jpg"
    outside.write_bytes(b"elsewhere")
    (folder / "link.jpg").symlink_to(outside)
    assert not hard_link(folder / "link.jpg", folder / "c.jpg")
    assert not hard_link(folder / "missing.jpg", folder / "d.jpg")
    assert not hard_link(source, folder / "b.jpg")  # the name is taken
    assert sorted(path.name for path in folder.iterdir()) == [
        "a.jpg",
        "b.jpg",
        "link.jpg",
        "outside.jpg",
    ]


def test_save_train_image_by_content_hash(store: MediaStore) -> None:
    """Training images are named by content hash; the same content is written once."""
    first = store.save_train_image("Alice", JPEG)
    again = store.save_train_image("Alice", JPEG)
    png = store.save_train_image("Alice", PNG)
    assert first == again == f"train/Alice/{content_hash(JPEG)[:16]}.jpg"
    assert png == f"train/Alice/{content_hash(PNG)[:16]}.png"
    assert sorted(p.name for p in (store.root / "train" / "Alice").iterdir()) == sorted(
        [first.rsplit("/", 1)[1], png.rsplit("/", 1)[1]]
    )
    with pytest.raises(InvalidNameError):
        store.save_train_image("../escape", JPEG)
    assert not (store.root / "escape").exists()


def test_train_files(store: MediaStore) -> None:
    """Images with hashes, oldest first; copies count once; other files are ignored."""
    folder = store.root / "train" / "bob"
    folder.mkdir()
    (folder / "b.jpg").write_bytes(JPEG)
    (folder / "a.png").write_bytes(PNG)
    (folder / "copy.jpg").write_bytes(JPEG)
    (folder / "fake.jpg").write_bytes(b"not an image")
    (folder / "notes.txt").write_bytes(JPEG)
    os.utime(folder / "a.png", (1000, 1000))
    os.utime(folder / "b.jpg", (2000, 2000))
    os.utime(folder / "copy.jpg", (3000, 3000))

    files = store.train_files("bob")

    assert [(f.path, f.digest) for f in files] == [
        ("train/bob/a.png", content_hash(PNG)),
        ("train/bob/b.jpg", content_hash(JPEG)),
    ]
    assert store.train_files("nobody") == []


def test_person_folders(store: MediaStore) -> None:
    """Person folders are found case-insensitively; files and bad names are not persons."""
    (store.root / "train" / "Alice").mkdir()
    (store.root / "train" / "bob").mkdir()
    (store.root / "train" / "stray.jpg").write_bytes(JPEG)
    (store.root / "train" / "a..b").mkdir()
    assert store.train_names() == ["Alice", "bob"]
    assert store.person_folder("train", "ALICE") == "Alice"
    assert store.person_folder("train", "carol") is None
    assert store.person_names("matches") == []


def test_image_path_stays_inside(store: MediaStore, tmp_path: Path) -> None:
    """Only image files of matches/, unknown/ and train/ are reachable."""
    (store.root / "matches" / "alice").mkdir()
    (store.root / "matches" / "alice" / "a.jpg").write_bytes(JPEG)
    (store.root / "unknown" / "u.png").write_bytes(PNG)
    (store.root / "local" / "d.jpg").write_bytes(JPEG)
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(JPEG)
    (store.root / "unknown" / "link.jpg").symlink_to(outside)

    assert store.image_path("matches/alice/a.jpg").read_bytes() == JPEG
    assert store.image_path("unknown/u.png").read_bytes() == PNG
    for bad in (
        "local/d.jpg",
        "matches/a.jpg",
        "matches/../../outside.jpg",
        "unknown/../local/d.jpg",
        "matches/alice/../a.jpg",
        "train/alice/a.txt",
        "unknown",
        "",
    ):
        with pytest.raises(InvalidNameError):
            store.image_path(bad)
    for missing in ("unknown/link.jpg", "unknown/none.jpg", "matches/bob/a.jpg"):
        with pytest.raises(FileNotFoundError):
            store.image_path(missing)


def test_images_newest_first_and_counts(store: MediaStore) -> None:
    """Listings are newest first; counts cover every folder."""
    folder = store.root / "matches" / "alice"
    folder.mkdir()
    for name, mtime in (("old.jpg", 100), ("new.jpg", 300), ("mid.jpg", 200)):
        (folder / name).write_bytes(JPEG)
        os.utime(folder / name, (mtime, mtime))
    (store.root / "unknown" / "u.jpg").write_bytes(JPEG)

    assert [image.name for image in store.images("matches", "alice")] == [
        "new.jpg",
        "mid.jpg",
        "old.jpg",
    ]
    assert store.images("matches", "nobody") == []
    assert store.count_images() == {
        "matches": 3,
        "unknown": 1,
        "train": 0,
        "local": 0,
        "history": 0,
    }
    assert MediaStore(store.root / "missing").count_images() == {
        "matches": 0,
        "unknown": 0,
        "train": 0,
        "local": 0,
        "history": 0,
    }
    assert mime_type("a.JPEG") == "image/jpeg"
    assert mime_type("a.txt") is None


def test_purge_never_touches_train(store: MediaStore) -> None:
    """Only matches/ and unknown/ can be purged."""
    with pytest.raises(ValueError):
        store.purge("train", 1e12)
    assert MediaStore(store.root / "missing").purge("matches", 1e12) == 0


async def test_store_migration_from_version_1(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """A version-1 index (a list of names) is upgraded: persons kept, nothing trained."""
    entry = make_entry()
    hass_storage[f"double_take.{entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"double_take.{entry.entry_id}",
        "data": {"persons": ["Alice", "bob", 42]},
    }
    await setup_entry(hass, entry)
    data = entry.runtime_data
    assert data.persons.names == ["Alice", "bob"]
    assert data.index.display_name("ALICE") == "Alice"
    assert data.index.trained_counts() == {}

    await data.index.async_save()
    stored = hass_storage[f"double_take.{entry.entry_id}"]
    assert stored["version"] == STORAGE_VERSION
    assert stored["data"] == {
        "persons": {"alice": "Alice", "bob": "bob"},
        "trained": {},
    }


async def test_index_round_trip(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """What the index records survives a new instance; forgetting a detector drops it."""
    index = PersonIndex(hass, "entry1")
    await index.async_load()
    index.add_person("Alice")
    index.record_trained("det1", "ALICE", "abc", "ref1")
    index.record_trained("det2", "alice", "abc", None)
    await index.async_save()

    again = PersonIndex(hass, "entry1")
    await again.async_load()
    assert again.persons == ["Alice"]
    assert again.trained("det1", "alice") == {"abc": "ref1"}
    assert again.trained_counts() == {"det1": 1, "det2": 1}
    again.forget_detectors_except({"det2", "det3"})
    assert again.trained_counts() == {"det2": 1}


async def test_setup_creates_folders(hass: HomeAssistant) -> None:
    """Setup creates the four folders under the config dir."""
    await setup_entry(hass, make_entry())
    for folder in ("matches", "unknown", "train", "local"):
        assert Path(hass.config.path("double_take", folder)).is_dir()


def test_nothing_is_written_through_a_linked_person_folder(
    store: MediaStore, tmp_path: Path
) -> None:
    """A person folder that links outside double_take/ is refused, for reading too."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (store.root / "train" / "evil").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidNameError):
        store.save_train_image("evil", JPEG)
    with pytest.raises(InvalidNameError):
        store.train_files("evil")
    with pytest.raises(InvalidNameError):
        store.images("bogus")
    assert list(outside.iterdir()) == []
    assert store.train_names() == []
    assert MediaStore(store.root / "missing").person_names("train") == []


def test_unreadable_and_vanishing_files(store: MediaStore) -> None:
    """A training image that cannot be read is left out; a file gone mid-purge is fine."""
    folder = store.root / "train" / "bob"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(JPEG)
    with patch.object(Path, "open", side_effect=PermissionError("denied")):
        assert store.train_files("bob") == []

    old = store.root / "unknown" / "old.jpg"
    old.write_bytes(JPEG)
    os.utime(old, (0, 0))
    with patch.object(Path, "unlink", side_effect=FileNotFoundError):
        assert store.purge("unknown", 1000) == 0


async def test_index_removed_with_the_entry(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Deleting the entry deletes its index (images stay)."""
    entry = await setup_entry(hass, make_entry())
    entry.runtime_data.index.add_person("Alice")
    await entry.runtime_data.index.async_save()
    assert f"double_take.{entry.entry_id}" in hass_storage
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert f"double_take.{entry.entry_id}" not in hass_storage
    assert Path(hass.config.path("double_take", "train")).is_dir()


async def test_index_of_an_older_minor_version_loads(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """A version-2 document of an older minor version is used as it is."""
    hass_storage["double_take.entry2"] = {
        "version": 2,
        "minor_version": 0,
        "key": "double_take.entry2",
        "data": {"persons": {"bob": "Bob"}},
    }
    index = PersonIndex(hass, "entry2")
    await index.async_load()
    assert index.persons == ["Bob"]
    assert index.trained("det", "bob") == {}
