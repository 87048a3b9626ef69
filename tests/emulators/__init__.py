"""Protocol-accurate emulators of the servers Double Take talks to.

Written from ``../shared/reference/`` (detector-apis.md, frigate.md); each is a real aiohttp
server on 127.0.0.1 that tests start, script and inspect. Tests start them with the
``start_emulator`` fixture (fixtures.py): ``await start_emulator("facebox", basic_auth=…)``;
``frigate``, ``compreface`` and ``deepstack`` are fixtures of their own.

Shared contract (all emulators):

* ``await server.start() -> str`` binds 127.0.0.1 on a free port and returns the base URL
  (also ``server.url``); ``await server.stop()``.
* ``server.requests``: every request received, as ``RecordedRequest`` (method, path, query,
  headers, form fields, uploaded files, JSON body).
* ``server.fail_next(status, body, count=1, content_type=None)``: the next ``count``
  requests get this answer instead of the normal one (5xx, garbage, HTML …).
* ``server.delay``: seconds to wait before answering (to provoke client timeouts).

Faces: ``FaceWorld`` (world.py) makes real JPEG/PNG images and remembers which faces
(``FaceSpec``: identity, box, similarity) each image shows. Detector emulators "see" those
faces, remember trained subjects, and answer recognitions the way the real server does.
"""
