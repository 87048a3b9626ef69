"""The benchmark's emulators as a child process: ``python -m benchmarks.emulators``.

Reads one command a line on stdin and answers one JSON object a line on stdout:
``urls`` (once the servers listen), ``requests`` (HTTP requests answered so far),
``detector_requests`` (recognition requests so far), ``faces CAMERA`` (Frigate's camera
tracks faces from now on) and ``stop``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import json
import sys

from .harness import Servers


async def serve() -> None:
    """Run the servers until told to stop."""
    servers = Servers()
    urls = await servers.start()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )

    def answer(data: Mapping[str, object]) -> None:
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()

    try:
        while line := (await reader.readline()).decode().strip():
            if line == "urls":
                answer(urls)
            elif line == "requests":
                answer({"requests": servers.requests()})
            elif line == "detector_requests":
                answer({"detector_requests": servers.detector_requests()})
            elif line.startswith("faces "):
                servers.track_faces(line.removeprefix("faces "))
                answer({"faces": line.removeprefix("faces ")})
            elif line == "stop":
                answer({"stopped": True})
                break
    finally:
        await servers.stop()


if __name__ == "__main__":
    asyncio.run(serve())
