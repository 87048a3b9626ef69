"""The blocking-call detection every test runs under (``tests/blocking.py``)."""

from __future__ import annotations

from pathlib import Path

from custom_components.double_take.storage import MediaStore
from homeassistant.core import HomeAssistant


async def test_blocking_call_of_the_integration_is_caught(
    hass: HomeAssistant, tmp_path: Path, detect_blocking_calls: list[str]
) -> None:
    """Saving an image in the event loop instead of the executor is reported."""
    store = MediaStore(tmp_path / "double_take")
    await hass.async_add_executor_job(store.ensure_folders)
    assert not detect_blocking_calls

    store.save_image("matches", "alice", "event", b"\xff\xd8\xff")

    assert any("storage.py" in found for found in detect_blocking_calls)
    detect_blocking_calls.clear()  # caught as it should be: let the test pass


async def test_blocking_calls_of_tests_are_left_alone(
    hass: HomeAssistant, tmp_path: Path, detect_blocking_calls: list[str]
) -> None:
    """Test code may read and write files in the loop; executor threads may block."""
    (tmp_path / "file.txt").write_text("test code", encoding="utf-8")
    await hass.async_add_executor_job((tmp_path / "file.txt").read_text)
    assert not detect_blocking_calls
