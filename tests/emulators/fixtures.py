"""Pytest fixtures that start the emulators (imported by tests/conftest.py).

``tests/conftest.py`` star-imports this module, so every fixture must be listed in
``__all__``. Emulator fixtures depend on ``socket_enabled`` (sockets are otherwise blocked
by pytest-homeassistant-custom-component) and stop their server at teardown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .compreface import CompreFaceEmulator
from .deepstack import CodeProjectEmulator, DeepStackEmulator
from .facebox import FaceboxEmulator
from .frigate import FrigateEmulator
from .world import FaceWorld

__all__ = [
    # Face detectors (this block).
    "codeproject",
    "compreface",
    "deepstack",
    "face_world",
    "facebox",
    # Frigate emulator fixtures: add their names here.
    "frigate",
]


# --- Face detectors ----------------------------------------------------------------------


@pytest.fixture
def face_world() -> FaceWorld:
    """Images with known faces, shared by all emulators of a test."""
    return FaceWorld()


@pytest.fixture
async def compreface(
    socket_enabled: None, face_world: FaceWorld
) -> AsyncIterator[CompreFaceEmulator]:
    """Run a CompreFace emulator (key ``COMPREFACE_KEY``)."""
    server = CompreFaceEmulator(face_world)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def deepstack(
    socket_enabled: None, face_world: FaceWorld
) -> AsyncIterator[DeepStackEmulator]:
    """Run a DeepStack emulator (no api key, face endpoints enabled).

    Set ``deepstack.api_key`` / ``deepstack.face_enabled`` in the test to change that.
    """
    server = DeepStackEmulator(face_world)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def codeproject(
    socket_enabled: None, face_world: FaceWorld
) -> AsyncIterator[CodeProjectEmulator]:
    """Run a CodeProject.AI emulator with the Face Processing module."""
    server = CodeProjectEmulator(face_world)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def facebox(
    socket_enabled: None, face_world: FaceWorld
) -> AsyncIterator[FaceboxEmulator]:
    """Run a Facebox emulator without Basic auth (set ``facebox.basic_auth`` to add it)."""
    server = FaceboxEmulator(face_world)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


# --- Frigate emulator --------------------------------------------------------------------
# (Owned by the Frigate emulator's author: add the ``frigate`` fixture below and its name
# to ``__all__`` above.)


@pytest.fixture
async def frigate(socket_enabled: None) -> AsyncIterator[FrigateEmulator]:
    """Run a Frigate emulator without auth (cameras ``front_door`` and ``garden``)."""
    server = FrigateEmulator()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
