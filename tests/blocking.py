"""Home Assistant's detection of blocking calls in the event loop, on for every test.

Home Assistant switches it on at start (``homeassistant.block_async_io.enable``); the
test harness never does, and even when asked it skips the file operations in tests. This
fixture wraps every call of HA's list (``open``, ``Path.read_bytes``, ``os.scandir``,
``time.sleep``, ``glob``, HTTP ``putrequest``, SSL set-up …) so that, while an event
loop runs on the calling thread, HA's own ``raise_for_blocking_call`` judges it exactly
as in production. A call that HA attributes to this integration fails the test; calls
from test code (no integration on the stack) are left alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
import functools
from typing import Any

import pytest

from homeassistant import block_async_io
from homeassistant.helpers.frame import MissingIntegrationFrame, get_integration_frame
from homeassistant.util.loop import raise_for_blocking_call

DOMAIN = "double_take"


def _protect(call: block_async_io.BlockingCall, found: list[str]) -> Callable[..., Any]:
    original = call.original_func

    @functools.wraps(original)
    def protected(*args: Any, **kwargs: Any) -> Any:
        if asyncio._get_running_loop() is not None and not (
            call.check_allowed is not None
            and call.check_allowed({"args": args, "kwargs": kwargs})
        ):
            try:
                frame = get_integration_frame()
            except MissingIntegrationFrame:
                frame = None
            if frame is not None:
                if frame.integration == DOMAIN:
                    found.append(
                        f"{call.function}{args!r:.120} at {frame.relative_filename},"
                        f" line {frame.frame.f_lineno}"
                    )
                # HA's verdict: a warning, or RuntimeError for the strict calls.
                raise_for_blocking_call(
                    original,
                    strict=call.strict,
                    strict_core=call.strict_core,
                    args=args,
                    kwargs=kwargs,
                )
        return original(*args, **kwargs)

    return protected


@pytest.fixture(autouse=True)
def detect_blocking_calls() -> Iterator[list[str]]:
    """Fail the test when double_take makes a blocking call inside the event loop."""
    found: list[str] = []
    calls = block_async_io._BLOCKING_CALLS
    for call in calls:
        setattr(call.object, call.function, _protect(call, found))
    try:
        yield found
    finally:
        for call in calls:
            setattr(call.object, call.function, call.original_func)
    if found:
        pytest.fail(
            "Blocking calls inside the event loop by double_take:\n"
            + "\n".join(dict.fromkeys(found)),
            pytrace=False,
        )
