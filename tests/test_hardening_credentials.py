"""Issue 11 item 7: credentials written into a URL never reach titles, errors, logs.

Frigate's URL: user and password found in it are moved into the login fields. Detector
URLs (Facebox takes Basic auth as ``http://user:pass@host``) keep them, but titles,
debug lines and diagnostics show host and port only, also for passwords holding ``@``
and ``:``.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from unittest.mock import patch
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    _get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.double_take.const import (
    CONF_FRIGATE_PASSWORD,
    CONF_FRIGATE_URL,
    CONF_FRIGATE_USERNAME,
    CONF_TYPE,
    CONF_URL,
    CONF_VERIFY_SSL,
    DOMAIN,
)
from custom_components.double_take.detector_config import (
    detector_title,
    display_url,
    split_credentials,
)
from custom_components.double_take.diagnostics import redact_credentials, redact_url
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from .common import detector_subentry, make_entry, setup_entry
from .emulators.fixtures import StartEmulator
from .emulators.frigate import FrigateEmulator

PASSWORD = "p@ss:word"
LOGGER = "custom_components.double_take"


@pytest.fixture(autouse=True)
def no_entry_setup(request: pytest.FixtureRequest) -> Any:
    """Flows are tested on their own (diagnostics and migration tests set entries up)."""
    if "diagnostics" in request.node.name or "migrat" in request.node.name:
        yield
        return
    with patch("custom_components.double_take.async_setup_entry", return_value=True):
        yield


def with_credentials(url: str, user: str = "admin", password: str = PASSWORD) -> str:
    """``url`` with ``user:password@`` written in, the password as a user types it."""
    return url.replace("://", f"://{user}:{password}@")


def suggested_url(result: Any) -> Any:
    """Return the Frigate URL a form shows pre-filled."""
    marker = next(m for m in result["data_schema"].schema if m == CONF_FRIGATE_URL)
    return (marker.description or {}).get("suggested_value")


async def test_frigate_credentials_in_the_url_are_moved(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """``http://admin:p@ss:word@host`` logs in as admin; the entry keeps none of it."""
    async with FrigateEmulator(username="admin", password=PASSWORD) as frigate:
        flow = hass.config_entries.flow
        result = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await flow.async_configure(
            result["flow_id"], {CONF_FRIGATE_URL: with_credentials(frigate.url) + "/"}
        )
        assert result["step_id"] == "detector"
        assert frigate.logins == 1
        result = await flow.async_configure(result["flow_id"], {CONF_TYPE: "deepstack"})
        with patch(
            "custom_components.double_take.config_flow.validate_detector"
        ) as check:
            result = await flow.async_configure(
                result["flow_id"], {CONF_URL: "http://deepstack:5000"}
            )
        check.assert_awaited_once()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.data == {
        CONF_FRIGATE_URL: frigate.url,
        CONF_FRIGATE_USERNAME: "admin",
        CONF_FRIGATE_PASSWORD: PASSWORD,
        CONF_VERIFY_SSL: True,
    }
    assert entry.title == f"Double Take ({frigate.url.removeprefix('http://')})"
    assert entry.unique_id == frigate.url


async def test_typed_credentials_win_over_the_url(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """Filled-in fields are used; the URL's credentials are dropped all the same."""
    async with FrigateEmulator(username="admin", password="right") as frigate:
        flow = hass.config_entries.flow
        result = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await flow.async_configure(
            result["flow_id"],
            {
                CONF_FRIGATE_URL: with_credentials(frigate.url, "old", "wrong"),
                CONF_FRIGATE_USERNAME: "admin",
                CONF_FRIGATE_PASSWORD: "right",
            },
        )
        assert result["step_id"] == "detector"


@pytest.mark.parametrize("answer", ["invalid_response", "cannot_connect"])
async def test_frigate_errors_show_no_credentials(
    hass: HomeAssistant,
    frigate: FrigateEmulator,
    caplog: pytest.LogCaptureFixture,
    answer: str,
) -> None:
    """A failed check: neither the debug line nor the form shows the password."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    url = frigate.url
    if answer == "invalid_response":
        frigate.fail_next(200, "<html>router</html>", count=2, content_type="text/html")
    else:
        await frigate.__aexit__(None, None, None)  # nothing listens any more
    flow = hass.config_entries.flow
    result = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await flow.async_configure(
        result["flow_id"], {CONF_FRIGATE_URL: with_credentials(url, "admin", "s3cr3t")}
    )
    assert result["errors"] == {"base": answer}
    assert "s3cr3t" not in caplog.text
    # The form comes back with the credentials in their fields, not in the URL.
    assert suggested_url(result) == url
    username = next(
        m for m in result["data_schema"].schema if m == CONF_FRIGATE_USERNAME
    )
    assert username.description == {"suggested_value": "admin"}


async def test_reconfigure_moves_url_credentials(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """Reconfigure too: the URL is stored bare, the credentials in their fields."""
    entry = make_entry(frigate_url="http://old:5000")
    entry.add_to_hass(hass)
    async with FrigateEmulator(username="admin", password=PASSWORD) as frigate:
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_FRIGATE_URL: with_credentials(frigate.url)}
        )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_FRIGATE_URL] == frigate.url
    assert entry.data[CONF_FRIGATE_USERNAME] == "admin"
    assert entry.data[CONF_FRIGATE_PASSWORD] == PASSWORD
    assert PASSWORD not in entry.title


async def test_reauth_form_shows_no_credentials(hass: HomeAssistant) -> None:
    """An entry stored with credentials in its URL: the reauth text shows host only."""
    entry = make_entry(frigate_url=with_credentials("http://frigate:5000"))
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["description_placeholders"]["url"] == "http://frigate:5000"


async def test_detector_check_debug_line_shows_no_credentials(
    hass: HomeAssistant,
    start_emulator: StartEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Facebox with Basic auth in its URL answering garbage: the debug line is bare."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    facebox = await start_emulator("facebox", basic_auth=("user", PASSWORD))
    facebox.fail_next(200, "<html>not facebox</html>", content_type="text/html")
    flow = hass.config_entries.flow
    result = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await flow.async_configure(result["flow_id"], {})
    result = await flow.async_configure(result["flow_id"], {CONF_TYPE: "facebox"})
    result = await flow.async_configure(
        result["flow_id"], {CONF_URL: with_credentials(facebox.url, "user")}
    )
    assert result["errors"] == {"base": "invalid_response"}
    assert "answered unexpectedly" in caplog.text
    assert "ss:word" not in caplog.text
    assert f"Facebox ({facebox.url})" in caplog.text


@pytest.mark.parametrize(
    ("url", "title"),
    [
        (f"http://user:{PASSWORD}@Facebox.local:8080/", "Facebox (http://facebox.local:8080)"),
        ("http://user:p%40ss@[FE80::1]:8080/fb", "Facebox (http://[fe80::1]:8080/fb)"),
        ("http://:only-a-password@facebox:8080", "Facebox (http://facebox:8080)"),
    ],
)  # fmt: skip
def test_detector_titles_hide_credentials(url: str, title: str) -> None:
    """Titles are built from the parsed URL: scheme, host, port and path."""
    assert detector_title({CONF_TYPE: "facebox", CONF_URL: url}) == title


def test_url_helpers() -> None:
    """``split_credentials`` decodes; ``display_url`` never shows what it cannot parse."""
    assert split_credentials(f"http://admin:{quote(PASSWORD)}@frigate:5000") == (
        "http://frigate:5000",
        "admin",
        PASSWORD,
    )
    assert split_credentials("http://frigate:5000") == ("http://frigate:5000", "", "")
    assert split_credentials("not a url") == ("not a url", "", "")
    assert display_url("http://user:pass@[::1") == "(invalid URL)"
    assert display_url("frigate:5000") == "(invalid URL)"


async def test_diagnostics_redact_passwords_with_at_and_colon(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    frigate: FrigateEmulator,
    start_emulator: StartEmulator,
) -> None:
    """``p@ss:word`` in a Facebox URL (its title, its data) is redacted whole."""
    facebox = await start_emulator("facebox", basic_auth=("fb-user", PASSWORD))
    facebox_url = with_credentials(facebox.url, "fb-user")
    entry = make_entry(
        frigate_url=frigate.url,
        detectors=[
            detector_subentry("facebox", facebox_url, title=f"Facebox ({facebox_url})")
        ],
    )
    await setup_entry(hass, entry)
    data = (await _get_diagnostics_for_config_entry(hass, hass_client, entry))["data"]

    text = json.dumps(data)
    for secret in ("ss:word", "fb-user"):
        assert secret not in text
    redacted = facebox.url.replace("://", "://**REDACTED**@")
    (detector,) = data["detectors"]
    assert detector["data"]["url"] == redacted
    assert detector["title"] == f"Facebox ({redacted})"
    assert detector["health"]["available"] is True  # the credentials worked


async def test_older_entry_with_credentials_in_its_url_is_migrated(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    socket_enabled: None,
) -> None:
    """An entry of an older version: URL, title and login fixed before its setup."""
    async with FrigateEmulator(username="admin", password=PASSWORD) as frigate:
        host = frigate.url.removeprefix("http://")
        entry = MockConfigEntry(
            domain=DOMAIN,
            version=1,
            minor_version=1,
            title=f"Double Take (admin:{PASSWORD}@{host})",
            data={
                CONF_FRIGATE_URL: with_credentials(frigate.url) + "/",
                CONF_FRIGATE_USERNAME: "",
                CONF_FRIGATE_PASSWORD: "",
                CONF_VERIFY_SSL: True,
            },
            unique_id=frigate.url,
        )
        await setup_entry(hass, entry)
        assert entry.state is ConfigEntryState.LOADED
        assert frigate.logins >= 1  # with the moved credentials
        assert entry.minor_version == 2
        assert entry.title == f"Double Take ({host})"
        assert entry.data == {
            CONF_FRIGATE_URL: frigate.url,
            CONF_FRIGATE_USERNAME: "admin",
            CONF_FRIGATE_PASSWORD: PASSWORD,
            CONF_VERIFY_SSL: True,
        }
        data = (await _get_diagnostics_for_config_entry(hass, hass_client, entry))[
            "data"
        ]
        assert "ss:word" not in json.dumps(data)
        await hass.config_entries.async_unload(entry.entry_id)


async def test_migration_keeps_renamed_titles_and_clean_entries(
    hass: HomeAssistant,
) -> None:
    """A renamed title stays; an entry without credentials only gets the new version."""
    with patch("custom_components.double_take.async_setup_entry", return_value=True):
        renamed = MockConfigEntry(
            domain=DOMAIN,
            title="Front house",
            data={
                **make_entry().data,
                CONF_FRIGATE_URL: "http://admin:secret@frigate:5000",
                CONF_FRIGATE_USERNAME: "typed",
            },
            unique_id="http://frigate:5000",
        )
        clean = make_entry(frigate_url="http://other:5000")
        for entry in (renamed, clean):
            await setup_entry(hass, entry)
    assert renamed.title == "Front house"
    assert renamed.data[CONF_FRIGATE_URL] == "http://frigate:5000"
    assert renamed.data[CONF_FRIGATE_USERNAME] == "typed"  # a filled field wins
    assert renamed.data[CONF_FRIGATE_PASSWORD] == "secret"
    assert clean.minor_version == 2
    assert clean.data == make_entry(frigate_url="http://other:5000").data


# Characters a user may type into a password or user name inside a URL: anything
# but the URL's own separators (``/ ? #``, which end its authority) and spaces.
_SECRET = st.text(
    st.characters(
        codec="utf-8",
        exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
        exclude_characters="/?#\\",
    ),
    min_size=1,
    max_size=30,
)


@given(user=_SECRET.filter(lambda u: ":" not in u and "@" not in u), password=_SECRET)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_redaction_hides_any_password(user: str, password: str) -> None:
    """Every password, raw or percent-encoded, is redacted whole, the host kept."""
    for secret in (password, quote(password, safe="")):
        url = f"http://{user}:{secret}@facebox.local:8080/api"
        assert redact_url(url) == "http://**REDACTED**@facebox.local:8080/api"
        text = f"Facebox (http://{user}:{secret}@facebox.local:8080) failed"
        assert (
            redact_credentials(text)
            == "Facebox (http://**REDACTED**@facebox.local:8080) failed"
        )
