"""Protocol layer: Frigate and face-detector clients, with no Home Assistant imports.

The clients of servers talk HTTP through an injected ``aiohttp.ClientSession``; the local
detector runs dlib in a worker process of its own (``local``). Everything returns plain
data types, so the package can be tested on its own and later become a library.
"""
