"""Fixtures of the browser tests: real Home Assistant, emulators, mosquitto, Chromium.

This folder has its own pytest.ini, so ``tests/conftest.py`` and the
pytest-homeassistant-custom-component plugin (which patches sockets, the event loop and
HA itself for in-process tests) are not loaded here (``-p no:homeassistant``).

Scopes: ``hass`` (a Home Assistant process with the owner, a second user and MQTT),
``emulators`` and ``frigate_mqtt`` are per module, so every test module starts from a
fresh Home Assistant (about 7 s); the tests of one module share it and run in order.
A module can add top-level YAML to the configuration of its Home Assistant by overriding
the module-scoped fixture ``hass_configuration`` (e.g. ``{"input_boolean": {…}}``).
``page`` / ``user_page`` are a fresh browser context per test, logged in through the login
form. After each test that used ``hass``, the log lines written meanwhile must show no
problem of the integration (``integration_problems``); mark a test
``@pytest.mark.log_problems_expected`` when it provokes some on purpose.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
import os
from pathlib import Path
import re
from typing import Any

from playwright.sync_api import Browser, Page, Playwright, sync_playwright
import pytest
from tests.mosquitto import NOT_INSTALLED, MosquittoBroker, mosquitto_binary
import yaml

from .aio import BackgroundLoop
from .ha_ui import DESKTOP, TIMEOUT, login
from .hass_process import (
    OWNER,
    USER,
    Account,
    HassApi,
    HassProcess,
    integration_problems,
)
from .servers import Emulators, FrigateMqtt

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(
    os.environ.get("BROWSER_TEST_ARTIFACTS", "/tmp/double-take-browser-tests")
)


@dataclass
class Hass:
    """A running Home Assistant (see ``hass``)."""

    process: HassProcess
    api: HassApi
    broker: MosquittoBroker
    owner: Account
    user: Account
    user_id: str

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.process.url

    @property
    def config_dir(self) -> Path:
        """The config folder (``/config`` of a real installation)."""
        return self.process.config_dir

    @property
    def media_dir(self) -> Path:
        """The folder of *Media → My media* (``/media`` on HA OS and Container)."""
        return self.process.config_dir / "media"

    def log_problems(self, since: int = 0) -> list[str]:
        """Return the integration's problems the log shows from byte ``since`` on."""
        return integration_problems(self.process.log_text(since))


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers of this folder."""
    config.addinivalue_line(
        "markers",
        "log_problems_expected: the test provokes WARNING/ERROR lines of the integration",
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item (the page fixture screenshots failures)."""
    report: pytest.TestReport = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


# -- servers ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def loop() -> Iterator[BackgroundLoop]:
    """Run the event loop of the emulators and of the API client (its own thread)."""
    background = BackgroundLoop()
    yield background
    background.close()


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """Run a real mosquitto on a free port of 127.0.0.1."""
    binary = mosquitto_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(f"{NOT_INSTALLED}: the browser tests must run in CI")
        pytest.skip(NOT_INSTALLED)
    broker = MosquittoBroker.start(binary, tmp_path_factory.mktemp("mosquitto"))
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def emulators(loop: BackgroundLoop) -> Iterator[Emulators]:
    """Frigate and CompreFace emulators (``.frigate.url``, ``.compreface.url``)."""
    servers = Emulators(loop)
    servers.start()
    yield servers
    servers.stop()


@pytest.fixture(scope="module")
def frigate_mqtt(mosquitto: MosquittoBroker) -> Iterator[FrigateMqtt]:
    """Publish Frigate's MQTT messages (``publish_event(kind, event_id, camera, …)``)."""
    client = FrigateMqtt(mosquitto)
    yield client
    client.close()


@pytest.fixture(scope="module")
def hass_configuration() -> dict[str, Any]:
    """Top-level YAML added to the module's configuration.yaml (override it in a module)."""
    return {}


@pytest.fixture(scope="module")
def hass(
    tmp_path_factory: pytest.TempPathFactory,
    loop: BackgroundLoop,
    mosquitto: MosquittoBroker,
    hass_configuration: dict[str, Any],
) -> Iterator[Hass]:
    """Run a real Home Assistant: onboarded, a second user, MQTT set up on ``mosquitto``.

    Its config is scripts/develop's configuration.yaml with *My media* in
    ``<config>/media`` (``Hass.media_dir``; in a container HA would use the machine's
    ``/media``), and ``hass_configuration``'s additions.
    """
    base = tmp_path_factory.mktemp("hass")
    process = HassProcess(base / "config")
    _write_configuration(process.config_dir, hass_configuration)
    process.start()
    try:
        api = HassApi(loop, process.url)
        api.onboard(OWNER)
        api.wait_running()
        # What onboarding's "core_config" page sets (skipped, see hass_process).
        api.ws({"type": "config/core/update", "country": "US", "time_zone": "UTC"})
        user_id = api.create_user(USER)
        api.setup_mqtt(mosquitto)
        running = Hass(process, api, mosquitto, OWNER, USER, user_id)
        problems = running.log_problems()
        assert not problems, "\n\n".join(problems)
        yield running
    finally:
        process.stop()
        print(f"\nhass log: {process.log_path}")  # noqa: T201


def _write_configuration(config_dir: Path, additions: dict[str, Any]) -> None:
    """Use ``<config>/media`` as *My media*; add ``additions`` (top-level YAML)."""
    path = config_dir / "configuration.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    media = config_dir / "media"
    media.mkdir(exist_ok=True)
    config["homeassistant"]["media_dirs"] = {"local": str(media)}
    config.update(additions)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


@pytest.fixture(autouse=True)
def _integration_log_is_clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that made the integration write a WARNING/ERROR or a traceback."""
    if "hass" not in request.fixturenames:
        yield
        return
    running: Hass = request.getfixturevalue("hass")
    start = running.process.log_size()
    yield
    if request.node.get_closest_marker("log_problems_expected"):
        return
    problems = running.log_problems(start)
    assert not problems, "the integration logged problems:\n\n" + "\n\n".join(problems)


# -- the browser -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's sync API."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (headless); Playwright's own browser downloads are not used."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    chromium = playwright.chromium.launch(executable_path=CHROMIUM)
    yield chromium
    chromium.close()


def _page(
    browser: Browser, hass: Hass, account: Account, request: pytest.FixtureRequest
) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    try:
        login(page, hass.url, account)
        yield page
    finally:
        call = request.node.stash.get(_REPORTS, {}).get("call")
        if call is not None and call.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
            page.screenshot(path=ARTIFACTS / f"{name}.png")
            print(f"\nscreenshot of the failure: {ARTIFACTS / name}.png")  # noqa: T201
        context.close()


@pytest.fixture
def page(
    browser: Browser, hass: Hass, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """Open a browser tab logged in as the owner (administrator), at 1280×800."""
    yield from _page(browser, hass, hass.owner, request)


@pytest.fixture
def user_page(
    browser: Browser, hass: Hass, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """Open a browser tab logged in as the second user (no administrator rights)."""
    yield from _page(browser, hass, hass.user, request)
