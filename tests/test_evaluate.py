"""Know your threshold: the leave-one-out evaluation (evaluate.py) and scripts/evaluate.

Real photos (fixtures/faces/): obama.jpg and obama2.jpg show the same person, biden.jpg
another, no_face.jpg no face. With the local detector's defaults the two Obama photos
are 0.364 apart (confidence 69.63), Obama and Biden 0.760 and 0.848 (unknown). The
detector servers are the emulators: their subjects and requests show what was trained
and removed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
import importlib.util
import logging
from pathlib import Path
import shutil
from types import ModuleType
from typing import Any
from unittest.mock import Mock

import aiohttp
import pytest

from custom_components.double_take.api.detectors import (
    CompreFaceDetector,
    Detector,
    DetectorSettings,
    LocalDetector,
)
from custom_components.double_take.api.errors import ApiError, ApiResponseError
from custom_components.double_take.api.local import BadImageError, FaceWorker
from custom_components.double_take.api.models import Face, TrainingImage
from custom_components.double_take.evaluate import (
    GENUINE,
    IMPOSTOR,
    SUBJECT_PREFIX,
    THRESHOLDS,
    EvaluationError,
    Trial,
    _gallery,
    _images,
    _trained_trials,
    evaluate,
    summarize,
)

from .common import FACES
from .emulators.compreface import COMPREFACE_KEY, CompreFaceEmulator
from .emulators.world import FaceSpec, FaceWorld

ROOT = Path(__file__).parent.parent
FACES_PATH = "/api/v1/recognition/faces"
RECOGNIZE_PATH = "/api/v1/recognition/recognize"
dlib = pytest.mark.dlib


def photo(name: str) -> TrainingImage:
    """Return a fixture photo as a training image."""
    return TrainingImage(f"{name}.jpg", (FACES / f"{name}.jpg").read_bytes())


def real_persons() -> dict[str, list[TrainingImage]]:
    """Return the fixture photos by person."""
    return {"obama": [photo("obama"), photo("obama2")], "biden": [photo("biden")]}


def rates(evaluation: Any) -> dict[int, tuple[float | None, float | None]]:
    """Threshold → (true-match %, false-match %)."""
    return {
        r.threshold: (r.true_match_percent, r.false_match_percent)
        for r in evaluation.rates
    }


def answers(trials: Sequence[Trial]) -> list[tuple[str, str, str | None, float]]:
    """(kind, file, answer, confidence) of each trial."""
    return [(t.kind, t.file, t.answer, t.confidence) for t in trials]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Yield an aiohttp session for the detector servers."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def local(worker: FaceWorker) -> AsyncIterator[LocalDetector]:
    """Yield a local detector in memory, with the default settings."""
    detector = LocalDetector(DetectorSettings())
    yield detector
    await detector.close()


# -- the local detector on real photos --------------------------------------------------


@dlib
async def test_local_real_photos(worker: FaceWorker, tmp_path: Path) -> None:
    """Obama is recognised when left out once; Biden and the absent Obama are unknown.

    The detector's own trained persons are neither used nor changed.
    """
    detector = LocalDetector(DetectorSettings(storage_dir=str(tmp_path)))
    await detector.train("someone", [photo("biden")])
    stored = (tmp_path / "descriptors.json").read_bytes()
    try:
        evaluation = await evaluate(detector, real_persons(), [photo("no_face")])
        assert await detector.list_subjects() == ["someone"]
    finally:
        await detector.close()
    assert (tmp_path / "descriptors.json").read_bytes() == stored
    assert answers(evaluation.trials) == [
        (GENUINE, "obama.jpg", "obama", 69.63),
        (GENUINE, "obama2.jpg", "obama", 69.63),
        (IMPOSTOR, "obama.jpg", None, 0.0),
        (IMPOSTOR, "obama2.jpg", None, 16.64),
        (IMPOSTOR, "biden.jpg", None, 16.64),
        (IMPOSTOR, "no_face.jpg", None, 0.0),
    ]
    assert evaluation.no_face == ("no_face.jpg",)
    assert (evaluation.genuine_trials, evaluation.impostor_trials) == (2, 3)
    assert rates(evaluation) == {
        **{t: (100.0, 0.0) for t in THRESHOLDS if t <= 65},
        **{t: (0.0, 0.0) for t in THRESHOLDS if t > 65},
    }
    # Below 50 the detector names nobody (distance threshold): 40 is as good as 50.
    assert evaluation.recommended_confidence == 40
    assert not evaluation.reliable
    data = evaluation.as_dict()
    assert data["detector"] == "local"
    assert data["images"] == {"obama": 2, "biden": 1}
    assert data["unknown_images"] == 1
    assert data["no_face"] == ["no_face.jpg"]
    assert data["recommended_confidence"] == 40
    assert data["thresholds"][0] == {
        "threshold": 40,
        "true_matches": 2,
        "false_matches": 0,
        "true_match_percent": 100.0,
        "false_match_percent": 0.0,
    }
    assert data["trials"][0] == {
        "kind": GENUINE,
        "file": "obama.jpg",
        "person": "obama",
        "answer": "obama",
        "confidence": 69.63,
        "faces": 1,
        "foreign": None,
    }
    assert data["leftover_subjects"] == []


@dlib
async def test_local_loose_threshold_false_matches(worker: FaceWorker) -> None:
    """With distance 0.9 Biden and the absent Obama get named: confidence 60 is needed."""
    detector = LocalDetector(DetectorSettings(distance_threshold=0.9))
    try:
        evaluation = await evaluate(detector, real_persons())
    finally:
        await detector.close()
    assert answers(evaluation.trials) == [
        (GENUINE, "obama.jpg", "obama", 79.75),
        (GENUINE, "obama2.jpg", "obama", 79.75),
        (IMPOSTOR, "obama.jpg", "biden", 52.77),
        (IMPOSTOR, "obama2.jpg", "biden", 57.77),
        (IMPOSTOR, "biden.jpg", "obama", 57.77),
    ]
    table = rates(evaluation)
    assert table[50] == (100.0, 60.0)
    assert table[55] == (100.0, 40.0)
    assert table[60] == (100.0, 0.0)
    assert table[80] == (0.0, 0.0)
    assert evaluation.recommended_confidence == 60


@dlib
async def test_local_shortcut_equals_training(local: LocalDetector) -> None:
    """Scoring descriptors gives exactly what train/recognize/remove give, and cleans up."""
    persons = {**real_persons(), "nobody": [photo("no_face")]}
    shortcut = await evaluate(local, persons, [photo("biden")])
    leftovers: list[str] = []
    trained = await _trained_trials(
        local, _gallery(persons), _images("unknown", [photo("biden")]), False, leftovers
    )
    assert trained == list(shortcut.trials)
    assert leftovers == []
    assert await local.list_subjects() == []


@dlib
async def test_local_bad_image_names_the_file(local: LocalDetector) -> None:
    """An image the engine cannot read fails the evaluation, naming the file."""
    persons = {"obama": [photo("obama"), TrainingImage("broken.jpg", b"not a jpeg")]}
    with pytest.raises(BadImageError, match=r"^broken\.jpg: Local \(dlib\): "):
        await evaluate(local, persons)


async def test_local_closed_detector() -> None:
    """A closed local detector is refused before any work."""
    detector = LocalDetector(DetectorSettings(), worker=FaceWorker())
    await detector.close()
    with pytest.raises(EvaluationError, match="closed"):
        await evaluate(detector, {"obama": [b"image"]})


# -- a detector server: temporary subjects ----------------------------------------------


def subjects_sent(server: CompreFaceEmulator, method: str) -> list[str]:
    """Return the ``subject`` of every request to the faces endpoint with ``method``."""
    return [r.query["subject"] for r in server.requests_to(FACES_PATH, method)]


def compreface_detector(
    session: aiohttp.ClientSession, server: CompreFaceEmulator
) -> CompreFaceDetector:
    """Return a CompreFace detector for the emulator."""
    return CompreFaceDetector(
        session, DetectorSettings(url=server.url, api_key=COMPREFACE_KEY)
    )


class FailingDetector(Detector):
    """Passes every call to ``inner``; calls ``after_recognize(n)`` after the nth one."""

    kind = "failing"

    def __init__(self, inner: Detector, after_recognize: Any) -> None:
        """Wrap ``inner``."""
        self.inner = inner
        self.after_recognize = after_recognize
        self.recognitions = 0

    async def recognize(self, image: bytes) -> list[Face]:
        """Recognise, then let the test act."""
        self.recognitions += 1
        self.after_recognize(self.recognitions)
        return await self.inner.recognize(image)

    async def train(self, name: str, images: Sequence[TrainingImage]) -> Any:
        """Train ``inner``."""
        return await self.inner.train(name, images)

    async def remove(self, name: str, refs: Sequence[str] = ()) -> None:
        """Remove from ``inner``."""
        await self.inner.remove(name, refs)

    async def check(self) -> None:
        """Check ``inner``."""

    async def list_subjects(self) -> list[str] | None:
        """Subjects of ``inner``."""
        return await self.inner.list_subjects()


def world_persons(world: FaceWorld) -> dict[str, list[bytes]]:
    """Alice in three images, Bob in two (one poorly lit: similarity 0.5), Carol once."""
    return {
        "Alice": [world.image(FaceSpec("alice")) for _ in range(3)],
        "Bob": [
            world.image(FaceSpec("bob")),
            world.image(FaceSpec("bob", similarity=0.5)),
        ],
        "Carol": [world.image(FaceSpec("carol"))],
    }


async def test_server_trials_and_cleanup(
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    session: aiohttp.ClientSession,
) -> None:
    """Each person is trained once, then only the held-out person's subject again.

    Every temporary subject is ``dt-eval-<random>-<person>`` and is gone at the end.
    """
    persons = world_persons(face_world)
    stranger = face_world.image(FaceSpec("dave"))
    blank = face_world.image()  # an image without a face
    detector = compreface_detector(session, compreface)
    evaluation = await evaluate(detector, persons, [stranger, blank])

    added = subjects_sent(compreface, "POST")
    (token,) = {name.split("-")[2] for name in added}
    names = {person: f"{SUBJECT_PREFIX}{token}-{person}" for person in persons}
    # Everyone once (6 images); Alice: 3 folds of 2 images, restored (3); Bob: 2 folds
    # of 1 image, restored (2); Carol has no fold and, being last, needs no restoring.
    assert len(added) == 6 + 3 * 2 + 3 + 2 * 1 + 2
    assert set(added) == set(names.values())
    assert set(subjects_sent(compreface, "DELETE")) == set(names.values())
    assert compreface.subjects == {}
    assert len(compreface.requests_to(RECOGNIZE_PATH)) == 2 + 6 + 5

    genuine = [t for t in evaluation.trials if t.kind == GENUINE]
    assert answers(genuine) == [
        (GENUINE, "Alice/1.jpg", "Alice", 95.0),
        (GENUINE, "Alice/2.jpg", "Alice", 95.0),
        (GENUINE, "Alice/3.jpg", "Alice", 95.0),
        (GENUINE, "Bob/1.jpg", "Bob", 95.0),
        (GENUINE, "Bob/2.jpg", "Bob", 50.0),
    ]
    impostors = evaluation.trials[len(genuine) :]
    assert [(t.file, t.person) for t in impostors] == [
        ("Alice/1.jpg", "Alice"),
        ("Alice/2.jpg", "Alice"),
        ("Alice/3.jpg", "Alice"),
        ("Bob/1.jpg", "Bob"),
        ("Bob/2.jpg", "Bob"),
        ("Carol/1.jpg", "Carol"),
        ("unknown/1.jpg", None),
        ("unknown/2.jpg", None),
    ]
    # Without their own subject a face scores 30 against anyone else (which one the
    # emulator names among equals is its business).
    assert all(t.answer not in (None, t.person) for t in impostors[:-1])
    assert {t.confidence for t in impostors[:-1]} == {30.0}
    assert (impostors[-1].answer, impostors[-1].faces) == (None, 0)
    assert evaluation.no_face == ("unknown/2.jpg",)
    table = rates(evaluation)
    assert table[50] == (100.0, 0.0)
    assert table[55] == (80.0, 0.0)
    assert table[95] == (80.0, 0.0)
    assert evaluation.recommended_confidence == 40
    assert evaluation.leftover_subjects == ()


async def test_server_recognition_fails_midway(
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    session: aiohttp.ClientSession,
) -> None:
    """A failing recognition ends the evaluation; every temporary subject is removed."""

    def break_third(count: int) -> None:
        if count == 3:
            compreface.fail_next(500, {"message": "out of memory", "code": 0})

    detector = FailingDetector(compreface_detector(session, compreface), break_third)
    persons = world_persons(face_world)
    with pytest.raises(ApiResponseError, match=r"^Alice/3\.jpg: .*out of memory"):
        await evaluate(detector, persons)
    added = set(subjects_sent(compreface, "POST"))
    assert len(added) == 3
    assert all(name.startswith(SUBJECT_PREFIX) for name in added)
    # Alice was removed for her absent-person trials; Bob and Carol at the end.
    assert set(subjects_sent(compreface, "DELETE")) == added
    assert compreface.subjects == {}


async def test_server_cleanup_failure_is_reported(
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A temporary subject that cannot be removed is logged and listed."""

    def break_cleanup(count: int) -> None:
        if count == 4:  # the first genuine trial, after 3 absent-person ones
            compreface.fail_next(503, "maintenance", count=2)  # recognize, then remove

    detector = FailingDetector(compreface_detector(session, compreface), break_cleanup)
    persons = {"Alice": [face_world.image(FaceSpec("alice")) for _ in range(3)]}
    with caplog.at_level(logging.WARNING), pytest.raises(ApiResponseError):
        await evaluate(detector, persons)
    (subject,) = compreface.subjects
    assert subject.startswith(SUBJECT_PREFIX)
    assert f"Cannot remove the temporary subject {subject}" in caplog.text

    compreface.subjects.clear()

    async def remove_fails(name: str, refs: Sequence[str] = ()) -> None:
        if detector.recognitions == 6:
            raise ApiResponseError("CompreFace: remove failed: HTTP 503")
        await compreface_detector(session, compreface).remove(name, refs)

    detector = FailingDetector(compreface_detector(session, compreface), print)
    detector.remove = remove_fails  # type: ignore[method-assign]
    evaluation = await evaluate(detector, persons)
    (subject,) = compreface.subjects
    assert evaluation.leftover_subjects == (subject,)
    assert evaluation.as_dict()["leftover_subjects"] == [subject]


async def test_server_with_other_subjects(
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    session: aiohttp.ClientSession,
) -> None:
    """A server that knows other subjects is refused unless allowed; they are foreign."""
    compreface.subjects["zed"] = ["dave"]
    detector = compreface_detector(session, compreface)
    persons = {"Alice": [face_world.image(FaceSpec("alice")) for _ in range(2)]}
    stranger = face_world.image(FaceSpec("dave"))
    with pytest.raises(EvaluationError, match="already knows 1 subjects"):
        await evaluate(detector, persons, [stranger])
    assert subjects_sent(compreface, "POST") == []

    evaluation = await evaluate(
        detector, persons, [stranger], allow_other_subjects=True
    )
    unknown = evaluation.trials[-1]
    assert (unknown.answer, unknown.foreign, unknown.confidence) == (None, "zed", 95.0)
    assert not unknown.false_match(40)
    # Alice's images without Alice: only zed is left to answer (30).
    assert [t.foreign for t in evaluation.trials[2:4]] == ["zed", "zed"]
    assert evaluation.as_dict()["foreign_answers"] == 3
    assert list(compreface.subjects) == ["zed"]


# -- input and summary ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persons", "message"),
    [
        ({}, "no person"),
        ({"Alice": []}, "no person with images"),
        ({" ": [b"x"]}, "not a person's name"),
        ({"Alice": [b"x"], "alice ": [b"y"]}, "same name"),
    ],
)
async def test_bad_input(persons: dict[str, list[bytes]], message: str) -> None:
    """Names a detector cannot tell apart, or no person at all, are refused."""
    detector = Mock(spec=Detector)
    with pytest.raises(EvaluationError, match=message):
        await evaluate(detector, persons)


def test_summary_without_trials_or_qualifying_threshold() -> None:
    """No trial: no rate and no advice; a false match at 95 leaves no threshold."""
    empty = summarize("x", {}, 0, [])
    assert empty.recommended_confidence is None
    assert {r.false_match_percent for r in empty.rates} == {None}
    sure_but_wrong = Trial(IMPOSTOR, "a.jpg", None, "bob", 99.0, 1)
    assert summarize("x", {}, 1, [sure_but_wrong]).recommended_confidence is None
    many = [Trial(GENUINE, f"{n}.jpg", "bob", "bob", 90.0, 1) for n in range(100)]
    assert summarize("x", {"bob": 100}, 0, many).reliable


# -- scripts/evaluate -------------------------------------------------------------------


def load_script() -> ModuleType:
    """Import scripts/evaluate.py."""
    spec = importlib.util.spec_from_file_location(
        "evaluate_script", ROOT / "scripts" / "evaluate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def photo_folder(root: Path) -> Path:
    """DIR/obama/, DIR/biden/, DIR/unknown/ of the fixture photos (and a stray file)."""
    for person, names in (
        ("obama", ["obama", "obama2"]),
        ("biden", ["biden"]),
        ("unknown", ["no_face"]),
    ):
        (root / person).mkdir(parents=True)
        for name in names:
            shutil.copy(FACES / f"{name}.jpg", root / person / f"{name}.jpg")
    (root / "obama" / "notes.txt").write_text("not an image")
    (root / "empty").mkdir()
    return root


@dlib
def test_script_local(
    worker: FaceWorker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The script runs the local detector on a folder and prints the table and advice."""
    script = load_script()
    folder = photo_folder(tmp_path / "faces")
    assert script.main([str(folder), "--trials"]) == 0
    out = capsys.readouterr().out
    assert "Images: biden 1, obama 2, unknown 1" in out
    assert "No face found (not counted): unknown/no_face.jpg" in out
    assert "        65     100.0 %        0.0 %" in out
    assert "        70       0.0 %        0.0 %" in out
    assert "Recommended confidence: 40" in out
    assert "Caution: 5 trials only" in out
    assert "genuine   obama/obama2.jpg  obama → obama (69.63)" in out


def arguments_of(server: CompreFaceEmulator, folder: Path) -> list[str]:
    """Return the script's arguments for the emulator."""
    return [
        str(folder),
        "--detector",
        "compreface",
        server.url,
        "--api-key",
        COMPREFACE_KEY,
    ]


async def test_script_server(
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With a server the script trains temporary subjects there and removes them."""
    script = load_script()
    for number, spec in enumerate([FaceSpec("alice"), FaceSpec("alice")]):
        (tmp_path / "alice").mkdir(exist_ok=True)
        (tmp_path / "alice" / f"{number}.jpg").write_bytes(face_world.image(spec))
    arguments = script.parse(arguments_of(compreface, tmp_path))
    persons, unknown = script.read_folder(tmp_path)
    evaluation = await script.run(arguments, persons, unknown)
    assert evaluation.genuine_trials == 2
    assert compreface.subjects == {}
    assert "Recommended confidence: 40" in script.report(evaluation)
    assert (
        await asyncio.to_thread(
            script.main, [*arguments_of(compreface, tmp_path), "--json"]
        )
        == 0
    )
    assert '"recommended_confidence": 40' in capsys.readouterr().out
    wrong = Trial(IMPOSTOR, "a.jpg", None, "bob", 99.0, 1, foreign=None)
    strange = Trial(IMPOSTOR, "b.jpg", None, None, 99.0, 1, foreign="zed")
    text = script.report(
        summarize(
            "compreface",
            {"alice": 1},
            0,
            [wrong, strange],
            leftover_subjects=["dt-eval-1-alice"],
        )
    )
    assert "Recommended confidence: none" in text
    assert "1 answers named a subject the evaluation did not train" in text
    assert "remove them by hand: dt-eval-1-alice" in text


def test_script_errors(
    socket_enabled: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad arguments, folders without persons and failing detectors end with a message."""
    script = load_script()
    with pytest.raises(SystemExit):
        script.parse([str(tmp_path), "--detector", "nope"])
    with pytest.raises(SystemExit):
        script.parse([str(tmp_path), "--detector", "compreface"])
    with pytest.raises(SystemExit, match="is not a folder"):
        script.read_folder(tmp_path / "missing")
    with pytest.raises(SystemExit, match="no NAME/ subfolder"):
        script.read_folder(tmp_path)
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "a.jpg").write_bytes(b"x")
    # Nothing listens on port 9: the server cannot be reached.
    code = script.main(
        [str(tmp_path), "--detector", "compreface", "http://127.0.0.1:9", "--json"]
    )
    assert code == 1
    assert "Evaluation failed: " in capsys.readouterr().err


def test_errors_are_api_errors() -> None:
    """The action handler can catch the detector's errors as ApiError."""
    assert issubclass(BadImageError, ApiError)
