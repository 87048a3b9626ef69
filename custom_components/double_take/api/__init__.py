"""Protocol layer: Frigate and face-detector clients, with no Home Assistant imports.

Everything in this package talks HTTP through an injected ``aiohttp.ClientSession`` and
returns plain data types, so it can be tested on its own and later become a library.
"""
