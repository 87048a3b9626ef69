"""UI configuration: the Frigate entry, detector subentries, options, reconfigure, reauth."""

from __future__ import annotations

from abc import abstractmethod
import asyncio
from collections.abc import Awaitable, Mapping
import logging
from typing import Any

import probatio as vol

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import FlowHandler, FlowResult
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import BooleanSelector
from homeassistant.requirements import RequirementsNotFound, async_process_requirements

from .api.detectors import DETECTOR_TYPES, LocalDetector, create_detector
from .api.errors import ApiAuthError, ApiConnectionError, ApiError
from .api.frigate import FrigateClient, FrigateConfig
from .api.local import REQUIREMENTS as LOCAL_REQUIREMENTS
from .const import (
    CONF_FRIGATE_PASSWORD,
    CONF_FRIGATE_URL,
    CONF_FRIGATE_USERNAME,
    CONF_TYPE,
    CONF_URL,
    CONF_VERIFY_SSL,
    DOMAIN,
    OPT_CAMERAS,
    OPT_CONFIDENCE,
    OPT_MQTT_TOPIC_CAMERAS,
    OPT_MQTT_TOPIC_MATCHES,
    OPT_UNKNOWN_CONFIDENCE,
    OPT_ZONES,
    SUBENTRY_DETECTOR,
)
from .data import DoubleTakeConfigEntry
from .detector_config import (
    LOCAL_UNIQUE_ID,
    clean_detector_data,
    detector_schema,
    detector_settings,
    detector_title,
    detector_type_schema,
    detector_unique_id,
    host_port,
    http_url,
    local_detector_schema,
    normalize_url,
)
from .options import (
    DEFAULT_OPTIONS,
    PASSWORD_SELECTOR,
    TEXT_SELECTOR,
    URL_SELECTOR,
    options_schema,
)

_LOGGER = logging.getLogger(__name__)

NO_FRIGATE_UNIQUE_ID = "no_frigate"


class CannotConnect(Exception):
    """Validation failed; ``args[0]`` is the form error key."""


async def _checked[T](what: str, call: Awaitable[T]) -> T:
    """Await a request to ``what``; its failure becomes CannotConnect(error key)."""
    try:
        return await call
    except ApiAuthError as err:
        raise CannotConnect("invalid_auth") from err
    except ApiConnectionError as err:
        raise CannotConnect("cannot_connect") from err
    except ApiError as err:
        _LOGGER.debug("%s answered unexpectedly: %s", what, err)
        raise CannotConnect("invalid_response") from err


async def validate_frigate(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> FrigateConfig:
    """Ask Frigate for its version and config; raise CannotConnect(error key)."""
    url: str = data[CONF_FRIGATE_URL]
    if http_url(url) is None:
        raise CannotConnect("invalid_url")
    verify_ssl = data.get(CONF_VERIFY_SSL, True)
    client = FrigateClient(
        async_get_clientsession(hass, verify_ssl=verify_ssl),
        url.strip(),
        username=data.get(CONF_FRIGATE_USERNAME, ""),
        password=data.get(CONF_FRIGATE_PASSWORD, ""),
        verify_ssl=verify_ssl,
    )
    await _checked(f"Frigate at {url}", client.version())
    return await _checked(f"Frigate at {url}", client.config())


async def validate_detector(hass: HomeAssistant, data: Mapping[str, Any]) -> None:
    """Check a detector before it is saved; raise CannotConnect(error key).

    A server: its health/list endpoint is called. The local detector: its packages are
    installed (only now, about 130 MB) and its models loaded.
    """
    if data[CONF_TYPE] == LocalDetector.kind:
        await _validate_local(hass, data)
        return
    if http_url(data.get(CONF_URL, "")) is None:
        raise CannotConnect("invalid_url")
    detector = create_detector(
        data[CONF_TYPE], async_get_clientsession(hass), detector_settings(data)
    )
    await _checked(f"{data[CONF_TYPE]} at {data[CONF_URL]}", detector.check())


async def _validate_local(hass: HomeAssistant, data: Mapping[str, Any]) -> None:
    """Install the local detector's requirements and load its models."""
    try:
        await async_process_requirements(
            hass, DOMAIN, LOCAL_REQUIREMENTS, is_built_in=False
        )
    except RequirementsNotFound as err:
        _LOGGER.error(
            "Cannot install the local detector's packages %s: see the pip errors above",
            ", ".join(err.requirements),
        )
        raise CannotConnect("requirements_failed") from err
    detector = create_detector(
        LocalDetector.kind, async_get_clientsession(hass), detector_settings(data)
    )
    try:
        await detector.check()
    except ApiError as err:
        _LOGGER.error("The local detector cannot start: %s", err)
        raise CannotConnect("local_failed") from err
    finally:
        # Only a check: the entry's own detector holds the worker process from setup on.
        await detector.close()


class _DetectorSteps[ResultT: FlowResult[Any, Any]](FlowHandler[Any, ResultT, Any]):
    """The detector steps, shared by a new entry's first detector and the subentry flow.

    A type step (``_async_type_step``) leads to ``remote``, the server's form (checked
    against the server), or to ``local``, the local detector's options, followed by the
    ``install`` progress step (packages installed, models loaded) and ``local_done``.
    The flow using them says which cameras to offer, what a duplicate is and what
    becomes of the finished detector data.
    """

    def __init__(self) -> None:
        """Nothing chosen yet."""
        super().__init__()
        self._kind: str = LocalDetector.kind
        self._local_data: dict[str, Any] = {}
        self._local_errors: dict[str, str] = {}
        self._install: asyncio.Task[None] | None = None

    @abstractmethod
    def _cameras(self) -> list[str]:
        """Camera names the detector's camera filter offers."""

    @abstractmethod
    def _async_save(self, data: dict[str, Any]) -> ResultT:
        """Store the checked detector data."""

    def _current_data(self) -> dict[str, Any]:
        """Return the stored data the forms start from (none for a new detector)."""
        return {}

    def _is_duplicate(self, unique_id: str) -> bool:
        """Whether another detector of the entry has ``unique_id`` (none in a new one)."""
        return False

    async def _async_type_step(
        self,
        step_id: str,
        user_input: dict[str, Any] | None,
        default: str = LocalDetector.kind,
    ) -> ResultT:
        """Ask for the detector's type (``default`` preselected), then its own form."""
        if user_input is None:
            return self.async_show_form(
                step_id=step_id, data_schema=detector_type_schema(default)
            )
        self._kind = user_input[CONF_TYPE]
        if self._kind != LocalDetector.kind:
            return await self.async_step_remote()
        if self._is_duplicate(LOCAL_UNIQUE_ID):
            return self.async_abort(reason="already_configured")
        self._local_data = self._current_data()
        return await self.async_step_local()

    async def async_step_remote(
        self, user_input: dict[str, Any] | None = None
    ) -> ResultT:
        """Ask for a detector server's URL, key, timeout and cameras, and check it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = clean_detector_data({**user_input, CONF_TYPE: self._kind})
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
                detector_schema(self._cameras()), user_input or self._current_data()
            ),
            errors=errors,
            description_placeholders={"type": DETECTOR_TYPES[self._kind].title},
        )

    async def async_step_local(
        self, user_input: dict[str, Any] | None = None
    ) -> ResultT:
        """Ask for the local detector's options."""
        if user_input is not None:
            self._local_data = clean_detector_data(
                {**user_input, CONF_TYPE: LocalDetector.kind}
            )
            return await self.async_step_install()
        return self.async_show_form(
            step_id="local",
            data_schema=self.add_suggested_values_to_schema(
                local_detector_schema(self._cameras()), self._local_data
            ),
            errors=self._local_errors,
        )

    async def async_step_install(
        self, user_input: dict[str, Any] | None = None
    ) -> ResultT:
        """Install the local detector's packages and load its models (progress)."""
        if self._install is None:
            self._install = self.hass.async_create_task(
                validate_detector(self.hass, self._local_data),
                "double_take install local detector",
                eager_start=False,
            )
        if not self._install.done():
            return self.async_show_progress(
                step_id="install",
                progress_action="install_local",
                progress_task=self._install,
            )
        task, self._install = self._install, None
        try:
            task.result()
        except CannotConnect as err:
            self._local_errors = {"base": str(err)}
            return self.async_show_progress_done(next_step_id="local")
        return self.async_show_progress_done(next_step_id="local_done")

    async def async_step_local_done(
        self, user_input: dict[str, Any] | None = None
    ) -> ResultT:
        """Save the local detector."""
        return self._async_save(self._local_data)


def _credential_fields(username: str) -> dict[vol.Marker, Any]:
    return {
        vol.Optional(CONF_FRIGATE_USERNAME, default=username): TEXT_SELECTOR,
        vol.Optional(CONF_FRIGATE_PASSWORD, default=""): PASSWORD_SELECTOR,
    }


def _frigate_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Optional(
                CONF_FRIGATE_URL, default=defaults.get(CONF_FRIGATE_URL, "")
            ): URL_SELECTOR,
            **_credential_fields(defaults.get(CONF_FRIGATE_USERNAME, "")),
            vol.Optional(
                CONF_VERIFY_SSL, default=defaults.get(CONF_VERIFY_SSL, True)
            ): BooleanSelector(),
        }
    )


def _credentials(user_input: Mapping[str, Any]) -> dict[str, str]:
    return {
        CONF_FRIGATE_USERNAME: user_input.get(CONF_FRIGATE_USERNAME, "").strip(),
        CONF_FRIGATE_PASSWORD: user_input.get(CONF_FRIGATE_PASSWORD, ""),
    }


def _frigate_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    url = user_input.get(CONF_FRIGATE_URL, "").strip().rstrip("/")
    return {
        CONF_FRIGATE_URL: url,
        **_credentials(user_input if url else {}),
        CONF_VERIFY_SSL: user_input.get(CONF_VERIFY_SSL, True),
    }


def _entry_unique_id(url: str) -> str:
    return normalize_url(url) if url else NO_FRIGATE_UNIQUE_ID


def _entry_title(url: str) -> str:
    parsed = http_url(url)
    return f"Double Take ({host_port(parsed)})" if parsed else "Double Take"


class DoubleTakeConfigFlow(_DetectorSteps[ConfigFlowResult], ConfigFlow, domain=DOMAIN):
    """Step ``user`` (Frigate, optional), then the first detector.

    Step ``detector`` asks for the detector's type, followed by the detector steps
    (``remote``, or ``local`` and ``install``); the entry is created with the detector
    as its first subentry.
    """

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Keep what the first step validated."""
        super().__init__()
        self._data: dict[str, Any] = {}
        self._frigate_cameras: list[str] = []

    @staticmethod
    @callback
    def async_get_options_flow(
        config_entry: DoubleTakeConfigEntry,
    ) -> DoubleTakeOptionsFlow:
        """Return the processing options flow."""
        return DoubleTakeOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: DoubleTakeConfigEntry
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
            await self.async_set_unique_id(_entry_unique_id(data[CONF_FRIGATE_URL]))
            self._abort_if_unique_id_configured()
            try:
                if data[CONF_FRIGATE_URL]:
                    config = await validate_frigate(self.hass, data)
                    self._frigate_cameras = list(config.cameras)
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
        return await self._async_type_step("detector", user_input)

    def _cameras(self) -> list[str]:
        return self._frigate_cameras

    @callback
    def _async_save(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Create the entry with its first detector as a subentry."""
        return self.async_create_entry(
            title=_entry_title(self._data[CONF_FRIGATE_URL]),
            data=self._data,
            subentries=[
                {
                    "subentry_type": SUBENTRY_DETECTOR,
                    "data": data,
                    "title": detector_title(data),
                    "unique_id": detector_unique_id(data),
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
            url = data[CONF_FRIGATE_URL]
            if url and not data[CONF_FRIGATE_PASSWORD]:
                # An empty password field means "keep the stored one".
                data[CONF_FRIGATE_PASSWORD] = entry.data.get(CONF_FRIGATE_PASSWORD, "")
            unique_id = _entry_unique_id(url)
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
            data_schema=vol.Schema(
                _credential_fields(entry.data.get(CONF_FRIGATE_USERNAME, ""))
            ),
            description_placeholders={"url": entry.data.get(CONF_FRIGATE_URL, "")},
            errors=errors,
        )


def _frigate_config(entry: DoubleTakeConfigEntry) -> FrigateConfig | None:
    """Frigate's config as the loaded entry read it (None: not loaded, or no Frigate)."""
    if entry.state is not ConfigEntryState.LOADED:
        return None
    frigate = entry.runtime_data.frigate
    return frigate.config if frigate is not None else None


def _frigate_choices(entry: DoubleTakeConfigEntry) -> dict[str, list[str]]:
    """Frigate's cameras, and its zones as ``camera.zone``, for the selectors."""
    if (config := _frigate_config(entry)) is None:
        return {OPT_CAMERAS: [], OPT_ZONES: []}
    return {OPT_CAMERAS: list(config.cameras), OPT_ZONES: config.zones}


class DetectorSubentryFlow(_DetectorSteps[SubentryFlowResult], ConfigSubentryFlow):
    """Add or reconfigure a detector: its type first, then the type's own form."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a detector: which type."""
        return await self._async_type_step("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a detector: its type (the current one preselected)."""
        subentry = self._get_reconfigure_subentry()
        return await self._async_type_step(
            "reconfigure", user_input, subentry.data[CONF_TYPE]
        )

    def _cameras(self) -> list[str]:
        return _frigate_choices(self._get_entry())[OPT_CAMERAS]

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
        return data if data[CONF_TYPE] == self._kind else {}

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
                options_schema(_frigate_choices(entry)),
                user_input or {**DEFAULT_OPTIONS, **entry.options},
            ),
            errors=errors,
        )


def _valid_topic(topic: str) -> bool:
    """Check a publish topic prefix: non-empty, no wildcards."""
    return bool(topic.strip("/")) and not any(char in topic for char in "+#\0")
