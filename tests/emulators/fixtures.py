"""Pytest fixtures that start the emulators (imported by tests/conftest.py).

``tests/conftest.py`` star-imports this module, so every fixture must be listed in
``__all__``. ``start_emulator`` runs any emulator; ``frigate``, ``compreface`` and
``deepstack`` are shorthands for the ones most tests use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any, Literal, Protocol, cast, overload

import pytest

from .base import EmulatorServer
from .compreface import CompreFaceEmulator
from .deepstack import CodeProjectEmulator, DeepStackEmulator
from .facebox import FaceboxEmulator
from .frigate import FrigateEmulator
from .world import FaceWorld

__all__ = ["compreface", "deepstack", "face_world", "frigate", "start_emulator"]

# The emulator of each kind (detector kinds as the integration spells them).
EMULATORS: dict[str, type[EmulatorServer]] = {
    "frigate": FrigateEmulator,
    "compreface": CompreFaceEmulator,
    "deepstack": DeepStackEmulator,
    "codeproject": CodeProjectEmulator,
    "facebox": FaceboxEmulator,
}


class StartEmulator(Protocol):
    """``await start_emulator(kind, **options)``: an emulator listening on 127.0.0.1.

    ``options`` go to the emulator's constructor (``username=`` for Frigate, ``api_key=``
    for DeepStack …); a face detector sees the test's ``face_world`` unless ``world=`` is
    given. Every emulator started this way stops when the test ends.
    """

    @overload
    async def __call__(
        self, kind: Literal["frigate"], **options: Any
    ) -> FrigateEmulator: ...
    @overload
    async def __call__(
        self, kind: Literal["compreface"], **options: Any
    ) -> CompreFaceEmulator: ...
    @overload
    async def __call__(
        self, kind: Literal["deepstack"], **options: Any
    ) -> DeepStackEmulator: ...
    @overload
    async def __call__(
        self, kind: Literal["codeproject"], **options: Any
    ) -> CodeProjectEmulator: ...
    @overload
    async def __call__(
        self, kind: Literal["facebox"], **options: Any
    ) -> FaceboxEmulator: ...
    @overload
    async def __call__(self, kind: str, **options: Any) -> Any: ...


@pytest.fixture
def face_world() -> FaceWorld:
    """Images with known faces, shared by all emulators of a test."""
    return FaceWorld()


@pytest.fixture
async def start_emulator(
    socket_enabled: None, face_world: FaceWorld
) -> AsyncIterator[StartEmulator]:
    """Start emulators on demand (see ``StartEmulator``); they stop at teardown."""
    async with AsyncExitStack() as running:

        async def start(kind: str, **options: Any) -> EmulatorServer:
            if kind != "frigate":
                options.setdefault("world", face_world)
            return await running.enter_async_context(EMULATORS[kind](**options))

        yield cast("StartEmulator", start)


@pytest.fixture
async def frigate(start_emulator: StartEmulator) -> FrigateEmulator:
    """Run a Frigate emulator without auth (cameras ``front_door`` and ``garden``)."""
    return await start_emulator("frigate")


@pytest.fixture
async def compreface(start_emulator: StartEmulator) -> CompreFaceEmulator:
    """Run a CompreFace emulator (key ``COMPREFACE_KEY``)."""
    return await start_emulator("compreface")


@pytest.fixture
async def deepstack(start_emulator: StartEmulator) -> DeepStackEmulator:
    """Run a DeepStack emulator (no api key, face endpoints enabled)."""
    return await start_emulator("deepstack")
