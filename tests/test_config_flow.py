"""Config flow, detector subentries, reconfigure, reauth and options (SPEC §3)."""

from __future__ import annotations

from collections.abc import Iterator
import socket
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.double_take.api.detectors import DetectorSettings, LocalDetector
from custom_components.double_take.api.events import EventFilter
from custom_components.double_take.api.frigate import FrigateConfig
from custom_components.double_take.api.local import (
    REQUIREMENTS as LOCAL_REQUIREMENTS,
    LocalEngineError,
)
from custom_components.double_take.const import (
    CONF_API_KEY,
    CONF_CAMERAS,
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
    DOMAIN,
    SUBENTRY_DETECTOR,
)
from custom_components.double_take.detector_config import (
    clean_detector_data,
    detector_settings,
    detector_title,
    detector_unique_id,
    normalize_url,
)
from custom_components.double_take.options import (
    DEFAULT_OPTIONS,
    LiveSettings,
    Settings,
    sectioned,
)
from custom_components.double_take.pipeline import RunSettings
from custom_components.double_take.result import MatchRules
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.requirements import RequirementsNotFound

from .common import detector_subentry, make_entry
from .emulators.compreface import COMPREFACE_KEY, CompreFaceEmulator
from .emulators.deepstack import DeepStackEmulator
from .emulators.fixtures import StartEmulator
from .emulators.frigate import FrigateEmulator


@pytest.fixture(autouse=True)
def no_entry_setup() -> Iterator[None]:
    """Flows are tested on their own: creating an entry does not set it up."""
    with patch("custom_components.double_take.async_setup_entry", return_value=True):
        yield


def closed_port_url() -> str:
    """Return a loopback URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def suggested(result: Any, key: str) -> Any:
    """Return the value a form shows pre-filled for ``key`` (None if none)."""
    for marker in result["data_schema"].schema:
        if marker == key:
            return (marker.description or {}).get("suggested_value")
    raise KeyError(key)


def form_values(result: Any) -> dict[str, Any]:
    """Return what a sectioned form shows: each field's suggested value, else default."""
    values: dict[str, Any] = {}
    for section_schema in result["data_schema"].schema.values():
        for marker in section_schema.schema.schema:
            shown = (marker.description or {}).get("suggested_value")
            values[str(marker)] = marker.default() if shown is None else shown
    return values


async def start_detector_flow(hass: HomeAssistant, flow: str) -> tuple[Any, Any]:
    """Open the detector type step of a new entry (``entry``) or of a new subentry."""
    if flow == "entry":
        manager: Any = hass.config_entries.flow
        result = await manager.async_init(DOMAIN, context={"source": SOURCE_USER})
        return manager, await manager.async_configure(result["flow_id"], {})
    entry = make_entry()
    entry.add_to_hass(hass)
    manager = hass.config_entries.subentries
    return manager, await manager.async_init(
        (entry.entry_id, SUBENTRY_DETECTOR), context={"source": SOURCE_USER}
    )


def compreface_input(server: CompreFaceEmulator, **extra: object) -> dict[str, object]:
    """Server form input for the CompreFace emulator (its type is chosen before)."""
    return {
        CONF_URL: server.url,
        CONF_API_KEY: COMPREFACE_KEY,
        CONF_TIMEOUT: 5,
        CONF_CAMERAS: [],
        **extra,
    }


async def test_full_flow_with_frigate(
    hass: HomeAssistant, frigate: FrigateEmulator, compreface: CompreFaceEmulator
) -> None:
    """Frigate first, then the first detector: one entry with one detector subentry."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_FRIGATE_URL: frigate.url + "/", CONF_VERIFY_SSL: True}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "detector"
    assert frigate.requests_to("/api/version")
    assert frigate.requests_to("/api/config")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TYPE: "compreface"}
    )
    assert result["step_id"] == "compreface"  # each server type has its own form
    # Frigate's cameras are offered for the detector's camera filter.
    camera_selector = result["data_schema"].schema[CONF_CAMERAS]
    assert set(camera_selector.config["options"]) == {"front_door", "garden"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        compreface_input(compreface, **{CONF_CAMERAS: ["front_door"]}),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == frigate.url
    assert entry.data == {
        CONF_FRIGATE_URL: frigate.url,
        CONF_FRIGATE_USERNAME: "",
        CONF_FRIGATE_PASSWORD: "",
        CONF_VERIFY_SSL: True,
    }
    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == SUBENTRY_DETECTOR
    assert subentry.title == f"CompreFace ({compreface.url})"
    assert subentry.data[CONF_CAMERAS] == ["front_door"]
    assert subentry.data[CONF_API_KEY] == COMPREFACE_KEY
    # The detector was checked with its key before the entry was created.
    check = compreface.requests_to("/api/v1/recognition/subjects")[-1]
    assert check.headers["x-api-key"] == COMPREFACE_KEY


async def test_flow_without_frigate(
    hass: HomeAssistant, deepstack: DeepStackEmulator
) -> None:
    """An empty Frigate URL makes a manual-only entry."""
    manager, result = await start_detector_flow(hass, "entry")  # URL left empty
    assert result["step_id"] == "detector"
    result = await manager.async_configure(result["flow_id"], {CONF_TYPE: "deepstack"})
    result = await manager.async_configure(result["flow_id"], {CONF_URL: deepstack.url})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Double Take"
    assert result["result"].unique_id == "no_frigate"
    assert result["result"].data[CONF_FRIGATE_URL] == ""
    assert deepstack.requests_to("/v1/vision/face/list")


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("not a url", "invalid_url"),
        ("ftp://frigate.local", "invalid_url"),
        ("http://:5000", "invalid_url"),
        ("http://[::1", "invalid_url"),
        (None, "cannot_connect"),
    ],
)
async def test_frigate_errors_then_recover(
    hass: HomeAssistant, frigate: FrigateEmulator, url: str | None, error: str
) -> None:
    """A bad URL or a dead Frigate shows an error; fixing it continues."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_FRIGATE_URL: url or closed_port_url()}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_FRIGATE_URL: frigate.url}
    )
    assert result["step_id"] == "detector"


async def test_frigate_not_frigate(
    hass: HomeAssistant, frigate: FrigateEmulator
) -> None:
    """A server that answers garbage instead of Frigate's config is invalid_response."""
    frigate.fail_next(
        200, "<html>router login</html>", count=2, content_type="text/html"
    )
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_FRIGATE_URL: frigate.url}
    )
    assert result["errors"] == {"base": "invalid_response"}


async def test_frigate_login(hass: HomeAssistant, socket_enabled: None) -> None:
    """Frigate's authenticated port: wrong password is invalid_auth, the right one works."""
    async with FrigateEmulator(username="admin", password="secret") as frigate:
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_USER}
        )
        form = {
            CONF_FRIGATE_URL: frigate.url,
            CONF_FRIGATE_USERNAME: "admin",
            CONF_FRIGATE_PASSWORD: "wrong",
        }
        result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
        assert result["errors"] == {"base": "invalid_auth"}
        form[CONF_FRIGATE_PASSWORD] = "secret"
        result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
        assert result["step_id"] == "detector"
        assert frigate.logins >= 1


async def test_same_frigate_twice_aborts(
    hass: HomeAssistant, frigate: FrigateEmulator
) -> None:
    """The normalized Frigate URL is the unique id."""
    make_entry(frigate_url=frigate.url).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_FRIGATE_URL: frigate.url.upper().replace("HTTP", "http") + "/"},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize("flow", ["entry", "subentry"])
async def test_detector_errors_then_recover(
    hass: HomeAssistant, compreface: CompreFaceEmulator, flow: str
) -> None:
    """Wrong key, dead server, wrong server type: each has its error; the right input works.

    The first detector of a new entry and an added detector share these steps.
    """
    manager, result = await start_detector_flow(hass, flow)
    flow_id = result["flow_id"]
    result = await manager.async_configure(flow_id, {CONF_TYPE: "compreface"})
    assert result["step_id"] == "compreface"

    result = await manager.async_configure(
        flow_id, compreface_input(compreface, **{CONF_API_KEY: "not-a-uuid"})
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await manager.async_configure(
        flow_id, compreface_input(compreface, **{CONF_URL: closed_port_url()})
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await manager.async_configure(
        flow_id, compreface_input(compreface, **{CONF_URL: "compreface:8000"})
    )
    assert result["errors"] == {"base": "invalid_url"}
    compreface.fail_next(500, "<html>Bad gateway</html>", content_type="text/html")
    result = await manager.async_configure(flow_id, compreface_input(compreface))
    assert result["errors"] == {"base": "invalid_response"}
    result = await manager.async_configure(flow_id, compreface_input(compreface))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_add_and_reconfigure_detector_subentry(
    hass: HomeAssistant, compreface: CompreFaceEmulator, deepstack: DeepStackEmulator
) -> None:
    """Detectors are added, rejected when duplicated, and reconfigured as subentries."""
    other_deepstack = "http://other-deepstack:5000"
    entry = make_entry(
        detectors=[
            detector_subentry("compreface", compreface.url, api_key=COMPREFACE_KEY),
            detector_subentry("deepstack", other_deepstack),
        ]
    )
    entry.add_to_hass(hass)

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DETECTOR), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_TYPE: "deepstack"}
    )
    assert result["step_id"] == "deepstack"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_URL: deepstack.url + "/"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    added = next(
        s for s in entry.subentries.values() if s.data.get(CONF_URL) == deepstack.url
    )
    assert added.title == f"DeepStack ({deepstack.url})"

    # The same server and type again is refused.
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DETECTOR), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_TYPE: "deepstack"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_URL: deepstack.url}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"

    # Reconfigure: straight to the detector's own form, pre-filled; a dead URL is an
    # error, a new camera filter is saved.
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DETECTOR),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": added.subentry_id},
    )
    assert result["step_id"] == "deepstack"
    assert suggested(result, CONF_URL) == deepstack.url
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_URL: closed_port_url()}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_URL: deepstack.url, CONF_CAMERAS: ["garden"]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries[added.subentry_id].data[CONF_CAMERAS] == ["garden"]

    # Reconfiguring onto another subentry's server is refused.
    other = next(
        s for s in entry.subentries.values() if s.data.get(CONF_URL) == other_deepstack
    )
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DETECTOR),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": other.subentry_id},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_URL: deepstack.url}
    )
    assert result["reason"] == "already_configured"


async def test_reconfigure_entry(hass: HomeAssistant, socket_enabled: None) -> None:
    """The Frigate URL can be changed; errors are shown; the password is kept when left empty."""
    entry = make_entry(
        frigate_url="http://old-frigate:5000", username="u", password="keep"
    )
    entry.add_to_hass(hass)
    async with FrigateEmulator(username="u", password="keep") as frigate:
        result = await entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "reconfigure"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_FRIGATE_URL: closed_port_url()}
        )
        assert result["errors"] == {"base": "cannot_connect"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_FRIGATE_URL: frigate.url, CONF_FRIGATE_USERNAME: "u"},
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        assert frigate.logins == 1
    assert entry.data[CONF_FRIGATE_URL] == frigate.url
    assert entry.data[CONF_FRIGATE_PASSWORD] == "keep"
    assert entry.unique_id == frigate.url


async def test_reconfigure_onto_existing_entry_aborts(hass: HomeAssistant) -> None:
    """Two entries cannot point at one Frigate."""
    make_entry(frigate_url="http://a:5000").add_to_hass(hass)
    entry = make_entry(frigate_url="http://b:5000")
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_FRIGATE_URL: "http://A:5000/"}
    )
    assert result["reason"] == "already_configured"


async def test_reauth(hass: HomeAssistant, socket_enabled: None) -> None:
    """New credentials are checked against Frigate and stored."""
    async with FrigateEmulator(username="admin", password="new") as frigate:
        entry = make_entry(frigate_url=frigate.url, username="admin", password="old")
        entry.add_to_hass(hass)
        result = await entry.start_reauth_flow(hass)
        assert result["step_id"] == "reauth_confirm"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_FRIGATE_USERNAME: "admin", CONF_FRIGATE_PASSWORD: "old"},
        )
        assert result["errors"] == {"base": "invalid_auth"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_FRIGATE_USERNAME: "admin", CONF_FRIGATE_PASSWORD: "new"},
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reauth_successful"
        assert entry.data[CONF_FRIGATE_PASSWORD] == "new"


async def test_options_flow(hass: HomeAssistant) -> None:
    """Every option has its SPEC default; inconsistent values are refused; stored flat."""
    entry = make_entry(frigate_url="http://frigate:5000")
    entry.add_to_hass(hass)
    MockConfigEntry(domain="mqtt").add_to_hass(hass)  # every section applies
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert form_values(result) == DEFAULT_OPTIONS

    def answer(**changes: Any) -> dict[str, dict[str, Any]]:
        return sectioned({**DEFAULT_OPTIONS, **changes})

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], answer(confidence=70, unknown_confidence=80)
    )
    assert result["errors"] == {"base": "unknown_above_confidence"}
    # The form keeps what was entered.
    assert form_values(result)["unknown_confidence"] == 80
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], answer(mqtt_topic_matches="double-take/#")
    )
    assert result["errors"] == {"base": "invalid_topic"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        answer(confidence=70, zones=["front_door.porch"], snapshot_attempts=5.0),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["confidence"] == 70
    assert entry.options["zones"] == ["front_door.porch"]
    # Stored flat, counts as ints (number selectors answer floats).
    assert set(entry.options) == set(DEFAULT_OPTIONS)
    assert entry.options["snapshot_attempts"] == 5
    assert isinstance(entry.options["snapshot_attempts"], int)


# -- the local detector ----------------------------------------------------------------

LOCAL_INPUT = {
    CONF_UPSAMPLE: 0.0,  # number selectors answer floats
    CONF_MAX_HEIGHT: 480.0,
    CONF_DISTANCE_THRESHOLD: 0.55,
    CONF_CAMERAS: ["front_door"],
}
LOCAL_DATA = {
    CONF_TYPE: "local",
    CONF_UPSAMPLE: 0,
    CONF_MAX_HEIGHT: 480,
    CONF_DISTANCE_THRESHOLD: 0.55,
    CONF_CAMERAS: ["front_door"],
}


@pytest.fixture
def install() -> Iterator[AsyncMock]:
    """HA's requirements helper, patched: nothing is downloaded."""
    with patch(
        "custom_components.double_take.config_flow.async_process_requirements"
    ) as mock:
        yield mock


@pytest.fixture
def local_check() -> Iterator[AsyncMock]:
    """Patch the local detector's model check (tested in test_local_detector)."""
    with patch.object(LocalDetector, "check") as mock:
        yield mock


async def finish_progress(hass: HomeAssistant, result: Any, manager: Any) -> Any:
    """Wait for an install progress step and return what follows it."""
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == "install_local"
    await hass.async_block_till_done()
    return await manager.async_configure(result["flow_id"])


async def test_flow_with_local_detector(
    hass: HomeAssistant,
    frigate: FrigateEmulator,
    install: AsyncMock,
    local_check: AsyncMock,
) -> None:
    """Local is the default type; its packages are installed only now, then checked."""
    flow = hass.config_entries.flow
    result = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await flow.async_configure(
        result["flow_id"], {CONF_FRIGATE_URL: frigate.url}
    )
    assert result["step_id"] == "detector"
    assert result["data_schema"]({}) == {CONF_TYPE: "local"}
    assert result["data_schema"].schema[CONF_TYPE].config["options"] == [
        "local", "compreface", "deepstack", "codeproject", "facebox",
    ]  # fmt: skip
    result = await flow.async_configure(result["flow_id"], {CONF_TYPE: "local"})
    assert result["step_id"] == "local"
    assert {str(key) for key in result["data_schema"].schema} == {
        CONF_UPSAMPLE, CONF_MAX_HEIGHT, CONF_DISTANCE_THRESHOLD, CONF_CAMERAS,
    }  # fmt: skip
    assert result["data_schema"]({}) == {
        CONF_UPSAMPLE: 1, CONF_MAX_HEIGHT: 720, CONF_DISTANCE_THRESHOLD: 0.6, CONF_CAMERAS: [],
    }  # fmt: skip
    install.assert_not_called()

    result = await flow.async_configure(result["flow_id"], LOCAL_INPUT)
    result = await finish_progress(hass, result, flow)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    install.assert_awaited_once_with(
        hass, DOMAIN, LOCAL_REQUIREMENTS, is_built_in=False
    )
    local_check.assert_awaited_once()
    (subentry,) = result["result"].subentries.values()
    assert subentry.title == "Local (dlib)"
    assert subentry.unique_id == "local"
    assert dict(subentry.data) == LOCAL_DATA


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        ({"install": RequirementsNotFound(DOMAIN, ["dlib-bin==20.0.1.post1"])}, "requirements_failed"),
        ({"check": LocalEngineError("Model file x is missing")}, "local_failed"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("flow", ["entry", "subentry"])
@pytest.mark.allow_errors  # the failed install is logged as an error, as users need it
async def test_local_detector_errors_then_recover(
    hass: HomeAssistant,
    install: AsyncMock,
    local_check: AsyncMock,
    caplog: pytest.LogCaptureFixture,
    failure: dict[str, Exception],
    error: str,
    flow: str,
) -> None:
    """A failed install or model load shows the local form again with a clear error."""
    install.side_effect = failure.get("install")
    local_check.side_effect = failure.get("check")
    manager, result = await start_detector_flow(hass, flow)
    result = await manager.async_configure(result["flow_id"], {CONF_TYPE: "local"})
    assert result["errors"] == {}
    result = await manager.async_configure(result["flow_id"], LOCAL_INPUT)
    result = await finish_progress(hass, result, manager)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "local"
    assert result["errors"] == {"base": error}
    assert suggested(result, CONF_MAX_HEIGHT) == 480  # the input is kept
    assert "dlib-bin" in caplog.text or "Model file x is missing" in caplog.text

    install.side_effect = local_check.side_effect = None
    result = await manager.async_configure(result["flow_id"], LOCAL_INPUT)
    result = await finish_progress(hass, result, manager)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_local_detector_subentry(
    hass: HomeAssistant,
    deepstack: DeepStackEmulator,
    install: AsyncMock,
    local_check: AsyncMock,
) -> None:
    """Add a local detector; then Local is no longer offered; reconfigure it in place."""
    entry = make_entry(detectors=[detector_subentry("deepstack", deepstack.url)])
    entry.add_to_hass(hass)
    manager = hass.config_entries.subentries

    result = await manager.async_init(
        (entry.entry_id, SUBENTRY_DETECTOR), context={"source": SOURCE_USER}
    )
    assert result["data_schema"]({}) == {CONF_TYPE: "local"}
    result = await manager.async_configure(result["flow_id"], {CONF_TYPE: "local"})
    assert result["step_id"] == "local"
    result = await manager.async_configure(result["flow_id"], LOCAL_INPUT)
    result = await finish_progress(hass, result, manager)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    local = next(s for s in entry.subentries.values() if s.unique_id == "local")
    assert local.title == "Local (dlib)"
    assert dict(local.data) == LOCAL_DATA
    install.assert_awaited_once()

    # One local detector per entry: no longer offered.
    result = await manager.async_init(
        (entry.entry_id, SUBENTRY_DETECTOR), context={"source": SOURCE_USER}
    )
    options = result["data_schema"].schema[CONF_TYPE].config["options"]
    assert "local" not in options
    assert result["data_schema"]({}) == {CONF_TYPE: "compreface"}

    # Reconfigure: straight to the local settings, pre-filled; saved without installing.
    result = await manager.async_init(
        (entry.entry_id, SUBENTRY_DETECTOR),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": local.subentry_id},
    )
    assert result["step_id"] == "reconfigure_local"
    assert suggested(result, CONF_DISTANCE_THRESHOLD) == 0.55
    result = await manager.async_configure(
        result["flow_id"], {**LOCAL_INPUT, CONF_UPSAMPLE: 2.0}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries[local.subentry_id].data == {**LOCAL_DATA, CONF_UPSAMPLE: 2}
    assert entry.subentries[local.subentry_id].unique_id == "local"
    install.assert_awaited_once()  # not again
    local_check.assert_awaited_once()


async def test_options_offer_frigate_cameras_and_zones(hass: HomeAssistant) -> None:
    """A loaded entry offers Frigate's cameras and their zones as choices."""
    entry = make_entry(frigate_url="http://frigate:5000")
    entry.add_to_hass(hass)
    config = FrigateConfig(
        topic_prefix="frigate",
        cameras={"front_door": ("porch", "path"), "garden": ()},
    )
    entry.runtime_data = SimpleNamespace(
        frigate=SimpleNamespace(config=config),
        camera_sources=SimpleNamespace(cameras=["porch"]),
    )
    entry.mock_state(hass, ConfigEntryState.LOADED)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    schema = result["data_schema"].schema["frigate"].schema.schema
    assert schema["cameras"].config["options"] == ["front_door", "garden"]
    assert schema["zones"].config["options"] == ["front_door.porch", "front_door.path"]
    # Camera settings: Frigate's cameras and the camera sources.
    adjust = result["data_schema"].schema["adjust_camera"]
    assert adjust.config["options"] == ["front_door", "garden", "porch"]


@pytest.mark.parametrize(
    ("data", "title", "unique_id"),
    [
        (
            {CONF_TYPE: "facebox", CONF_URL: "http://user:secret@Facebox.local:8080/"},
            "Facebox (http://facebox.local:8080)",
            "facebox:http://facebox.local:8080",
        ),
        (
            {CONF_TYPE: "compreface", CONF_URL: "HTTP://[FE80::1]:8000/cf/"},
            "CompreFace (http://[fe80::1]:8000/cf)",
            "compreface:http://[fe80::1]:8000/cf",
        ),
        ({CONF_TYPE: "local"}, "Local (dlib)", "local"),
        # A type this version does not know keeps its name.
        ({CONF_TYPE: "retired", CONF_URL: "http://h:1"}, "retired (http://h:1)", "retired:http://h:1"),
    ],
)  # fmt: skip
def test_titles_and_unique_ids_hide_credentials(
    data: dict[str, str], title: str, unique_id: str
) -> None:
    """Basic-auth credentials in a detector URL never reach titles or unique ids."""
    assert detector_title(data) == title
    assert detector_unique_id(data) == unique_id


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("HTTP://[::1]:5000/", "http://[::1]:5000"),
        (" https://Frigate.Local:8971// ", "https://frigate.local:8971"),
        ("http://frigate:80/", "http://frigate:80"),  # an explicit port stays
        ("http://[::1", "http://[::1"),  # unparsable: as typed, never an error
    ],
)
def test_normalize_url(url: str, normalized: str) -> None:
    """Unique ids: scheme and host lower-cased, no trailing slash."""
    assert normalize_url(url) == normalized


def test_detector_settings() -> None:
    """One builder turns subentry data into client settings, defaults filled in."""
    assert detector_settings({CONF_TYPE: "deepstack", CONF_URL: "http://d"}, "/x") == (
        DetectorSettings(url="http://d")  # storage_dir only for the local detector
    )
    assert detector_settings(LOCAL_DATA, "/x") == DetectorSettings(
        storage_dir="/x", upsample=0, max_height=480, distance_threshold=0.55
    )
    assert clean_detector_data({CONF_TYPE: "local"}) == {
        CONF_TYPE: "local", CONF_UPSAMPLE: 1, CONF_MAX_HEIGHT: 720,
        CONF_DISTANCE_THRESHOLD: 0.6, CONF_CAMERAS: [],
    }  # fmt: skip


def test_settings_from_options() -> None:
    """The typed settings: defaults for what is missing, values converted."""
    defaults = Settings.from_options({})
    assert defaults == Settings(
        rules=MatchRules(confidence=50.0, unknown_confidence=40.0, min_face_area=10000),
        event_filter=EventFilter.create(
            labels=["person"], cameras=[], zones=[], min_object_area=0.0
        ),
        snapshot_attempts=10,
        latest_attempts=10,
        run=RunSettings(delay=0.5, stop_on_match=True, parallel=True),
        frigate_jitter=0.0,
        image_height=800,
        crop="person",
        require_face="auto",
        mqtt_snapshots=False,
        save_unknown=False,
        purge_matches_hours=48.0,
        purge_unknown_hours=48.0,
        update_sub_label=False,
        mqtt_publish=True,
        mqtt_topic_matches="double-take/matches",
        mqtt_topic_cameras="double-take/cameras",
        presence_timeout=600.0,
        camera_reset=30.0,
    )
    live = LiveSettings({})
    live.update(
        {
            "confidence": 70.0,
            "min_face_area": 2500.0,  # number selectors answer floats
            "processing": "serial",
            "mqtt_topic_matches": "dt/matches/",
            "zones": ["front_door.porch"],
            "image_height": 720.0,
        }
    )
    settings = live.current
    assert settings.rules.confidence == 70.0
    assert settings.rules.min_face_area == 2500
    assert isinstance(settings.rules.min_face_area, int)
    assert settings.run.parallel is False
    assert settings.mqtt_topic_matches == "dt/matches"
    assert settings.event_filter == EventFilter.create(
        labels=["person"], cameras=[], zones=["front_door.porch"], min_object_area=0
    )
    assert settings.image_height == 720
    assert isinstance(settings.image_height, int)


@pytest.mark.parametrize("kind", ["compreface", "deepstack", "codeproject", "facebox"])
async def test_each_server_type_is_added_through_its_own_form(
    hass: HomeAssistant, start_emulator: StartEmulator, kind: str
) -> None:
    """The type step leads to the type's own step, which checks and saves the server."""
    server = await start_emulator(kind)
    manager, result = await start_detector_flow(hass, "subentry")
    result = await manager.async_configure(result["flow_id"], {CONF_TYPE: kind})
    assert result["step_id"] == kind
    form = {CONF_URL: server.url}
    if isinstance(server, CompreFaceEmulator):
        form[CONF_API_KEY] = server.api_key
    result = await manager.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["unique_id"] == f"{kind}:{server.url}"
