"""Pieces of the benchmark: where the emulators run, a loop-lag probe, figures.

The emulators of ``tests/emulators/`` answer from a child process by default, so that
what they cost (parsing uploads, answering) is neither counted as Home Assistant's CPU
nor shows up as Home Assistant's event-loop lag: on a real installation Frigate and the
detector are other processes or machines. ``DOUBLE_TAKE_BENCH_EMULATORS=thread`` runs
them on a thread of the benchmark's own process instead.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Coroutine
import contextlib
import cProfile
import gc
import json
import os
from pathlib import Path
import statistics
import subprocess
import sys
import threading
import time
from typing import Any, Self

from aiohttp import web
from tests.emulators.compreface import CompreFaceEmulator
from tests.emulators.frigate import FrigateEmulator
from tests.emulators.world import FaceSpec, FaceWorld

ENV_OUTPUT = "DOUBLE_TAKE_BENCH_OUTPUT"
ENV_BROKER = "DOUBLE_TAKE_BENCH_BROKER"
ENV_EMULATORS = "DOUBLE_TAKE_BENCH_EMULATORS"
# "FRIGATE_MS,DETECTOR_MS": every answer of the emulators comes that late (default 0,0).
ENV_DELAYS = "DOUBLE_TAKE_BENCH_DELAYS"
ROOT = Path(__file__).resolve().parent.parent
CAMERAS = [f"cam{number:02d}" for number in range(1, 11)]
# CompreFace's recognition route: one detector call.
RECOGNIZE_PATH = "/api/v1/recognition/recognize"
OWN_CODE = str(Path("custom_components") / "double_take")
ALICE = FaceSpec("alice", (220, 160, 160, 200))
# Frigate's cropped snapshot of a person (h=800) and a 16:9 frame of the camera.
SNAPSHOT_SIZE = (600, 800)
LATEST_SIZE = (1422, 800)


class BenchFrigate(FrigateEmulator):
    """Frigate answering every event's snapshot and every camera's frame with one image.

    The test emulator scripts images per event and logs every fetch; over 10,000 events
    that bookkeeping would be the largest memory user of the process.
    """

    snapshot_image = b""
    latest_image = b""

    async def _snapshot(self, request: web.Request) -> web.Response:
        return web.Response(body=self.snapshot_image, content_type="image/jpeg")

    async def _latest_frame(self, request: web.Request) -> web.Response:
        return web.Response(body=self.latest_image, content_type="image/jpeg")


class Servers:
    """The Frigate emulator (10 cameras) and the CompreFace emulator (knows alice)."""

    def __init__(self) -> None:
        """Draw the images and create the (stopped) servers."""
        world = FaceWorld()
        self.frigate = BenchFrigate(world, cameras={camera: [] for camera in CAMERAS})
        self.frigate.snapshot_image = world.image(ALICE, size=SNAPSHOT_SIZE)
        self.frigate.latest_image = world.image(size=LATEST_SIZE)
        self.compreface = CompreFaceEmulator(world)
        self.compreface.subjects["alice"] = ["alice"]
        # The emulators' own delay: every answer waits that long.
        frigate_ms, detector_ms = os.environ.get(ENV_DELAYS, "0,0").split(",")
        self.frigate.delay = float(frigate_ms) / 1000
        self.compreface.delay = float(detector_ms) / 1000
        self._requests = 0
        self._detector_requests = 0

    async def start(self) -> dict[str, str]:
        """Start both servers; return their URLs."""
        return {
            "frigate": await self.frigate.start(),
            "compreface": await self.compreface.start(),
        }

    async def stop(self) -> None:
        """Stop both servers."""
        await self.frigate.stop()
        await self.compreface.stop()

    def requests(self) -> int:
        """HTTP requests served so far (the recorded requests are dropped as we go)."""
        for server in (self.frigate, self.compreface):
            # The emulators keep every request with its body: count, then forget them.
            self._requests += len(server.requests)
            if server is self.compreface:
                self._detector_requests += sum(
                    request.path == RECOGNIZE_PATH for request in server.requests
                )
            server.requests.clear()
        return self._requests

    def detector_requests(self) -> int:
        """Recognition requests CompreFace answered so far (detector calls)."""
        self.requests()
        return self._detector_requests

    def track_faces(self, camera: str) -> None:
        """Make Frigate's ``camera`` track faces (``objects.track``), as a Frigate+ model."""
        self.frigate.face_cameras.add(camera)


class Emulators(ABC):
    """Where the emulators run, seen from the benchmark."""

    frigate_url = ""
    compreface_url = ""

    @abstractmethod
    async def start(self) -> None:
        """Start the servers."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop the servers."""

    @abstractmethod
    def requests(self) -> int:
        """HTTP requests the servers answered so far."""

    @abstractmethod
    def cpu_time(self) -> float:
        """CPU seconds the emulators used that Home Assistant's process time includes."""

    @abstractmethod
    def detector_requests(self) -> int:
        """Recognition requests the detector answered so far."""

    @abstractmethod
    def track_faces(self, camera: str) -> None:
        """Make Frigate's ``camera`` track faces (before the entry reads the config)."""


class EmulatorProcess(Emulators):
    """The emulators in a child process (``python -m benchmarks.emulators``).

    Like real servers, they then share neither the CPU time nor Python's GIL with Home
    Assistant. Commands go over the child's stdin, one JSON answer per line on stdout.
    """

    def __init__(self) -> None:
        """Nothing runs before ``start``."""
        self._process: subprocess.Popen[str] | None = None

    def _command(self, command: str) -> dict[str, Any]:
        assert self._process is not None
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"emulator process exited ({self._process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def start(self) -> None:
        """Start the child and wait for its URLs."""
        # Blocking for the few ms it takes, before anything is measured.
        self._process = subprocess.Popen(  # noqa: S603, ASYNC220
            [sys.executable, "-m", "benchmarks.emulators"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        urls = self._command("urls")
        self.frigate_url, self.compreface_url = urls["frigate"], urls["compreface"]

    async def stop(self) -> None:
        """Ask the child to stop and wait for it."""
        if self._process is None:
            return
        self._command("stop")
        self._process.wait(timeout=10)
        self._process = None

    def requests(self) -> int:
        """HTTP requests the child answered."""
        return int(self._command("requests")["requests"])

    def cpu_time(self) -> float:
        """Return 0: the child's CPU is not part of this process's time."""
        return 0.0

    def detector_requests(self) -> int:
        """Recognition requests the child's CompreFace answered."""
        return int(self._command("detector_requests")["detector_requests"])

    def track_faces(self, camera: str) -> None:
        """Make the child's Frigate track faces on ``camera``."""
        self._command(f"faces {camera}")


class EmulatorThread(Emulators):
    """The emulators on a thread of this process with their own event loop.

    In-process for real: their CPU is subtracted from the figures, but their Python code
    competes with Home Assistant's for the GIL, which shows up as loop lag.
    """

    def __init__(self) -> None:
        """Create the servers; nothing runs before ``start``."""
        self.servers = Servers()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, name="bench-emulators", daemon=True
        )
        self._clock: int | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    async def _call[T](self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(coro, self._loop)
        )

    async def start(self) -> None:
        """Start the thread and both servers."""
        self._thread.start()
        assert self._thread.ident is not None
        self._clock = time.pthread_getcpuclockid(self._thread.ident)
        urls = await self._call(self.servers.start())
        self.frigate_url, self.compreface_url = urls["frigate"], urls["compreface"]

    async def stop(self) -> None:
        """Stop the servers and the thread."""
        await self._call(self.servers.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def requests(self) -> int:
        """HTTP requests served so far."""
        return self.servers.requests()

    def cpu_time(self) -> float:
        """CPU seconds of the emulator thread."""
        assert self._clock is not None
        return time.clock_gettime(self._clock)

    def detector_requests(self) -> int:
        """Recognition requests CompreFace answered so far."""
        return self.servers.detector_requests()

    def track_faces(self, camera: str) -> None:
        """Make Frigate track faces on ``camera``."""
        self.servers.track_faces(camera)


class GcPauses:
    """Time the event loop's thread spends in Python's garbage collector."""

    def __init__(self) -> None:
        """Not listening before ``start``."""
        self.total = 0.0
        self.longest = 0.0
        self.full = 0
        self._started = 0.0
        self._thread = threading.get_ident()

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if threading.get_ident() != self._thread:
            return
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        self.total += pause
        self.longest = max(self.longest, pause)
        self.full += info["generation"] == 2

    def start(self) -> None:
        """Listen to the collector (from the loop's thread)."""
        self._thread = threading.get_ident()
        gc.callbacks.append(self._callback)

    def stop(self) -> None:
        """Stop listening."""
        gc.callbacks.remove(self._callback)


class LoopLagProbe:
    """Sleeps ``interval`` again and again; the overshoot is how long the loop was blocked.

    ``worst`` is the longest overshoot; ``worst_without_gc`` the longest once the time
    the garbage collector ran during that sleep is taken off.
    """

    def __init__(self, interval: float = 0.005) -> None:
        """Measure with sleeps of ``interval`` seconds."""
        self.interval = interval
        self.worst = 0.0
        self.worst_without_gc = 0.0
        self.samples = 0
        self.gc = GcPauses()
        self._task: asyncio.Task[None] | None = None

    async def _probe(self) -> None:
        while True:
            start, gc_before = time.perf_counter(), self.gc.total
            await asyncio.sleep(self.interval)
            lag = time.perf_counter() - start - self.interval
            self.worst = max(self.worst, lag)
            self.worst_without_gc = max(
                self.worst_without_gc, lag - (self.gc.total - gc_before)
            )
            self.samples += 1

    def start(self) -> None:
        """Start probing."""
        self.gc.start()
        self._task = asyncio.get_running_loop().create_task(self._probe())

    async def stop(self) -> None:
        """Stop probing."""
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.gc.stop()


class IterationCounter:
    """Counts the event loop's iterations while in the ``with`` block.

    Unlike CPU time this does not depend on how busy the machine is: fewer iterations
    per event is less work whatever the day. Wraps asyncio's private ``_run_once``
    (a benchmark may; the integration never does).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Count the iterations of ``loop``."""
        self.count = 0
        self._loop: Any = loop

    def __enter__(self) -> Self:
        """Start counting."""
        run_once = self._loop._run_once  # noqa: SLF001

        def counted() -> None:
            self.count += 1
            run_once()

        self._loop._run_once = counted  # noqa: SLF001
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop counting."""
        del self._loop._run_once  # noqa: SLF001  (back to the class's method)


class CallCounter:
    """Counts Python function calls (all threads) while in the ``with`` block.

    ``total`` is every call of the process, ``own`` those of the integration's code.
    Counted with ``cProfile``, which slows everything down: time nothing meanwhile.
    """

    def __init__(self) -> None:
        """Nothing is counted before the block."""
        self.total = 0
        self.own = 0
        self._profile = cProfile.Profile()

    def __enter__(self) -> Self:
        """Start counting."""
        self._profile.enable()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop counting and add up."""
        self._profile.disable()
        for entry in self._profile.getstats():
            code = entry.code
            self.total += entry.callcount
            if not isinstance(code, str) and OWN_CODE in code.co_filename:
                self.own += entry.callcount


def percentile(values: list[float], fraction: float) -> float:
    """Return the ``fraction`` quantile (0–1) of ``values``, interpolated."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[
        round(fraction * 1000) - 1
    ]


def rss_mb() -> float:
    """Resident memory of this process in MB."""
    pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def record(key: str, value: float | str, **extra: Any) -> None:
    """Append one figure to the file ``scripts/bench.py`` reads (one JSON object a line)."""
    line = json.dumps({"key": key, "value": value, **extra})
    with Path(os.environ[ENV_OUTPUT]).open("a", encoding="utf-8") as file:
        file.write(line + "\n")
