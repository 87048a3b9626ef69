"""Diagnostics of an entry (SPEC §6.6): useful content, no secrets."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_homeassistant_custom_component.components.diagnostics import (
    _get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.double_take.const import DOMAIN
from homeassistant.core import HomeAssistant

from .common import ALICE, detector_subentry, emulator_subentry, make_entry, setup_entry
from .emulators.compreface import COMPREFACE_KEY, CompreFaceEmulator
from .emulators.fixtures import StartEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceWorld

FRIGATE_USER = "frigate-admin-user"
FRIGATE_PASSWORD = "frigate-pa55word-xyz"
FACEBOX_USER = "facebox-user-abc"
FACEBOX_PASSWORD = "facebox-pa55word-xyz"


async def test_diagnostics_content_and_redaction(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    compreface: CompreFaceEmulator,
    frigate: FrigateEmulator,
    start_emulator: StartEmulator,
    face_world: FaceWorld,
) -> None:
    """Config, options, detectors, counts, recent results and health; secrets redacted."""
    compreface.subjects["alice"] = ["alice"]
    facebox = await start_emulator(
        "facebox", basic_auth=(FACEBOX_USER, FACEBOX_PASSWORD)
    )
    facebox_url = facebox.url.replace("://", f"://{FACEBOX_USER}:{FACEBOX_PASSWORD}@")
    secured = await start_emulator(
        "frigate", username=FRIGATE_USER, password=FRIGATE_PASSWORD
    )
    entry = await setup_entry(
        hass,
        make_entry(
            frigate_url=secured.url,
            username=FRIGATE_USER,
            password=FRIGATE_PASSWORD,
            detectors=[
                emulator_subentry(compreface),
                detector_subentry("facebox", facebox_url),
            ],
            options={"confidence": 70},
        ),
    )
    frigate.set_latest("front_door", [face_world.image(ALICE)])
    await hass.services.async_call(
        DOMAIN,
        "recognize",
        {"url": f"{frigate.url}/api/front_door/latest.jpg"},
        blocking=True,
        return_response=True,
    )
    train = Path(hass.config.path("double_take", "train", "bob"))
    train.mkdir(parents=True)
    (train / "a.jpg").write_bytes(face_world.image())

    full = await _get_diagnostics_for_config_entry(hass, hass_client, entry)

    text = json.dumps(full)
    for secret in (
        COMPREFACE_KEY,
        FRIGATE_USER,
        FRIGATE_PASSWORD,
        FACEBOX_USER,
        FACEBOX_PASSWORD,
    ):
        assert secret not in text

    data = full["data"]
    assert data["entry"]["data"]["frigate_url"] == secured.url
    assert data["entry"]["data"]["frigate_password"] == "**REDACTED**"
    assert data["entry"]["options"] == {"confidence": 70}
    assert data["frigate"]["topic_prefix"] == "frigate"
    assert "front_door" in data["frigate"]["cameras"]
    compreface_diag, facebox_diag = data["detectors"]
    assert compreface_diag["type"] == "compreface"
    assert compreface_diag["data"]["api_key"] == "**REDACTED**"
    assert compreface_diag["data"]["url"] == compreface.url
    assert compreface_diag["health"]["available"] is True
    assert compreface_diag["trained_images"] == 0
    assert facebox_diag["data"]["url"] == facebox.url.replace("://", "://**REDACTED**@")
    assert "**REDACTED**@" in facebox_diag["title"]
    assert data["stored_images"] == {
        "matches": 1,
        "unknown": 0,
        "train": 1,
        "local": 0,
        "history": 1,  # the recorded match's frame (its crop is cut when first shown)
    }
    # The recognize action is not a Frigate event: the intake is idle.
    assert data["frigate_events"] == {
        "running": 0,
        "waiting": 0,
        "held_messages": 0,
        "remembered_events": 0,
    }
    (result,) = data["recent_results"]
    assert result["matches"][0]["name"] == "alice"
    assert data["persons"] >= 1


async def test_diagnostics_without_frigate(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """An entry without Frigate or detectors still has diagnostics."""
    entry = await setup_entry(hass, make_entry())
    data = (await _get_diagnostics_for_config_entry(hass, hass_client, entry))["data"]
    assert data["frigate"] is None
    assert data["frigate_events"] is None
    assert data["detectors"] == []
    assert data["recent_results"] == []
