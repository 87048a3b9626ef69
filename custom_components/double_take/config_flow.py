"""UI configuration: the Frigate entry, detector subentries, options, reconfigure, reauth."""

from __future__ import annotations

from abc import abstractmethod
import asyncio
from collections.abc import Awaitable, Mapping
import logging
from typing import Any

import probatio as vol

from homeassistant.config_entries import (
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
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.requirements import RequirementsNotFound, async_process_requirements

from .api.detectors import DETECTOR_TYPES, LocalDetector, create_detector
from .api.errors import ApiAuthError, ApiConnectionError, ApiError
from .api.frigate import FrigateClient, FrigateConfig
from .api.local import REQUIREMENTS as LOCAL_REQUIREMENTS
from .camera_flow import CameraSubentryFlow
from .camera_sources import camera_sources_of
from .const import (
    CONF_FRIGATE_PASSWORD,
    CONF_FRIGATE_URL,
    CONF_FRIGATE_USERNAME,
    CONF_TYPE,
    CONF_URL,
    CONF_VERIFY_SSL,
    DOMAIN,
    OPT_CAMERA_OVERRIDES,
    OPT_CAMERAS,
    OPT_CONFIDENCE,
    OPT_MQTT_TOPIC_CAMERAS,
    OPT_MQTT_TOPIC_MATCHES,
    OPT_UNKNOWN_CONFIDENCE,
    OPT_ZONES,
    SUBENTRY_CAMERA,
    SUBENTRY_DETECTOR,
)
from .data import DoubleTakeConfigEntry, cameras_of
from .detector_config import (
    LOCAL_UNIQUE_ID,
    clean_detector_data,
    detector_kinds,
    detector_schema,
    detector_settings,
    detector_title,
    detector_type_schema,
    detector_unique_id,
    display_url,
    frigate_login,
    host_port,
    http_url,
    local_detector_schema,
    normalize_url,
)
from .options import (
    DEFAULT_OPTIONS,
    NEEDS_CAMERAS,
    NEEDS_FRIGATE,
    NEEDS_MQTT,
    PASSWORD_SELECTOR,
    TEXT_SELECTOR,
    URL_SELECTOR,
    camera_options_schema,
    camera_overrides,
    flattened,
    normalized,
    options_schema,
    sectioned,
)
from .subentry_flow import AddOrChangeSubentryFlow

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
    where = f"Frigate at {display_url(url)}"
    await _checked(where, client.version())
    return await _checked(where, client.config())


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
    await _checked(detector_title(data), detector.check())


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

    A type step (``_async_type_step``) offers the types that can be added and leads to
    the chosen type's own form: a server's step is named after its type (``compreface``,
    ``deepstack``, ``codeproject``, ``facebox``; checked against the server), the local
    detector's is ``local``, followed by the ``install`` progress step (packages
    installed, models loaded) and ``local_done``. The flow using them says which
    cameras to offer, what a duplicate is and what becomes of the finished detector data.
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
    async def _async_save(self, data: dict[str, Any]) -> ResultT:
        """Store the checked detector data."""

    def _current_data(self) -> dict[str, Any]:
        """Return the stored data the forms start from (none for a new detector)."""
        return {}

    def _is_duplicate(self, unique_id: str) -> bool:
        """Whether another detector of the entry has ``unique_id`` (none in a new one)."""
        return False

    async def _async_type_step(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> ResultT:
        """Ask for the detector's type among those that can be added, then its form.

        The local detector is offered only while the entry has none (one per entry).
        """
        if user_input is None:
            kinds = [
                kind
                for kind in detector_kinds()
                if kind != LocalDetector.kind or not self._is_duplicate(LOCAL_UNIQUE_ID)
            ]
            return self.async_show_form(
                step_id=step_id, data_schema=detector_type_schema(kinds)
            )
        self._kind = user_input[CONF_TYPE]
        if self._kind == LocalDetector.kind and self._is_duplicate(LOCAL_UNIQUE_ID):
            # Another flow added the entry's local detector since this form was shown.
            return self.async_abort(reason="already_configured")
        return await self._async_detector_form()

    async def _async_detector_form(self) -> ResultT:
        """Show the form of the chosen type (``self._kind``)."""
        if self._kind == LocalDetector.kind:
            self._local_data = self._current_data()
            return await self.async_step_local()
        return await self._async_server_step(None)

    async def async_step_compreface(
        self, user_input: dict[str, Any] | None = None
    ) -> ResultT:
        """CompreFace's form."""
        return await self._async_server_step(user_input)

    async def async_step_deepstack(
        self, user_input: dict[str, Any] | None = None
    ) -> ResultT:
        """DeepStack's form."""
        return await self._async_server_step(user_input)

    async def async_step_codeproject(
        self, user_input: dict[str, Any] | None = None
    ) -> ResultT:
        """CodeProject.AI's form."""
        return await self._async_server_step(user_input)

    async def async_step_facebox(
        self, user_input: dict[str, Any] | None = None
    ) -> ResultT:
        """Facebox's form."""
        return await self._async_server_step(user_input)

    async def _async_server_step(self, user_input: dict[str, Any] | None) -> ResultT:
        """Ask for a detector server's URL and what its type uses, and check it.

        The step is named after the type, so each server's form has its own texts.
        """
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
                return await self._async_save(data)
        return self.async_show_form(
            step_id=self._kind,
            data_schema=self.add_suggested_values_to_schema(
                detector_schema(self._kind, self._cameras()),
                user_input or self._current_data(),
            ),
            errors=errors,
        )

    async def async_step_local(
        self, user_input: dict[str, Any] | None = None
    ) -> ResultT:
        """Ask for the local detector's options (a new one: its packages install next)."""
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
        return await self._async_save(self._local_data)


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
    """Return the Frigate form's input as stored; credentials never stay in the URL.

    ``http://admin:secret@frigate:5000`` is moved, not refused (``frigate_login``):
    Frigate has no HTTP Basic auth of its own, so user and password in its URL can only
    mean its login. Moved into the username and password fields (a field the user
    filled in wins), they are used as such and kept out of the entry's URL, title,
    unique id, errors and logs.
    """
    typed = _credentials(user_input)
    url, username, password = frigate_login(
        user_input.get(CONF_FRIGATE_URL, "").strip(),
        typed[CONF_FRIGATE_USERNAME],
        typed[CONF_FRIGATE_PASSWORD],
    )
    url = url.rstrip("/")
    return {
        CONF_FRIGATE_URL: url,
        # Without Frigate there is nothing to log in to.
        CONF_FRIGATE_USERNAME: username if url else "",
        CONF_FRIGATE_PASSWORD: password if url else "",
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
    (the server's form, or ``local`` and ``install``); the entry is created with the
    detector as its first subentry.

    The entry's unique id (the Frigate URL, or ``no_frigate``) is claimed only when the
    entry is created: a flow abandoned after step 1 (its tab closed) must not make the
    next one abort with "already in progress" until a restart. Step 1 checks the
    existing entries instead, and creating the entry checks them again.
    """

    VERSION = 1
    # 2: no credentials in the Frigate URL (see async_migrate_entry).
    MINOR_VERSION = 2

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
        """Detectors and camera sources are subentries."""
        return {
            SUBENTRY_DETECTOR: DetectorSubentryFlow,
            SUBENTRY_CAMERA: CameraSubentryFlow,
        }

    def _is_configured(self, unique_id: str, exclude: str | None = None) -> bool:
        """Whether an entry (other than ``exclude``) has ``unique_id``."""
        return any(
            other.unique_id == unique_id
            for other in self._async_current_entries(include_ignore=False)
            if other.entry_id != exclude
        )

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Frigate connection (leave the URL empty to use recognition actions only)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _frigate_data(user_input)
            if self._is_configured(_entry_unique_id(data[CONF_FRIGATE_URL])):
                return self.async_abort(reason="already_configured")
            try:
                if data[CONF_FRIGATE_URL]:
                    config = await validate_frigate(self.hass, data)
                    self._frigate_cameras = list(config.cameras)
            except CannotConnect as err:
                errors["base"] = str(err)
            else:
                self._data = data
                return await self.async_step_detector()
            # Shown again without credentials in the URL (moved to their fields).
            user_input = {**user_input, **data}
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

    async def _async_save(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Create the entry with its first detector as a subentry.

        The unique id is claimed only now; another entry created meanwhile with the
        same Frigate (or without one) aborts this flow.
        """
        await self.async_set_unique_id(
            _entry_unique_id(self._data[CONF_FRIGATE_URL]), raise_on_progress=False
        )
        self._abort_if_unique_id_configured()
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
            # Shown again, if need be, as entered (never the stored password) but
            # without credentials in the URL.
            shown = {**user_input, **data}
            url = data[CONF_FRIGATE_URL]
            if url and not data[CONF_FRIGATE_PASSWORD]:
                # An empty password field means "keep the stored one".
                data[CONF_FRIGATE_PASSWORD] = entry.data.get(CONF_FRIGATE_PASSWORD, "")
            unique_id = _entry_unique_id(url)
            if self._is_configured(unique_id, exclude=entry.entry_id):
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
                _frigate_schema(entry.data), shown if user_input is not None else {}
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
            description_placeholders={
                "url": display_url(entry.data.get(CONF_FRIGATE_URL, ""))
            },
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


class DetectorSubentryFlow(_DetectorSteps[SubentryFlowResult], AddOrChangeSubentryFlow):
    """Add a detector (its type first, then the type's form), or reconfigure one.

    Reconfiguring goes straight to the detector's own form: a detector keeps its type
    (delete it and add another to change the type). The local detector's settings
    form (``reconfigure_local``) saves at once: its packages are already installed.
    """

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a detector: which type (Local only while the entry has none)."""
        return await self._async_type_step("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a detector: its own form, same type."""
        kind = self._get_reconfigure_subentry().data[CONF_TYPE]
        if kind not in DETECTOR_TYPES:
            # Stored by a version that knew this type: it can only be deleted.
            return self.async_abort(
                reason="unsupported_type", description_placeholders={"type": kind}
            )
        self._kind = kind
        if kind == LocalDetector.kind:
            return await self.async_step_reconfigure_local()
        return await self._async_detector_form()

    async def async_step_reconfigure_local(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the local detector's settings; nothing to install or check."""
        if user_input is not None:
            return await self._async_save(
                clean_detector_data({**user_input, CONF_TYPE: LocalDetector.kind})
            )
        return self.async_show_form(
            step_id="reconfigure_local",
            data_schema=self.add_suggested_values_to_schema(
                local_detector_schema(self._cameras()), self._current_data()
            ),
        )

    def _cameras(self) -> list[str]:
        entry = self._get_entry()
        return [
            *_frigate_choices(entry)[OPT_CAMERAS],
            *(source.camera for source in camera_sources_of(entry)),
        ]

    async def _async_save(self, data: dict[str, Any]) -> SubentryFlowResult:
        """Create the subentry, or update the one being reconfigured."""
        return self._saved(detector_title(data), data, detector_unique_id(data))

    def _current_data(self) -> dict[str, Any]:
        """Return the reconfigured detector's data (nothing for a new detector)."""
        return self._changed_data()

    def _is_duplicate(self, unique_id: str) -> bool:
        """Whether another detector of this entry has ``unique_id``."""
        return self._taken(unique_id)


MQTT_DOMAIN = "mqtt"
# The options form's field that leads to a camera's own values (not stored).
CAMERA_TO_ADJUST = "adjust_camera"


class DoubleTakeOptionsFlow(OptionsFlow):
    """Processing options; they apply without a restart.

    One form in sections; the options that cannot apply to the entry are left out
    (Frigate's without a Frigate URL, MQTT's while MQTT is not set up) and keep their
    stored values. ``entry.options`` stays flat, as ``Settings.from_options`` reads it.
    """

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._options: dict[str, Any] = {}
        self._camera = ""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """One form with every option that applies; a camera to adjust leads on."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        shown = {**DEFAULT_OPTIONS, **entry.options}
        cameras = sorted(cameras_of(entry.runtime_data)) if self._loaded() else []
        if user_input is not None:
            options = normalized({**entry.options, **flattened(user_input)})
            shown = {**DEFAULT_OPTIONS, **options}
            if shown[OPT_UNKNOWN_CONFIDENCE] > shown[OPT_CONFIDENCE]:
                errors["base"] = "unknown_above_confidence"
            elif not all(
                _valid_topic(shown[key])
                for key in (OPT_MQTT_TOPIC_MATCHES, OPT_MQTT_TOPIC_CAMERAS)
            ):
                errors["base"] = "invalid_topic"
            elif camera := user_input.get(CAMERA_TO_ADJUST):
                self._options, self._camera = options, camera
                return await self.async_step_camera()
            else:
                return self.async_create_entry(data=options)
        schema = options_schema(_frigate_choices(entry), self._available())
        if cameras:
            schema = schema.extend(
                {
                    vol.Optional(CAMERA_TO_ADJUST): SelectSelector(
                        SelectSelectorConfig(
                            options=cameras, mode=SelectSelectorMode.DROPDOWN
                        )
                    )
                }
            )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, sectioned(shown)),
            errors=errors,
        )

    async def async_step_camera(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """One camera's own values; an empty field keeps the global option."""
        overrides = {
            camera: dict(values)
            for camera, values in camera_overrides(self._options).items()
        }
        if user_input is not None:
            values = normalized(
                {key: value for key, value in user_input.items() if value is not None}
            )
            if values:
                overrides[self._camera] = values
            else:
                overrides.pop(self._camera, None)
            return self.async_create_entry(
                data={**self._options, OPT_CAMERA_OVERRIDES: overrides}
            )
        return self.async_show_form(
            step_id="camera",
            data_schema=self.add_suggested_values_to_schema(
                camera_options_schema(), overrides.get(self._camera, {})
            ),
            description_placeholders={"camera": self._camera},
        )

    def _loaded(self) -> bool:
        return self.config_entry.state is ConfigEntryState.LOADED

    def _available(self) -> set[str]:
        """Return what the entry has that options can need: Frigate, MQTT."""
        available: set[str] = set()
        if self.config_entry.data.get(CONF_FRIGATE_URL):
            available.update((NEEDS_FRIGATE, NEEDS_CAMERAS))
        elif camera_sources_of(self.config_entry):
            available.add(NEEDS_CAMERAS)
        if self.hass.config_entries.async_entries(MQTT_DOMAIN, include_ignore=False):
            available.add(NEEDS_MQTT)
        return available


def _valid_topic(topic: str) -> bool:
    """Check a publish topic prefix: non-empty, no wildcards."""
    return bool(topic.strip("/")) and not any(char in topic for char in "+#\0")
