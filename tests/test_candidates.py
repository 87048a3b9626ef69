"""Candidates: the other persons a detector ranked for a face (issue 17, items 2 and 6).

``Face.candidates`` lists them most confident first, one entry per person, never the
face's own name: CompreFace and the local detector fill it, the others leave it empty.
Also the calibration item 6 asks of the local detector on the fixture photos.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from custom_components.double_take.api.detectors import (
    Detector,
    DetectorSettings,
    LocalDetector,
    create_detector,
)
from custom_components.double_take.api.detectors.compreface import (
    MAX_CANDIDATES,
    PREDICTION_COUNT,
)
from custom_components.double_take.api.local import (
    DescriptorStore,
    FaceEngine,
    FaceRecord,
    FaceWorker,
    Sample,
    distance_to_confidence,
    shared_engine,
)
from custom_components.double_take.api.models import (
    UNKNOWN,
    Box,
    Candidate,
    Face,
    TrainingImage,
)

from .common import photo
from .emulators.compreface import COMPREFACE_KEY, CompreFaceEmulator
from .emulators.fixtures import StartEmulator
from .emulators.world import DIFFERENT_PERSON_SIMILARITY, FaceSpec, FaceWorld

DEFAULTS = DetectorSettings()
BOX = Box(top=140, left=260, width=120, height=160)  # FaceSpec's default box
CF_HEADERS = {"x-api-key": COMPREFACE_KEY}
dlib = pytest.mark.dlib


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Open a plain aiohttp session, closed at teardown."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def client(
    kind: str, server: Any, session: aiohttp.ClientSession, **settings: Any
) -> Detector:
    """Make a detector client of ``kind`` pointed at the emulator ``server``."""
    api_key = COMPREFACE_KEY if kind == "compreface" else ""
    return create_detector(
        kind, session, DetectorSettings(url=server.url, api_key=api_key, **settings)
    )


async def train(
    detector: Detector, world: FaceWorld, name: str, identity: str, count: int = 1
) -> None:
    """Train ``name`` on ``count`` photos of ``identity``."""
    images = [
        TrainingImage(f"{name}-{i}.jpg", world.image(FaceSpec(identity)))
        for i in range(count)
    ]
    outcomes = await detector.train(name, images)
    assert all(outcome.ok for outcome in outcomes)


# -- CompreFace ------------------------------------------------------------------------


async def test_compreface_candidates_one_per_person_most_confident_first(
    start_emulator: StartEmulator, face_world: FaceWorld, session: aiohttp.ClientSession
) -> None:
    """Alice trained on three photos does not crowd out Bob; each person comes once."""
    server = await start_emulator("compreface")
    detector = client("compreface", server, session)
    await train(detector, face_world, "Alice", "alice", count=3)
    await train(detector, face_world, "bob", "bob", count=2)
    await train(detector, face_world, "carol", "carol")

    (face,) = await detector.recognize(
        face_world.image(
            FaceSpec("alice", similarity=0.95, resembles=(("bob", 0.81234),))
        )
    )

    assert face == Face(
        "alice",
        95.0,
        BOX,
        (Candidate("bob", 81.23), Candidate("carol", 30.0)),
    )
    (request,) = [r for r in server.requests if r.path.endswith("/recognize")]
    assert request.query["prediction_count"] == str(PREDICTION_COUNT)


async def test_compreface_nobody_else_trained(
    start_emulator: StartEmulator, face_world: FaceWorld, session: aiohttp.ClientSession
) -> None:
    """With only the face's own person trained there is no candidate."""
    server = await start_emulator("compreface")
    detector = client("compreface", server, session)
    await train(detector, face_world, "alice", "alice", count=2)

    (face,) = await detector.recognize(face_world.image(FaceSpec("alice")))

    assert (face.name, face.candidates) == ("alice", ())


async def test_compreface_candidates_are_capped(
    start_emulator: StartEmulator, face_world: FaceWorld, session: aiohttp.ClientSession
) -> None:
    """At most MAX_CANDIDATES, the most confident ones."""
    server = await start_emulator("compreface")
    detector = client("compreface", server, session)
    for name in ("alice", "bob", "carol", "dave", "erin"):
        await train(detector, face_world, name, name)
    resembles = (("bob", 0.4), ("carol", 0.7), ("dave", 0.5), ("erin", 0.2))

    (face,) = await detector.recognize(
        face_world.image(FaceSpec("alice", resembles=resembles))
    )

    assert MAX_CANDIDATES == 3
    assert face.candidates == (
        Candidate("carol", 70.0),
        Candidate("dave", 50.0),
        Candidate("bob", 40.0),
    )


async def test_compreface_look_alike_wins(
    start_emulator: StartEmulator, face_world: FaceWorld, session: aiohttp.ClientSession
) -> None:
    """A face closer to another person is named after them; its own person is a candidate."""
    server = await start_emulator("compreface")
    detector = client("compreface", server, session)
    await train(detector, face_world, "alice", "alice")
    await train(detector, face_world, "bob", "bob")

    (face,) = await detector.recognize(
        face_world.image(FaceSpec("alice", similarity=0.6, resembles=(("bob", 0.9),)))
    )

    assert (face.name, face.confidence) == ("bob", 90.0)
    assert face.candidates == (Candidate("alice", 60.0),)


async def test_compreface_odd_subject_lists(
    start_emulator: StartEmulator, face_world: FaceWorld, session: aiohttp.ClientSession
) -> None:
    """Unsorted, repeated, differently cased and nameless subjects become clean candidates.

    The answer itself is chosen exactly as before candidates existed: the subject with
    the highest score, the first of equals.
    """
    server: CompreFaceEmulator = await start_emulator("compreface")
    detector = client("compreface", server, session)
    box = {"x_min": 260, "y_min": 140, "x_max": 380, "y_max": 300}
    server.fail_next(
        200,
        {
            "result": [
                {
                    "box": box,
                    "subjects": [
                        {"subject": "Bob", "similarity": 0.5},
                        "junk",
                        {"subject": "Alice", "similarity": 0.912345},
                        {"subject": "", "similarity": 0.9},
                        {"subject": "BOB", "similarity": 0.7},
                        {"subject": "alice", "similarity": 0.8},
                        {"subject": "carol", "similarity": 0.912345},
                        {"subject": "dave"},
                    ],
                }
            ]
        },
    )

    (face,) = await detector.recognize(face_world.image(FaceSpec("alice")))

    assert face == Face(
        "alice",
        91.23,
        BOX,
        (Candidate("carol", 91.23), Candidate("bob", 70.0), Candidate("dave", 0.0)),
    )


@pytest.mark.parametrize("kind", ["deepstack", "codeproject", "facebox"])
async def test_detectors_without_ranking_leave_candidates_empty(
    kind: str,
    start_emulator: StartEmulator,
    face_world: FaceWorld,
    session: aiohttp.ClientSession,
) -> None:
    """DeepStack, CodeProject.AI and Facebox answer one name per face, no ranking."""
    server = await start_emulator(kind)
    detector = client(kind, server, session)
    await train(detector, face_world, "alice", "alice")
    await train(detector, face_world, "bob", "bob")

    (face,) = await detector.recognize(
        face_world.image(FaceSpec("alice", resembles=(("bob", 0.8),)))
    )

    assert (face.name, face.candidates) == ("alice", ())


# -- the CompreFace emulator -----------------------------------------------------------


async def test_emulator_honours_prediction_count(
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    session: aiohttp.ClientSession,
) -> None:
    """Top N stored examples by similarity, best first; 1 by default; < 1 refused."""
    compreface.subjects = {
        "alice": ["alice", "alice"],
        "bob": ["bob"],
        "carol": ["carol"],
    }
    image = face_world.image(
        FaceSpec("alice", similarity=0.9, resembles=(("carol", 0.6),))
    )

    async def subjects(**params: str) -> tuple[int, Any]:
        data = aiohttp.FormData()
        data.add_field("file", image, filename="x.jpg", content_type="image/jpeg")
        async with session.post(
            f"{compreface.url}/api/v1/recognition/recognize",
            params=params,
            data=data,
            headers=CF_HEADERS,
        ) as resp:
            body = await resp.json(content_type=None)
        return resp.status, body["result"][0]["subjects"] if resp.ok else body

    assert await subjects() == (200, [{"subject": "alice", "similarity": 0.9}])
    assert await subjects(prediction_count="3") == (
        200,
        [
            {"subject": "alice", "similarity": 0.9},
            {"subject": "alice", "similarity": 0.9},
            {"subject": "carol", "similarity": 0.6},
        ],
    )
    assert await subjects(prediction_count="20") == (
        200,
        [
            {"subject": "alice", "similarity": 0.9},
            {"subject": "alice", "similarity": 0.9},
            {"subject": "carol", "similarity": 0.6},
            {"subject": "bob", "similarity": DIFFERENT_PERSON_SIMILARITY},
        ],
    )
    status, body = await subjects(prediction_count="0")
    assert (status, body["code"]) == (400, 26)


def test_world_resembles_is_validated() -> None:
    """Look-alike scores are similarities too: 0..1."""
    with pytest.raises(ValueError, match="within 0..1"):
        FaceSpec("alice", resembles=(("bob", 1.5),))


# -- the local detector: store and matching (no dlib needed) ---------------------------


def vector(value: float, index: int = 0) -> tuple[float, ...]:
    """Make a 128-d descriptor that is ``value`` at ``index`` and 0 elsewhere."""
    return tuple(value if i == index else 0.0 for i in range(128))


def test_store_nearest_persons() -> None:
    """One entry per person (their nearest example), nearest first, at most ``count``."""
    store = DescriptorStore(None)
    assert store.nearest_persons(np.zeros(128), 3) == []
    store.add("alice", Sample("a1", "a1.jpg", vector(0.1)))
    store.add("alice", Sample("a2", "a2.jpg", vector(0.2)))
    store.add("bob", Sample("b1", "b1.jpg", vector(0.5)))
    store.add("carol", Sample("c1", "c1.jpg", vector(0.4, 1)))

    ranked = store.nearest_persons(np.array(vector(0.2)), 3)

    assert [name for name, _ in ranked] == ["alice", "bob", "carol"]
    assert [round(distance, 6) for _, distance in ranked] == [
        0.0,
        0.3,
        round(float(np.hypot(0.2, 0.4)), 6),
    ]
    assert store.nearest_persons(np.array(vector(0.2)), 1) == [("alice", 0.0)]
    assert store.nearest_persons(np.array(vector(0.2)), 0) == []
    assert store.nearest(np.array(vector(0.45))) == ("bob", pytest.approx(0.05))


def record(descriptor: tuple[float, ...]) -> FaceRecord:
    """Make a face the worker could have found, with ``descriptor``."""
    return FaceRecord(
        top=1, left=2, width=3, height=4, descriptor=np.array(descriptor).tobytes()
    )


@pytest.fixture
def matcher() -> LocalDetector:
    """Make a local detector (threshold 0.6) for ``_match`` only: no worker calls."""
    worker = FaceWorker()
    detector = LocalDetector(DetectorSettings(distance_threshold=0.6), worker)
    store = detector.store
    store.add("Alice", Sample("a1", "a1.jpg", vector(0.0)))
    store.add("Alice", Sample("a2", "a2.jpg", vector(0.05)))
    store.add("bob", Sample("b1", "b1.jpg", vector(0.3)))
    store.add("carol", Sample("c1", "c1.jpg", vector(0.6)))
    store.add("dave", Sample("d1", "d1.jpg", vector(0.9)))
    store.add("erin", Sample("e1", "e1.jpg", vector(1.2)))
    return detector


def test_local_named_face_lists_the_other_persons(matcher: LocalDetector) -> None:
    """Up to three other persons, confidence by the answer's own conversion."""
    (face,) = matcher._match([record(vector(0.1))])

    assert face == Face(
        "alice",
        distance_to_confidence(0.05, 0.6),
        Box(top=1, left=2, width=3, height=4),
        (
            Candidate("bob", distance_to_confidence(0.2, 0.6)),
            Candidate("carol", distance_to_confidence(0.5, 0.6)),
            Candidate("dave", distance_to_confidence(0.8, 0.6)),
        ),
    )
    assert [c.confidence for c in face.candidates] == [83.33, 58.33, 8.33]


def test_local_unknown_face_lists_the_nearest_persons(matcher: LocalDetector) -> None:
    """Beyond the threshold: unknown, and the nearest persons are the candidates.

    The first candidate is the person whose distance gave the face's confidence.
    """
    (face,) = matcher._match([record(vector(0.7, 5))])

    assert face.name == UNKNOWN
    assert face.confidence < 50
    assert [c.name for c in face.candidates] == ["alice", "bob", "carol"]
    assert face.candidates[0].confidence == face.confidence


def test_local_nobody_trained() -> None:
    """Nothing trained: unknown, confidence 0, no candidate."""
    detector = LocalDetector(DetectorSettings(), FaceWorker())

    (face,) = detector._match([record(vector(0.1))])

    assert face == Face(UNKNOWN, 0.0, Box(top=1, left=2, width=3, height=4))


def test_local_case_variants_in_a_hand_edited_file(tmp_path: Path) -> None:
    """Two spellings of one person in the file never make the face its own candidate."""
    (tmp_path / "descriptors.json").write_text(
        '{"version": 1, "model": "dlib_face_recognition_resnet_model_v1", "persons": {'
        f'"Alice": [{{"ref": "a", "file": "a.jpg", "descriptor": {list(vector(0.0))}}}],'
        f'"alice": [{{"ref": "b", "file": "b.jpg", "descriptor": {list(vector(0.1))}}}],'
        f'"bob": [{{"ref": "c", "file": "c.jpg", "descriptor": {list(vector(0.4))}}}]'
        "}}"
    )
    detector = LocalDetector(DetectorSettings(storage_dir=str(tmp_path)), FaceWorker())

    (face,) = detector._match([record(vector(0.0))])

    assert face.name == "alice"
    assert face.candidates == (Candidate("bob", distance_to_confidence(0.4, 0.6)),)


# -- the local detector on real photos -------------------------------------------------


@pytest.fixture(scope="module")
def confidences() -> dict[frozenset[str], float]:
    """Confidence between each pair of fixture photos, with the default settings."""
    engine: FaceEngine = shared_engine()
    descriptors = {}
    for name in ("obama", "obama2", "biden"):
        (face,) = engine.faces(
            photo(name), upsample=DEFAULTS.upsample, max_height=DEFAULTS.max_height
        )
        descriptors[name] = face.descriptor
    names = list(descriptors)
    return {
        frozenset((a, b)): distance_to_confidence(
            float(np.linalg.norm(descriptors[a] - descriptors[b])),
            DEFAULTS.distance_threshold,
        )
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    }


@dlib
def test_calibration_same_person(confidences: dict[frozenset[str], float]) -> None:
    """Issue 17 item 6: two photos of the same person score at least 60 (measured 69.63)."""
    assert confidences[frozenset(("obama", "obama2"))] >= 60


@dlib
def test_calibration_different_persons(
    confidences: dict[frozenset[str], float],
) -> None:
    """Issue 17 item 6: photos of different persons score at most 30."""
    assert confidences[frozenset(("obama", "biden"))] <= 30
    assert confidences[frozenset(("obama2", "biden"))] <= 30


@dlib
async def test_local_candidates_on_real_photos(tmp_path: Path) -> None:
    """Obama named with Biden as candidate; Biden unknown with Obama as nearest person."""
    detector = LocalDetector(DetectorSettings(storage_dir=str(tmp_path)), FaceWorker())
    try:
        await detector.train("obama", [TrainingImage("obama.jpg", photo("obama"))])

        (face,) = await detector.recognize(photo("biden"))
        assert face.name == UNKNOWN
        assert face.candidates == (Candidate("obama", face.confidence),)

        await detector.train("biden", [TrainingImage("biden.jpg", photo("biden"))])
        (face,) = await detector.recognize(photo("obama2"))
        assert face.name == "obama"
        assert face.confidence >= 60
        ((other, confidence),) = [(c.name, c.confidence) for c in face.candidates]
        assert other == "biden"
        assert confidence < 50
        assert face.confidence - confidence >= 20  # a margin min_margin can use
    finally:
        await detector.close()
