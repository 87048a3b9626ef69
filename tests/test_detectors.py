"""The detector clients against protocol-accurate emulators of their servers.

Every test drives a real client (``api/detectors``) over HTTP against an emulator from
``tests/emulators`` and asserts what a user of the integration would see: names,
confidences and boxes of recognized faces, per-image training outcomes and typed errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
import socket
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from custom_components.double_take.api.detectors import (
    DETECTOR_TYPES,
    HTTP_DETECTOR_TYPES,
    CodeProjectDetector,
    CompreFaceDetector,
    DeepStackDetector,
    Detector,
    DetectorSettings,
    FaceboxDetector,
    HttpDetector,
    LocalDetector,
    create_detector,
)
from custom_components.double_take.api.detectors.facebox import teach_id
from custom_components.double_take.api.errors import (
    ApiAuthError,
    ApiConnectionError,
    ApiResponseError,
)
from custom_components.double_take.api.http import safe_url
from custom_components.double_take.api.models import (
    MANY_FACES,
    NO_FACE,
    UNKNOWN,
    Box,
    Candidate,
    Face,
    TrainingImage,
)

from .emulators.compreface import COMPREFACE_KEY
from .emulators.fixtures import StartEmulator
from .emulators.world import FaceSpec, FaceWorld

ALL_KINDS = ("compreface", "deepstack", "codeproject", "facebox")
LISTING_KINDS = ("compreface", "deepstack", "codeproject")
PER_IMAGE_KINDS = ("compreface", "facebox")  # one train request per image
SINGLE_CALL_KINDS = ("deepstack", "codeproject")  # one register call for all images
TITLES = {
    "compreface": "CompreFace",
    "deepstack": "DeepStack",
    "codeproject": "CodeProject.AI",
    "facebox": "Facebox",
}
RECOGNIZE_PATHS = {
    "compreface": "/api/v1/recognition/recognize",
    "deepstack": "/v1/vision/face/recognize",
    "codeproject": "/v1/vision/face/recognize",
    "facebox": "/facebox/check",
}

# FaceSpec's default box is (left 260, top 140, width 120, height 160).
DEFAULT_BOX = Box(top=140, left=260, width=120, height=160)


@dataclass
class Rig:
    """One emulator and a client pointed at it."""

    kind: str
    server: Any
    detector: Detector
    session: aiohttp.ClientSession

    def client(self, url: str | None = None, **settings: Any) -> Detector:
        """Another client of the same kind (other URL, key or timeout)."""
        settings.setdefault("api_key", self.detector.settings.api_key)
        return create_detector(
            self.kind,
            self.session,
            DetectorSettings(url=url or self.server.url, **settings),
        )


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Open a plain aiohttp session, closed at teardown."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


type MakeRig = Callable[[str], Awaitable[Rig]]


@pytest.fixture
def make_rig(start_emulator: StartEmulator, session: aiohttp.ClientSession) -> MakeRig:
    """Start the emulator of a detector kind and point a client at it."""

    async def make(kind: str) -> Rig:
        server = await start_emulator(kind)
        api_key = COMPREFACE_KEY if kind == "compreface" else ""
        detector = create_detector(
            kind, session, DetectorSettings(url=server.url, api_key=api_key)
        )
        return Rig(kind, server, detector, session)

    return make


@pytest.fixture(params=ALL_KINDS)
async def rig(request: pytest.FixtureRequest, make_rig: MakeRig) -> Rig:
    """Each detector in turn."""
    return await make_rig(request.param)


@pytest.fixture(params=LISTING_KINDS)
async def listing_rig(request: pytest.FixtureRequest, make_rig: MakeRig) -> Rig:
    """Detectors whose server can list trained subjects."""
    return await make_rig(request.param)


@pytest.fixture(params=PER_IMAGE_KINDS)
async def per_image_rig(request: pytest.FixtureRequest, make_rig: MakeRig) -> Rig:
    """Detectors trained with one request per image."""
    return await make_rig(request.param)


@pytest.fixture(params=SINGLE_CALL_KINDS)
async def single_call_rig(request: pytest.FixtureRequest, make_rig: MakeRig) -> Rig:
    """DeepStack and CodeProject.AI: one register call with every image."""
    return await make_rig(request.param)


@pytest.fixture
async def any_rig(request: pytest.FixtureRequest, make_rig: MakeRig) -> Rig:
    """Run the detector named by an indirect parameter."""
    return await make_rig(request.param)


@pytest.fixture
async def compreface_rig(make_rig: MakeRig) -> Rig:
    """CompreFace only."""
    return await make_rig("compreface")


@pytest.fixture
async def deepstack_rig(make_rig: MakeRig) -> Rig:
    """DeepStack only."""
    return await make_rig("deepstack")


@pytest.fixture
async def codeproject_rig(make_rig: MakeRig) -> Rig:
    """CodeProject.AI only."""
    return await make_rig("codeproject")


@pytest.fixture
async def facebox_rig(make_rig: MakeRig) -> Rig:
    """Facebox only."""
    return await make_rig("facebox")


@pytest.fixture
def closed_port(socket_enabled: None) -> int:
    """Find a port on 127.0.0.1 that nothing listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def photo(world: FaceWorld, *faces: FaceSpec, name: str = "photo.jpg") -> TrainingImage:
    """Make a training image showing ``faces``."""
    return TrainingImage(name, world.image(*faces))


async def train_alice(rig: Rig, world: FaceWorld) -> list[Any]:
    """Train alice on one photo of her; return the outcomes."""
    outcomes = await rig.detector.train(
        "alice", [photo(world, FaceSpec("alice"), name="a.jpg")]
    )
    assert [outcome.error for outcome in outcomes] == [None]
    return outcomes


# -- recognition -----------------------------------------------------------------------------


async def test_recognizes_a_trained_person(rig: Rig, face_world: FaceWorld) -> None:
    """Alice trained on one photo is recognized in another photo of her."""
    await train_alice(rig, face_world)

    faces = await rig.detector.recognize(
        face_world.image(FaceSpec("alice", similarity=0.95))
    )

    assert faces == [Face("alice", 95.0, DEFAULT_BOX)]
    assert faces[0].known


async def test_confidence_keeps_two_decimals(rig: Rig, face_world: FaceWorld) -> None:
    """A 0–1 score becomes a percentage with two decimals."""
    await train_alice(rig, face_world)

    faces = await rig.detector.recognize(
        face_world.image(FaceSpec("alice", similarity=0.87654))
    )

    assert [face.confidence for face in faces] == [87.65]


async def test_stranger(rig: Rig, face_world: FaceWorld) -> None:
    """Someone never trained is unknown.

    CompreFace has no "unknown" label: it names the closest subject with a low score and
    leaves the threshold to the caller.
    """
    await train_alice(rig, face_world)

    faces = await rig.detector.recognize(face_world.image(FaceSpec("mallory")))

    if rig.kind == "compreface":
        assert faces == [Face("alice", 30.0, DEFAULT_BOX)]
    else:
        assert faces == [Face(UNKNOWN, 0.0, DEFAULT_BOX)]
        assert not faces[0].known


async def test_untrained_server_sees_unknown_faces(
    rig: Rig, face_world: FaceWorld
) -> None:
    """With nobody trained every face is unknown (CompreFace: empty ``subjects``)."""
    faces = await rig.detector.recognize(face_world.image(FaceSpec("alice")))

    assert faces == [Face(UNKNOWN, 0.0, DEFAULT_BOX)]


async def test_image_without_faces_gives_empty_list(
    rig: Rig, face_world: FaceWorld
) -> None:
    """No face is an empty list, never an error (CompreFace 400/28, CPAI success:false …)."""
    await train_alice(rig, face_world)

    assert await rig.detector.recognize(face_world.image()) == []


async def test_png_image(rig: Rig, face_world: FaceWorld) -> None:
    """A PNG is uploaded like a JPEG and recognized the same way."""
    await train_alice(rig, face_world)

    faces = await rig.detector.recognize(face_world.image(FaceSpec("alice"), fmt="PNG"))

    assert [face.name for face in faces] == ["alice"]


async def test_several_faces_in_one_image(rig: Rig, face_world: FaceWorld) -> None:
    """Each face gets its own name, confidence and pixel box."""
    await rig.detector.train("alice", [photo(face_world, FaceSpec("alice"))])
    await rig.detector.train("bob", [photo(face_world, FaceSpec("bob"))])
    image = face_world.image(
        FaceSpec("alice", box=(10, 20, 100, 120), similarity=0.91),
        FaceSpec("bob", box=(300, 40, 90, 110), similarity=0.88),
        FaceSpec("carol", box=(500, 200, 80, 100)),
    )

    faces = await rig.detector.recognize(image)

    # CompreFace ranks every trained person for each face: the others are candidates.
    ranked = rig.kind == "compreface"
    assert faces[:2] == [
        Face(
            "alice",
            91.0,
            Box(top=20, left=10, width=100, height=120),
            (Candidate("bob", 30.0),) if ranked else (),
        ),
        Face(
            "bob",
            88.0,
            Box(top=40, left=300, width=90, height=110),
            (Candidate("alice", 30.0),) if ranked else (),
        ),
    ]
    carol = faces[2]
    assert carol.box == Box(top=200, left=500, width=80, height=100)
    if rig.kind == "compreface":
        assert carol.confidence == 30.0
        assert carol.candidates == (Candidate("bob", 30.0),)
    else:
        assert carol == Face(UNKNOWN, 0.0, carol.box)
    assert len(faces) == 3


async def test_names_are_lower_cased(rig: Rig, face_world: FaceWorld) -> None:
    """A subject trained as "Alice" comes back as "alice"."""
    await rig.detector.train("Alice", [photo(face_world, FaceSpec("alice"))])

    faces = await rig.detector.recognize(face_world.image(FaceSpec("alice")))

    assert [face.name for face in faces] == ["alice"]


async def test_recognize_uploads_a_jpg_file(rig: Rig, face_world: FaceWorld) -> None:
    """Every upload is one file part with a .jpg name and an image content type."""
    image = face_world.image(FaceSpec("alice"))

    await rig.detector.recognize(image)

    (request,) = rig.server.requests_to(RECOGNIZE_PATHS[rig.kind], "POST")
    field = {"compreface": "file", "facebox": "file"}.get(rig.kind, "image")
    assert [upload.field for upload in request.files] == [field]
    upload = request.files[0]
    assert upload.filename.endswith(".jpg")
    assert upload.content_type == "image/jpeg"
    assert upload.data == image


# -- training --------------------------------------------------------------------------------


async def test_train_per_image_outcomes(
    per_image_rig: Rig, face_world: FaceWorld
) -> None:
    """CompreFace and Facebox train each image on its own and say which ones failed."""
    rig = per_image_rig
    images = [
        photo(face_world, FaceSpec("alice"), name="good.jpg"),
        photo(face_world, name="empty.jpg"),
        photo(
            face_world,
            FaceSpec("alice", box=(10, 10, 80, 80)),
            FaceSpec("bob", box=(300, 10, 80, 80)),
            name="group.jpg",
        ),
        photo(face_world, FaceSpec("alice"), name="good2.jpg"),
    ]

    outcomes = await rig.detector.train("alice", images)

    assert [(o.filename, o.error) for o in outcomes] == [
        ("good.jpg", None),
        ("empty.jpg", NO_FACE),
        ("group.jpg", MANY_FACES),
        ("good2.jpg", None),
    ]
    assert [o.ok for o in outcomes] == [True, False, False, True]
    refs = [o.ref for o in outcomes if o.ok]
    if rig.kind == "compreface":
        assert refs == rig.server.image_ids["alice"]
        assert [r.query["subject"] for r in rig.server.requests] == ["alice"] * 4
    else:
        assert refs == [
            teach_id("alice", images[0].data),
            teach_id("alice", images[3].data),
        ]
        assert sorted(rig.server.examples) == sorted(refs)
        for request, image in zip(rig.server.requests, images, strict=True):
            assert request.form == {
                "name": "alice",
                "id": teach_id("alice", image.data),
            }
            assert request.file("file").filename.endswith(".jpg")
    assert rig.server.subjects == {"alice": ["alice", "alice"]}


async def test_train_server_error_fails_only_that_image(
    per_image_rig: Rig, face_world: FaceWorld
) -> None:
    """A 500 for one image is that image's error; the others are still trained."""
    rig = per_image_rig
    rig.server.fail_next(500, {"message": "disk full", "error": "disk full"})

    outcomes = await rig.detector.train(
        "alice",
        [
            photo(face_world, FaceSpec("alice"), name="1.jpg"),
            photo(face_world, FaceSpec("alice")),
        ],
    )

    assert outcomes[0].error is not None
    assert "disk full" in outcomes[0].error
    assert TITLES[rig.kind] in outcomes[0].error
    assert outcomes[1].ok
    assert len(rig.server.subjects["alice"]) == 1


async def test_train_lost_server_keeps_stored_refs(
    per_image_rig: Rig, face_world: FaceWorld
) -> None:
    """When the server stops answering mid-way, what was stored is still reported."""
    rig = per_image_rig
    detector = rig.client(timeout=0.3)
    server = rig.server

    class GoesQuiet(list[TrainingImage]):
        """Images whose iteration makes the server hang after the first one."""

        def __iter__(self) -> Iterator[TrainingImage]:
            for index, image in enumerate(list.__iter__(self)):
                if index == 1:
                    server.delay = 5
                yield image

    images = GoesQuiet(
        photo(face_world, FaceSpec("alice"), name=f"{i}.jpg") for i in range(3)
    )

    outcomes = await detector.train("alice", images)

    assert outcomes[0].ok
    assert outcomes[0].ref
    assert [o.filename for o in outcomes] == ["0.jpg", "1.jpg", "2.jpg"]
    assert all("timed out" in (o.error or "") for o in outcomes[1:])
    assert len(server.requests) == 2  # the third image was not sent to a dead server


async def test_train_unreachable_server_raises(rig: Rig, face_world: FaceWorld) -> None:
    """Nothing stored and the server is gone: that is a connection error, not outcomes."""
    await rig.server.stop()

    with pytest.raises(ApiConnectionError):
        await rig.detector.train("alice", [photo(face_world, FaceSpec("alice"))])


async def test_train_nothing(rig: Rig) -> None:
    """No images, no request."""
    assert await rig.detector.train("alice", []) == []
    assert rig.server.requests == []


async def test_single_register_call_with_all_images(
    single_call_rig: Rig, face_world: FaceWorld
) -> None:
    """DeepStack/CPAI replace a user's embedding on every register: one call, all images."""
    rig = single_call_rig
    images = [
        photo(face_world, FaceSpec("alice"), name="a1.jpg"),
        photo(face_world, FaceSpec("alice"), name="a2.jpg"),
        photo(face_world, FaceSpec("alice"), name="a3.jpg"),
    ]

    outcomes = await rig.detector.train("alice", images)

    assert [(o.filename, o.error, o.ref) for o in outcomes] == [
        ("a1.jpg", None, None),
        ("a2.jpg", None, None),
        ("a3.jpg", None, None),
    ]
    (register,) = rig.server.requests
    assert register.path == "/v1/vision/face/register"
    assert register.form == {"userid": "alice"}
    assert [f.field for f in register.files] == ["image1", "image2", "image3"]
    assert all(f.filename.endswith(".jpg") for f in register.files)
    assert [f.data for f in register.files] == [image.data for image in images]
    # Distinct field names: DeepStack reads only the first file of each name.
    assert rig.server.subjects == {"alice": ["alice", "alice", "alice"]}


async def test_register_outcome_applies_to_every_image(
    single_call_rig: Rig, face_world: FaceWorld
) -> None:
    """Images with a face train the user; the call only fails when none has a face."""
    rig = single_call_rig
    mixed = [
        photo(face_world, FaceSpec("alice"), name="a.jpg"),
        photo(face_world, name="b.jpg"),
    ]

    assert [o.error for o in await rig.detector.train("alice", mixed)] == [None, None]
    assert rig.server.subjects == {"alice": ["alice"]}

    empty = [photo(face_world, name="c.jpg"), photo(face_world, name="d.jpg")]
    outcomes = await rig.detector.train("bob", empty)

    assert [(o.filename, o.error) for o in outcomes] == [
        ("c.jpg", NO_FACE),
        ("d.jpg", NO_FACE),
    ]
    assert "bob" not in rig.server.subjects


async def test_register_errors_become_outcomes(
    single_call_rig: Rig, face_world: FaceWorld
) -> None:
    """An undecodable image or a server failure fails every image with the server's words."""
    rig = single_call_rig
    outcomes = await rig.detector.train(
        "alice",
        [TrainingImage("x.jpg", b"not an image"), TrainingImage("y.jpg", b"nope")],
    )

    expected = "invalid image" if rig.kind == "deepstack" else "unknown type"
    assert len(outcomes) == 2
    assert all(expected in (o.error or "") for o in outcomes)
    assert all(TITLES[rig.kind] in (o.error or "") for o in outcomes)

    rig.server.fail_next(
        500, {"success": False, "error": "error occured on the server"}
    )
    outcomes = await rig.detector.train("alice", [photo(face_world, FaceSpec("alice"))])
    assert "error occured on the server" in (outcomes[0].error or "")


async def test_retraining_replaces_deepstack_user(
    single_call_rig: Rig, face_world: FaceWorld
) -> None:
    """A second train call sends that call's images (the server forgets the first ones)."""
    rig = single_call_rig
    await rig.detector.train("alice", [photo(face_world, FaceSpec("alice"))])
    await rig.detector.train("alice", [photo(face_world, FaceSpec("alice2"))])

    assert rig.server.subjects == {"alice": ["alice2"]}
    faces = await rig.detector.recognize(face_world.image(FaceSpec("alice")))
    assert [face.name for face in faces] == [UNKNOWN]


# -- remove and list -------------------------------------------------------------------------


async def test_remove_makes_the_person_unknown(rig: Rig, face_world: FaceWorld) -> None:
    """After removing alice (with the refs training returned) she is a stranger again."""
    outcomes = await train_alice(rig, face_world)
    await rig.detector.train("bob", [photo(face_world, FaceSpec("bob"))])

    await rig.detector.remove("alice", [o.ref for o in outcomes if o.ref])

    faces = await rig.detector.recognize(face_world.image(FaceSpec("alice")))
    assert faces[0].name != "alice"
    assert "alice" not in rig.server.subjects
    assert "bob" in rig.server.subjects


async def test_remove_unknown_person_is_fine(rig: Rig) -> None:
    """Removing someone the server never saw is not an error."""
    await rig.detector.remove("nobody", ["nobody-123456789abc"])


async def test_remove_requests(rig: Rig, face_world: FaceWorld) -> None:
    """The remove request each server expects."""
    await rig.detector.remove("alice", ["alice-0123456789ab", "al ice/1"])

    sent = [(r.method, r.path, r.query, r.form) for r in rig.server.requests]
    if rig.kind == "compreface":
        assert sent == [
            ("DELETE", "/api/v1/recognition/faces", {"subject": "alice"}, {})
        ]
        assert rig.server.requests[0].headers["x-api-key"] == COMPREFACE_KEY
    elif rig.kind == "facebox":
        assert sent == [
            ("DELETE", "/facebox/teach/alice-0123456789ab", {}, {}),
            ("DELETE", "/facebox/teach/al ice/1", {}, {}),
        ]
    else:
        assert sent == [("POST", "/v1/vision/face/delete", {}, {"userid": "alice"})]


async def test_facebox_remove_escapes_ids(
    facebox_rig: Rig, face_world: FaceWorld
) -> None:
    """A name with spaces makes an id that must be URL-escaped in the DELETE path."""
    rig = facebox_rig
    outcomes = await rig.detector.train(
        "mary ann", [photo(face_world, FaceSpec("mary"))]
    )
    (ref,) = [o.ref for o in outcomes]
    assert ref is not None
    assert ref.startswith("mary ann-")

    await rig.detector.remove("mary ann", [ref])

    assert rig.server.examples == {}
    assert rig.server.subjects == {}


async def test_facebox_remove_failures(facebox_rig: Rig) -> None:
    """A 404 means already gone; other failures are reported after trying every id."""
    rig = facebox_rig
    rig.server.fail_next(404, {"success": False, "error": "not found"})
    await rig.detector.remove("alice", ["alice-1"])

    rig.server.fail_next(500, {"success": False, "error": "state file locked"}, count=2)
    with pytest.raises(
        ApiResponseError, match=r"state file locked \(and 1 more examples\)"
    ):
        await rig.detector.remove("alice", ["alice-1", "alice-2", "alice-3"])
    assert len(rig.server.requests_to("/facebox/teach/alice-3", "DELETE")) == 1

    rig.server.fail_next(200, {"success": False, "error": "busy"})
    with pytest.raises(
        ApiResponseError, match="Facebox: remove failed: HTTP 200: busy$"
    ):
        await rig.detector.remove("alice", ["alice-1"])


async def test_remove_server_error(listing_rig: Rig) -> None:
    """A failing remove on the other servers is an ApiResponseError."""
    rig = listing_rig
    rig.server.fail_next(
        500, {"success": False, "error": "locked", "message": "locked"}
    )

    with pytest.raises(ApiResponseError, match="locked"):
        await rig.detector.remove("alice")


async def test_list_subjects(listing_rig: Rig, face_world: FaceWorld) -> None:
    """Servers that can list subjects return the trained names."""
    rig = listing_rig
    assert await rig.detector.list_subjects() == []

    await rig.detector.train("alice", [photo(face_world, FaceSpec("alice"))])
    await rig.detector.train("bob", [photo(face_world, FaceSpec("bob"))])

    assert sorted(await rig.detector.list_subjects() or []) == ["alice", "bob"]


async def test_facebox_cannot_list(facebox_rig: Rig, face_world: FaceWorld) -> None:
    """Facebox has no list endpoint: None, and no request."""
    assert await facebox_rig.detector.list_subjects() is None
    assert facebox_rig.server.requests == []


# -- check -----------------------------------------------------------------------------------


async def test_check_succeeds(rig: Rig) -> None:
    """A healthy server with the right credentials passes the check."""
    await rig.detector.check()

    sent = [(r.method, r.path) for r in rig.server.requests]
    assert (
        sent
        == {
            "compreface": [("GET", "/api/v1/recognition/subjects")],
            "deepstack": [("POST", "/v1/vision/face/list")],
            "codeproject": [
                ("GET", "/v1/server/status/ping"),
                ("POST", "/v1/vision/face/list"),
            ],
            "facebox": [("GET", "/info")],
        }[rig.kind]
    )


@pytest.mark.parametrize(
    "key", ["", "not-a-uuid", "11111111-2222-4333-8444-555555555555"], ids=str
)
async def test_compreface_bad_key(
    compreface_rig: Rig, key: str, face_world: FaceWorld
) -> None:
    """A missing, malformed or unknown key is an auth error (400/20, 400/26, 404/10)."""
    detector = compreface_rig.client(api_key=key)

    with pytest.raises(ApiAuthError, match="CompreFace: API key refused"):
        await detector.check()
    with pytest.raises(ApiAuthError):
        await detector.recognize(face_world.image(FaceSpec("alice")))
    with pytest.raises(ApiAuthError):
        await detector.train("alice", [photo(face_world, FaceSpec("alice"))])
    with pytest.raises(ApiAuthError):
        await detector.remove("alice")
    if key:
        assert compreface_rig.server.requests[0].headers["x-api-key"] == key
    else:
        assert "x-api-key" not in compreface_rig.server.requests[0].headers


async def test_compreface_blank_subject_is_not_an_auth_error(
    compreface_rig: Rig, face_world: FaceWorld
) -> None:
    """Code 26 also reports validation problems; only key problems are auth errors."""
    outcomes = await compreface_rig.detector.train(
        " ", [photo(face_world, FaceSpec("alice"))]
    )

    assert "Subject name is empty" in (outcomes[0].error or "")


async def test_deepstack_api_key(deepstack_rig: Rig, face_world: FaceWorld) -> None:
    """With a key set on the server, a missing or wrong key is an auth error."""
    rig = deepstack_rig
    rig.server.api_key = "s3cret"

    with pytest.raises(ApiAuthError, match="Incorrect api key"):
        await rig.detector.check()
    with pytest.raises(ApiAuthError):
        await rig.client(api_key="wrong").recognize(face_world.image(FaceSpec("alice")))
    with pytest.raises(ApiAuthError):
        await rig.client(api_key="wrong").train(
            "alice", [photo(face_world, FaceSpec("alice"))]
        )

    detector = rig.client(api_key="s3cret")
    await detector.check()
    await detector.train("alice", [photo(face_world, FaceSpec("alice"))])
    assert [
        f.name for f in await detector.recognize(face_world.image(FaceSpec("alice")))
    ] == ["alice"]
    await detector.remove("alice")
    assert all(r.form.get("api_key") == "s3cret" for r in rig.server.requests[3:])


async def test_deepstack_sends_no_key_when_none_is_set(
    deepstack_rig: Rig, face_world: FaceWorld
) -> None:
    """No key configured: no ``api_key`` field at all."""
    await deepstack_rig.detector.recognize(face_world.image(FaceSpec("alice")))
    await deepstack_rig.detector.check()

    assert all("api_key" not in r.form for r in deepstack_rig.server.requests)


async def test_codeproject_never_sends_a_key(
    codeproject_rig: Rig, face_world: FaceWorld
) -> None:
    """CodeProject.AI has no authentication: a configured key is not sent."""
    detector = codeproject_rig.client(api_key="ignored")
    await detector.check()
    await detector.train("alice", [photo(face_world, FaceSpec("alice"))])
    await detector.recognize(face_world.image(FaceSpec("alice")))
    await detector.remove("alice")

    assert len(codeproject_rig.server.requests) == 5
    assert all("api_key" not in r.form for r in codeproject_rig.server.requests)


async def test_deepstack_face_endpoints_disabled(
    deepstack_rig: Rig, face_world: FaceWorld
) -> None:
    """403 "Face endpoints not activated" is a server setup problem, not a bad key."""
    deepstack_rig.server.face_enabled = False

    with pytest.raises(ApiResponseError, match="not activated") as err:
        await deepstack_rig.detector.check()
    assert not isinstance(err.value, ApiAuthError)
    assert "VISION-FACE" in str(err.value)
    with pytest.raises(ApiResponseError, match="not activated"):
        await deepstack_rig.detector.recognize(face_world.image(FaceSpec("alice")))


async def test_plain_403_is_an_auth_error(rig: Rig) -> None:
    """Any other 401/403 (a proxy, a wrong key) is an auth error."""
    rig.server.fail_next(403, "Forbidden")

    with pytest.raises(ApiAuthError, match=f"{TITLES[rig.kind]}: credentials refused"):
        await rig.detector.check()


async def test_codeproject_without_face_module(codeproject_rig: Rig) -> None:
    """Ping works but the face routes 404: the module is missing."""
    codeproject_rig.server.face_module_installed = False

    with pytest.raises(
        ApiResponseError, match="Face Processing module is not installed"
    ):
        await codeproject_rig.detector.check()


async def test_codeproject_ping_fails(codeproject_rig: Rig) -> None:
    """A failing ping fails the check."""
    codeproject_rig.server.fail_next(500, "Internal Server Error")

    with pytest.raises(ApiResponseError, match="CodeProject.AI: ping failed: HTTP 500"):
        await codeproject_rig.detector.check()


async def test_codeproject_other_errors(codeproject_rig: Rig) -> None:
    """``success: false`` other than "no face" is an error carrying the server's text."""
    with pytest.raises(ApiResponseError, match="unknown type"):
        await codeproject_rig.detector.recognize(b"these bytes are no image")


async def test_facebox_basic_auth(facebox_rig: Rig, face_world: FaceWorld) -> None:
    """Credentials in the URL become HTTP Basic auth and stay out of error messages."""
    rig = facebox_rig
    rig.server.basic_auth = ("admin", "p@ss:w/rd")
    host = rig.server.url.removeprefix("http://")

    with pytest.raises(ApiAuthError, match="Facebox: credentials refused"):
        await rig.detector.check()

    wrong = rig.client(url=f"http://admin:guess@{host}")
    with pytest.raises(ApiAuthError) as err:
        await wrong.check()
    assert "guess" not in str(err.value)

    detector = rig.client(url=f"http://admin:{quote('p@ss:w/rd', safe='')}@{host}/")
    await detector.check()
    outcomes = await detector.train("alice", [photo(face_world, FaceSpec("alice"))])
    faces = await detector.recognize(face_world.image(FaceSpec("alice")))
    await detector.remove("alice", [o.ref for o in outcomes if o.ref])

    assert [face.name for face in faces] == ["alice"]
    assert rig.server.examples == {}
    assert rig.server.requests[-1].headers[
        "Authorization"
    ] == aiohttp.encode_basic_auth("admin", "p@ss:w/rd")

    # A password without a user name is Basic auth too, and leaves the URL as well.
    rig.server.basic_auth = ("", "only-pw")
    password_only = rig.client(url=f"http://:only-pw@{host}")
    await password_only.check()
    assert rig.server.requests[-1].headers[
        "Authorization"
    ] == aiohttp.encode_basic_auth("", "only-pw")

    await rig.server.stop()
    with pytest.raises(ApiConnectionError) as conn_err:
        await detector.check()
    assert "p@ss" not in str(conn_err.value)
    assert "admin" not in str(conn_err.value)
    with pytest.raises(ApiConnectionError) as conn_err:
        await password_only.check()
    assert "only-pw" not in str(conn_err.value)


async def test_facebox_not_ready(facebox_rig: Rig) -> None:
    """``/info`` must say ``ready``."""
    facebox_rig.server.info_status = "starting..."

    with pytest.raises(ApiResponseError, match=r"not ready \(status 'starting...'\)"):
        await facebox_rig.detector.check()


# -- transport failures ----------------------------------------------------------------------


async def test_stopped_server(rig: Rig, face_world: FaceWorld) -> None:
    """A server that went away is a connection error for every operation."""
    await rig.server.stop()

    with pytest.raises(ApiConnectionError):
        await rig.detector.check()
    with pytest.raises(ApiConnectionError):
        await rig.detector.recognize(face_world.image(FaceSpec("alice")))
    with pytest.raises(ApiConnectionError):
        await rig.detector.remove("alice", ["alice-1"])


@pytest.mark.parametrize("kind", ALL_KINDS)
async def test_closed_port(
    kind: str, closed_port: int, session: aiohttp.ClientSession, face_world: FaceWorld
) -> None:
    """Nothing listening on the port: connection error."""
    detector = create_detector(
        kind,
        session,
        DetectorSettings(url=f"http://127.0.0.1:{closed_port}", api_key="k"),
    )

    with pytest.raises(ApiConnectionError):
        await detector.check()
    with pytest.raises(ApiConnectionError):
        await detector.recognize(face_world.image(FaceSpec("alice")))


async def test_unparsable_url(session: aiohttp.ClientSession) -> None:
    """A broken URL fails on use as a connection error, not at construction."""
    detector = create_detector("facebox", session, DetectorSettings(url="http://[::1"))

    with pytest.raises(ApiConnectionError):
        await detector.check()


async def test_timeout(rig: Rig, face_world: FaceWorld) -> None:
    """A server slower than the configured timeout is a connection error."""
    rig.server.delay = 5
    detector = rig.client(timeout=0.2)

    with pytest.raises(ApiConnectionError, match="timed out after 0.2 s"):
        await detector.recognize(face_world.image(FaceSpec("alice")))
    with pytest.raises(ApiConnectionError, match="timed out"):
        await detector.check()


BAD_ANSWERS = {
    "500 json": (
        500,
        {"error": "boom on the server", "message": "boom on the server"},
        None,
    ),
    "500 empty": (500, None, None),
    "502 html": (
        502,
        "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        "text/html",
    ),
    "200 html": (
        200,
        "<!DOCTYPE html><html><body><h1>Welcome</h1></body></html>",
        "text/html",
    ),
    "200 garbage json": (200, '{"result": [', "application/json"),
    "200 json list": (200, [1, 2, 3], None),
    "200 json string": (200, '"ok"', "application/json"),
    "404": (404, "404 page not found", None),
}


@pytest.mark.parametrize("answer", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
async def test_bad_answers(
    rig: Rig, face_world: FaceWorld, answer: tuple[int, Any, str | None]
) -> None:
    """5xx, HTML, garbage and non-object JSON are ApiResponseErrors naming the detector."""
    status, body, content_type = answer
    rig.server.fail_next(status, body, content_type=content_type)

    with pytest.raises(ApiResponseError) as err:
        await rig.detector.recognize(face_world.image(FaceSpec("alice")))

    message = str(err.value)
    assert message.startswith(f"{TITLES[rig.kind]}: recognize failed")
    if status != 200:
        assert f"HTTP {status}" in message
    if isinstance(body, dict):
        assert "boom on the server" in message
    if content_type == "text/html" and status != 200:
        assert "502 Bad Gateway nginx" in message
        assert "<" not in message


@pytest.mark.parametrize("answer", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
async def test_bad_answers_to_check(
    rig: Rig, answer: tuple[int, Any, str | None]
) -> None:
    """The check fails the same way."""
    status, body, content_type = answer
    rig.server.fail_next(status, body, content_type=content_type)

    with pytest.raises(ApiResponseError, match=TITLES[rig.kind]):
        await rig.detector.check()


async def test_long_error_pages_are_cut(rig: Rig, face_world: FaceWorld) -> None:
    """A huge error page is shortened in the message."""
    rig.server.fail_next(
        500, "<html><body>" + "x" * 5000 + "</body></html>", content_type="text/html"
    )

    with pytest.raises(ApiResponseError) as err:
        await rig.detector.recognize(face_world.image(FaceSpec("alice")))

    assert str(err.value).endswith("…")
    assert len(str(err.value)) < 250


# -- odd but well-formed answers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("any_rig", "body", "expected"),
    [
        pytest.param(
            "compreface",
            {
                "result": [
                    1,
                    {"box": "x", "subjects": "y"},
                    {
                        "box": {
                            "x_min": -5,
                            "y_min": "a",
                            "x_max": 50.6,
                            "y_max": None,
                        },
                        "subjects": [
                            "junk",
                            {"subject": " Alice ", "similarity": "NaN"},
                            {"subject": "Bob", "similarity": 0.5},
                        ],
                    },
                    {
                        "box": {"x_min": 1, "y_min": 2, "x_max": 3, "y_max": 4},
                        "subjects": [{}],
                    },
                ]
            },
            [
                Face(UNKNOWN, 0.0, Box(0, 0, 0, 0)),
                Face(
                    "bob",
                    50.0,
                    Box(top=0, left=0, width=51, height=0),
                    # A score that is no number counts 0, as for the answer itself.
                    (Candidate("alice", 0.0),),
                ),
                Face(UNKNOWN, 0.0, Box(top=2, left=1, width=2, height=2)),
            ],
            id="compreface",
        ),
        pytest.param(
            "deepstack",
            {
                "success": True,
                "predictions": [
                    1,
                    None,
                    {
                        "userid": "Bob ",
                        "confidence": 1.7,
                        "x_min": "10",
                        "y_min": -3,
                        "x_max": 60,
                        "y_max": 80,
                    },
                    {"userid": 5, "confidence": "high", "x_min": True},
                ],
                "duration": 0,
            },
            [
                Face("bob", 100.0, Box(top=0, left=10, width=50, height=80)),
                Face(UNKNOWN, 0.0, Box(0, 0, 0, 0)),
            ],
            id="deepstack",
        ),
        pytest.param(
            "deepstack", {"success": True, "duration": 0}, [], id="deepstack-missing"
        ),
        pytest.param(
            "codeproject",
            {"success": True, "predictions": [{"userid": "unknown", "confidence": 0}]},
            [Face(UNKNOWN, 0.0, Box(0, 0, 0, 0))],
            id="codeproject",
        ),
        pytest.param(
            "facebox",
            {
                "success": True,
                "facesCount": 3,
                "faces": [
                    None,
                    {
                        "matched": True,
                        "name": "Alice",
                        "id": "alice-1",
                        "confidence": 0.5,
                        "rect": {"top": 1, "left": 2, "width": 3, "height": 4},
                    },
                    {"matched": "yes", "name": "bob", "rect": []},
                    {
                        "matched": True,
                        "name": "",
                        "confidence": 0.9,
                        "rect": {"top": -1},
                    },
                ],
            },
            [
                Face("alice", 50.0, Box(top=1, left=2, width=3, height=4)),
                Face(UNKNOWN, 0.0, Box(0, 0, 0, 0)),
                Face(UNKNOWN, 90.0, Box(0, 0, 0, 0)),
            ],
            id="facebox",
        ),
    ],
    indirect=["any_rig"],
)
async def test_odd_answers_are_normalized(
    any_rig: Rig, face_world: FaceWorld, body: dict[str, Any], expected: list[Face]
) -> None:
    """Odd items are skipped, odd values clamped; nothing raises TypeError or KeyError."""
    any_rig.server.fail_next(200, body)

    assert (
        await any_rig.detector.recognize(face_world.image(FaceSpec("alice")))
        == expected
    )


@pytest.mark.parametrize(
    ("any_rig", "body"),
    [
        ("compreface", {"result": "nope"}),
        ("compreface", {"results": []}),
        ("deepstack", {"success": True, "predictions": {"userid": "alice"}}),
        ("codeproject", {"success": True, "predictions": "none"}),
        ("facebox", {"success": True, "faces": 3}),
        ("facebox", {"success": False, "error": "something broke"}),
    ],
    indirect=["any_rig"],
)
async def test_wrong_shapes_are_response_errors(
    any_rig: Rig, face_world: FaceWorld, body: dict[str, Any]
) -> None:
    """A wrong type where a list must be is an ApiResponseError."""
    any_rig.server.fail_next(200, body)

    with pytest.raises(ApiResponseError, match=TITLES[any_rig.kind]):
        await any_rig.detector.recognize(face_world.image(FaceSpec("alice")))


async def test_odd_subject_lists(listing_rig: Rig) -> None:
    """Non-strings in a subject list are skipped; a non-list is an error."""
    rig = listing_rig
    key = "subjects" if rig.kind == "compreface" else "faces"
    rig.server.fail_next(200, {"success": True, key: ["alice", 3, None, " ", " Bob "]})
    assert await rig.detector.list_subjects() == ["alice", "Bob"]

    rig.server.fail_next(200, {"success": True, key: "alice"})
    with pytest.raises(ApiResponseError, match="expected a list"):
        await rig.detector.list_subjects()


async def test_compreface_train_answer_without_image_id(
    compreface_rig: Rig, face_world: FaceWorld
) -> None:
    """A 201 without an image id still counts as trained, without a ref."""
    compreface_rig.server.fail_next(201, {"subject": "alice"})

    outcomes = await compreface_rig.detector.train(
        "alice", [photo(face_world, FaceSpec("a"))]
    )

    assert [(o.ok, o.ref) for o in outcomes] == [(True, None)]


async def test_facebox_teach_errors_keep_server_words(
    facebox_rig: Rig, face_world: FaceWorld
) -> None:
    """Teach errors other than face counts carry the server's own text."""
    outcomes = await facebox_rig.detector.train(
        "alice", [TrainingImage("x.jpg", b"garbage")]
    )

    assert outcomes[0].error == "Facebox: train failed: HTTP 400: image: unknown format"


# -- requests on the wire --------------------------------------------------------------------


async def test_compreface_recognize_request(
    compreface_rig: Rig, face_world: FaceWorld
) -> None:
    """Key header and the query parameters the SPEC asks for."""
    detector = compreface_rig.client(det_prob_threshold=0.65)

    await detector.recognize(face_world.image(FaceSpec("alice")))

    (request,) = compreface_rig.server.requests
    assert request.headers["x-api-key"] == COMPREFACE_KEY
    assert request.query == {
        "det_prob_threshold": "0.65",
        "limit": "0",
        "prediction_count": "20",  # CompreFace ranks examples: room for other persons
    }
    assert request.content_type == "multipart/form-data"


async def test_compreface_threshold_is_applied(
    compreface_rig: Rig, face_world: FaceWorld
) -> None:
    """A detection threshold above the face's probability means no face."""
    detector = compreface_rig.client(det_prob_threshold=0.99999)

    assert await detector.recognize(face_world.image(FaceSpec("alice"))) == []


def test_registry() -> None:
    """Every detector is registered under its kind and built by create_detector."""
    registered = dict(DETECTOR_TYPES)
    assert registered == {
        "compreface": CompreFaceDetector,
        "deepstack": DeepStackDetector,
        "codeproject": CodeProjectDetector,
        "facebox": FaceboxDetector,
        "local": LocalDetector,
    }
    assert issubclass(CodeProjectDetector, DeepStackDetector)
    # Servers share the HTTP plumbing; the local detector has none of it.
    assert {
        kind: cls for kind, cls in registered.items() if issubclass(cls, HttpDetector)
    } == HTTP_DETECTOR_TYPES
    assert set(HTTP_DETECTOR_TYPES) == set(registered) - {"local"}
    # A register call replaces the person's embedding on DeepStack and CodeProject.AI.
    assert {kind for kind, cls in registered.items() if cls.replaces_on_train} == {
        "deepstack",
        "codeproject",
    }


async def test_local_detector_takes_no_session(session: aiohttp.ClientSession) -> None:
    """The factory hands HA's session to the servers only."""
    detector = create_detector("local", session, DetectorSettings())
    try:
        assert isinstance(detector, LocalDetector)
        assert not isinstance(detector, HttpDetector)
        assert session not in vars(detector).values()
        assert detector.settings == DetectorSettings()
    finally:
        await detector.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pw@host:8080/img.jpg?key=s3cret#x", "http://host:8080/img.jpg"),
        ("https://host/a%20b/c.jpg?token=1", "https://host/a%20b/c.jpg"),
        ("/local/path?x=1", "/local/path"),
        ("http://[::1", "(invalid URL)"),
    ],
)
def test_urls_in_messages_carry_no_secrets(url: str, shown: str) -> None:
    """Error messages show a URL without its credentials or query."""
    assert safe_url(url) == shown


async def test_create_detector(session: aiohttp.ClientSession) -> None:
    """The factory binds settings; a trailing slash in the URL is harmless."""
    detector = create_detector(
        "deepstack", session, DetectorSettings(url="http://host:5000/", timeout=3)
    )

    assert isinstance(detector, DeepStackDetector)
    assert detector.kind == "deepstack"
    assert detector.label == "DeepStack"
    assert detector.settings.timeout == 3


async def test_user_name_with_colon_is_not_sent(
    facebox_rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """Basic auth cannot carry a ':' in the user name: warn, send no credentials."""
    host = facebox_rig.server.url.removeprefix("http://")
    detector = facebox_rig.client(url=f"http://ad%3Amin:pw@{host}")

    await detector.check()

    assert "cannot be sent as Basic auth" in caplog.text
    assert "Authorization" not in facebox_rig.server.requests[0].headers
