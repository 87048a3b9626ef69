"""The one interface every face detector implements, and the HTTP plumbing of the servers.

``Detector`` is the interface (no I/O of its own); ``HttpDetector`` adds the session, the
URL and Basic-auth handling and the request helpers the detector servers share.
``DetectorSettings`` holds every detector's settings, and its field defaults are the one
definition of the defaults (the local detector's included).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
import logging
import re
from typing import Any, ClassVar

import aiohttp
from yarl import URL

from ..errors import ApiAuthError, ApiConnectionError, ApiError, ApiResponseError
from ..http import Response, request
from ..models import Face, TrainingImage, TrainOutcome

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0

# Every server we talk to decodes the bytes; CompreFace additionally insists on a file
# name with an image extension, so all uploads are named ``<field>.jpg``.
IMAGE_CONTENT_TYPE = "image/jpeg"

# List entries of an answer that are read (see ``items_of``).
MAX_ITEMS = 1000

_ERROR_KEYS = ("error", "message", "detail", "title")
_ERROR_TEXT_LIMIT = 160
# Characters of a body or message an excerpt is made from (bodies reach 4 MB), and tags
# of at most 200 characters: ``<[^>]*>`` took quadratic time on a body of many ``<``.
_EXCERPT_SOURCE = 2048
_TAGS = re.compile(r"<[^<>]{0,200}>")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """How to reach one detector server, or how to run the local one (a config subentry).

    The field defaults are the one definition of the defaults: the config forms and the
    local detector take them from here (the local engine has none of its own).
    """

    url: str = ""
    api_key: str = ""
    timeout: float = DEFAULT_TIMEOUT
    det_prob_threshold: float = 0.8
    # The local detector: where its descriptors live (empty: in memory only), how
    # often the image is upsampled to find small faces, the height images are scaled
    # down to, and the descriptor distance above which a face is unknown.
    storage_dir: str = ""
    upsample: int = 1
    max_height: int = 720
    distance_threshold: float = 0.6


class Detector(ABC):
    """A face-recognition back end: what the pipeline, training and health use.

    ``recognize`` returns the faces in an image (an empty list when there are none, never
    an error for "no face"); ``train`` returns one outcome per image; ``remove`` forgets a
    person; ``check`` raises ApiAuthError/ApiConnectionError/ApiResponseError when the
    detector cannot be used; ``list_subjects`` returns the trained names, or ``None`` when
    the detector cannot list them; ``close`` releases what the detector holds.
    """

    kind: ClassVar[str]
    """Short type name used in config data and in results (``compreface`` …)."""

    title: ClassVar[str] = ""
    """Human name of the detector (``CompreFace`` …); error messages start with it."""

    replaces_on_train: ClassVar[bool] = False
    """Whether ``train`` replaces what the detector knew of the person.

    True when all images of one ``train`` call become one model of the person that
    replaces the previous one (DeepStack, CodeProject.AI): training must then send every
    image of the person again, not only the new ones.
    """

    @property
    def label(self) -> str:
        """Name used at the start of error messages."""
        return self.title or self.kind

    @abstractmethod
    async def recognize(self, image: bytes) -> list[Face]:
        """Faces found in ``image`` with the names the detector gives them."""

    @abstractmethod
    async def train(
        self, name: str, images: Sequence[TrainingImage]
    ) -> list[TrainOutcome]:
        """Teach the detector that ``images`` show ``name``."""

    @abstractmethod
    async def remove(self, name: str, refs: Sequence[str] = ()) -> None:
        """Forget ``name``; ``refs`` are the ids ``train`` returned, for detectors that need them."""

    @abstractmethod
    async def check(self) -> None:
        """Raise if the detector is unreachable, refuses our key or is not usable."""

    async def close(self) -> None:
        """Release what the detector holds (nothing, unless a subclass says otherwise)."""

    async def list_subjects(self) -> list[str] | None:
        """Names the detector knows, or None when it has no way to list them."""
        return None


class HttpDetector(Detector):
    """A detector server reached over HTTP through HA's shared ``aiohttp`` session.

    Holds the session, the settings and the base URL; credentials written into the URL
    (``http://user:pass@host:8080``) are sent as HTTP Basic auth and never appear in the
    base URL or in error messages. Subclasses send requests with ``_send`` and read the
    answers with ``_failure``, ``_json_object`` and ``_envelope``.
    """

    def __init__(
        self, session: aiohttp.ClientSession, settings: DetectorSettings
    ) -> None:
        """Bind the detector to HA's shared session and its settings."""
        self._session = session
        self.settings = settings
        self._authorization: str | None = None
        self._base = settings.url.rstrip("/")
        url = _parse_url(settings.url)
        if url is not None and (url.user is not None or url.password is not None):
            # ``with_user(None)`` drops the password too (``http://:pw@host`` included).
            self._base = str(url.with_user(None)).rstrip("/")
            try:
                self._authorization = aiohttp.encode_basic_auth(
                    url.user or "", url.password or ""
                )
            except ValueError:
                _LOGGER.warning(
                    "%s: a user name with ':' cannot be sent as Basic auth", self.label
                )

    # -- requests ------------------------------------------------------------------

    async def _send(self, method: str, path: str, **kwargs: Any) -> Response:
        """One request to this detector, with its timeout and credentials.

        Raises what ``_rejection`` finds (by default 401/403 → ApiAuthError); every other
        status is returned for the detector to interpret. Redirects are not followed
        (ApiResponseError): the credentials must reach no other server.
        """
        if self._authorization is not None:
            kwargs["headers"] = {
                "Authorization": self._authorization,
                **kwargs.get("headers", {}),
            }
        if isinstance(form := kwargs.get("data"), aiohttp.FormData):
            # Sent as one body: aiohttp writes a form part by part, a socket write
            # each (five per upload, half the loop's socket writes of an event).
            payload = form()
            kwargs["data"] = await payload.as_bytes()
            kwargs["headers"] = {
                "Content-Type": payload.content_type,
                **kwargs.get("headers", {}),
            }
        response = await request(
            self._session,
            method,
            f"{self._base}{path}",
            timeout=self.settings.timeout,
            follow_redirects=False,  # the API key must reach no other server
            **kwargs,
        )
        if (error := self._rejection(response)) is not None:
            raise error
        return response

    def _rejection(self, response: Response) -> ApiError | None:
        """Return the error to raise for a response no caller can use (credentials refused)."""
        if response.status in (401, 403):
            return ApiAuthError(
                f"{self.label}: credentials refused (HTTP {response.status}"
                f" {error_text(response)})"
            )
        return None

    def _failure(
        self, response: Response, what: str, text: str | None = None
    ) -> ApiResponseError:
        """ApiResponseError naming this detector, the operation and the server's words."""
        detail = error_text(response) if text is None else text
        return ApiResponseError(
            f"{self.label}: {what} failed: HTTP {response.status}"
            + (f": {detail}" if detail else "")
        )

    def _json_object(self, response: Response, what: str) -> dict[str, Any]:
        """Return the body as a JSON object; anything else raises ApiResponseError."""
        try:
            return response.json_object()
        except ApiResponseError as err:
            raise ApiResponseError(f"{self.label}: {what} failed: {err}") from err

    def _envelope(self, response: Response, what: str) -> dict[str, Any]:
        """Return a 2xx JSON object whose ``success`` is not false; anything else raises.

        DeepStack, CodeProject.AI and Facebox all answer ``{"success": …, "error": …}``.
        """
        if not 200 <= response.status < 300:
            raise self._failure(response, what)
        data = self._json_object(response, what)
        if data.get("success") is False:
            raise self._failure(response, what)
        return data

    # -- training ------------------------------------------------------------------

    async def _train_each(
        self,
        images: Sequence[TrainingImage],
        teach: Callable[[TrainingImage], Awaitable[TrainOutcome]],
    ) -> list[TrainOutcome]:
        """Teach images one request at a time, keeping what the server already stored.

        A refused key raises. A server error fails that image only. When the server
        becomes unreachable the rest fail with that error, but the outcomes (and refs) of
        images already stored are returned; if nothing was stored it raises.
        """
        outcomes: list[TrainOutcome] = []
        for index, image in enumerate(images):
            try:
                outcomes.append(await teach(image))
            except ApiConnectionError as err:
                if not any(outcome.ok for outcome in outcomes):
                    raise
                outcomes.extend(
                    TrainOutcome(rest.filename, error=str(err))
                    for rest in images[index:]
                )
                break
            except ApiResponseError as err:
                outcomes.append(TrainOutcome(image.filename, error=str(err)))
        return outcomes


def image_form(
    files: Sequence[tuple[str, bytes]], fields: Mapping[str, str] | None = None
) -> aiohttp.FormData:
    """Build a form body: text ``fields`` then image ``files`` named ``<field>.jpg``.

    Multipart when there are files, urlencoded otherwise (both servers accept either).
    """
    form = aiohttp.FormData(default_to_multipart=bool(files))
    for key, value in (fields or {}).items():
        form.add_field(key, value)
    for field, data in files:
        form.add_field(
            field, data, filename=f"{field}.jpg", content_type=IMAGE_CONTENT_TYPE
        )
    return form


def error_text(response: Response) -> str:
    """Return the server's own error message if the body has one, else a short excerpt."""
    try:
        data = response.json()
    except ApiResponseError:
        return _excerpt(response.body[:_EXCERPT_SOURCE].decode("utf-8", "replace"))
    if isinstance(data, dict):
        for key in _ERROR_KEYS:
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return _excerpt(value)
    return ""


def _excerpt(text: str) -> str:
    """Cut to one line of at most ``_ERROR_TEXT_LIMIT`` characters, HTML tags removed."""
    text = _SPACES.sub(" ", _TAGS.sub(" ", text[:_EXCERPT_SOURCE])).strip()
    if len(text) > _ERROR_TEXT_LIMIT:
        return text[: _ERROR_TEXT_LIMIT - 1] + "…"
    return text


def _parse_url(url: str) -> URL | None:
    """Parse the URL; None when it cannot be parsed (the request will then fail loudly)."""
    try:
        return URL(url)
    except ValueError, TypeError:
        # Not the URL itself: it may carry credentials.
        _LOGGER.debug("Cannot parse a detector URL")
        return None


def items_of(value: Any, what: str, label: str) -> list[dict[str, Any]]:
    """Return the dict items of a JSON list; a non-list raises, odd items are skipped.

    Only the first ``MAX_ITEMS`` entries are read: a 4 MB answer can list 1.4 million
    empty objects, and the pipeline keeps ``models.MAX_FACES`` faces of a detection
    anyway (and warns when there are more).
    """
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiResponseError(
            f"{label}: {what} is {type(value).__name__}, expected a list"
        )
    if len(value) > MAX_ITEMS:
        _LOGGER.debug(
            "%s: %s has %d items; reading the first %d",
            label,
            what,
            len(value),
            MAX_ITEMS,
        )
        value = value[:MAX_ITEMS]
    items = [item for item in value if isinstance(item, dict)]
    if len(items) < len(value):
        _LOGGER.debug(
            "%s: skipping %d %s items that are not objects",
            label,
            len(value) - len(items),
            what,
        )
    return items


def strings_of(value: Any, what: str, label: str) -> list[str]:
    """Return the non-empty strings of a JSON list; a non-list raises, odd items are skipped."""
    if not isinstance(value, list):
        raise ApiResponseError(
            f"{label}: {what} is {type(value).__name__}, expected a list"
        )
    names: list[str] = []
    for item in value:
        if isinstance(item, str) and item.strip():
            names.append(item.strip())
        else:
            _LOGGER.debug("%s: skipping %s item: %r", label, what, item)
    return names
