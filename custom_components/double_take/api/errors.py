"""Typed errors raised by the protocol layer.

Callers catch the base class to keep going; the subclasses tell a config flow which error
to show and the pipeline whether to mark a service unhealthy.
"""

from __future__ import annotations


class ApiError(Exception):
    """A request to Frigate or a detector failed."""


class ApiConnectionError(ApiError):
    """The server could not be reached: refused, DNS failure, TLS error or timeout."""


class ApiAuthError(ApiError):
    """The server rejected our credentials (HTTP 401/403 or a wrong API key)."""


class ApiResponseError(ApiError):
    """The server answered, but with an error status or a body we cannot use."""


class ImageUnavailableError(ApiError):
    """An image endpoint answered without an image (404, HTML, empty body)."""
