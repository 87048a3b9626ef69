"""UI configuration: the Frigate entry, detector subentries, options, reconfigure, reauth."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import probatio as vol

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.requirements import RequirementsNotFound, async_process_requirements

from .api.detectors import DetectorSettings, create_detector
from .api.errors import ApiAuthError, ApiConnectionError, ApiError
from .api.frigate import FrigateClient, FrigateConfig
from .api.local import REQUIREMENTS as LOCAL_REQUIREMENTS
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
    CONF_VERIFY_SSL,
    DEFAULT_DET_PROB_THRESHOLD,
    DEFAULT_DETECTOR_CONCURRENCY,
    DEFAULT_DETECTOR_TIMEOUT,
    DEFAULT_DISTANCE_THRESHOLD,
    DEFAULT_MAX_HEIGHT,
    DEFAULT_OPTIONS,
    DEFAULT_UPSAMPLE,
    DETECTOR_LOCAL,
    DETECTOR_TITLES,
    DETECTOR_TYPES,
    DOMAIN,
    LOGGER,
    OPT_ATTEMPT_DELAY,
    OPT_CAMERA_RESET,
    OPT_CAMERAS,
    OPT_CONFIDENCE,
    OPT_FRIGATE_JITTER,
    OPT_IMAGE_HEIGHT,
    OPT_LABELS,
    OPT_LATEST_ATTEMPTS,
    OPT_MIN_FACE_AREA,
    OPT_MIN_OBJECT_AREA,
    OPT_MQTT_PUBLISH,
    OPT_MQTT_TOPIC_CAMERAS,
    OPT_MQTT_TOPIC_MATCHES,
    OPT_PRESENCE_TIMEOUT,
    OPT_PROCESSING,
    OPT_PURGE_MATCHES_HOURS,
    OPT_PURGE_UNKNOWN_HOURS,
    OPT_SAVE_UNKNOWN,
    OPT_SNAPSHOT_ATTEMPTS,
    OPT_STOP_ON_MATCH,
    OPT_UNKNOWN_CONFIDENCE,
    OPT_UPDATE_SUB_LABEL,
    OPT_ZONES,
    PROCESSING_PARALLEL,
    PROCESSING_SERIAL,
    SUBENTRY_DETECTOR,
)
from .data import DoubleTakeData

NO_FRIGATE_UNIQUE_ID = "no_frigate"
LOCAL_UNIQUE_ID = DETECTOR_LOCAL

_URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_TEXT = TextSelector()
_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


class CannotConnect(Exception):
    """Validation failed; ``args[0]`` is the form error key."""


def normalise_url(url: str) -> str:
    """Scheme and host lower-cased, no credentials, no trailing slash: a unique id."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return f"{parts.scheme.lower()}://{_host_port(url)}{path}"


def _host_port(url: str) -> str:
    """``host[:port]`` of a URL, without any ``user:password@``."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def _valid_http_url(url: str) -> bool:
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(parts.hostname)


async def validate_frigate(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> FrigateConfig:
    """Ask Frigate for its version and config; raise CannotConnect(error key)."""
    if not _valid_http_url(data[CONF_FRIGATE_URL]):
        raise CannotConnect("invalid_url")
    verify_ssl = data.get(CONF_VERIFY_SSL, True)
    client = FrigateClient(
        async_get_clientsession(hass, verify_ssl=verify_ssl),
        data[CONF_FRIGATE_URL].strip(),
        username=data.get(CONF_FRIGATE_USERNAME, ""),
        password=data.get(CONF_FRIGATE_PASSWORD, ""),
        verify_ssl=verify_ssl,
    )
    try:
        await client.version()
        return await client.config()
    except ApiAuthError as err:
        raise CannotConnect("invalid_auth") from err
    except ApiConnectionError as err:
        raise CannotConnect("cannot_connect") from err
    except ApiError as err:
        LOGGER.debug(
            "Frigate at %s answered unexpectedly: %s", data[CONF_FRIGATE_URL], err
        )
        raise CannotConnect("invalid_response") from err


async def validate_detector(hass: HomeAssistant, data: Mapping[str, Any]) -> None:
    """Check a detector before it is saved; raise CannotConnect(error key).

    A server: its health/list endpoint is called. The local detector: its packages are
    installed (only now, about 130 MB) and its models loaded.
    """
    if data[CONF_TYPE] == DETECTOR_LOCAL:
        await _validate_local(hass, data)
        return
    if not _valid_http_url(data.get(CONF_URL, "")):
        raise CannotConnect("invalid_url")
    detector = create_detector(
        data[CONF_TYPE],
        async_get_clientsession(hass),
        DetectorSettings(
            url=data[CONF_URL].strip(),
            api_key=data.get(CONF_API_KEY, ""),
            timeout=float(data.get(CONF_TIMEOUT, DEFAULT_DETECTOR_TIMEOUT)),
            det_prob_threshold=float(
                data.get(CONF_DET_PROB_THRESHOLD, DEFAULT_DET_PROB_THRESHOLD)
            ),
        ),
    )
    try:
        await detector.check()
    except ApiAuthError as err:
        raise CannotConnect("invalid_auth") from err
    except ApiConnectionError as err:
        raise CannotConnect("cannot_connect") from err
    except ApiError as err:
        LOGGER.debug(
            "%s at %s answered unexpectedly: %s", data[CONF_TYPE], data[CONF_URL], err
        )
        raise CannotConnect("invalid_response") from err


async def _validate_local(hass: HomeAssistant, data: Mapping[str, Any]) -> None:
    """Install the local detector's requirements and load its models."""
    try:
        await async_process_requirements(
            hass, DOMAIN, LOCAL_REQUIREMENTS, is_built_in=False
        )
    except RequirementsNotFound as err:
        LOGGER.error(
            "Cannot install the local detector's packages %s: see the pip errors above",
            ", ".join(err.requirements),
        )
        raise CannotConnect("requirements_failed") from err
    detector = create_detector(
        DETECTOR_LOCAL,
        async_get_clientsession(hass),
        DetectorSettings(
            upsample=int(data[CONF_UPSAMPLE]), max_height=int(data[CONF_MAX_HEIGHT])
        ),
    )
    try:
        await detector.check()
    except ApiError as err:
        LOGGER.error("The local detector cannot start: %s", err)
        raise CannotConnect("local_failed") from err
    finally:
        # Only a check: the entry's own detector holds the worker process from setup on.
        await detector.close()


def detector_title(data: Mapping[str, Any]) -> str:
    """E.g. ``CompreFace (http://host:8000)``, or ``Local (dlib)``."""
    title: str = DETECTOR_TITLES.get(data[CONF_TYPE], data[CONF_TYPE])
    if data[CONF_TYPE] == DETECTOR_LOCAL:
        return title
    # Facebox's basic auth travels as http://user:pass@host: never show it in a title.
    parts = urlsplit(data[CONF_URL])
    url = urlunsplit((parts.scheme, _host_port(data[CONF_URL]), parts.path, "", ""))
    return f"{title} ({url})"


def detector_unique_id(data: Mapping[str, Any]) -> str:
    """One subentry per server and type; one local detector per entry."""
    if data[CONF_TYPE] == DETECTOR_LOCAL:
        return LOCAL_UNIQUE_ID
    return f"{data[CONF_TYPE]}:{normalise_url(data[CONF_URL])}"


def clean_detector_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Form input as stored: URL trimmed, whole numbers as int, cameras as a list."""
    cameras = list(data.get(CONF_CAMERAS, []))
    if data[CONF_TYPE] == DETECTOR_LOCAL:
        return {
            CONF_TYPE: DETECTOR_LOCAL,
            CONF_UPSAMPLE: int(data.get(CONF_UPSAMPLE, DEFAULT_UPSAMPLE)),
            CONF_MAX_HEIGHT: int(data.get(CONF_MAX_HEIGHT, DEFAULT_MAX_HEIGHT)),
            CONF_DISTANCE_THRESHOLD: float(
                data.get(CONF_DISTANCE_THRESHOLD, DEFAULT_DISTANCE_THRESHOLD)
            ),
            CONF_CAMERAS: cameras,
        }
    return {**data, CONF_URL: data[CONF_URL].strip().rstrip("/"), CONF_CAMERAS: cameras}


def _camera_selector(cameras: list[str]) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=cameras,
            multiple=True,
            custom_value=True,
            mode=SelectSelectorMode.DROPDOWN,
        )
    )


def detector_type_schema(default: str = DETECTOR_LOCAL) -> vol.Schema:
    """First detector form: which kind (the type's own form follows)."""
    return vol.Schema(
        {
            vol.Required(CONF_TYPE, default=default): SelectSelector(
                SelectSelectorConfig(
                    options=list(DETECTOR_TYPES),
                    translation_key="detector_type",
                    mode=SelectSelectorMode.LIST,
                )
            )
        }
    )


def detector_schema(cameras: list[str]) -> vol.Schema:
    """Form of a detector server (CompreFace, DeepStack, CodeProject.AI, Facebox)."""
    return vol.Schema(
        {
            vol.Required(CONF_URL): _URL,
            vol.Optional(CONF_API_KEY, default=""): _PASSWORD,
            vol.Optional(
                CONF_TIMEOUT, default=DEFAULT_DETECTOR_TIMEOUT
            ): NumberSelector(
                NumberSelectorConfig(min=1, max=120, step=1, unit_of_measurement="s")
            ),
            vol.Optional(
                CONF_DET_PROB_THRESHOLD, default=DEFAULT_DET_PROB_THRESHOLD
            ): NumberSelector(
                NumberSelectorConfig(
                    min=0, max=1, step=0.05, mode=NumberSelectorMode.BOX
                )
            ),
            vol.Optional(
                CONF_CONCURRENCY, default=DEFAULT_DETECTOR_CONCURRENCY
            ): _number(1, 16, 1),
            vol.Optional(CONF_CAMERAS, default=[]): _camera_selector(cameras),
        }
    )


def local_detector_schema(cameras: list[str]) -> vol.Schema:
    """Form of the local detector: upsampling, image height, distance threshold."""
    return vol.Schema(
        {
            vol.Optional(CONF_UPSAMPLE, default=DEFAULT_UPSAMPLE): NumberSelector(
                NumberSelectorConfig(
                    min=0, max=2, step=1, mode=NumberSelectorMode.SLIDER
                )
            ),
            vol.Optional(CONF_MAX_HEIGHT, default=DEFAULT_MAX_HEIGHT): _number(
                240, 2160, 1, "px"
            ),
            vol.Optional(
                CONF_DISTANCE_THRESHOLD, default=DEFAULT_DISTANCE_THRESHOLD
            ): _number(0.3, 0.9, 0.01),
            vol.Optional(CONF_CAMERAS, default=[]): _camera_selector(cameras),
        }
    )


class _LocalSetup:
    """The install-and-load task behind the local detector's progress step."""

    def __init__(self) -> None:
        """Nothing submitted yet."""
        self.data: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None

    def task(self, hass: HomeAssistant) -> asyncio.Task[None]:
        """Return the validation task of ``data``, started on the first call."""
        if self._task is None:
            self._task = hass.async_create_task(
                validate_detector(hass, self.data),
                "double_take install local detector",
                eager_start=False,
            )
        return self._task

    def finish(self) -> bool:
        """Collect the finished task's outcome; False (and ``errors`` set) on failure."""
        task, self._task = self._task, None
        assert task is not None
        try:
            task.result()
        except CannotConnect as err:
            self.errors = {"base": str(err)}
            return False
        self.errors = {}
        return True


def _frigate_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Optional(
                CONF_FRIGATE_URL, default=defaults.get(CONF_FRIGATE_URL, "")
            ): _URL,
            vol.Optional(
                CONF_FRIGATE_USERNAME, default=defaults.get(CONF_FRIGATE_USERNAME, "")
            ): _TEXT,
            vol.Optional(CONF_FRIGATE_PASSWORD, default=""): _PASSWORD,
            vol.Optional(
                CONF_VERIFY_SSL, default=defaults.get(CONF_VERIFY_SSL, True)
            ): BooleanSelector(),
        }
    )


def _credentials_schema(username: str) -> vol.Schema:
    return vol.Schema(
        {
            vol.Optional(CONF_FRIGATE_USERNAME, default=username): _TEXT,
            vol.Optional(CONF_FRIGATE_PASSWORD, default=""): _PASSWORD,
        }
    )


def _frigate_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    url = user_input.get(CONF_FRIGATE_URL, "").strip().rstrip("/")
    return {
        CONF_FRIGATE_URL: url,
        CONF_FRIGATE_USERNAME: user_input.get(CONF_FRIGATE_USERNAME, "").strip()
        if url
        else "",
        CONF_FRIGATE_PASSWORD: user_input.get(CONF_FRIGATE_PASSWORD, "") if url else "",
        CONF_VERIFY_SSL: user_input.get(CONF_VERIFY_SSL, True),
    }


def _entry_title(url: str) -> str:
    if not url:
        return "Double Take"
    return f"Double Take ({urlsplit(url).netloc or url})"


class DoubleTakeConfigFlow(ConfigFlow, domain=DOMAIN):
    """Step ``user`` (Frigate, optional), then the first detector.

    Step ``detector`` asks for the detector type; ``detector_remote`` then asks for the
    server, or ``detector_local`` for the local detector's options, followed by the
    ``install_local`` progress step (packages installed, models loaded).
    """

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Keep what the first step validated."""
        self._data: dict[str, Any] = {}
        self._cameras: list[str] = []
        self._detector_type = DETECTOR_LOCAL
        self._local = _LocalSetup()

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Return the processing options flow."""
        return DoubleTakeOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Detectors are subentries."""
        return {SUBENTRY_DETECTOR: DetectorSubentryFlow}

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Frigate connection (leave the URL empty to use recognition actions only)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _frigate_data(user_input)
            url = data[CONF_FRIGATE_URL]
            await self.async_set_unique_id(
                normalise_url(url) if url else NO_FRIGATE_UNIQUE_ID
            )
            self._abort_if_unique_id_configured()
            try:
                if url:
                    self._cameras = list(
                        (await validate_frigate(self.hass, data)).cameras
                    )
            except CannotConnect as err:
                errors["base"] = str(err)
            else:
                self._data = data
                return await self.async_step_detector()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                _frigate_schema({}), user_input or {}
            ),
            errors=errors,
        )

    async def async_step_detector(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the first detector's type."""
        if user_input is not None:
            self._detector_type = user_input[CONF_TYPE]
            if self._detector_type == DETECTOR_LOCAL:
                return await self.async_step_detector_local()
            return await self.async_step_detector_remote()
        return self.async_show_form(
            step_id="detector", data_schema=detector_type_schema()
        )

    async def async_step_detector_remote(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the detector server and check it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = clean_detector_data({**user_input, CONF_TYPE: self._detector_type})
            try:
                await validate_detector(self.hass, data)
            except CannotConnect as err:
                errors["base"] = str(err)
            else:
                return self._async_create_with_detector(data)
        return self.async_show_form(
            step_id="detector_remote",
            data_schema=self.add_suggested_values_to_schema(
                detector_schema(self._cameras), user_input or {}
            ),
            errors=errors,
            description_placeholders={"type": DETECTOR_TITLES[self._detector_type]},
        )

    async def async_step_detector_local(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the local detector's options."""
        if user_input is not None:
            self._local.data = clean_detector_data(
                {**user_input, CONF_TYPE: DETECTOR_LOCAL}
            )
            return await self.async_step_install_local()
        return self.async_show_form(
            step_id="detector_local",
            data_schema=self.add_suggested_values_to_schema(
                local_detector_schema(self._cameras), self._local.data
            ),
            errors=self._local.errors,
        )

    async def async_step_install_local(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Install the local detector's packages and load its models (progress)."""
        task = self._local.task(self.hass)
        if not task.done():
            return self.async_show_progress(
                step_id="install_local",
                progress_action="install_local",
                progress_task=task,
            )
        if not self._local.finish():
            return self.async_show_progress_done(next_step_id="detector_local")
        return self.async_show_progress_done(next_step_id="local_done")

    async def async_step_local_done(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Create the entry with the local detector."""
        return self._async_create_with_detector(self._local.data)

    @callback
    def _async_create_with_detector(self, detector: dict[str, Any]) -> ConfigFlowResult:
        """Create the entry with its first detector as a subentry."""
        return self.async_create_entry(
            title=_entry_title(self._data[CONF_FRIGATE_URL]),
            data=self._data,
            subentries=[
                {
                    "subentry_type": SUBENTRY_DETECTOR,
                    "data": detector,
                    "title": detector_title(detector),
                    "unique_id": detector_unique_id(detector),
                }
            ],
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the Frigate URL or credentials."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _frigate_data(user_input)
            if data[CONF_FRIGATE_URL] and not data[CONF_FRIGATE_PASSWORD]:
                # An empty password field means "keep the stored one".
                data[CONF_FRIGATE_PASSWORD] = entry.data.get(CONF_FRIGATE_PASSWORD, "")
            url = data[CONF_FRIGATE_URL]
            unique_id = normalise_url(url) if url else NO_FRIGATE_UNIQUE_ID
            if any(
                other.unique_id == unique_id
                for other in self._async_current_entries(include_ignore=False)
                if other.entry_id != entry.entry_id
            ):
                return self.async_abort(reason="already_configured")
            try:
                if url:
                    await validate_frigate(self.hass, data)
            except CannotConnect as err:
                errors["base"] = str(err)
            else:
                return self.async_update_and_abort(
                    entry, unique_id=unique_id, title=_entry_title(url), data=data
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _frigate_schema(entry.data), user_input or {}
            ),
            errors=errors,
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Frigate refused the stored credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for new Frigate credentials."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **_credentials(user_input)}
            try:
                await validate_frigate(self.hass, data)
            except CannotConnect as err:
                errors["base"] = str(err)
            else:
                return self.async_update_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=_credentials_schema(entry.data.get(CONF_FRIGATE_USERNAME, "")),
            description_placeholders={"url": entry.data.get(CONF_FRIGATE_URL, "")},
            errors=errors,
        )


def _credentials(user_input: Mapping[str, Any]) -> dict[str, str]:
    return {
        CONF_FRIGATE_USERNAME: user_input.get(CONF_FRIGATE_USERNAME, "").strip(),
        CONF_FRIGATE_PASSWORD: user_input.get(CONF_FRIGATE_PASSWORD, ""),
    }


def _frigate_config(entry: ConfigEntry) -> FrigateConfig | None:
    """Frigate's config as the loaded entry last read it (None when not loaded)."""
    if entry.state is not ConfigEntryState.LOADED:
        return None
    data: DoubleTakeData = entry.runtime_data
    return data.coordinator.frigate_config


def _entry_cameras(entry: ConfigEntry) -> list[str]:
    """Frigate's camera names, for the camera selectors."""
    frigate_config = _frigate_config(entry)
    return list(frigate_config.cameras) if frigate_config else []


def _entry_zones(entry: ConfigEntry) -> list[str]:
    """Frigate's zones as ``camera.zone``, for the zone selector."""
    frigate_config = _frigate_config(entry)
    if not frigate_config:
        return []
    return [
        f"{camera}.{zone}"
        for camera, zones in frigate_config.cameras.items()
        for zone in zones
    ]


class DetectorSubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure a detector: its type first, then the type's own form."""

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._detector_type = DETECTOR_LOCAL
        self._local = _LocalSetup()

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a detector: which type."""
        if user_input is not None:
            return await self._async_type_chosen(user_input[CONF_TYPE])
        return self.async_show_form(step_id="user", data_schema=detector_type_schema())

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a detector: its type (the current one preselected)."""
        subentry = self._get_reconfigure_subentry()
        if user_input is not None:
            return await self._async_type_chosen(user_input[CONF_TYPE])
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=detector_type_schema(subentry.data[CONF_TYPE]),
        )

    async def _async_type_chosen(self, kind: str) -> SubentryFlowResult:
        self._detector_type = kind
        if kind == DETECTOR_LOCAL:
            if self._is_duplicate(LOCAL_UNIQUE_ID):
                return self.async_abort(reason="already_configured")
            self._local.data = self._current_data()
            return await self.async_step_local()
        return await self.async_step_remote()

    async def async_step_remote(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for a detector server's URL, key, timeout and cameras."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = clean_detector_data({**user_input, CONF_TYPE: self._detector_type})
            if self._is_duplicate(detector_unique_id(data)):
                return self.async_abort(reason="already_configured")
            try:
                await validate_detector(self.hass, data)
            except CannotConnect as err:
                errors["base"] = str(err)
            else:
                return self._async_save(data)
        return self.async_show_form(
            step_id="remote",
            data_schema=self.add_suggested_values_to_schema(
                detector_schema(_entry_cameras(self._get_entry())),
                user_input or self._current_data(),
            ),
            errors=errors,
            description_placeholders={"type": DETECTOR_TITLES[self._detector_type]},
        )

    async def async_step_local(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the local detector's options."""
        if user_input is not None:
            self._local.data = clean_detector_data(
                {**user_input, CONF_TYPE: DETECTOR_LOCAL}
            )
            return await self.async_step_install()
        return self.async_show_form(
            step_id="local",
            data_schema=self.add_suggested_values_to_schema(
                local_detector_schema(_entry_cameras(self._get_entry())),
                self._local.data,
            ),
            errors=self._local.errors,
        )

    async def async_step_install(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Install the local detector's packages and load its models (progress)."""
        task = self._local.task(self.hass)
        if not task.done():
            return self.async_show_progress(
                step_id="install", progress_action="install_local", progress_task=task
            )
        if not self._local.finish():
            return self.async_show_progress_done(next_step_id="local")
        return self.async_show_progress_done(next_step_id="local_done")

    async def async_step_local_done(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Save the local detector."""
        return self._async_save(self._local.data)

    @callback
    def _async_save(self, data: dict[str, Any]) -> SubentryFlowResult:
        """Create the subentry, or update the one being reconfigured."""
        title, unique_id = detector_title(data), detector_unique_id(data)
        if self.source == SOURCE_RECONFIGURE:
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                title=title,
                data=data,
                unique_id=unique_id,
            )
        return self.async_create_entry(title=title, data=data, unique_id=unique_id)

    def _current_data(self) -> dict[str, Any]:
        """Return the reconfigured detector's data if its type stays, else nothing."""
        if self.source != SOURCE_RECONFIGURE:
            return {}
        data = dict(self._get_reconfigure_subentry().data)
        return data if data[CONF_TYPE] == self._detector_type else {}

    def _is_duplicate(self, unique_id: str) -> bool:
        """Whether another detector of this entry has ``unique_id``."""
        own = (
            self._get_reconfigure_subentry().subentry_id
            if self.source == SOURCE_RECONFIGURE
            else None
        )
        return any(
            sub.unique_id == unique_id
            for sub in self._get_entry().subentries.values()
            if sub.subentry_id != own
        )


def _number(
    minimum: float, maximum: float, step: float, unit: str | None = None
) -> NumberSelector:
    config = NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def options_schema(cameras: list[str], zones: list[str]) -> vol.Schema:
    """Every option of SPEC §3.3 with its default."""

    def opt(key: str) -> vol.Optional:
        return vol.Optional(key, default=DEFAULT_OPTIONS[key])

    return vol.Schema(
        {
            opt(OPT_CONFIDENCE): _number(0, 100, 1, "%"),
            opt(OPT_UNKNOWN_CONFIDENCE): _number(0, 100, 1, "%"),
            opt(OPT_MIN_FACE_AREA): _number(0, 10_000_000, 1, "px²"),
            opt(OPT_LABELS): SelectSelector(
                SelectSelectorConfig(
                    options=["person"], multiple=True, custom_value=True
                )
            ),
            opt(OPT_CAMERAS): _camera_selector(cameras),
            opt(OPT_ZONES): _camera_selector(zones),
            opt(OPT_MIN_OBJECT_AREA): _number(0, 100_000_000, 1, "px²"),
            opt(OPT_SNAPSHOT_ATTEMPTS): _number(0, 100, 1),
            opt(OPT_LATEST_ATTEMPTS): _number(0, 100, 1),
            opt(OPT_ATTEMPT_DELAY): _number(0, 60, 0.1, "s"),
            opt(OPT_FRIGATE_JITTER): _number(0, 10, 0.1, "s"),
            opt(OPT_IMAGE_HEIGHT): _number(100, 4320, 1, "px"),
            opt(OPT_STOP_ON_MATCH): BooleanSelector(),
            opt(OPT_PROCESSING): SelectSelector(
                SelectSelectorConfig(
                    options=[PROCESSING_PARALLEL, PROCESSING_SERIAL],
                    translation_key="processing",
                )
            ),
            opt(OPT_SAVE_UNKNOWN): BooleanSelector(),
            opt(OPT_PURGE_MATCHES_HOURS): _number(0, 8760, 1, "h"),
            opt(OPT_PURGE_UNKNOWN_HOURS): _number(0, 8760, 1, "h"),
            opt(OPT_UPDATE_SUB_LABEL): BooleanSelector(),
            opt(OPT_MQTT_PUBLISH): BooleanSelector(),
            opt(OPT_MQTT_TOPIC_MATCHES): _TEXT,
            opt(OPT_MQTT_TOPIC_CAMERAS): _TEXT,
            opt(OPT_PRESENCE_TIMEOUT): _number(0, 86400, 1, "s"),
            opt(OPT_CAMERA_RESET): _number(0, 86400, 1, "s"),
        }
    )


class DoubleTakeOptionsFlow(OptionsFlow):
    """Processing options; they apply without a restart."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """One form with every option."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input[OPT_UNKNOWN_CONFIDENCE] > user_input[OPT_CONFIDENCE]:
                errors[OPT_UNKNOWN_CONFIDENCE] = "unknown_above_confidence"
            elif not all(
                _valid_topic(user_input[key])
                for key in (OPT_MQTT_TOPIC_MATCHES, OPT_MQTT_TOPIC_CAMERAS)
            ):
                errors["base"] = "invalid_topic"
            else:
                return self.async_create_entry(data=user_input)
        entry = self.config_entry
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                options_schema(_entry_cameras(entry), _entry_zones(entry)),
                user_input or {**DEFAULT_OPTIONS, **entry.options},
            ),
            errors=errors,
        )


def _valid_topic(topic: str) -> bool:
    """Check a publish topic prefix: non-empty, no wildcards."""
    return bool(topic.strip("/")) and not any(char in topic for char in "+#\0")
