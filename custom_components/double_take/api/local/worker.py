"""The local engine in a worker process, so that dlib never stalls Home Assistant's loop.

dlib's own descriptor computation holds Python's GIL for its whole run (80–150 ms per
face), so in an executor thread it would freeze the event loop that long for every face
(the engine now runs that network with numpy, ``resnet.py``, which still holds the GIL
between its matrix products). All dlib work (decoding, face detection, landmarks,
descriptors) therefore runs in one worker process per Home Assistant process, shared by
every local detector:

- The process starts on first use, with the ``spawn`` start method: a fresh interpreter
  (never ``fork``: Home Assistant's process has threads). ``forkserver`` works too, but
  talks to its server over a Unix socket (which Home Assistant's test harness blocks)
  and leaves that server process running after the worker stopped. The process
  inherits ``sys.path``; ``bootstrap.py`` makes it import only the protocol layer, not
  the integration's ``__init__`` and so not Home Assistant. The models load in it once,
  on first use (``FaceWorker.load``).
- numpy's OpenBLAS runs one thread in it (``OPENBLAS_NUM_THREADS``, unless already
  set; the worker process imports numpy with its first job): on two cores a second
  thread made a descriptor no faster when idle (about 14 ms either way), but twice as
  slow, with runs over 100 ms, when another process kept one core busy.
- Jobs are submitted from an executor thread (starting the process blocks) and awaited
  on the event loop. Only the image goes in and plain data comes back (boxes in pixels of
  the original image, descriptors as bytes): the event loop never waits for dlib.
- One job at a time (one process), in the order they were asked for: a job is handed to
  the process only when the previous one has ended, so its ``timeout`` counts its own
  run, not the time it waited for another detector's job. Callers serialise their own
  calls besides.
- A job that takes longer than ``timeout`` kills the process. A process that died
  (crash, out of memory, killed) fails the jobs it had with ``LocalEngineError``; the
  next job starts a new process.

Lifetime: one owner, one safety net, nothing else.

- The owner is the hold count. A local detector holds the worker from its construction
  (``acquire``) until its ``close`` (``release``); the last release stops the process
  and waits for it. Whoever builds a detector closes it: the integration when its entry
  unloads and when Home Assistant stops (HA does not unload entries when it stops, and
  joins the process pool's thread, which is not a daemon, for up to 10 s before any
  exit hook runs), the config flow right after its check.
- The safety net is the ``atexit`` hook ``_shutdown_all``: at interpreter exit it stops
  every worker process still running, for a holder that never closed (a bug, a script,
  a test). Without it multiprocessing's own exit handler, which runs after it, would
  wait forever for that process: concurrent.futures' exit hook, which would stop it,
  is run by ``threading._shutdown``, which Home Assistant replaces.

That is enough: every holder's ``close`` ends its hold and the last one stops the
process, so with every detector closed nothing runs; a process still running at exit
had a holder that did not close, and the safety net stops it. There is no finaliser on
detectors (garbage collection is no lifetime: a detector dropped without ``close``
keeps an idle process until exit) and no Home Assistant event in this layer (the
integration calls ``close``). ``shutdown`` stops the process at once whoever holds it
(the safety net and the tests use it).

The ``_child_*`` functions run in the worker process (they work in any process: the
tests call them directly too).
"""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
import contextlib
import functools
import importlib
import logging
import multiprocessing
import os
from pathlib import Path
import runpy
import signal
import threading
from typing import TYPE_CHECKING, Any, NamedTuple
import weakref

from ..errors import ApiError
from ..models import Box
from .engine import FaceEngine, LocalEngineError, shared_engine

if TYPE_CHECKING:
    from .engine import Descriptor

_LOGGER = logging.getLogger(__name__)

START_METHOD = "spawn"
DEFAULT_TIMEOUT = 60.0
# Starting the process: a new interpreter, which unpickles the job and the bootstrap.
START_TIMEOUT = 60.0
BOOTSTRAP = Path(__file__).with_name("bootstrap.py")


class FaceRecord(NamedTuple):
    """A face the worker found: its box in pixels of the original image, its descriptor.

    ``descriptor`` holds the 128 values as float64 in this machine's byte order.
    """

    top: int
    left: int
    width: int
    height: int
    descriptor: bytes

    @property
    def box(self) -> Box:
        """The face's box."""
        return Box(top=self.top, left=self.left, width=self.width, height=self.height)

    def array(self) -> Descriptor:
        """Return the descriptor as a numpy vector (imports numpy: call from an executor)."""
        np = importlib.import_module("numpy")
        vector: Descriptor = np.frombuffer(self.descriptor, dtype=np.float64)
        return vector


class FaceWorker:
    """One worker process running the local engine, started on demand.

    Thread-safe: the event loop and executor threads may call it. Its process runs
    while someone holds it (``acquire``/``release``) or until ``shutdown``.
    """

    def __init__(
        self,
        models: Path | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        start_method: str = START_METHOD,
    ) -> None:
        """Use the model files in ``models`` (default: the installed package's)."""
        self.models = models
        self.timeout = timeout
        self._context = multiprocessing.get_context(start_method)
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._pid: int | None = None
        self._users = 0
        # The turn of the last job asked for: done when that job has ended. Each job
        # waits for the turn before it (see ``_call``).
        self._last_turn: Future[None] | None = None
        # Counts the stops (``shutdown``, last ``release``): a job still waiting for
        # its turn when the process was stopped fails instead of starting a new one.
        self._stops = 0
        _WORKERS.add(self)

    @property
    def pid(self) -> int | None:
        """The worker process's id while it runs; None before first use or when stopped."""
        return self._pid

    @property
    def users(self) -> int:
        """How many detectors hold the worker."""
        return self._users

    def acquire(self) -> None:
        """Hold the worker: it runs (once started) until every holder released it."""
        with self._lock:
            self._users += 1

    def release(self, *, wait: bool = False) -> None:
        """Let go of the worker; the last holder stops its process.

        With ``wait`` this blocks until the process has exited (after its current job):
        call it from an executor thread then.
        """
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users:
                return
            pool, self._pool, self._pid = self._pool, None, None
            self._stops += 1
        if pool is not None:
            _LOGGER.debug("Stopping the local face engine's worker process")
            pool.shutdown(wait=wait, cancel_futures=True)

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop the process now, whoever holds it; the next job starts a new one."""
        with self._lock:
            pool, self._pool, self._pid = self._pool, None, None
            self._stops += 1
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    async def load(self) -> None:
        """Load the models in the worker process (once); raise LocalEngineError if not."""
        await self._call(_child_load, self._models_path())

    async def faces(
        self, image: bytes, *, upsample: int, max_height: int
    ) -> list[FaceRecord]:
        """Every face in ``image``; BadImageError when it is not an image."""
        records: list[FaceRecord] = await self._call(
            _child_faces, self._models_path(), image, upsample, max_height
        )
        return records

    # -- plumbing ------------------------------------------------------------------

    def _models_path(self) -> str | None:
        return None if self.models is None else str(self.models)

    async def _call[T](self, func: Callable[..., T], *args: Any) -> T:
        """Run ``func(*args)`` in the worker process and return its result.

        Errors are ApiErrors: the function's own, or LocalEngineError when the process
        cannot start, dies, takes longer than ``timeout`` or was shut down meanwhile.
        The job waits for the jobs asked for before it to end first; its ``timeout``
        starts when it is handed to the process.
        """
        turn: Future[None] = Future()
        with self._lock:
            previous, self._last_turn = self._last_turn, turn
            stops = self._stops
        try:
            if previous is not None and not previous.done():
                await _ended(previous)
            if self._stops != stops:
                raise LocalEngineError("the face engine's worker process was stopped")
            return await self._run(func, args)
        finally:
            # The next job's turn comes when this one ended, and never before the
            # previous one's (a caller cancelled while waiting keeps the order). A
            # caller cancelled during its job hands the turn on at once: its job may
            # still run, but then the next job's time limit stops it if it hangs.
            if previous is None:
                turn.set_result(None)
            else:
                previous.add_done_callback(lambda _: turn.set_result(None))

    async def _run[T](self, func: Callable[..., T], args: tuple[Any, ...]) -> T:
        """Hand one job to the process and wait for it, at most ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        try:
            pool, pid, future = await loop.run_in_executor(
                None, self._submit, func, args
            )
        except Exception as err:
            raise LocalEngineError(
                f"cannot start the face engine's worker process: {err!r}"
            ) from err
        try:
            async with asyncio.timeout(self.timeout):
                result: T = await asyncio.wrap_future(future)
        except ApiError:
            raise
        except TimeoutError as err:
            await loop.run_in_executor(None, self._discard, pool, pid)
            raise LocalEngineError(
                f"the face engine took more than {self.timeout:g} s: its worker process"
                " was stopped; the next image starts a new one"
            ) from err
        except BrokenProcessPool as err:
            await loop.run_in_executor(None, self._discard, pool, None)
            raise LocalEngineError(
                "the face engine's worker process stopped unexpectedly (killed, or out"
                " of memory?); the next image starts a new one"
            ) from err
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the caller was cancelled
            raise LocalEngineError(
                "the face engine's worker process was stopped"
            ) from None
        except Exception as err:
            raise LocalEngineError(f"the face engine failed: {err!r}") from err
        return result

    def _submit(
        self, func: Callable[..., Any], args: tuple[Any, ...]
    ) -> tuple[ProcessPoolExecutor, int, Future[Any]]:
        """Submit a job, starting the process first if needed (blocking).

        Return the pool, its process's id and the job's future.
        """
        with self._lock:
            pool, pid = self._running_pool()
            try:
                return pool, pid, pool.submit(func, *args)
            except BrokenProcessPool:  # the process died while idle
                self._pool = self._pid = None
                pool.shutdown(wait=True)
            pool, pid = self._running_pool()
            return pool, pid, pool.submit(func, *args)

    def _running_pool(self) -> tuple[ProcessPoolExecutor, int]:
        """Return the pool and its process's id; start them if needed (holding the lock)."""
        if self._pool is not None and self._pid is not None:
            return self._pool, self._pid
        pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=self._context,
            initializer=runpy.run_path,
            initargs=(str(BOOTSTRAP), {"PACKAGES": _outer_packages()}),
        )
        try:
            pid: int = pool.submit(os.getpid).result(timeout=START_TIMEOUT)
        except TimeoutError:
            pool.kill_workers()  # hangs while starting: kill it, do not wait for it
            raise
        except BaseException:
            # It died (or this thread is interrupted): its threads end at once.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        _LOGGER.debug("Started the local face engine's worker process %s", pid)
        self._pool, self._pid = pool, pid
        return pool, pid

    def _discard(self, pool: ProcessPoolExecutor, kill: int | None) -> None:
        """Forget a pool whose job failed; kill process ``kill`` first (a stuck job)."""
        with self._lock:
            if self._pool is pool:
                self._pool = self._pid = None
        if kill is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(kill, signal.SIGKILL)
        pool.shutdown(wait=True, cancel_futures=True)


async def _ended(turn: Future[None]) -> None:
    """Wait, in the event loop, until another job's ``turn`` is done.

    Not ``asyncio.wrap_future``: cancelling the wait must not cancel the turn.
    """
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not waiter.done():
            waiter.set_result(None)

    def done(_: Future[None]) -> None:
        # The turn is done in whichever thread ended the job before it.
        with contextlib.suppress(RuntimeError):  # this loop is closed: nobody waits
            loop.call_soon_threadsafe(wake)

    turn.add_done_callback(done)
    await waiter


def _outer_packages() -> list[tuple[str, str]]:
    """Names and folders of the packages above the protocol layer, outermost first."""
    names = __name__.split(".")[:-3]  # without ``api.local.worker``
    folder = Path(__file__).parent
    return [
        (".".join(names[: index + 1]), str(folder.parents[len(names) - index]))
        for index in range(len(names))
    ]


_WORKERS: weakref.WeakSet[FaceWorker] = weakref.WeakSet()


@functools.cache
def shared_worker() -> FaceWorker:
    """Return the worker every local detector of this process uses.

    Local detectors are created in the event loop's thread only, so the cache needs no lock.
    """
    return FaceWorker()


@atexit.register
def _shutdown_all() -> None:
    """Stop every worker process at interpreter exit, waiting for it (the safety net).

    Registered after multiprocessing's exit handler (``concurrent.futures.process``
    imports ``multiprocessing.util``, which registers it), so it runs first; see the
    module's docstring.
    """
    for worker in list(_WORKERS):
        worker.shutdown(wait=True)


# -- in the worker process -------------------------------------------------------------

_engines: dict[str, FaceEngine] = {}


OPENBLAS_THREADS = "1"
"""numpy's OpenBLAS threads in the worker process (see the module's docstring)."""


def _child_engine(models: str | None) -> FaceEngine:
    """Return this process's engine for the model files in ``models`` (default: shared).

    Sets OpenBLAS's thread count first: it counts only before numpy's first import.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", OPENBLAS_THREADS)
    if models is None:
        return shared_engine()
    if models not in _engines:
        _engines[models] = FaceEngine(Path(models))
    return _engines[models]


def _child_load(models: str | None) -> int:
    """Load the models (once per process); return the process id."""
    _child_engine(models).load()
    return os.getpid()


def _child_faces(
    models: str | None, image: bytes, upsample: int, max_height: int
) -> list[FaceRecord]:
    """Every face in ``image`` as plain data."""
    return [
        FaceRecord(
            top=found.box.top,
            left=found.box.left,
            width=found.box.width,
            height=found.box.height,
            descriptor=found.descriptor.tobytes(),
        )
        for found in _child_engine(models).faces(
            image, upsample=upsample, max_height=max_height
        )
    ]
