"""Media source "Double Take": Matches (by person), Unknown and Train (by person).

Identifiers mirror the folders under ``<config>/double_take/``: ``matches``,
``matches/<name>``, ``matches/<name>/<file>``, ``unknown``, ``unknown/<file>``, ``train``,
``train/<name>``, ``train/<name>/<file>``. Images and thumbnails are served by an
authenticated view (the frontend fetches thumbnails with the user's token; resolved URLs
are signed by Home Assistant), which only serves image files of those three folders.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from homeassistant.components.media_player.const import MediaClass
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.components.media_source import (
    BrowseMediaSource,
    MediaSource,
    MediaSourceItem,
    PlayMedia,
    Unresolvable,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, STORAGE_DIR
from .media_titles import image_title
from .recorder import make_face
from .storage import (
    BROWSABLE,
    HISTORY,
    MATCHES,
    PERSON_FOLDERS,
    TRAIN,
    UNKNOWN_FOLDER,
    InvalidNameError,
    MediaStore,
    StoredImage,
    mime_type,
    validate_name,
)

SOURCE_NAME = "Double Take"
MEDIA_URL = f"/api/{DOMAIN}/media"
DATA_MEDIA_VIEW: HassKey[bool] = HassKey(f"{DOMAIN}_media_view")
FOLDER_TITLES = {MATCHES: "Matches", UNKNOWN_FOLDER: "Unknown", TRAIN: "Train"}
# A folder lists at most this many images (the newest); older ones stay on disk.
MAX_CHILDREN = 1000


async def async_get_media_source(hass: HomeAssistant) -> DoubleTakeMediaSource:
    """Set up the media source and the view that serves its images."""
    store = MediaStore(Path(hass.config.path(STORAGE_DIR)))
    async_register_media_view(hass)
    return DoubleTakeMediaSource(hass, store)


@callback
def async_register_media_view(hass: HomeAssistant) -> None:
    """Serve the images (once: the media source and the review API both need it)."""
    if DATA_MEDIA_VIEW in hass.data:
        return
    hass.data[DATA_MEDIA_VIEW] = True
    hass.http.register_view(
        DoubleTakeMediaView(MediaStore(Path(hass.config.path(STORAGE_DIR))))
    )


def media_url(path: str) -> str:
    """URL of the view serving the image at ``path`` (relative to the storage root)."""
    return f"{MEDIA_URL}/{quote(path)}"


class DoubleTakeMediaSource(MediaSource):
    """Browse the saved match, unknown and training images."""

    name = SOURCE_NAME

    def __init__(self, hass: HomeAssistant, store: MediaStore) -> None:
        """Browse the folders of ``store``."""
        super().__init__(DOMAIN)
        self.hass = hass
        self.store = store

    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        """Return the (authenticated) URL of one image."""
        try:
            path = await self.hass.async_add_executor_job(
                self.store.image_path, item.identifier
            )
        except (InvalidNameError, FileNotFoundError) as err:
            raise Unresolvable(f"No Double Take image {item.identifier!r}") from err
        return PlayMedia(
            media_url(item.identifier), mime_type(path) or "image/jpeg", path=path
        )

    async def async_browse_media(self, item: MediaSourceItem) -> BrowseMediaSource:
        """List a folder, a person's images, or return one image."""
        parts = item.identifier.split("/") if item.identifier else []
        try:
            return await self.hass.async_add_executor_job(self._browse, parts)
        except (InvalidNameError, FileNotFoundError) as err:
            raise BrowseError(f"No Double Take folder {item.identifier!r}") from err

    def _browse(self, parts: list[str]) -> BrowseMediaSource:
        """Build the browse node for ``parts`` (blocking: lists folders)."""
        if not parts:
            return self._root()
        folder = parts[0]
        if folder not in BROWSABLE:
            raise FileNotFoundError(folder)
        person_folder = folder in PERSON_FOLDERS
        if len(parts) == 1:
            if person_folder:
                return self._persons(folder)
            return self._images(folder, None, FOLDER_TITLES[folder])
        if len(parts) == 2 and person_folder:
            name = validate_name(parts[1])
            if not (self.store.root / folder / name).is_dir():
                raise FileNotFoundError(name)
            return self._images(folder, name, name)
        relative = "/".join(parts)
        path = self.store.image_path(relative)
        return self._image_node(StoredImage(relative, path.stat().st_mtime))

    def _root(self) -> BrowseMediaSource:
        return _directory(
            None,
            SOURCE_NAME,
            [_directory(folder, FOLDER_TITLES[folder]) for folder in BROWSABLE],
        )

    def _persons(self, folder: str) -> BrowseMediaSource:
        children = []
        for name in self.store.person_names(folder):
            newest = self.store.images(folder, name)[:1]
            children.append(
                _directory(
                    f"{folder}/{name}",
                    name,
                    thumbnail=media_url(newest[0].path) if newest else None,
                )
            )
        return _directory(folder, FOLDER_TITLES[folder], children)

    def _images(self, folder: str, person: str | None, title: str) -> BrowseMediaSource:
        identifier = folder if person is None else f"{folder}/{person}"
        images = self.store.images(folder, person)[:MAX_CHILDREN]
        node = _directory(
            identifier, title, [self._image_node(image) for image in images]
        )
        node.children_media_class = MediaClass.IMAGE
        return node

    def _image_node(self, image: StoredImage) -> BrowseMediaSource:
        taken = dt_util.as_local(dt_util.utc_from_timestamp(image.modified))
        return BrowseMediaSource(
            domain=DOMAIN,
            identifier=image.path,
            media_class=MediaClass.IMAGE,
            media_content_type=mime_type(image.path) or "image/jpeg",
            title=image_title(
                image.name,
                image.path.split("/")[1] if image.path.count("/") == 2 else None,
                taken.strftime("%Y-%m-%d %H:%M:%S"),
            ),
            can_play=True,
            can_expand=False,
            thumbnail=media_url(image.path),
        )


def _directory(
    identifier: str | None,
    title: str,
    children: list[BrowseMediaSource] | None = None,
    *,
    thumbnail: str | None = None,
) -> BrowseMediaSource:
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=identifier,
        media_class=MediaClass.DIRECTORY,
        media_content_type="",
        title=title,
        can_play=False,
        can_expand=True,
        children=children,
        children_media_class=MediaClass.DIRECTORY,
        thumbnail=thumbnail,
    )


class DoubleTakeMediaView(HomeAssistantView):
    """Serve the images of matches/, unknown/, train/ and history/ to authenticated users."""

    url = f"{MEDIA_URL}/{{location:.+}}"
    name = f"api:{DOMAIN}:media"
    requires_auth = True

    def __init__(self, store: MediaStore) -> None:
        """Serve files of ``store``."""
        self.store = store

    async def get(self, request: web.Request, location: str) -> web.StreamResponse:
        """Return the image, or 404 for anything that is not one of ours."""
        hass = request.app[KEY_HASS]
        try:
            path = await hass.async_add_executor_job(self.store.image_path, location)
        except InvalidNameError as err:
            raise web.HTTPNotFound from err
        except FileNotFoundError as err:
            if (face := await _async_make_face(hass, location)) is None:
                raise web.HTTPNotFound from err
            return web.Response(
                body=face,
                headers={"Cache-Control": "private, max-age=3600"},
                content_type="image/jpeg",
            )
        return web.FileResponse(
            path,
            headers={
                "Content-Type": mime_type(path) or "image/jpeg",
                "Cache-Control": "private, max-age=3600",
            },
            status=HTTPStatus.OK,
        )


async def _async_make_face(hass: HomeAssistant, location: str) -> bytes | None:
    """Cut a history face crop on its first request (see ``recorder.make_face``)."""
    if not (location.startswith(f"{HISTORY}/") and location.endswith("-face.jpg")):
        return None
    # Entries share the history file and its folder: any of them can cut it.
    entry = next(iter(hass.config_entries.async_loaded_entries(DOMAIN)), None)
    if entry is None:
        return None
    data = entry.runtime_data
    try:
        return await hass.async_add_executor_job(
            make_face, data.history, data.media.root, location
        )
    except FileNotFoundError:
        return None
