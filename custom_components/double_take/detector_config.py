"""A detector subentry's data: its forms, client settings, title, unique id; URL helpers."""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Any, Final

import probatio as vol
from yarl import URL

from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .api.detectors import (
    DETECTOR_TYPES,
    CompreFaceDetector,
    DeepStackDetector,
    DetectorSettings,
    LocalDetector,
)
from .const import (
    CONF_API_KEY,
    CONF_CAMERAS,
    CONF_CONCURRENCY,
    CONF_DET_PROB_THRESHOLD,
    CONF_DISTANCE_THRESHOLD,
    CONF_FRIGATE_PASSWORD,
    CONF_FRIGATE_URL,
    CONF_FRIGATE_USERNAME,
    CONF_MAX_HEIGHT,
    CONF_TIMEOUT,
    CONF_TYPE,
    CONF_UPSAMPLE,
    CONF_URL,
    DEFAULT_DETECTOR_CONCURRENCY,
)
from .options import PASSWORD_SELECTOR, URL_SELECTOR, choice_selector, number

LOCAL_UNIQUE_ID: Final = LocalDetector.kind
DETECTOR_DEFAULTS: Final = DetectorSettings()
"""The detector forms' defaults: those of the detector clients."""


def detector_settings(
    data: Mapping[str, Any], storage_dir: str = ""
) -> DetectorSettings:
    """Client settings from a detector subentry's data (or a detector form's input).

    ``storage_dir`` is where a local detector keeps its descriptors (unused by servers).
    """
    return DetectorSettings(
        url=data.get(CONF_URL, ""),
        api_key=data.get(CONF_API_KEY, ""),
        timeout=float(data.get(CONF_TIMEOUT, DETECTOR_DEFAULTS.timeout)),
        det_prob_threshold=float(
            data.get(CONF_DET_PROB_THRESHOLD, DETECTOR_DEFAULTS.det_prob_threshold)
        ),
        storage_dir=storage_dir if data.get(CONF_TYPE) == LocalDetector.kind else "",
        upsample=int(data.get(CONF_UPSAMPLE, DETECTOR_DEFAULTS.upsample)),
        max_height=int(data.get(CONF_MAX_HEIGHT, DETECTOR_DEFAULTS.max_height)),
        distance_threshold=float(
            data.get(CONF_DISTANCE_THRESHOLD, DETECTOR_DEFAULTS.distance_threshold)
        ),
    )


def detector_type_schema(kinds: list[str]) -> vol.Schema:
    """Return the type form: ``kinds`` (those that can be added), the first preselected."""
    return vol.Schema(
        {
            vol.Required(CONF_TYPE, default=kinds[0]): SelectSelector(
                SelectSelectorConfig(
                    options=kinds,
                    translation_key="detector_type",
                    mode=SelectSelectorMode.LIST,
                )
            )
        }
    )


def detector_kinds() -> list[str]:
    """Every detector type, the local one first."""
    return sorted(DETECTOR_TYPES, key=lambda kind: kind != LocalDetector.kind)


def detector_schema(kind: str, cameras: list[str]) -> vol.Schema:
    """Form of the detector server ``kind``: only the fields that server uses.

    The API key is required by CompreFace, optional for DeepStack (only if it was started
    with one) and not asked for CodeProject.AI and Facebox (Facebox takes its Basic auth
    credentials in the URL). The face detection threshold is CompreFace's.
    """
    fields: dict[vol.Marker, Any] = {vol.Required(CONF_URL): URL_SELECTOR}
    if kind == CompreFaceDetector.kind:
        fields[vol.Required(CONF_API_KEY)] = PASSWORD_SELECTOR
    elif kind == DeepStackDetector.kind:
        fields[vol.Optional(CONF_API_KEY, default="")] = PASSWORD_SELECTOR
    fields[vol.Optional(CONF_TIMEOUT, default=DETECTOR_DEFAULTS.timeout)] = (
        NumberSelector(
            NumberSelectorConfig(min=1, max=120, step=1, unit_of_measurement="s")
        )
    )
    if kind == CompreFaceDetector.kind:
        fields[
            vol.Optional(
                CONF_DET_PROB_THRESHOLD, default=DETECTOR_DEFAULTS.det_prob_threshold
            )
        ] = number(0, 1, 0.05)
    fields[vol.Optional(CONF_CONCURRENCY, default=DEFAULT_DETECTOR_CONCURRENCY)] = (
        number(1, 16, 1)
    )
    fields[vol.Optional(CONF_CAMERAS, default=[])] = choice_selector(cameras)
    return vol.Schema(fields)


def local_detector_schema(cameras: list[str]) -> vol.Schema:
    """Form of the local detector: upsampling, image height, distance threshold."""
    return vol.Schema(
        {
            vol.Optional(
                CONF_UPSAMPLE, default=DETECTOR_DEFAULTS.upsample
            ): NumberSelector(
                NumberSelectorConfig(
                    min=0, max=2, step=1, mode=NumberSelectorMode.SLIDER
                )
            ),
            vol.Optional(CONF_MAX_HEIGHT, default=DETECTOR_DEFAULTS.max_height): number(
                240, 2160, 1, "px"
            ),
            vol.Optional(
                CONF_DISTANCE_THRESHOLD, default=DETECTOR_DEFAULTS.distance_threshold
            ): number(0.3, 0.9, 0.01),
            vol.Optional(CONF_CAMERAS, default=[]): choice_selector(cameras),
        }
    )


def clean_detector_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Form input as stored: URL trimmed, whole numbers as int, cameras as a list."""
    cameras = list(data.get(CONF_CAMERAS, []))
    if data[CONF_TYPE] == LocalDetector.kind:
        settings = detector_settings(data)
        return {
            CONF_TYPE: LocalDetector.kind,
            CONF_UPSAMPLE: settings.upsample,
            CONF_MAX_HEIGHT: settings.max_height,
            CONF_DISTANCE_THRESHOLD: settings.distance_threshold,
            CONF_CAMERAS: cameras,
        }
    return {**data, CONF_URL: data[CONF_URL].strip().rstrip("/"), CONF_CAMERAS: cameras}


def detector_title(data: Mapping[str, Any]) -> str:
    """E.g. ``CompreFace (http://host:8000)``, or ``Local (dlib)``; never credentials."""
    kind: str = data[CONF_TYPE]
    detector = DETECTOR_TYPES.get(kind)
    title = detector.title if detector is not None else kind
    if kind == LocalDetector.kind:
        return title
    # Facebox's basic auth travels as http://user:pass@host: never show it in a title.
    return f"{title} ({display_url(data[CONF_URL])})"


def detector_unique_id(data: Mapping[str, Any]) -> str:
    """One subentry per server and type; one local detector per entry."""
    if data[CONF_TYPE] == LocalDetector.kind:
        return LOCAL_UNIQUE_ID
    return f"{data[CONF_TYPE]}:{normalize_url(data[CONF_URL])}"


def _parse(url: str) -> URL | None:
    try:
        return URL(url.strip())
    except ValueError:
        return None


def http_url(url: str) -> URL | None:
    """Return the parsed URL if it is a full ``http(s)://host…`` URL, else None."""
    parsed = _parse(url)
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    return parsed


def host_port(url: URL) -> str:
    """``host[:port]`` as written (host lower-cased), without ``user:password@``."""
    host = url.host or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{url.explicit_port}" if url.explicit_port else host


def normalize_url(url: str) -> str:
    """Scheme and host lower-cased, no credentials, no trailing slash: a unique id."""
    if (parsed := _parse(url)) is None:
        return url.strip()
    return _without_credentials(parsed)


def display_url(url: str) -> str:
    """``url`` for titles, messages and logs: ``scheme://host:port/path``, never credentials.

    Parsed with yarl, so a password holding ``@`` or ``:`` is left out whole; a URL that
    cannot be parsed is not shown at all.
    """
    if (parsed := _parse(url)) is None or not parsed.absolute:
        return "(invalid URL)"
    return _without_credentials(parsed)


def _without_credentials(parsed: URL) -> str:
    return f"{parsed.scheme}://{host_port(parsed)}{parsed.raw_path.rstrip('/')}"


def split_credentials(url: str) -> tuple[str, str, str]:
    """Return ``url`` without ``user:password@``, and that user and password.

    ``("http://frigate:5000", "admin", "p@ss")`` for ``http://admin:p%40ss@frigate:5000``
    (yarl decodes them); a URL without credentials, or not an http(s) URL, comes back
    unchanged with empty credentials.
    """
    parsed = http_url(url)
    if parsed is None or (parsed.user is None and parsed.password is None):
        return url, "", ""
    return str(parsed.with_user(None)), parsed.user or "", parsed.password or ""


def frigate_login(url: str, username: str, password: str) -> tuple[str, str, str]:
    """Return Frigate's URL without credentials, and the login to use.

    A user or password written into the URL fills the matching field left empty (a field
    filled in wins). Frigate has no HTTP Basic auth of its own (its port 8971 logs in
    with ``POST /api/login``), so credentials in its URL can only mean that login.
    """
    bare, user, secret = split_credentials(url)
    return bare, username or user, password or secret


def entry_without_url_credentials(
    data: Mapping[str, Any], title: str
) -> tuple[dict[str, Any], str] | None:
    """Move credentials out of a stored Frigate URL (entries of older versions).

    Return the entry's new data and title, or None when its URL holds none. Older
    versions titled an entry ``Double Take (user:password@host:port)``: the
    ``user:password@`` is cut from the title, which the user may have renamed.
    """
    url = data.get(CONF_FRIGATE_URL, "")
    bare, username, password = frigate_login(
        url, data.get(CONF_FRIGATE_USERNAME, ""), data.get(CONF_FRIGATE_PASSWORD, "")
    )
    if bare == url:
        return None
    authority = re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0]
    userinfo = authority.rpartition("@")[0]
    return (
        {
            **data,
            CONF_FRIGATE_URL: bare.rstrip("/"),
            CONF_FRIGATE_USERNAME: username,
            CONF_FRIGATE_PASSWORD: password,
        },
        title.replace(f"{userinfo}@", ""),
    )
