"""The review API: the result history, persons and training over WebSocket and HTTP.

Admin only. Every command takes an optional ``config_entry_id`` (required with several
entries). Images are returned as signed, short-lived URLs of the media view, usable in
an ``<img>`` tag. Errors are Home Assistant's translated errors.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from http import HTTPStatus
from typing import Any, Final

from aiohttp import BodyPartReader, web
import probatio as vol

from homeassistant.components.http.auth import async_sign_path
from homeassistant.components.http.decorators import require_admin
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import (
    AsyncWebSocketCommandHandler,
    WebSocketCommandHandler,
)
from homeassistant.components.websocket_api.decorators import (
    async_response,
    require_admin as ws_require_admin,
    websocket_command,
)
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.helpers.service import async_get_config_entry
from homeassistant.util import dt as dt_util

from .api.http import MAX_IMAGE_BYTES, looks_like_image
from .api.images import image_problem
from .const import DOMAIN
from .data import DoubleTakeConfigEntry, DoubleTakeData
from .history import KINDS, MAX_PAGE, Record
from .media_source import async_register_media_view, media_url
from .signals import history_signal
from .storage import TRAIN, InvalidNameError
from .training import Trainer, async_train_person, train_lock, trainable_name

SIGNED_URL_LIFETIME: Final = timedelta(hours=1)
UPLOAD_URL: Final = f"/api/{DOMAIN}/train/{{name}}"
MAX_UPLOAD_FILES: Final = 20

_ENTRY: dict[Any, Any] = {vol.Optional("config_entry_id"): str}


def admin_command(
    command: str, fields: dict[Any, Any] | None = None
) -> Callable[[AsyncWebSocketCommandHandler], WebSocketCommandHandler]:
    """Declare an admin-only async WebSocket command with an optional ``config_entry_id``."""

    def decorate(handler: AsyncWebSocketCommandHandler) -> WebSocketCommandHandler:
        schema = {vol.Required("type"): command, **_ENTRY, **(fields or {})}
        return ws_require_admin(websocket_command(schema)(async_response(handler)))

    return decorate


@callback
def async_setup_review_api(hass: HomeAssistant) -> None:
    """Register the WebSocket commands and the upload view (once for all entries)."""
    for command in (
        ws_results,
        ws_subscribe_results,
        ws_persons,
        ws_assign,
        ws_delete_results,
        ws_train_images,
        ws_delete_train_image,
    ):
        async_register_command(hass, command)
    hass.http.register_view(TrainUploadView())
    async_register_media_view(hass)


def command_entry(hass: HomeAssistant, entry_id: str | None) -> DoubleTakeConfigEntry:
    """Return the loaded entry a command names, or the only one (translated errors)."""
    entry: DoubleTakeConfigEntry = async_get_config_entry(hass, DOMAIN, entry_id)
    return entry


def _entry_data(hass: HomeAssistant, entry_id: str | None) -> DoubleTakeData:
    return command_entry(hass, entry_id).runtime_data


def _signed(hass: HomeAssistant, path: str | None) -> str | None:
    if not path:
        return None
    return async_sign_path(hass, media_url(path), SIGNED_URL_LIFETIME)


def result_json(hass: HomeAssistant, record: Record) -> dict[str, Any]:
    """Return one history row as the API returns it."""
    return {
        "id": record.id,
        "time": dt_util.utc_from_timestamp(record.time).isoformat(),
        "source": record.source,
        "camera": record.camera,
        "event_id": record.event_id,
        "kind": record.kind,
        "name": record.name,
        "confidence": record.confidence,
        "detector": record.detector,
        "box": record.box,
        "detections": record.detections,
        "corrected": record.corrected,
        "image_url": _signed(hass, record.frame),
        "face_url": _signed(hass, record.face),
    }


# -- history ---------------------------------------------------------------------------


@admin_command(
    "double_take/results",
    {
        vol.Optional("kind"): vol.In(KINDS),
        vol.Optional("name"): str,
        vol.Optional("camera"): str,
        vol.Optional("limit", default=50): vol.All(int, vol.Range(1, MAX_PAGE)),
        vol.Optional("before"): int,
    },
)
async def ws_results(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Return a page of recorded faces, newest first."""
    data = _entry_data(hass, msg.get("config_entry_id"))
    page = await hass.async_add_executor_job(
        partial(
            data.history.page,
            kind=msg.get("kind"),
            name=msg.get("name"),
            camera=msg.get("camera"),
            limit=msg["limit"],
            before=msg.get("before"),
        )
    )
    connection.send_result(
        msg["id"],
        {
            "results": [result_json(hass, record) for record in page.records],
            "next": page.next,
        },
    )


@ws_require_admin
@websocket_command({vol.Required("type"): "double_take/subscribe_results", **_ENTRY})
@callback
def ws_subscribe_results(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Push each face as soon as it is recorded."""
    entry = command_entry(hass, msg.get("config_entry_id"))

    @callback
    def forward(records: list[Record]) -> None:
        connection.send_message(
            event_message(
                msg["id"],
                {"results": [result_json(hass, record) for record in records]},
            )
        )

    connection.subscriptions[msg["id"]] = async_dispatcher_connect(
        hass, history_signal(entry.entry_id), forward
    )
    connection.send_result(msg["id"])


@admin_command(
    "double_take/delete_results",
    {
        vol.Required("result_ids"): vol.All([int], vol.Length(min=1, max=MAX_PAGE)),
    },
)
async def ws_delete_results(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Delete recorded faces and their files."""
    data = _entry_data(hass, msg.get("config_entry_id"))
    files = await hass.async_add_executor_job(data.history.delete, msg["result_ids"])
    await hass.async_add_executor_job(data.media.delete_files, files)
    connection.send_result(msg["id"], {"deleted": len(msg["result_ids"])})


# -- persons and training --------------------------------------------------------------


@admin_command("double_take/persons")
async def ws_persons(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Return every known person: training images, trained detectors, last seen."""
    data = _entry_data(hass, msg.get("config_entry_id"))

    names = list(data.persons.names)  # read on the loop, which owns the registry

    def read() -> list[tuple[str, int, Record | None]]:
        # One executor job for every person: their folder and their last match.
        return [
            (
                name,
                len(data.media.images(TRAIN, name)),
                next(
                    iter(data.history.page(kind="match", name=name, limit=1).records),
                    None,
                ),
            )
            for name in names
        ]

    persons = []
    for name, train_images, last in await hass.async_add_executor_job(read):
        persons.append(
            {
                "name": name,
                "train_images": train_images,
                "detectors": [
                    handle.kind
                    for handle in data.detectors
                    if data.index.trained(handle.id, name)
                ],
                "last_seen": None
                if last is None
                else {
                    "time": dt_util.utc_from_timestamp(last.time).isoformat(),
                    "camera": last.camera,
                },
                "face_url": _signed(hass, last.face) if last else None,
            }
        )
    connection.send_result(msg["id"], {"persons": persons})


@admin_command(
    "double_take/assign",
    {
        vol.Required("result_id"): int,
        vol.Required("name"): str,
    },
)
async def ws_assign(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Name a recorded face: its crop trains every detector, the row becomes a match."""
    data = _entry_data(hass, msg.get("config_entry_id"))
    name = trainable_name(msg["name"])
    report = await async_train_person(hass, data, name, result_ids=[msg["result_id"]])
    connection.send_result(msg["id"], report.as_dict())


@admin_command(
    "double_take/train_images",
    {
        vol.Required("name"): str,
    },
)
async def ws_train_images(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Return a person's training images and which detectors learnt each."""
    data = _entry_data(hass, msg.get("config_entry_id"))
    name = trainable_name(msg["name"])
    files = await hass.async_add_executor_job(data.media.train_digests, name)
    trained = {
        handle.kind: data.index.trained(handle.id, name) for handle in data.detectors
    }
    connection.send_result(
        msg["id"],
        {
            "images": [
                {
                    "file": path.rsplit("/", 1)[-1],
                    "url": _signed(hass, path),
                    "trained": [
                        kind for kind, known in trained.items() if digest in known
                    ],
                }
                for path, digest in files
            ]
        },
    )


@admin_command(
    "double_take/delete_train_image",
    {
        vol.Required("name"): str,
        vol.Required("file"): str,
    },
)
async def ws_delete_train_image(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Delete a training image; every detector forgets the person and relearns the rest."""
    data = _entry_data(hass, msg.get("config_entry_id"))
    name = trainable_name(msg["name"])
    try:
        await hass.async_add_executor_job(
            data.media.delete_train_image, name, msg["file"]
        )
    except (InvalidNameError, FileNotFoundError) as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="train_image_not_found",
            translation_placeholders={"name": name, "file": msg["file"][:70]},
        ) from err
    async with train_lock(hass):
        trainer = Trainer.of(hass, data)
        removed = await trainer.async_remove(name)
        remaining = await hass.async_add_executor_job(data.media.train_digests, name)
        report = await trainer.async_train(name, []) if remaining else None
    connection.send_result(
        msg["id"],
        {"removed": removed, "trained": report.as_dict() if report else None},
    )


class TrainUploadView(HomeAssistantView):
    """``POST /api/double_take/train/{name}``: upload images of a person and train on them."""

    url = UPLOAD_URL
    name = f"api:{DOMAIN}:train"

    @require_admin
    async def post(self, request: web.Request, name: str) -> web.Response:
        """Save and train the ``file`` parts of a multipart body (the train response)."""
        hass = request.app[KEY_HASS]
        try:
            data = _entry_data(hass, request.query.get("config_entry_id"))
            person = trainable_name(name)
            images = await _read_uploads(request)
            report = await async_train_person(hass, data, person, images=images)
        except HomeAssistantError as err:
            return self.json_message(str(err), HTTPStatus.BAD_REQUEST)
        return self.json(report.as_dict())


async def _read_uploads(request: web.Request) -> list[bytes]:
    """Read the images of the ``file`` parts, each checked like every image."""
    request._client_max_size = MAX_IMAGE_BYTES * MAX_UPLOAD_FILES  # noqa: SLF001
    reader = await request.multipart()
    images: list[bytes] = []
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name != "file":
            continue
        if len(images) >= MAX_UPLOAD_FILES:
            raise _upload_error(part.filename, f"more than {MAX_UPLOAD_FILES} files")
        data = await part.read(decode=False)
        if len(data) > MAX_IMAGE_BYTES or not looks_like_image(data):
            raise _upload_error(part.filename, "not an image, or too large")
        if (problem := image_problem(data)) is not None:
            raise _upload_error(part.filename, problem)
        images.append(bytes(data))
    if not images:
        raise _upload_error(None, "no 'file' part")
    return images


def _upload_error(filename: str | None, error: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="upload_refused",
        translation_placeholders={"file": filename or "", "error": error},
    )
