"""Media source "Double Take": browsing, resolving and serving images (SPEC §6.6)."""

from __future__ import annotations

from http import HTTPStatus
import os
from pathlib import Path
import re

import pytest
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MqttMockHAClient,
)

from homeassistant.components import media_source
from homeassistant.components.media_player import BrowseError, MediaClass
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from .common import (
    ALICE,
    EVENT_ID,
    FAST,
    event_message,
    fire,
    make_entry,
    setup_entry,
    setup_frigate_entry,
)
from .emulators.compreface import CompreFaceEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceWorld

PREFIX = "media-source://double_take"


@pytest.fixture
async def images(hass: HomeAssistant, face_world: FaceWorld) -> dict[str, bytes]:
    """Write matches of two persons, unknown and training images; set up media_source."""
    files = {
        "matches/alice/old.jpg": (face_world.image(), 1000),
        "matches/alice/new.jpg": (face_world.image(), 3000),
        "matches/Bob Smith/b.png": (face_world.image(fmt="PNG"), 2000),
        "unknown/u1.jpg": (face_world.image(), 1000),
        "unknown/u2.jpg": (face_world.image(), 2000),
        "train/alice/t.jpg": (face_world.image(), 500),
        "local/descriptors.jpg": (face_world.image(), 500),
    }
    for relative, (data, mtime) in files.items():
        path = Path(hass.config.path("double_take", relative))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))
    Path(hass.config.path("double_take", "unknown", "notes.txt")).write_text("x")
    await setup_entry(
        hass, make_entry(options={"purge_matches_hours": 0, "purge_unknown_hours": 0})
    )
    assert await async_setup_component(hass, "media_source", {})
    await hass.async_block_till_done()
    return {relative: data for relative, (data, _) in files.items()}


async def test_browse_root_and_folders(
    hass: HomeAssistant, images: dict[str, bytes]
) -> None:
    """Root lists Matches, Unknown and Train; Matches lists persons with a thumbnail."""
    root = await media_source.async_browse_media(hass, PREFIX)
    assert root.title == "Double Take"
    assert root.can_expand and not root.can_play
    assert [(child.title, child.media_content_id) for child in root.children] == [
        ("Matches", f"{PREFIX}/matches"),
        ("Unknown", f"{PREFIX}/unknown"),
        ("Train", f"{PREFIX}/train"),
    ]

    matches = await media_source.async_browse_media(hass, f"{PREFIX}/matches")
    assert [child.title for child in matches.children] == ["alice", "Bob Smith"]
    alice = matches.children[0]
    assert alice.media_class == MediaClass.DIRECTORY
    assert alice.thumbnail == "/api/double_take/media/matches/alice/new.jpg"
    assert matches.children[1].thumbnail == (
        "/api/double_take/media/matches/Bob%20Smith/b.png"
    )

    train = await media_source.async_browse_media(hass, f"{PREFIX}/train")
    assert [child.title for child in train.children] == ["alice"]


async def test_browse_images_newest_first(
    hass: HomeAssistant, images: dict[str, bytes]
) -> None:
    """A person's matches and the unknown images are listed newest first."""
    alice = await media_source.async_browse_media(hass, f"{PREFIX}/matches/alice")
    assert alice.title == "alice"
    assert alice.children_media_class == MediaClass.IMAGE
    assert [child.media_content_id for child in alice.children] == [
        f"{PREFIX}/matches/alice/new.jpg",
        f"{PREFIX}/matches/alice/old.jpg",
    ]
    first = alice.children[0]
    assert first.media_class == MediaClass.IMAGE
    assert first.media_content_type == "image/jpeg"
    assert first.can_play and not first.can_expand
    assert first.thumbnail == "/api/double_take/media/matches/alice/new.jpg"

    unknown = await media_source.async_browse_media(hass, f"{PREFIX}/unknown")
    assert [child.identifier for child in unknown.children] == [
        "unknown/u2.jpg",
        "unknown/u1.jpg",
    ]
    single = await media_source.async_browse_media(hass, f"{PREFIX}/unknown/u1.jpg")
    assert single.can_play
    train = await media_source.async_browse_media(hass, f"{PREFIX}/train/alice")
    assert [child.identifier for child in train.children] == ["train/alice/t.jpg"]


@pytest.mark.parametrize(
    "identifier",
    [
        "local",
        "matches/nobody",
        "matches/..",
        "matches/alice/../../../secret.jpg",
        "unknown/notes.txt",
        "unknown/missing.jpg",
        "train/a..b",
    ],
)
async def test_browse_refuses_what_is_not_ours(
    hass: HomeAssistant, images: dict[str, bytes], identifier: str
) -> None:
    """Other folders, traversal and non-images cannot be browsed."""
    with pytest.raises(BrowseError):
        await media_source.async_browse_media(hass, f"{PREFIX}/{identifier}")


async def test_resolve_and_serve(
    hass: HomeAssistant,
    images: dict[str, bytes],
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Resolving gives the authenticated view's URL; the view serves the bytes."""
    resolved = await media_source.async_resolve_media(
        hass, f"{PREFIX}/matches/Bob Smith/b.png", None
    )
    assert resolved.url == "/api/double_take/media/matches/Bob%20Smith/b.png"
    assert resolved.mime_type == "image/png"
    assert resolved.path is not None

    client = await hass_client()
    response = await client.get(resolved.url)
    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"] == "image/png"
    assert await response.read() == images["matches/Bob Smith/b.png"]

    anonymous = await hass_client_no_auth()
    response = await anonymous.get(resolved.url)
    assert response.status == HTTPStatus.UNAUTHORIZED

    for bad in (
        "local/descriptors.jpg",
        "unknown/notes.txt",
        "matches/alice/..%2F..%2Flocal%2Fdescriptors.jpg",
        "unknown/missing.jpg",
    ):
        response = await client.get(f"/api/double_take/media/{bad}")
        # HA's own filter answers 400 for encoded traversal, the view 404.
        assert response.status in (HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND), bad

    with pytest.raises(media_source.Unresolvable):
        await media_source.async_resolve_media(
            hass, f"{PREFIX}/local/descriptors.jpg", None
        )


async def test_saved_images_are_titled_with_name_confidence_and_camera(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """A match from an event is titled "alice 98 % · front_door · time"; older files by time."""
    await setup_frigate_entry(
        hass, frigate, compreface, known=("alice",), options={**FAST}
    )
    assert await async_setup_component(hass, "media_source", {})
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await fire(hass, event_message())
    old = Path(hass.config.path("double_take", "matches", "alice", "old.jpg"))
    old.write_bytes(face_world.image(ALICE))
    os.utime(old, (1000, 1000))
    alice = await media_source.async_browse_media(hass, f"{PREFIX}/matches/alice")
    titles = [child.title for child in alice.children]
    confidence = round(
        hass.states.get("sensor.double_take_alice").attributes["confidence"]
    )
    assert re.fullmatch(
        rf"alice {confidence} % · front_door · \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d",
        titles[0],
    ), titles
    assert re.fullmatch(r"alice · 19\d\d-\d\d-\d\d \d\d:\d\d:\d\d", titles[1]), titles
