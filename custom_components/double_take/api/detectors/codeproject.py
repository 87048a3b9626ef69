"""CodeProject.AI Server's Face Processing module: DeepStack's API in an always-200 envelope."""

from __future__ import annotations

from typing import ClassVar

from ..errors import ApiResponseError
from .deepstack import LIST_PATH, DeepStackDetector

PING_PATH = "/v1/server/status/ping"


class CodeProjectDetector(DeepStackDetector):
    """CodeProject.AI: same paths and predictions as DeepStack, no API key.

    Every module answer is HTTP 200; failures are ``success: false`` with ``error``, and
    "No face found in image" is how recognize says there is no face.
    """

    kind = "codeproject"
    title = "CodeProject.AI"

    recognize_no_face: ClassVar[frozenset[str]] = frozenset({"no face found in image"})

    async def check(self) -> None:
        """Ping the server, then make sure the Face Processing module answers."""
        ping = await self._send("GET", PING_PATH)
        self._result(ping, "ping")
        response = await self._post(LIST_PATH)
        if response.status == 404:
            raise ApiResponseError(
                f"{self.label}: the Face Processing module is not installed or not running"
                f" (POST {LIST_PATH}: HTTP 404)"
            )
        self._result(response, "list subjects")

    def _fields(self) -> dict[str, str]:
        """Send no key: the server has no authentication."""
        return {}
