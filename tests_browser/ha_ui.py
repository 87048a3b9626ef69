"""Driving Home Assistant's frontend as a person does (Playwright, sync API).

Selectors are roles and visible texts; Playwright's locators pierce the frontend's open
shadow roots. Every wait is bounded (``TIMEOUT`` ms unless a helper says otherwise).

* ``login(page, url, account)``: the real login form, then waits for the loaded UI.
* ``wait_loaded(page)``: the frontend is past "Loading…" (sidebar and panel shown).
* ``goto(page, path)``: open a panel by URL and wait for it.
* ``open_settings(page, item)``: Settings → ``item`` ("Devices & services", "Tools"…).
* ``open_integrations(page)`` / ``open_integration(page)``: Settings → Devices & services
  (→ the Double Take card: the integration's page).
* ``add_integration(page, name)``: Devices & services → Add integration → search → pick.
* ``dialog(page)``, ``dialog_title(page)``, ``expect_dialog(page, title)``: the open
  dialog (config flows, options, confirmations…).
* ``upload_media(page, files)``: Media → My media → Manage → Add media.
* ``open_actions(page)`` / ``perform_action(page, yaml)``: Settings → Tools → Actions in
  YAML mode; perform one action and read its response.
* ``set_theme(page, dark)``: the user's theme, through ``frontend/set_user_data`` on the
  page's own connection (as Profile → Theme does).
* ``shoot(page, name)``: PNGs in docs/screenshots/ at 1280×800 and 390×844, light and dark.
"""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any

from playwright.sync_api import Locator, Page, ViewportSize, expect
import yaml

from .hass_process import REPO, Account

TIMEOUT = 20_000
"""Default wait for one UI step, in milliseconds."""
SCREENSHOTS = REPO / "docs" / "screenshots"
DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)

# The sizes and themes ``shoot`` writes: file suffix → (viewport, dark).
SHOTS: dict[str, tuple[ViewportSize, bool]] = {
    "": (DESKTOP, False),
    "-dark": (DESKTOP, True),
    "-phone": (PHONE, False),
    "-phone-dark": (PHONE, True),
}


def login(page: Page, url: str, account: Account) -> None:
    """Open ``url`` and log in through the login form; waits for the loaded UI."""
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(account.username)
    page.get_by_role("textbox", name="Password").fill(account.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"^(?!.*/auth/authorize).*$"), timeout=TIMEOUT)
    wait_loaded(page)


def wait_loaded(page: Page, timeout: float = TIMEOUT) -> None:
    """Wait until the frontend shows its sidebar and a panel (not "Loading…")."""
    expect(page.locator("ha-sidebar")).to_be_visible(timeout=timeout)
    expect(page.locator("partial-panel-resolver > *").first).to_be_attached(
        timeout=timeout
    )
    expect(page.locator("hass-loading-screen")).to_have_count(0, timeout=timeout)


def goto(page: Page, path: str) -> None:
    """Open ``path`` of the frontend (``/config/integrations``…) and wait for it."""
    base = re.match(r"^https?://[^/]+", page.url)
    assert base, page.url
    page.goto(base[0] + path)
    wait_loaded(page)


def hass_call(page: Page, script: str, arg: Any = None) -> Any:
    """Run ``script`` (a JS function body of ``hass``, ``arg``) with the page's hass."""
    return page.evaluate(
        "async ([body, arg]) => {"
        " const hass = document.querySelector('home-assistant').hass;"
        " const AsyncFunction = (async () => {}).constructor;"
        " return await new AsyncFunction('hass', 'arg', body)(hass, arg); }",
        [script, arg],
    )


def call_ws(page: Page, message: dict[str, Any]) -> Any:
    """Send a WebSocket command on the page's own connection (as its user)."""
    return hass_call(page, "return await hass.callWS(arg);", message)


def set_theme(page: Page, dark: bool) -> None:
    """Switch the logged-in user's theme to the default theme, light or dark.

    Profile → Theme stores it as the user's ``theme`` user data (``{"theme": …, "dark":
    …}``), and every open frontend of the user subscribes to that key (HA frontend
    20260930: ``subscribe_user_data`` with key ``"theme"``; the ``"core"`` key holds other
    settings and does not switch the theme).
    """
    call_ws(
        page,
        {
            "type": "frontend/set_user_data",
            "key": "theme",
            "value": {"theme": "default", "dark": dark},
        },
    )
    page.wait_for_function(
        "dark => {"
        " const bg = getComputedStyle(document.documentElement)"
        ".getPropertyValue('--primary-background-color').trim();"
        " return (bg === '#111' || bg === '#111111') === dark; }",
        arg=dark,
        timeout=TIMEOUT,
    )


def settle(page: Page) -> None:
    """Let animations and lazy renders finish before a screenshot."""
    page.evaluate(
        "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
    )
    page.wait_for_timeout(400)


def shoot(
    page: Page, name: str, *, phone: bool = True, dark: bool = True
) -> list[Path]:
    """Save ``name``.png (1280×800, light) and its -dark, -phone, -phone-dark siblings.

    The page is left at 1280×800 in the light theme. ``phone=False`` / ``dark=False``
    leave those variants out. Returns the files written.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        for suffix, (viewport, is_dark) in SHOTS.items():
            if (is_dark and not dark) or (viewport is PHONE and not phone):
                continue
            page.set_viewport_size(viewport)
            set_theme(page, is_dark)
            settle(page)
            path = SCREENSHOTS / f"{name}{suffix}.png"
            page.screenshot(path=path)
            written.append(path)
    finally:
        page.set_viewport_size(DESKTOP)
        set_theme(page, False)
    return written


def dialog(page: Page) -> Locator:
    """Return the open dialog on top (a config flow, options, a confirmation…).

    The element with role ``dialog`` is inside ``ha-dialog``'s shadow root and its
    content is slotted, so locators scoped to it find nothing: scope to the host.
    """
    return page.locator("ha-dialog[open]").last


def open_settings(page: Page, item: str) -> None:
    """Open Sidebar → Settings → ``item`` (the text an entry of the Settings page starts with)."""
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("link", name=re.compile(f"^{re.escape(item)}")).click()


def open_integrations(page: Page) -> None:
    """Open Settings → Devices & services (by clicking, as a person does)."""
    open_settings(page, "Devices & services")
    expect(page.get_by_role("button", name="Add integration")).to_be_visible()


def add_integration(page: Page, name: str) -> Locator:
    """Pick ``name`` in Devices & services → Add integration; return its dialog."""
    page.get_by_role("button", name="Add integration").click()
    page.get_by_placeholder("Search for a brand name").fill(name)
    page.get_by_role("listitem").filter(
        has=page.get_by_text(name, exact=True)
    ).first.click()
    return dialog(page)


def open_integration(page: Page, name: str = "Double Take") -> None:
    """Open Settings → Devices & services → the ``name`` card: the integration's page."""
    open_integrations(page)
    page.locator("ha-integration-card").filter(
        has=page.get_by_text(name, exact=True)
    ).click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def dialog_title(page: Page) -> Locator:
    """Return the title of the open dialog on top (its own, or its custom header's)."""
    return dialog(page).locator("[slot=headerTitle], [slot=header] [slot=title]").first


def expect_dialog(page: Page, title: str, timeout: float = TIMEOUT) -> Locator:
    """Wait for a dialog titled ``title``; returns it."""
    expect(dialog_title(page)).to_have_text(title, timeout=timeout)
    return dialog(page)


def upload_media(page: Page, files: list[Path]) -> None:
    """Upload ``files`` by Media → My media → Manage → Add media (one by one)."""
    page.get_by_role("link", name="Media", exact=True).click()
    page.get_by_text("My media", exact=True).filter(visible=True).click()
    page.wait_for_url(re.compile(r"media-source.*media_source"))
    page.get_by_role("button", name="Manage").click()
    manage = expect_dialog(page, "Media management")
    expect(manage.get_by_role("button", name="Add media")).to_be_enabled()
    for file in files:
        with (
            page.expect_response(
                lambda r: "/api/media_source/local_source/upload" in r.url
            ) as uploaded,
            page.expect_file_chooser() as chooser,
        ):
            manage.get_by_role("button", name="Add media").click()
            chooser.value.set_files(file)
        assert uploaded.value.ok, f"upload of {file.name}: HTTP {uploaded.value.status}"
        expect(manage.get_by_text(file.name, exact=True)).to_be_visible()
    manage.get_by_role("button", name="Close").click()
    expect(dialog(page)).to_have_count(0)


def open_actions(page: Page) -> None:
    """Open Settings → Tools → Actions, in YAML mode."""
    open_settings(page, "Tools")
    page.get_by_role("tab", name="Actions").click()
    page.get_by_role("button", name="YAML mode").click()
    expect(page.locator(".cm-content").first).to_be_visible()


def perform_action(
    page: Page, action_yaml: str, *, response: bool = True, timeout: float = 60_000
) -> Any:
    """On the Actions tool in YAML mode: type ``action_yaml``, Perform action; the response.

    Returns the response shown under the form (parsed YAML). ``response=False`` for an
    action that returns nothing: then it returns None once the action was sent.
    """
    editor = page.locator(".cm-content").first
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(action_yaml)
    # The form takes the action from the YAML once parsed: wait until it shows it.
    action = yaml.safe_load(action_yaml)["action"]
    expect(page.locator("#picker").get_by_text(action, exact=True)).to_be_visible()
    # The second code editor shows the response (its value: CodeMirror renders only the
    # lines in view).
    # The tool asks for the response only when the frontend knows the action returns one
    # (its description, refreshed after the integration registered its actions).
    domain, service = action.split(".", 1)
    page.wait_for_function(
        "([domain, service, response]) => {"
        " const known = document.querySelector('home-assistant')"
        ".hass.services?.[domain]?.[service];"
        " return known !== undefined && (!response || known.response !== undefined); }",
        arg=[domain, service, response],
        timeout=TIMEOUT,
    )
    shown = page.locator("ha-code-editor").nth(1)
    before = shown.evaluate("e => e.value") if shown.count() else None
    page.get_by_role("button", name="Perform action").click()
    if not response:
        return None
    expect(shown).to_be_visible(timeout=timeout)
    page.wait_for_function(
        "([e, before]) => e.value !== undefined && e.value !== before",
        arg=[shown.element_handle(), before],
        timeout=timeout,
    )
    return yaml.safe_load(shown.evaluate("e => e.value"))
