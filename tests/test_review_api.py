"""The result history and the review API: WebSocket commands, signed images, upload."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
import io
import os
from pathlib import Path
from typing import Any
from unittest.mock import patch

import aiohttp
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MqttMockHAClient,
    WebSocketGenerator,
)

from custom_components.double_take import draw
from custom_components.double_take.api.models import Box
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util

from .common import ALICE, BOB, EVENT_ID, FAST, event_message, fire, setup_frigate_entry
from .emulators.compreface import CompreFaceEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec, FaceWorld

MALLORY = FaceSpec("mallory", BOB.box)
SECOND_EVENT = "1760011300.412398-z9y8x7"


@pytest.fixture
def crops_show_their_face(
    face_world: FaceWorld,
) -> Iterator[Callable[[], list[bytes]]]:
    """Tell the emulators who a face crop shows (they know faces by exact bytes only)."""
    made: list[bytes] = []
    real = draw.crop_face

    def crop(image: bytes, box: Box) -> bytes:
        data = real(image, box)
        faces = face_world.faces_in(image) or []
        for face in faces:
            if face.box == (box.left, box.top, box.width, box.height):
                width, height = Image.open(io.BytesIO(data)).size
                face_world.register(
                    data, [FaceSpec(face.identity, (0, 0, width, height))]
                )
        made.append(data)
        return data

    with patch("custom_components.double_take.recorder.crop_face", side_effect=crop):
        yield lambda: made


@pytest.fixture
async def entry(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    crops_show_their_face: Callable[[], list[bytes]],
) -> MockConfigEntry:
    """Set up an entry that keeps unknown faces, CompreFace knowing alice only."""
    return await setup_frigate_entry(
        hass,
        frigate,
        compreface,
        known=("alice",),
        options={**FAST, "save_unknown": True},
    )


async def alice_and_a_stranger(
    hass: HomeAssistant, frigate: FrigateEmulator, face_world: FaceWorld
) -> None:
    """Run an event whose snapshot shows alice and mallory (unknown)."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE, MALLORY)])
    frigate.set_latest("front_door", [404])
    await fire(hass, event_message())


async def show_faces(web: Any, rows: list[dict[str, Any]]) -> None:
    """Fetch each row's face crop as the panel's ``<img>`` does (crops are cut then)."""
    for row in rows:
        response = await web.get(row["face_url"])
        assert response.status == 200, row
        assert (await response.read()).startswith(b"\xff\xd8\xff")


async def ws(client: Any, **message: Any) -> Any:
    """Send one command and return its result (or raise with its error)."""
    await client.send_json_auto_id(message)
    answer = await client.receive_json()
    if not answer["success"]:
        raise AssertionError(answer["error"])
    return answer["result"]


async def test_event_with_known_and_unknown_face_records_two_rows(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """One row per face, newest first, with every detector's answer and signed images."""
    await alice_and_a_stranger(hass, frigate, face_world)
    client = await hass_ws_client(hass)
    page = await ws(client, type="double_take/results")
    assert page["next"] is None
    rows = {row["kind"]: row for row in page["results"]}
    assert set(rows) == {"match", "unknown"}
    match = rows["match"]
    assert (match["name"], match["camera"], match["event_id"], match["source"]) == (
        "alice",
        "front_door",
        EVENT_ID,
        "frigate",
    )
    assert match["detections"][0]["detector"] == "compreface"
    assert match["detections"][0]["reason"] is None
    # CompreFace names its closest subject even for a stranger, with a low similarity.
    assert "below unknown_confidence" in rows["unknown"]["detections"][0]["reason"]
    # Both faces of the one frame share its file; each has its own crop.
    assert (
        match["image_url"].split("?")[0] == rows["unknown"]["image_url"].split("?")[0]
    )
    web = await hass_client_no_auth()
    for url in (match["face_url"], match["image_url"]):
        response = await web.get(url)
        assert response.status == 200
        assert (await response.read()).startswith(b"\xff\xd8\xff")
    # Without the signature the same path is refused.
    assert (await web.get(match["face_url"].split("?")[0])).status == 401
    assert [
        row["kind"]
        for row in (await ws(client, type="double_take/results", kind="unknown"))[
            "results"
        ]
    ] == ["unknown"]


async def test_assign_a_stranger_trains_the_crop_and_the_next_event_matches(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    hass_ws_client: WebSocketGenerator,
    crops_show_their_face: Callable[[], list[bytes]],
) -> None:
    """Naming the unknown face trains every detector on its crop, not on the frame."""
    await alice_and_a_stranger(hass, frigate, face_world)
    client = await hass_ws_client(hass)
    (unknown,) = (await ws(client, type="double_take/results", kind="unknown"))[
        "results"
    ]
    response = await ws(
        client, type="double_take/assign", result_id=unknown["id"], name="Carol"
    )
    assert response["name"] == "Carol"
    assert len(response["trained"]) == 1
    (saved,) = Path(hass.config.path("double_take", "train", "Carol")).iterdir()
    crop = saved.read_bytes()
    assert crop in crops_show_their_face()
    (upload,) = compreface.requests_to("/api/v1/recognition/faces")[-1:]
    assert upload.file("file").data == crop  # the crop, not the frame
    assert compreface.subjects["Carol"] == ["mallory"]
    corrected = (await ws(client, type="double_take/results", name="carol"))["results"]
    assert [(row["kind"], row["corrected"]) for row in corrected] == [("match", True)]

    frigate.set_snapshot(SECOND_EVENT, [face_world.image(MALLORY)])
    await fire(hass, event_message(event_id=SECOND_EVENT))
    newest = (await ws(client, type="double_take/results", limit=1))["results"][0]
    assert (newest["event_id"], newest["kind"], newest["name"]) == (
        SECOND_EVENT,
        "match",
        "carol",
    )


async def test_persons_pages_delete_and_live_results(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Persons with their last sighting, the live feed, cursors, lazy crops, deletion."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "double_take/subscribe_results"})
    subscribed = await client.receive_json()
    assert subscribed["success"]
    await alice_and_a_stranger(hass, frigate, face_world)
    pushed = await client.receive_json()
    assert {row["kind"] for row in pushed["event"]["results"]} == {"match", "unknown"}

    persons = (await ws(client, type="double_take/persons"))["persons"]
    alice = next(person for person in persons if person["name"] == "alice")
    assert alice["last_seen"]["camera"] == "front_door"
    assert alice["face_url"]

    first = await ws(client, type="double_take/results", limit=1)
    second = await ws(client, type="double_take/results", limit=1, before=first["next"])
    assert second["next"] is None
    ids = [first["results"][0]["id"], second["results"][0]["id"]]
    history = Path(hass.config.path("double_take", "history"))
    # The frame is saved with the rows; the crops are cut when first shown.
    assert len(list(history.iterdir())) == 1
    await show_faces(await hass_client_no_auth(), first["results"] + second["results"])
    assert len(list(history.iterdir())) == 3  # one frame, two crops
    assert await ws(client, type="double_take/delete_results", result_ids=ids) == {
        "deleted": 2
    }
    assert (await ws(client, type="double_take/results"))["results"] == []
    assert list(history.iterdir()) == []


async def test_train_images_upload_and_delete(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
) -> None:
    """Upload trains a person; listing shows what each detector learnt; delete relearns."""
    client = await hass_ws_client(hass)
    web = await hass_client()
    form = aiohttp.FormData()
    for number in range(2):
        form.add_field(
            "file",
            face_world.image(FaceSpec("dave")),
            filename=f"{number}.jpg",
            content_type="image/jpeg",
        )
    response = await web.post("/api/double_take/train/dave", data=form)
    assert response.status == 200, await response.text()
    assert len((await response.json())["trained"]) == 2

    images = (await ws(client, type="double_take/train_images", name="dave"))["images"]
    assert len(images) == 2
    assert all(image["trained"] == ["compreface"] for image in images)
    result = await ws(
        client,
        type="double_take/delete_train_image",
        name="dave",
        file=images[0]["file"],
    )
    assert result["removed"]["removed"] == ["compreface"]
    assert len(result["trained"]["trained"]) == 1
    assert compreface.subjects["dave"] == ["dave"]
    left = (await ws(client, type="double_take/train_images", name="dave"))["images"]
    assert [image["file"] for image in left] == [images[1]["file"]]

    bad = aiohttp.FormData()
    bad.add_field("file", b"not an image", filename="x.jpg")
    response = await web.post("/api/double_take/train/dave", data=bad)
    assert response.status == 400


@pytest.mark.parametrize(
    ("command", "fields"),
    [
        ("double_take/results", {}),
        ("double_take/subscribe_results", {}),
        ("double_take/persons", {}),
        ("double_take/assign", {"result_id": 1, "name": "x"}),
        ("double_take/delete_results", {"result_ids": [1]}),
        ("double_take/train_images", {"name": "x"}),
        ("double_take/delete_train_image", {"name": "x", "file": "a.jpg"}),
    ],
)
async def test_non_admin_users_are_refused(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    command: str,
    fields: dict[str, Any],
) -> None:
    """Every command is for administrators only."""
    client = await hass_ws_client(hass, hass_read_only_access_token)
    await client.send_json_auto_id({"type": command, **fields})
    answer = await client.receive_json()
    assert not answer["success"]
    assert answer["error"]["code"] == "unauthorized"


async def test_non_admin_upload_is_refused(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    face_world: FaceWorld,
    hass_client: ClientSessionGenerator,
    hass_read_only_access_token: str,
) -> None:
    """The upload view is for administrators only."""
    web = await hass_client(hass_read_only_access_token)
    form = aiohttp.FormData()
    form.add_field("file", face_world.image(FaceSpec("eve")), filename="e.jpg")
    response = await web.post("/api/double_take/train/eve", data=form)
    assert response.status == 401


async def test_clear_errors(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Unknown rows, reserved or invalid names and missing files: translated errors."""
    client = await hass_ws_client(hass)
    for message, key in (
        (
            {"type": "double_take/assign", "result_id": 999, "name": "x"},
            "result_not_found",
        ),
        (
            {"type": "double_take/assign", "result_id": 1, "name": "unknown"},
            "reserved_name",
        ),
        (
            {"type": "double_take/assign", "result_id": 1, "name": "../x"},
            "invalid_name",
        ),
        (
            {"type": "double_take/delete_train_image", "name": "x", "file": "../a.jpg"},
            "train_image_not_found",
        ),
    ):
        await client.send_json_auto_id(message)
        answer = await client.receive_json()
        assert not answer["success"]
        assert answer["error"]["translation_key"] == key, answer


async def test_purge_removes_old_history_with_its_files(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Recorded faces older than the purge hours go with their frames and crops."""
    await alice_and_a_stranger(hass, frigate, face_world)
    client = await hass_ws_client(hass)
    history = Path(hass.config.path("double_take", "history"))
    rows = (await ws(client, type="double_take/results"))["results"]
    await show_faces(await hass_client_no_auth(), rows)
    assert len(list(history.iterdir())) == 3

    async def purge_after(hours: float) -> dict[str, int]:
        later = dt_util.utcnow() + timedelta(hours=hours)
        with patch(
            "custom_components.double_take.purge.dt_util.utcnow", return_value=later
        ):
            return await hass.services.async_call(
                "double_take", "purge", {}, blocking=True, return_response=True
            )

    assert (await purge_after(47))["history"] == 0  # 48 hours by default
    assert (await purge_after(49))["history"] == 3
    assert (await ws(client, type="double_take/results"))["results"] == []
    assert list(history.iterdir()) == []


@pytest.mark.parametrize("links", [True, False], ids=["linked", "no-links"])
async def test_history_frame_is_the_saved_image_under_a_second_name(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    links: bool,
) -> None:
    """The frame shares the match image's file (hard links), and outlives it.

    The unknown face's image of the same frame too. Where the file system refuses hard
    links each is written as before.
    """
    refused = OSError(1, "Operation not permitted")
    with patch(
        "custom_components.double_take.storage.os.link",
        side_effect=None if links else refused,
        wraps=os.link if links else None,
    ):
        await alice_and_a_stranger(hass, frigate, face_world)
    root = Path(hass.config.path("double_take"))
    (frame,) = (root / "history").iterdir()
    (match,) = (root / "matches" / "alice").iterdir()
    (unknown,) = (root / "unknown").iterdir()
    snapshot = frame.read_bytes()
    assert match.read_bytes() == unknown.read_bytes() == snapshot
    assert snapshot.startswith(b"\xff\xd8\xff")
    # alice's match image, the unknown face's image and the frame: one file.
    assert frame.stat().st_nlink == (3 if links else 1)
    assert frame.samefile(match) is links
    assert unknown.samefile(match) is links
    assert not frame.is_symlink()
    match.unlink()
    unknown.unlink()
    client = await hass_ws_client(hass)
    rows = (await ws(client, type="double_take/results"))["results"]
    response = await (await hass_client_no_auth()).get(rows[0]["image_url"])
    assert response.status == 200
    assert await response.read() == snapshot


async def test_train_from_our_own_folder_needs_no_allowlist(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    tmp_path: Path,
) -> None:
    """A saved match trains without allowlist_external_dirs; a link out of it does not."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await fire(hass, event_message())
    root = Path(hass.config.path("double_take"))
    (saved,) = (root / "matches" / "alice").iterdir()
    hass.config.allowlist_external_dirs = set()
    response = await hass.services.async_call(
        "double_take",
        "train",
        {"name": "alice", "image_path": str(saved)},
        blocking=True,
        return_response=True,
    )
    assert len(response["trained"]) == 1
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(face_world.image(ALICE))
    (root / "matches" / "link.jpg").symlink_to(outside)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "double_take",
            "train",
            {"name": "alice", "image_path": str(root / "matches" / "link.jpg")},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "path_not_allowed"


async def test_train_action_takes_recorded_faces(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    hass_ws_client: WebSocketGenerator,
    crops_show_their_face: Callable[[], list[bytes]],
) -> None:
    """``train`` with ``result_id``: the chosen face of a two-face frame, as automations do.

    The whole frame is refused (two faces, no choice); the recorded face trains its crop
    and its row becomes a corrected match, like ``assign``.
    """
    await alice_and_a_stranger(hass, frigate, face_world)
    client = await hass_ws_client(hass)
    (unknown,) = (await ws(client, type="double_take/results", kind="unknown"))[
        "results"
    ]
    frame = next(Path(hass.config.path("double_take", "history")).glob("*-frame.jpg"))
    with pytest.raises(HomeAssistantError, match="more than one face.*not kept"):
        await hass.services.async_call(
            "double_take",
            "train",
            {"name": "Mallory", "image_path": str(frame)},
            blocking=True,
            return_response=True,
        )

    response = await hass.services.async_call(
        "double_take",
        "train",
        {"name": "Mallory", "result_id": unknown["id"]},
        blocking=True,
        return_response=True,
    )
    # The refused frame was not kept: only the crop is sent and trained.
    assert len(response["trained"]) == 1
    assert response["failed"] == []
    (upload,) = compreface.requests_to("/api/v1/recognition/faces")[-1:]
    assert upload.file("file").data in crops_show_their_face()
    assert compreface.subjects["Mallory"] == ["mallory"]
    rows = (await ws(client, type="double_take/results", name="mallory"))["results"]
    assert [(row["id"], row["kind"], row["corrected"]) for row in rows] == [
        (unknown["id"], "match", True)
    ]
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "double_take",
            "train",
            {"name": "Mallory", "result_id": [unknown["id"] + 100]},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "result_not_found"


async def test_face_crops_are_cut_on_first_request(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
) -> None:
    """A crop is cut once, counted towards the byte cap; no frame or no row → 404."""
    await alice_and_a_stranger(hass, frigate, face_world)
    client = await hass_ws_client(hass)
    rows = (await ws(client, type="double_take/results"))["results"]
    history = entry.runtime_data.history
    before = await hass.async_add_executor_job(history.get, rows[0]["id"])
    web = await hass_client()
    path = rows[0]["face_url"].split("?")[0]
    first = await (await web.get(path)).read()
    again = await (await web.get(path)).read()
    assert first == again
    after = await hass.async_add_executor_job(history.get, rows[0]["id"])
    assert after.bytes == before.bytes + len(first)
    assert (
        await web.get("/api/double_take/media/history/0123abcd-face.jpg")
    ).status == 404
    # Naming a face trains the crop already cut, not a new one.
    response = await ws(
        client, type="double_take/assign", result_id=rows[0]["id"], name="Carol"
    )
    (saved,) = Path(hass.config.path("double_take", "train", "Carol")).iterdir()
    assert saved.read_bytes() == first
    assert len(response["trained"]) == 1
    frame = Path(hass.config.path("double_take", after.frame))
    frame.unlink()
    other = rows[1]["face_url"].split("?")[0]
    assert (await web.get(other)).status == 404  # its frame is gone
    await client.send_json_auto_id(
        {"type": "double_take/assign", "result_id": rows[1]["id"], "name": "Dave"}
    )
    answer = await client.receive_json()
    assert answer["error"]["translation_key"] == "result_not_found"
