"""Where images come from: plain objects with one ``fetch``, for events, actions and training.

Each source returns one image per ``fetch`` or raises ApiError (ImageUnavailableError when
there is no image this time); how often it is asked, and what is done with the images, is
the caller's business (``pipeline.attempt_images``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import random
from typing import Literal, Protocol

import aiohttp

from .frigate import FrigateClient
from .http import fetch_image, safe_url
from .images import crop_box

URL_TIMEOUT = 10.0


class ImageSource(Protocol):
    """Anything that can be asked for an image, again and again."""

    @property
    def name(self) -> str:
        """What the source is, for messages (never with credentials)."""

    async def fetch(self) -> bytes:
        """Return one image; raise ApiError when there is none."""


@dataclass(frozen=True, slots=True)
class FixedImage:
    """An image that is already there (a file): every fetch returns it."""

    name: str
    data: bytes = field(repr=False)

    async def fetch(self) -> bytes:
        """Return the image."""
        return self.data


@dataclass(frozen=True, slots=True)
class UrlImage:
    """An image URL, fetched anew on every attempt (a camera's snapshot URL)."""

    session: aiohttp.ClientSession
    url: str
    timeout: float = URL_TIMEOUT

    @property
    def name(self) -> str:
        """The URL without credentials or query."""
        return safe_url(self.url)

    async def fetch(self) -> bytes:
        """GET the image."""
        return await fetch_image(self.session, self.url, timeout=self.timeout)


async def _jitter(seconds: float) -> None:
    """Wait up to ``seconds`` at random: old Frigates crashed under bursts of requests."""
    if seconds > 0:
        await asyncio.sleep(random.uniform(0, seconds))  # noqa: S311


type FrigateCrop = Literal["none", "person", "face"]


@dataclass(frozen=True, slots=True)
class FrigateImage:
    """A Frigate image: an event's best frame so far, or a camera's latest frame.

    ``kind`` is ``snapshot`` (``target`` is the event id) or ``latest`` (``target`` is the
    camera); it also names the loop in results. ``crop`` says which part, how large:

    - ``person`` (default): a snapshot cut to the object (``crop=1``), ``height`` px
      tall; the latest frame whole, ``height`` px tall.
    - ``none``: the whole frame (``crop=0``), ``height`` px tall.
    - ``face``: the whole frame at detect resolution (``crop=0``, no height, no box or
      timestamp drawn), for the caller to cut the face out with ``images.crop_box``
      and the event's ``snapshot_face_box``; ``height`` is not used.
    """

    client: FrigateClient
    kind: Literal["snapshot", "latest"]
    target: str
    height: int
    jitter: float = 0.0
    crop: FrigateCrop = "person"

    @property
    def name(self) -> str:
        """The event or the camera."""
        return (
            f"Frigate event {self.target}" if self.kind == "snapshot" else self.target
        )

    async def fetch(self) -> bytes:
        """GET the image."""
        await _jitter(self.jitter)
        height = None if self.crop == "face" else self.height
        if self.kind == "latest":
            return await self.client.latest(self.target, height=height)
        if self.crop == "person":
            return await self.client.snapshot(self.target, height=height)
        return await self.client.snapshot(
            self.target, height=height, crop=False, clean=self.crop == "face"
        )


@dataclass(frozen=True, slots=True)
class FaceCrop:
    """Another source's image cut to a face (``images.crop_box``, in the executor).

    ``box`` is in pixels of an image of ``source_size`` (Frigate's detect resolution);
    the fetched image may be of another size with the same proportions.
    """

    source: ImageSource
    box: tuple[int, int, int, int]
    source_size: tuple[int, int]

    @property
    def name(self) -> str:
        """The source's name, saying it is cut to the face."""
        return f"{self.source.name} (face)"

    async def fetch(self) -> bytes:
        """Fetch the image and cut the face out of it (Pillow: not in the event loop)."""
        image = await self.source.fetch()
        return await asyncio.get_running_loop().run_in_executor(
            None, crop_box, image, self.box, self.source_size
        )
