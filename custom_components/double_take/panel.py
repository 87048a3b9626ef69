"""The Double Take sidebar panel: its registration, its bundle and the commands it adds.

The panel (``frontend/`` at the repository root, bundled into ``frontend/double-take-panel.js``
here) is a custom panel for administrators. It is registered when the first entry is set
up and removed when the last one unloads; its bundle is served from this folder (a static
path can be registered only once per run, so that part stays). The panel builds on the
review API (``review.py``) and on the commands below, admin only like it:

- ``double_take/info``: the entries, Frigate, ``save_unknown``, the match rules, cameras
  and every detector with its health and what it was trained on;
- ``double_take/train_all``: the ``train`` action for every person with a train folder;
- ``double_take/remove_person``: the ``remove`` action, optionally deleting the person's
  training images too (then the person and their entities go).
"""

from __future__ import annotations

from functools import partial
import hashlib
from pathlib import Path
from typing import Any, Final

import probatio as vol

from homeassistant.components import frontend, panel_custom
from homeassistant.components.http import StaticPathConfig  # type: ignore[attr-defined]  # re-exported
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .data import DoubleTakeConfigEntry, DoubleTakeData, cameras_of, require_detectors
from .history import MAX_PAGE
from .options import Settings
from .review import admin_command, command_entry
from .services import SERVICE_REMOVE, SERVICE_TRAIN
from .storage import TRAIN, MediaStore

PANEL_URL_PATH: Final = "double-take"
PANEL_ELEMENT: Final = "double-take-panel"
PANEL_TITLE: Final = "Double Take"
PANEL_ICON: Final = "mdi:face-recognition"
BUNDLE: Final = Path(__file__).parent / "frontend" / "double-take-panel.js"
BUNDLE_URL: Final = f"/{DOMAIN}_static/double-take-panel.js"

DATA_PANEL_STATIC: HassKey[bool] = HassKey(f"{DOMAIN}_panel_static")


async def async_setup_panel(hass: HomeAssistant, entry: DoubleTakeConfigEntry) -> None:
    """Serve the bundle and register the commands (once per run), show the panel."""
    if not hass.data.get(DATA_PANEL_STATIC):
        # Set before awaiting: two entries set up together register it once.
        hass.data[DATA_PANEL_STATIC] = True
        for command in (ws_info, ws_train_all, ws_remove_person):
            async_register_command(hass, command)
        await hass.http.async_register_static_paths(
            [StaticPathConfig(BUNDLE_URL, str(BUNDLE), cache_headers=True)]
        )
    if frontend.async_panel_exists(hass, PANEL_URL_PATH):
        return
    digest = await hass.async_add_executor_job(_bundle_digest)
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_URL_PATH,
        webcomponent_name=PANEL_ELEMENT,
        sidebar_title=PANEL_TITLE,
        sidebar_icon=PANEL_ICON,
        # The bundle's hash in the URL: a changed bundle is never served from the
        # browser's cache (a version number would miss a rebuild between releases).
        module_url=f"{BUNDLE_URL}?v={digest}",
        embed_iframe=False,
        require_admin=True,
    )


def _bundle_digest() -> str:
    """Return a short hash of the bundle's bytes (blocking: reads the file)."""
    return hashlib.sha256(BUNDLE.read_bytes()).hexdigest()[:12]


@callback
def async_unload_panel(hass: HomeAssistant, entry: DoubleTakeConfigEntry) -> None:
    """Remove the panel when ``entry`` was the last loaded entry."""
    if any(
        other.entry_id != entry.entry_id
        for other in hass.config_entries.async_loaded_entries(DOMAIN)
    ):
        return
    frontend.async_remove_panel(hass, PANEL_URL_PATH, warn_if_unknown=False)


# -- info ------------------------------------------------------------------------------


@admin_command("double_take/info")
async def ws_info(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Return what the panel shows besides faces: entries, Frigate, options, detectors.

    Without ``config_entry_id`` the first loaded entry is described (also with several:
    the panel learns the entries from this answer).
    """
    loaded: list[ConfigEntry[DoubleTakeData]] = (
        hass.config_entries.async_loaded_entries(DOMAIN)
    )
    entry_id = msg.get("config_entry_id")
    if entry_id is None and loaded:
        entry_id = loaded[0].entry_id
    entry = command_entry(hass, entry_id)
    data = entry.runtime_data
    settings = data.settings.current
    cameras = await _async_cameras(hass, data)
    connection.send_result(
        msg["id"],
        {
            "config_entry_id": entry.entry_id,
            "entries": [
                {"config_entry_id": other.entry_id, "title": other.title}
                for other in loaded
            ],
            "frigate": data.frigate is not None,
            "frigate_available": data.frigate is not None
            and data.frigate.last_update_success,
            "save_unknown": settings.save_unknown,
            "rules": _rules(settings),
            # Cameras with settings of their own (options → Camera settings).
            "camera_rules": {
                camera: _rules(own)
                for camera in cameras
                if (own := data.settings.for_camera(camera)) is not settings
            },
            "cameras": cameras,
            "detectors": _detectors(data),
        },
    )


def _rules(settings: Settings) -> dict[str, float]:
    """Return the thresholds the panel's face detail compares with."""
    return {
        "confidence": settings.rules.confidence,
        "unknown_confidence": settings.rules.unknown_confidence,
        "min_face_area": settings.rules.min_face_area,
    }


async def _async_cameras(hass: HomeAssistant, data: DoubleTakeData) -> list[str]:
    """Frigate's cameras, the camera sources' and those of the latest faces, sorted."""
    cameras = cameras_of(data)
    page = await hass.async_add_executor_job(partial(data.history.page, limit=MAX_PAGE))
    cameras.update(record.camera for record in page.records)
    return sorted(cameras, key=str.casefold)


def _detectors(data: DoubleTakeData) -> list[dict[str, Any]]:
    counts = data.index.trained_counts()
    answer = []
    for handle in data.detectors:
        health = data.health.states.get(handle.id)
        failing = health is not None and health.available is False
        answer.append(
            {
                "id": handle.id,
                "name": handle.name,
                "kind": handle.kind,
                "cameras": sorted(handle.cameras),
                "status": "failing" if failing else "ok",
                "checked": health is not None and health.available is not None,
                "failing_since": health.failing_since.isoformat()
                if failing and health is not None and health.failing_since
                else None,
                "last_error": health.error if failing and health is not None else None,
                "last_activity": health.last_activity.isoformat()
                if health is not None and health.last_activity
                else None,
                "trained": [
                    name
                    for name in data.index.persons
                    if data.index.trained(handle.id, name)
                ],
                "trained_images": counts.get(handle.id, 0),
            }
        )
    return answer


# -- training --------------------------------------------------------------------------


@admin_command("double_take/train_all")
async def ws_train_all(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Run the ``train`` action for every person folder of ``train/``.

    Answers ``{results: [train responses], failed: [{name, error}]}``; one person's
    failure does not stop the others.
    """
    entry = command_entry(hass, msg.get("config_entry_id"))
    data = entry.runtime_data
    require_detectors(data)
    names = await hass.async_add_executor_job(data.media.person_names, TRAIN)
    results: list[Any] = []
    failed: list[dict[str, str]] = []
    for name in names:
        try:
            response = await hass.services.async_call(
                DOMAIN,
                SERVICE_TRAIN,
                {"name": name, "config_entry_id": entry.entry_id},
                blocking=True,
                context=connection.context(msg),
                return_response=True,
            )
        except HomeAssistantError as err:
            failed.append({"name": name, "error": str(err)})
        else:
            results.append(response)
    connection.send_result(msg["id"], {"results": results, "failed": failed})


@admin_command(
    "double_take/remove_person",
    {
        vol.Required("name"): str,
        vol.Optional("delete_images", default=False): bool,
    },
)
async def ws_remove_person(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Run the ``remove`` action; with ``delete_images`` the train folder's images go too.

    Images are deleted only when every detector forgot the person; then the person and
    their entities go as well (nothing is left to recognize them by).
    """
    entry = command_entry(hass, msg.get("config_entry_id"))
    data = entry.runtime_data
    response = await hass.services.async_call(
        DOMAIN,
        SERVICE_REMOVE,
        {"name": msg["name"], "config_entry_id": entry.entry_id},
        blocking=True,
        context=connection.context(msg),
        return_response=True,
    )
    answer: dict[str, Any] = {**(response or {}), "deleted_images": 0}
    if msg["delete_images"] and not answer["failed"]:
        name = str(answer["name"])
        answer["deleted_images"] = await hass.async_add_executor_job(
            _delete_train_images, data.media, name
        )
        data.persons.async_remove(name)
    connection.send_result(msg["id"], answer)


def _delete_train_images(media: MediaStore, name: str) -> int:
    """Delete every image of ``train/<name>/`` (and the folder); returns how many."""
    folder = media.person_folder(TRAIN, name)
    if folder is None:
        return 0
    paths = [image.path for image in media.images(TRAIN, folder)]
    media.remove_train_images(paths)
    return len(paths)
