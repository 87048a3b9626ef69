"""The ``double_take.train`` and ``double_take.remove`` actions (SPEC §6.5, issue 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.double_take.const import DOMAIN
from custom_components.double_take.storage import content_hash
from homeassistant.components.camera import Image
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .common import (
    ALICE,
    BOB,
    emulator_subentry,
    make_entry,
    setup_detectors,
    setup_entry,
)
from .emulators.compreface import CompreFaceEmulator
from .emulators.deepstack import CodeProjectEmulator, DeepStackEmulator
from .emulators.fixtures import StartEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceWorld

FACES = "/api/v1/recognition/faces"
REGISTER = "/v1/vision/face/register"


async def train(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call double_take.train and return its response."""
    return await hass.services.async_call(
        DOMAIN, "train", data, blocking=True, return_response=True
    )


async def remove(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call double_take.remove and return its response."""
    return await hass.services.async_call(
        DOMAIN, "remove", data, blocking=True, return_response=True
    )


def train_dir(hass: HomeAssistant, name: str) -> Path:
    """``<config>/double_take/train/<name>``."""
    return Path(hass.config.path("double_take", "train", name))


def put(hass: HomeAssistant, name: str, *images: bytes) -> list[str]:
    """Drop images into the train folder the way a user would; returns their paths."""
    folder = train_dir(hass, name)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, data in enumerate(images):
        (folder / f"photo{index}.jpg").write_bytes(data)
        paths.append(f"train/{name}/photo{index}.jpg")
    return paths


def all_files(root: Path) -> set[Path]:
    """Every file below ``root``."""
    return {path for path in root.rglob("*") if path.is_file()}


async def test_train_folder_default(
    hass: HomeAssistant, compreface: CompreFaceEmulator, face_world: FaceWorld
) -> None:
    """Without sources the train folder is used; a new person gets entities at once."""
    entry = await setup_detectors(hass, compreface)
    assert hass.states.get("sensor.double_take_alice") is None
    paths = put(hass, "alice", face_world.image(ALICE), face_world.image(ALICE))

    response = await train(hass, name="alice")

    assert response == {
        "name": "alice",
        "trained": [{"file": path, "detector": "compreface"} for path in sorted(paths)],
        "skipped": [],
        "failed": [],
    }
    assert compreface.subjects == {"alice": ["alice", "alice"]}
    uploads = compreface.requests_to(FACES, "POST")
    assert [request.query["subject"] for request in uploads] == ["alice", "alice"]
    assert "alice" in entry.runtime_data.persons.names
    await hass.async_block_till_done()
    assert hass.states.get("sensor.double_take_alice") is not None


async def test_already_trained_images_are_skipped(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    hass_storage: dict[str, Any],
) -> None:
    """The same content is not sent twice, also after a reload (index in the Store)."""
    entry = await setup_detectors(hass, compreface)
    (first,) = put(hass, "alice", face_world.image(ALICE))
    await train(hass, name="alice")
    stored = hass_storage[f"double_take.{entry.entry_id}"]["data"]
    subentry_id = next(iter(entry.subentries))
    digest = content_hash(Path(hass.config.path("double_take", first)).read_bytes())
    assert list(stored["trained"][subentry_id]["alice"]) == [digest]

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    # A copy of the same photo under another name is the same image.
    (train_dir(hass, "alice") / "copy.jpg").write_bytes(
        (train_dir(hass, "alice") / "photo0.jpg").read_bytes()
    )
    response = await train(hass, name="ALICE")

    assert response["name"] == "alice"
    assert response["trained"] == []
    assert response["skipped"] == [{"file": first, "detector": "compreface"}]
    assert len(compreface.requests_to(FACES, "POST")) == 1


async def test_train_urls_saved_by_content_hash(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """URL images are saved into train/<name>/ named by hash, then trained; case is kept."""
    await setup_detectors(hass, compreface)
    front, garden = face_world.image(ALICE), face_world.image(ALICE)
    frigate.set_latest("front_door", [front])
    frigate.set_latest("garden", [garden])

    response = await train(
        hass,
        name="Alice",
        url=[
            f"{frigate.url}/api/front_door/latest.jpg",
            f"{frigate.url}/api/garden/latest.jpg",
        ],
    )

    saved = {
        f"train/Alice/{content_hash(data)[:16]}.jpg": data for data in (front, garden)
    }
    assert response["name"] == "Alice"
    assert sorted(row["file"] for row in response["trained"]) == sorted(saved)
    for path, data in saved.items():
        assert Path(hass.config.path("double_take", path)).read_bytes() == data
    assert compreface.subjects == {"Alice": ["alice", "alice"]}

    # Another spelling finds the same person and folder.
    response = await train(
        hass, name="aLiCe", url=f"{frigate.url}/api/front_door/latest.jpg"
    )
    assert response["name"] == "Alice"
    assert response["trained"] == []
    assert len(response["skipped"]) == 2
    assert [
        p.name for p in Path(hass.config.path("double_take", "train")).iterdir()
    ] == ["Alice"]


async def test_train_url_that_gives_no_image(
    hass: HomeAssistant, compreface: CompreFaceEmulator, frigate: FrigateEmulator
) -> None:
    """A URL answering with something else than an image fails the call, nothing saved."""
    await setup_detectors(hass, compreface)
    frigate.set_latest("front_door", ["html"])
    with pytest.raises(HomeAssistantError) as err:
        await train(
            hass, name="alice", url=f"{frigate.url}/api/front_door/latest.jpg?x=1"
        )
    assert err.value.translation_key == "fetch_failed"
    assert err.value.translation_placeholders["source"] == (
        f"{frigate.url}/api/front_door/latest.jpg"
    )
    assert not train_dir(hass, "alice").exists()


async def test_train_image_paths(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    tmp_path: Path,
) -> None:
    """Files from allowed folders are copied into train/<name>/; others are refused."""
    allowed = tmp_path / "photos"
    allowed.mkdir()
    hass.config.allowlist_external_dirs = {str(allowed)}
    first, second = allowed / "a.jpg", allowed / "b.png"
    first.write_bytes(face_world.image(ALICE))
    second.write_bytes(face_world.image(ALICE, fmt="PNG"))
    (allowed / "notes.txt").write_text("not an image")
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(face_world.image(ALICE))
    await setup_detectors(hass, compreface)

    response = await train(hass, name="alice", image_path=[str(first), str(second)])

    files = sorted(p.name for p in train_dir(hass, "alice").iterdir())
    assert files == sorted(
        [
            f"{content_hash(first.read_bytes())[:16]}.jpg",
            f"{content_hash(second.read_bytes())[:16]}.png",
        ]
    )
    assert len(response["trained"]) == 2

    # Relative paths are relative to the config folder.
    relative = Path(hass.config.path("photos"))
    relative.mkdir()
    (relative / "c.jpg").write_bytes(face_world.image(ALICE))
    hass.config.allowlist_external_dirs.add(str(relative))
    response = await train(hass, name="alice", image_path="photos/c.jpg")
    assert len(response["trained"]) == 1

    with (
        patch("custom_components.double_take.sources.MAX_IMAGE_BYTES", 100),
        pytest.raises(ServiceValidationError) as err,
    ):
        await train(hass, name="bob", image_path=str(first))
    assert err.value.translation_key == "file_unreadable"
    assert "larger than" in err.value.translation_placeholders["error"]

    for path, key in (
        (secret, "path_not_allowed"),
        (allowed / "notes.txt", "not_an_image"),
        (allowed / "missing.jpg", "file_unreadable"),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await train(hass, name="bob", image_path=str(path))
        assert err.value.translation_key == key
    assert not train_dir(hass, "bob").exists()


async def test_train_camera_entity(
    hass: HomeAssistant, compreface: CompreFaceEmulator, face_world: FaceWorld
) -> None:
    """A camera entity gives ``attempts`` images; failed attempts are skipped."""
    await setup_detectors(hass, compreface)
    good = face_world.image(ALICE)
    images = [
        Image("image/jpeg", good),
        HomeAssistantError("camera off"),
        Image("text/html", b"<html>"),
    ]
    with (
        patch("custom_components.double_take.sources.ATTEMPT_DELAY", 0),
        patch(
            "custom_components.double_take.sources.async_get_image",
            side_effect=images,
        ) as get_image,
    ):
        response = await train(
            hass, name="alice", camera_entity_id="camera.porch", attempts=3
        )
    assert get_image.await_count == 3
    assert [row["file"] for row in response["trained"]] == [
        f"train/alice/{content_hash(good)[:16]}.jpg"
    ]

    with (
        patch(
            "custom_components.double_take.sources.async_get_image",
            side_effect=HomeAssistantError("camera off"),
        ),
        pytest.raises(HomeAssistantError) as err,
    ):
        await train(hass, name="bob", camera_entity_id="camera.porch")
    # The error says which source gave nothing, and why its last attempt failed.
    assert err.value.translation_key == "fetch_failed"
    assert err.value.translation_placeholders["source"] == "camera.porch"
    assert "camera off" in err.value.translation_placeholders["error"]


async def test_train_frigate_camera(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """``frigate_camera`` takes Frigate's latest frames; unknown cameras are refused."""
    await setup_detectors(hass, compreface, frigate_url=frigate.url)
    first, second = face_world.image(BOB), face_world.image(BOB)
    frigate.set_latest("garden", [first, 404, second])

    with patch("custom_components.double_take.sources.ATTEMPT_DELAY", 0):
        response = await train(hass, name="bob", frigate_camera="garden", attempts=3)

    assert len(frigate.latest_requests("garden")) == 3
    assert frigate.latest_requests("garden")[0].query["height"] == "800"
    assert sorted(row["file"] for row in response["trained"]) == sorted(
        f"train/bob/{content_hash(data)[:16]}.jpg" for data in (first, second)
    )
    assert compreface.subjects == {"bob": ["bob", "bob"]}

    with pytest.raises(ServiceValidationError) as err:
        await train(hass, name="bob", frigate_camera="attic")
    assert err.value.translation_key == "unknown_frigate_camera"


async def test_train_frigate_camera_without_frigate(
    hass: HomeAssistant, compreface: CompreFaceEmulator
) -> None:
    """An entry without Frigate cannot train from a Frigate camera."""
    await setup_detectors(hass, compreface)
    with pytest.raises(ServiceValidationError) as err:
        await train(hass, name="bob", frigate_camera="garden")
    assert err.value.translation_key == "no_frigate"


@pytest.fixture(params=["deepstack", "codeproject"])
async def replacing(
    request: pytest.FixtureRequest, start_emulator: StartEmulator
) -> tuple[str, DeepStackEmulator | CodeProjectEmulator]:
    """Run a DeepStack or a CodeProject.AI emulator; returns its detector type too."""
    return request.param, await start_emulator(request.param)


async def test_deepstack_gets_all_images_in_one_register_call(
    hass: HomeAssistant,
    replacing: tuple[str, DeepStackEmulator | CodeProjectEmulator],
    face_world: FaceWorld,
) -> None:
    """DeepStack/CodeProject.AI replace a person on each register: one call, all images."""
    kind, server = replacing
    await setup_detectors(hass, server)
    put(hass, "alice", face_world.image(ALICE), face_world.image(ALICE))

    response = await train(hass, name="alice")
    (register,) = server.requests_to(REGISTER)
    assert register.value("userid") == "alice"
    assert len(register.files) == 2
    assert len(response["trained"]) == 2
    assert {row["detector"] for row in response["trained"]} == {kind}

    # One new image: all three go again, in one call.
    (train_dir(hass, "alice") / "new.jpg").write_bytes(face_world.image(ALICE))
    response = await train(hass, name="alice")
    assert len(server.requests_to(REGISTER)) == 2
    assert len(server.requests_to(REGISTER)[-1].files) == 3
    assert len(response["trained"]) == 3
    assert server.subjects == {"alice": ["alice", "alice", "alice"]}

    # Nothing new: no call at all.
    response = await train(hass, name="alice")
    assert len(server.requests_to(REGISTER)) == 2
    assert len(response["skipped"]) == 3


async def test_partial_failure_is_reported(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    start_emulator: StartEmulator,
    face_world: FaceWorld,
) -> None:
    """An image without a face fails on both detectors; the good one is trained."""
    facebox = await start_emulator("facebox")
    await setup_detectors(hass, compreface, facebox)
    good, empty = put(hass, "alice", face_world.image(ALICE), face_world.image())

    response = await train(hass, name="alice")

    assert response["trained"] == [
        {"file": good, "detector": "compreface"},
        {"file": good, "detector": "facebox"},
    ]
    assert response["failed"] == [
        {"file": empty, "detector": "compreface", "error": "no face"},
        {"file": empty, "detector": "facebox", "error": "no face"},
    ]
    assert compreface.subjects == {"alice": ["alice"]}
    assert facebox.subjects == {"alice": ["alice"]}

    # The failed image is tried again next time (it was not recorded as trained).
    response = await train(hass, name="alice")
    assert [row["file"] for row in response["failed"]] == [empty, empty]
    assert [row["file"] for row in response["skipped"]] == [good, good]


async def test_one_detector_down_is_reported(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    deepstack: DeepStackEmulator,
    face_world: FaceWorld,
) -> None:
    """A detector that cannot be reached fails its images; the other one trains."""
    entry = await setup_detectors(hass, compreface, deepstack)
    (path,) = put(hass, "alice", face_world.image(ALICE))
    await deepstack.stop()

    response = await train(hass, name="alice")

    assert response["trained"] == [{"file": path, "detector": "compreface"}]
    (failure,) = response["failed"]
    assert failure["file"] == path
    assert failure["detector"] == "deepstack"
    assert "Cannot connect" in failure["error"]
    deepstack_id = entry.runtime_data.detectors[1].id
    assert entry.runtime_data.health.states[deepstack_id].available is False


async def test_every_detector_failing_raises(
    hass: HomeAssistant, compreface: CompreFaceEmulator, face_world: FaceWorld
) -> None:
    """Nothing trained anywhere: the action fails with the detector's error."""
    entry = await setup_detectors(hass, compreface)
    put(hass, "alice", face_world.image(ALICE))
    compreface.fail_next(500, {"message": "database down", "code": 0})

    with pytest.raises(HomeAssistantError) as err:
        await train(hass, name="alice")

    assert err.value.translation_key == "train_failed"
    assert "database down" in err.value.translation_placeholders["error"]
    assert "alice" not in entry.runtime_data.persons.names


async def test_detector_added_later_gets_the_images(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    start_emulator: StartEmulator,
    face_world: FaceWorld,
) -> None:
    """A new detector has none of the hashes: the next train call sends it everything."""
    entry = await setup_detectors(hass, compreface)
    put(hass, "alice", face_world.image(ALICE), face_world.image(ALICE))
    await train(hass, name="alice")
    facebox = await start_emulator("facebox")
    hass.config_entries.async_add_subentry(
        entry, ConfigSubentry(**emulator_subentry(facebox))
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    response = await train(hass, name="alice")

    assert {row["detector"] for row in response["skipped"]} == {"compreface"}
    assert [row["detector"] for row in response["trained"]] == ["facebox", "facebox"]
    assert len(compreface.requests_to(FACES, "POST")) == 2
    assert facebox.subjects == {"alice": ["alice", "alice"]}


async def test_no_images_and_no_detectors(
    hass: HomeAssistant, compreface: CompreFaceEmulator
) -> None:
    """An empty train folder and an entry without detectors are validation errors."""
    await setup_detectors(hass, compreface)
    with pytest.raises(ServiceValidationError) as err:
        await train(hass, name="nobody")
    assert err.value.translation_key == "no_train_images"
    assert err.value.translation_placeholders == {"name": "nobody", "folder": "nobody"}
    # Asking created no person folder.
    assert not train_dir(hass, "nobody").exists()


async def test_no_detectors(hass: HomeAssistant) -> None:
    """Training needs a detector."""
    await setup_entry(hass, make_entry())
    with pytest.raises(ServiceValidationError) as err:
        await train(hass, name="alice")
    assert err.value.translation_key == "no_detectors"


@pytest.mark.parametrize(
    "name",
    ["../x", "a/b", "a\\b", "", "   ", "x" * 65, "y" * 500, "a\x00b", "..", "a..b"],
)
@pytest.mark.parametrize("action", ["train", "remove"])
async def test_bad_names_are_rejected(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    tmp_path: Path,
    name: str,
    action: str,
) -> None:
    """Bad names raise a translated validation error before any file is written."""
    await setup_detectors(hass, compreface)
    frigate.set_latest("front_door", [face_world.image(ALICE)])
    before = all_files(tmp_path)
    data: dict[str, Any] = {"name": name}
    if action == "train":
        data["url"] = f"{frigate.url}/api/front_door/latest.jpg"

    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, action, data, blocking=True, return_response=True
        )

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "invalid_name"
    assert "\x00" not in str(err.value)
    assert "cannot be used as a person name" in str(err.value)
    assert all_files(tmp_path) == before
    assert frigate.latest_requests("front_door") == []
    assert compreface.requests_to(FACES) == []


async def test_remove_from_every_detector(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    deepstack: DeepStackEmulator,
    start_emulator: StartEmulator,
    face_world: FaceWorld,
    hass_storage: dict[str, Any],
) -> None:
    """Remove forgets the name everywhere (Facebox by each id); files and person stay."""
    facebox = await start_emulator("facebox")
    entry = await setup_detectors(hass, compreface, deepstack, facebox)
    paths = put(hass, "Alice", face_world.image(ALICE), face_world.image(ALICE))
    await train(hass, name="Alice")
    taught = set(facebox.examples)
    assert len(taught) == 2

    response = await remove(hass, name="alice")

    assert response == {
        "name": "Alice",
        "removed": ["compreface", "deepstack", "facebox"],
        "failed": [],
    }
    assert compreface.subjects == {}
    assert deepstack.subjects == {}
    assert facebox.examples == {}
    deleted = {
        request.path.rsplit("/", 1)[-1]
        for request in facebox.requests
        if request.method == "DELETE"
    }
    assert deleted == taught
    assert deepstack.requests_to("/v1/vision/face/delete")[0].value("userid") == "Alice"
    stored = hass_storage[f"double_take.{entry.entry_id}"]["data"]
    assert all("alice" not in by_name for by_name in stored["trained"].values()), stored
    for path in paths:
        assert Path(hass.config.path("double_take", path)).is_file()
    assert "Alice" in entry.runtime_data.persons.names

    # Training again sends everything again.
    response = await train(hass, name="alice")
    assert len(response["trained"]) == 6


async def test_remove_person_without_images_removes_entities(
    hass: HomeAssistant, compreface: CompreFaceEmulator, face_world: FaceWorld
) -> None:
    """With no train images left, the person and their entities go."""
    entry = await setup_detectors(hass, compreface)
    put(hass, "alice", face_world.image(ALICE))
    await train(hass, name="alice")
    await hass.async_block_till_done()
    assert hass.states.get("sensor.double_take_alice") is not None
    for path in train_dir(hass, "alice").iterdir():
        path.unlink()

    response = await remove(hass, name="alice")
    await hass.async_block_till_done()

    assert response["removed"] == ["compreface"]
    assert "alice" not in entry.runtime_data.persons.names
    assert hass.states.get("sensor.double_take_alice") is None


async def test_remove_failures(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    deepstack: DeepStackEmulator,
    face_world: FaceWorld,
) -> None:
    """One detector failing is reported; all failing raises; the person is kept."""
    entry = await setup_detectors(hass, compreface, deepstack)
    put(hass, "alice", face_world.image(ALICE))
    await train(hass, name="alice")
    for path in train_dir(hass, "alice").iterdir():
        path.unlink()
    await deepstack.stop()

    response = await remove(hass, name="alice")

    assert response["removed"] == ["compreface"]
    (failure,) = response["failed"]
    assert failure["detector"] == "deepstack"
    assert "alice" in entry.runtime_data.persons.names
    data = entry.runtime_data
    deepstack_id = data.detectors[1].id
    assert data.index.trained(deepstack_id, "alice")  # kept for a retry

    await compreface.stop()
    with pytest.raises(HomeAssistantError) as err:
        await remove(hass, name="alice")
    assert err.value.translation_key == "remove_failed"


async def test_detector_answering_for_fewer_images(
    hass: HomeAssistant, compreface: CompreFaceEmulator, face_world: FaceWorld
) -> None:
    """An image the detector gave no outcome for is reported as failed."""
    entry = await setup_detectors(hass, compreface)
    (path,) = put(hass, "alice", face_world.image(ALICE))
    handle = entry.runtime_data.detectors[0]
    with (
        patch.object(handle.detector, "train", return_value=[]),
        pytest.raises(HomeAssistantError) as err,
    ):
        await train(hass, name="alice")
    assert "no answer for this image" in err.value.translation_placeholders["error"]
    assert path.startswith("train/alice/")


async def test_train_two_entries_needs_entry_id(
    hass: HomeAssistant, compreface: CompreFaceEmulator, face_world: FaceWorld
) -> None:
    """With several entries, config_entry_id picks the one whose detectors train."""
    first = await setup_detectors(hass, compreface)
    await setup_entry(
        hass,
        MockConfigEntry(domain=DOMAIN, title="Second", data={}, unique_id="second"),
    )
    put(hass, "alice", face_world.image(ALICE))

    with pytest.raises(ServiceValidationError) as err:
        await train(hass, name="alice")
    assert err.value.translation_key == "service_found_multiple_config_entry_for_domain"
    response = await train(hass, name="alice", config_entry_id=first.entry_id)
    assert len(response["trained"]) == 1


async def test_linked_person_folder_is_refused(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    tmp_path: Path,
) -> None:
    """A train/<name> link to a folder elsewhere is never written to."""
    await setup_detectors(hass, compreface)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    train_dir(hass, "mallory").symlink_to(outside, target_is_directory=True)
    frigate.set_latest("front_door", [face_world.image(ALICE)])

    with pytest.raises(ServiceValidationError) as err:
        await train(
            hass, name="mallory", url=f"{frigate.url}/api/front_door/latest.jpg"
        )
    assert err.value.translation_key == "folder_outside"
    assert list(outside.iterdir()) == []
    with pytest.raises(ServiceValidationError):
        await remove(hass, name="mallory")


async def test_unknown_is_not_a_name_to_train(
    hass: HomeAssistant, compreface: CompreFaceEmulator, face_world: FaceWorld
) -> None:
    """Detectors call strangers "unknown": nobody can be trained under that name."""
    await setup_detectors(hass, compreface)
    put(hass, "Unknown", face_world.image(ALICE))
    with pytest.raises(ServiceValidationError) as err:
        await train(hass, name="Unknown")
    assert err.value.translation_key == "reserved_name"
    assert compreface.requests_to(FACES) == []
