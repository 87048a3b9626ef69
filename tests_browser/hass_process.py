"""A real Home Assistant process for the browser tests, and its REST/WebSocket API.

``HassProcess`` runs ``.venv/bin/hass -c <dir> --skip-pip`` on a free port of 127.0.0.1,
with the repository's development ``configuration.yaml`` (the one ``scripts/develop``
uses) and ``custom_components/double_take`` symlinked into the config folder, and keeps its
output in ``hass.log``. Two files are written before the first start:

* ``.storage/http``: listen on 127.0.0.1 and the chosen port. HTTP settings live in the UI
  since 2026.10; an ``http:`` block in YAML would be migrated into a *pending* setting that
  the frontend asks to confirm (a dialog over every page) and raises a repair.
* ``.storage/onboarding``: the ``core_config`` step marked done. Its REST view starts the
  flows of ``met``, ``google_translate``, ``radio_browser`` and ``shopping_list``, which go to
  the internet. The other steps go through the onboarding REST API (``HassApi.onboard``).

``HassApi`` talks to it as the frontend does (aiohttp on a ``BackgroundLoop``): onboarding,
tokens by the login flow, WebSocket commands, config flows, users.

``integration_problems(log)`` lists what the integration should never write: a WARNING or
ERROR of ``custom_components.double_take``, any WARNING/ERROR record that names
``double_take`` (e.g. HA's "Error setting up entry … for double_take"), and any traceback
that goes through ``custom_components/double_take/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
import itertools
import json
import os
from pathlib import Path
import re
import shutil
import signal
import subprocess
import time
from typing import Any, cast
import urllib.error
import urllib.request

import aiohttp
from tests.mosquitto import HOST, MosquittoBroker, free_port

from .aio import BackgroundLoop

REPO = Path(__file__).resolve().parents[1]
HASS_BINARY = REPO / ".venv" / "bin" / "hass"
DEV_CONFIGURATION = REPO / "config" / "configuration.yaml"
INTEGRATION = REPO / "custom_components" / "double_take"
DOMAIN = "double_take"

START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Account:
    """A Home Assistant user who logs in with a user name and password."""

    username: str
    password: str
    name: str
    admin: bool


OWNER = Account("admin", "admin-password-1", "Admin", admin=True)
"""The owner created by onboarding (administrator)."""
USER = Account("user", "user-password-1", "Casual User", admin=False)
"""A second user without administrator rights."""


class HassError(RuntimeError):
    """Home Assistant did not start, or answered an API call with an error."""


def prepare_config(config_dir: Path, port: int) -> None:
    """Write a fresh config folder for ``hass -c config_dir`` listening on ``HOST:port``."""
    config_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEV_CONFIGURATION, config_dir / "configuration.yaml")
    custom = config_dir / "custom_components"
    custom.mkdir(exist_ok=True)
    link = custom / DOMAIN
    if not link.exists():
        link.symlink_to(INTEGRATION, target_is_directory=True)
    storage = config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    now = datetime.now(UTC).isoformat()
    _write_store(
        storage / "http",
        key="http",
        version=2,
        minor_version=2,
        data={
            "stable": {
                "server_host": [HOST],
                "server_port": port,
                "cors_allowed_origins": ["https://cast.home-assistant.io"],
                "login_attempts_threshold": -1,
                "ip_ban_enabled": True,
                "ssl_profile": "modern",
                "use_x_frame_options": True,
                "created_at": now,
                "error": None,
                "error_message": None,
            },
            "pending": None,
            "yaml_migration_done": True,
        },
    )
    _write_store(
        storage / "onboarding",
        key="onboarding",
        version=4,
        minor_version=1,
        data={"done": ["core_config"]},
    )


def _write_store(
    path: Path, *, key: str, version: int, minor_version: int, data: Any
) -> None:
    path.write_text(
        json.dumps(
            {
                "version": version,
                "minor_version": minor_version,
                "key": key,
                "data": data,
            },
            indent=2,
        ),
        encoding="utf-8",
    )


class HassProcess:
    """``hass -c config_dir`` as a child process (see the module docstring)."""

    def __init__(self, config_dir: Path, port: int | None = None) -> None:
        """Prepare ``config_dir`` (nothing runs before ``start``)."""
        self.config_dir = config_dir
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = config_dir.parent / "hass.log"
        self.process: subprocess.Popen[bytes] | None = None
        prepare_config(config_dir, self.port)

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start Home Assistant and wait until its HTTP server answers."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (fixed arguments, no shell)
                [str(HASS_BINARY), "-c", str(self.config_dir), "--skip-pip"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise HassError(
                    f"hass exited with code {self.process.returncode}:\n"
                    f"{self.log_text()[-5000:]}"
                )
            try:
                with urllib.request.urlopen(  # noqa: S310 (our own http URL)
                    f"{self.url}/manifest.json", timeout=2
                ) as answer:
                    if answer.status == 200:
                        return
            except urllib.error.URLError, OSError:
                pass
            if time.monotonic() > deadline:
                raise HassError(
                    f"hass did not answer on {self.url} within {timeout} s:\n"
                    f"{self.log_text()[-5000:]}"
                )
            time.sleep(0.25)

    def stop(self) -> None:
        """Stop Home Assistant (SIGTERM, then SIGKILL after STOP_TIMEOUT)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)

    def log_size(self) -> int:
        """Bytes in the log so far (an offset for ``log_text``)."""
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_text(self, start: int = 0) -> str:
        """Return the log from byte ``start`` on."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(start)
            return log.read().decode("utf-8", "replace")


# -- the log ---------------------------------------------------------------------------

_RECORD_START = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (?P<level>[A-Z]+) \([^)]*\) \[(?P<logger>[^\]]+)\]",
    re.MULTILINE,
)
_PROBLEM_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})
# Home Assistant's own notice about every custom integration.
_EXPECTED = ("We found a custom integration double_take which has not been tested",)


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One record of the hass log: its first line's level and logger, and all its lines."""

    level: str
    logger: str
    text: str


def log_records(log: str) -> list[LogRecord]:
    """Split a hass log into records (a traceback belongs to the record above it)."""
    starts = list(_RECORD_START.finditer(log))
    return [
        LogRecord(
            match["level"],
            match["logger"],
            log[match.start() : nxt.start() if nxt else len(log)].rstrip("\n"),
        )
        for match, nxt in itertools.zip_longest(starts, starts[1:])
        if match is not None
    ]


def integration_problems(log: str) -> list[str]:
    """Return the records of ``log`` that show a problem of the integration."""
    problems = []
    for record in log_records(log):
        if any(expected in record.text for expected in _EXPECTED):
            continue
        ours = record.logger.startswith(f"custom_components.{DOMAIN}")
        bad_level = record.level in _PROBLEM_LEVELS
        if (
            (ours and bad_level)
            or (bad_level and DOMAIN in record.text)
            or (
                "Traceback (most recent call last)" in record.text
                and f"custom_components/{DOMAIN}/" in record.text
            )
        ):
            problems.append(record.text)
    return problems


# -- the API ---------------------------------------------------------------------------


class HassApi:
    """Home Assistant's REST and WebSocket API, as the frontend uses them.

    Calls are synchronous for the tests; they run on ``loop``. ``token`` is the owner's
    access token once ``onboard`` ran; every call takes ``token=`` to act as another user.
    """

    def __init__(self, loop: BackgroundLoop, url: str) -> None:
        """Talk to the Home Assistant at ``url`` (``http://127.0.0.1:PORT``)."""
        self.loop = loop
        self.url = url
        self.client_id = f"{url}/"
        self.token: str | None = None
        self._ids = itertools.count(1)

    # -- REST ----------------------------------------------------------------------------

    def rest(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        token: str | None = None,
        form: Mapping[str, str] | None = None,
        expect: int | None = 200,
    ) -> Any:
        """Call ``method path`` with a JSON ``payload`` (or a urlencoded ``form``).

        Returns the decoded JSON answer (or the text when it is not JSON); raises
        ``HassError`` when the status is not ``expect`` (None: any status).
        """
        return self.loop.run(
            self._rest(method, path, payload, token or self.token, form, expect)
        )

    async def _rest(
        self,
        method: str,
        path: str,
        payload: Any,
        token: str | None,
        form: Mapping[str, str] | None,
        expect: int | None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method,
                f"{self.url}{path}",
                json=payload if form is None else None,
                data=dict(form) if form is not None else None,
                headers=headers,
            ) as answer,
        ):
            text = await answer.text()
            if expect is not None and answer.status != expect:
                raise HassError(f"{method} {path}: HTTP {answer.status}: {text}")
            try:
                return json.loads(text)
            except ValueError:
                return text

    # -- WebSocket -----------------------------------------------------------------------

    def ws(self, message: Mapping[str, Any], *, token: str | None = None) -> Any:
        """Send one WebSocket command (``{"type": …, …}``) and return its result."""
        return self.loop.run(self._ws(dict(message), token or self.token))

    async def _ws(self, message: dict[str, Any], token: str | None) -> Any:
        ws_url = self.url.replace("http", "ws", 1) + "/api/websocket"
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(ws_url) as socket,
        ):
            hello = await socket.receive_json()
            assert hello["type"] == "auth_required", hello
            await socket.send_json({"type": "auth", "access_token": token})
            auth = await socket.receive_json()
            if auth["type"] != "auth_ok":
                raise HassError(f"WebSocket authentication failed: {auth}")
            message_id = next(self._ids)
            await socket.send_json({"id": message_id, **message})
            while True:
                answer = await socket.receive_json()
                if answer.get("id") == message_id and answer["type"] == "result":
                    break
            if not answer["success"]:
                raise HassError(f"{message['type']}: {answer['error']}")
            return answer["result"]

    # -- users and tokens ----------------------------------------------------------------

    def onboard(self, owner: Account = OWNER) -> str:
        """Create the owner and finish onboarding; returns (and keeps) the owner's token."""
        created = self.rest(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": self.client_id,
                "name": owner.name,
                "username": owner.username,
                "password": owner.password,
                "language": "en",
            },
        )
        self.token = self._token_from_code(created["auth_code"])
        self.rest("POST", "/api/onboarding/analytics", {})
        self.rest(
            "POST",
            "/api/onboarding/integration",
            {
                "client_id": self.client_id,
                "redirect_uri": f"{self.url}/?auth_callback=1",
            },
        )
        status = self.rest("GET", "/api/onboarding", token="")
        if not isinstance(status, list) or not all(step["done"] for step in status):
            raise HassError(f"onboarding not finished: {status}")
        return self.token

    def _token_from_code(self, code: str) -> str:
        answer = self.rest(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
            },
            token="",
        )
        return cast("str", answer["access_token"])

    def login_token(self, account: Account) -> str:
        """Log ``account`` in through the login flow (as the login page does); its token."""
        flow = self.rest(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.url}/?auth_callback=1",
            },
            token="",
        )
        done = self.rest(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {
                "client_id": self.client_id,
                "username": account.username,
                "password": account.password,
            },
            token="",
        )
        if done.get("type") != "create_entry":
            raise HassError(f"login of {account.username} failed: {done}")
        return self._token_from_code(done["result"])

    def create_user(self, account: Account) -> str:
        """Create ``account`` as Settings → People → Add person does; returns the user id."""
        created = self.ws(
            {
                "type": "config/auth/create",
                "name": account.name,
                "group_ids": ["system-admin" if account.admin else "system-users"],
                "local_only": False,
            }
        )
        user_id = cast("str", created["user"]["id"])
        self.ws(
            {
                "type": "config/auth_provider/homeassistant/create",
                "user_id": user_id,
                "username": account.username,
                "password": account.password,
            }
        )
        return user_id

    def wait_running(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until Home Assistant reports the state RUNNING (start-up finished)."""
        deadline = time.monotonic() + timeout
        while (state := self.rest("GET", "/api/config").get("state")) != "RUNNING":
            if time.monotonic() > deadline:
                raise HassError(f"Home Assistant is still {state} after {timeout} s")
            time.sleep(0.25)

    # -- config flows and entries --------------------------------------------------------

    def config_flow(self, handler: str, *steps: Mapping[str, Any]) -> dict[str, Any]:
        """Start ``handler``'s config flow and submit ``steps`` in turn; the last answer."""
        result: dict[str, Any] = self.rest(
            "POST",
            "/api/config/config_entries/flow",
            {"handler": handler, "show_advanced_options": False},
        )
        for step in steps:
            if result.get("type") != "form":
                raise HassError(f"{handler} flow: expected a form, got {result}")
            result = self.rest(
                "POST",
                f"/api/config/config_entries/flow/{result['flow_id']}",
                dict(step),
            )
        return result

    def entries(self, domain: str) -> list[dict[str, Any]]:
        """Return the config entries of ``domain``."""
        return cast(
            "list[dict[str, Any]]",
            self.ws({"type": "config_entries/get", "domain": domain}),
        )

    def setup_mqtt(self, broker: MosquittoBroker) -> dict[str, Any]:
        """Add the MQTT integration connected to ``broker`` through its config flow."""
        result = self.config_flow(
            "mqtt",
            {
                "broker": broker.host,
                "port": broker.port,
                "protocol": "5",
                # The collapsed section: its fields are required, the frontend sends
                # them with their defaults.
                "other_settings": {
                    "set_client_cert": False,
                    "set_ca_cert": "off",
                    "transport": "tcp",
                },
            },
        )
        if result.get("type") != "create_entry":
            raise HassError(f"MQTT flow did not create an entry: {result}")
        return result
