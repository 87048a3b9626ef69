"""Know your threshold: leave-one-out cross-validation of a detector on training images.

Given the training images of each person (and optionally images of strangers, the
``unknown`` set), ``evaluate`` asks the detector to recognise every image against the
others and tells, for each ``confidence`` threshold of 40, 45 … 95, how many genuine
images would have been named correctly (true-match rate) and how often someone would have
been named wrongly (false-match rate). The recommended ``confidence`` is the lowest
threshold whose false-match rate is at most 1 %: the most true matches a user gets for
that limit.

Trials (one recognition each; the face with the highest confidence is the answer):

* genuine: an image of person P recognised by a detector that knows every person, P
  included, but was not trained on that image (leave-one-out). A P answer at or above
  the threshold is a true match; any other person is a false match (a wrong-person
  answer: in real use a known person named as someone else). A person with a single
  image has no genuine trial: there would be nothing left to train P on.
* impostor, absent person: every image of P recognised by a detector that knows every
  person except P. It stands for a stranger at the door: any name at or above the
  threshold is a false match. Recognising P's image against a set that still holds P's
  other images and calling a P answer "false" would be unsound; so is recognising it
  against a set trained on that very image.
* impostor, unknown: the ``unknown`` images recognised against every person; never
  trained, any name is a false match.

The false-match rate is false matches over all trials with a face (genuine and
impostor): the chance that one recognition names the wrong person. Images in which the
detector finds no face are listed in ``no_face`` and left out of both rates: they say
nothing about the threshold. With fewer than 100 such trials a 1 % limit means "no false
match at all" and the figures are coarse (``reliable`` is false).

Cost. The local detector's expensive part is dlib computing an image's descriptor; its
store only compares descriptors. So for ``LocalDetector`` each image goes through the
detector's worker once, and the folds are scored on those descriptors with the detector's
own ``DescriptorStore`` (nearest trained descriptor, ``distance_threshold``,
``distance_to_confidence``): the answers are those ``train``/``recognize`` would give
(``tests/test_evaluate.py`` checks it) for N dlib runs instead of about N² — and the
user's trained persons are not touched. Other detectors are trained through the
``Detector`` interface under temporary subjects ``dt-eval-<random>-<person>``: each
person once, then per held-out image of P only P's subject is retrained (the other
persons stay trained), so the training cost is about Σ n_P² images instead of N² per
held-out image. Every temporary subject is removed afterwards, on failure too; a removal
that fails is logged and reported in ``leftover_subjects``.

A detector server that already knows other subjects would answer with them (the user's
own "alice", trained on the very images evaluated): ``evaluate`` refuses such a server
unless ``allow_other_subjects``; answers naming a subject outside the evaluation are
counted in ``foreign_answers``, as misses for genuine trials and not as false matches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
import hashlib
import logging
import secrets
from typing import Any

from .api.detectors.base import Detector
from .api.detectors.local import LocalDetector
from .api.errors import ApiError
from .api.local import DescriptorStore, FaceRecord, Sample, distance_to_confidence
from .api.models import UNKNOWN, Face, TrainingImage, normalize_name

_LOGGER = logging.getLogger(__name__)

THRESHOLDS: tuple[int, ...] = tuple(range(40, 100, 5))
"""The ``confidence`` thresholds evaluated."""

MAX_FALSE_MATCH_PERCENT = 1.0
"""The false-match rate the recommended confidence must not exceed."""

SUBJECT_PREFIX = "dt-eval-"
"""Start of every temporary subject name (``dt-eval-<random>-<person>``)."""

GENUINE = "genuine"
IMPOSTOR = "impostor"


class EvaluationError(Exception):
    """The evaluation cannot run on this input or this detector."""


@dataclass(frozen=True, slots=True)
class Trial:
    """One recognition of one image.

    ``person`` is who the image shows (None for an ``unknown`` image); ``answer`` is the
    evaluated person the best face was named after (None: unknown, no face, or a
    ``foreign`` subject the evaluation did not train).
    """

    kind: str
    file: str
    person: str | None
    answer: str | None
    confidence: float
    faces: int
    foreign: str | None = None

    def true_match(self, threshold: float) -> bool:
        """Whether this is a genuine image named correctly at ``threshold``."""
        return (
            self.kind == GENUINE
            and self.answer == self.person
            and self.confidence >= threshold
        )

    def false_match(self, threshold: float) -> bool:
        """Whether this image was named as someone it does not show at ``threshold``."""
        return (
            self.answer is not None
            and self.answer != self.person
            and self.confidence >= threshold
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": self.kind,
            "file": self.file,
            "person": self.person,
            "answer": self.answer,
            "confidence": self.confidence,
            "faces": self.faces,
            "foreign": self.foreign,
        }


@dataclass(frozen=True, slots=True)
class ThresholdRates:
    """Rates at one ``confidence`` threshold, in percent (None: no trial to count)."""

    threshold: int
    true_matches: int
    false_matches: int
    true_match_percent: float | None
    false_match_percent: float | None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "threshold": self.threshold,
            "true_matches": self.true_matches,
            "false_matches": self.false_matches,
            "true_match_percent": self.true_match_percent,
            "false_match_percent": self.false_match_percent,
        }


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome of ``evaluate``: every trial, the rates per threshold, the advice."""

    detector: str
    images: dict[str, int]
    unknown_images: int
    trials: tuple[Trial, ...]
    rates: tuple[ThresholdRates, ...]
    recommended_confidence: int | None
    max_false_match_percent: float
    leftover_subjects: tuple[str, ...] = field(default=())

    @property
    def genuine_trials(self) -> int:
        """Genuine trials in which the detector found a face."""
        return sum(1 for t in self.trials if t.kind == GENUINE and t.faces)

    @property
    def impostor_trials(self) -> int:
        """Impostor trials in which the detector found a face."""
        return sum(1 for t in self.trials if t.kind == IMPOSTOR and t.faces)

    @property
    def no_face(self) -> tuple[str, ...]:
        """Images in which the detector found no face (left out of the rates)."""
        return tuple(sorted({t.file for t in self.trials if not t.faces}))

    @property
    def foreign_answers(self) -> int:
        """Trials answered with a subject the evaluation did not train."""
        return sum(1 for t in self.trials if t.foreign is not None)

    @property
    def reliable(self) -> bool:
        """Whether there are enough trials for the false-match limit to mean something."""
        counted = self.genuine_trials + self.impostor_trials
        return counted * self.max_false_match_percent >= 100

    def as_dict(self) -> dict[str, Any]:
        """JSON form, for an action response."""
        return {
            "detector": self.detector,
            "images": dict(self.images),
            "unknown_images": self.unknown_images,
            "genuine_trials": self.genuine_trials,
            "impostor_trials": self.impostor_trials,
            "no_face": list(self.no_face),
            "foreign_answers": self.foreign_answers,
            "reliable": self.reliable,
            "max_false_match_percent": self.max_false_match_percent,
            "recommended_confidence": self.recommended_confidence,
            "thresholds": [rates.as_dict() for rates in self.rates],
            "trials": [trial.as_dict() for trial in self.trials],
            "leftover_subjects": list(self.leftover_subjects),
        }


async def evaluate(
    detector: Detector,
    persons: Mapping[str, Sequence[TrainingImage | bytes]],
    unknown: Sequence[TrainingImage | bytes] = (),
    *,
    allow_other_subjects: bool = False,
    thresholds: Sequence[int] = THRESHOLDS,
    max_false_match_percent: float = MAX_FALSE_MATCH_PERCENT,
) -> Evaluation:
    """Cross-validate ``detector`` on the training images of ``persons``.

    ``persons`` maps a name to its images, ``unknown`` holds images of strangers. A
    ``LocalDetector`` is scored on its descriptors (its store is not touched), any other
    detector is trained under temporary subjects, removed again at the end. Raises
    EvaluationError for unusable input or a server that knows other subjects, and the
    detector's ApiError (its message starting with the image's file) when it fails.
    """
    gallery = _gallery(persons)
    strangers = _images("unknown", unknown)
    leftovers: list[str] = []
    if isinstance(detector, LocalDetector):
        trials = await _local_trials(detector, gallery, strangers)
    else:
        trials = await _trained_trials(
            detector, gallery, strangers, allow_other_subjects, leftovers
        )
    return summarize(
        detector.kind,
        {person: len(images) for person, images in gallery.items()},
        len(strangers),
        trials,
        thresholds=thresholds,
        max_false_match_percent=max_false_match_percent,
        leftover_subjects=leftovers,
    )


def summarize(
    detector: str,
    images: dict[str, int],
    unknown_images: int,
    trials: Sequence[Trial],
    *,
    thresholds: Sequence[int] = THRESHOLDS,
    max_false_match_percent: float = MAX_FALSE_MATCH_PERCENT,
    leftover_subjects: Sequence[str] = (),
) -> Evaluation:
    """Count the trials per threshold and pick the recommended confidence."""
    counted = [trial for trial in trials if trial.faces]
    genuine = [trial for trial in counted if trial.kind == GENUINE]
    rates: list[ThresholdRates] = []
    for threshold in sorted(thresholds):
        true_matches = sum(trial.true_match(threshold) for trial in genuine)
        false_matches = sum(trial.false_match(threshold) for trial in counted)
        rates.append(
            ThresholdRates(
                threshold=threshold,
                true_matches=true_matches,
                false_matches=false_matches,
                true_match_percent=_percent(true_matches, len(genuine)),
                false_match_percent=_percent(false_matches, len(counted)),
            )
        )
    recommended = next(
        (
            rate.threshold
            for rate in rates
            if rate.false_match_percent is not None
            and rate.false_match_percent <= max_false_match_percent
        ),
        None,
    )
    return Evaluation(
        detector=detector,
        images=images,
        unknown_images=unknown_images,
        trials=tuple(trials),
        rates=tuple(rates),
        recommended_confidence=recommended,
        max_false_match_percent=max_false_match_percent,
        leftover_subjects=tuple(leftover_subjects),
    )


def _percent(count: int, total: int) -> float | None:
    return round(100 * count / total, 2) if total else None


def _gallery(
    persons: Mapping[str, Sequence[TrainingImage | bytes]],
) -> dict[str, list[TrainingImage]]:
    """Check the names (detectors compare them case-insensitively) and name the images.

    Persons without images are left out.
    """
    gallery: dict[str, list[TrainingImage]] = {}
    seen: dict[str, str] = {}
    for raw_name, images in persons.items():
        name = raw_name.strip()
        key = normalize_name(name)
        if key == UNKNOWN:
            raise EvaluationError(f"{raw_name!r} is not a person's name")
        if key in seen:
            raise EvaluationError(
                f"{seen[key]!r} and {raw_name!r} are the same name to a detector"
            )
        seen[key] = raw_name
        if images:  # a person without images has nothing to evaluate
            gallery[name] = _images(name, images)
    if not gallery:
        raise EvaluationError("no person with images to evaluate")
    return gallery


def _images(owner: str, images: Sequence[TrainingImage | bytes]) -> list[TrainingImage]:
    """Give bare bytes a file name (``<owner>/<n>.jpg``): trials report images by it."""
    return [
        image
        if isinstance(image, TrainingImage)
        else TrainingImage(f"{owner}/{number}.jpg", image)
        for number, image in enumerate(images, 1)
    ]


def _best(faces: Sequence[Face]) -> Face | None:
    return max(faces, key=lambda face: face.confidence, default=None)


# -- the local detector: one dlib run per image --------------------------------------


async def _local_trials(
    detector: LocalDetector,
    gallery: dict[str, list[TrainingImage]],
    strangers: list[TrainingImage],
) -> list[Trial]:
    """Trials scored on descriptors the detector's worker computes once per image."""
    if detector.closed:
        raise EvaluationError(f"{detector.label}: the detector was closed")
    # By identity: callers may give two persons' images the same file name.
    found: dict[int, list[FaceRecord]] = {}
    for image in [*(i for images in gallery.values() for i in images), *strangers]:
        try:
            found[id(image)] = await detector.worker.faces(
                image.data, upsample=detector.upsample, max_height=detector.max_height
            )
        except ApiError as err:
            raise type(err)(f"{image.filename}: {detector.label}: {err}") from err
    # numpy work, as the detector does it: in an executor.
    return await _in_executor(
        _score_descriptors, detector.threshold, gallery, strangers, found
    )


async def _in_executor[T](func: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


def _score_descriptors(
    threshold: float,
    gallery: dict[str, list[TrainingImage]],
    strangers: list[TrainingImage],
    found: dict[int, list[FaceRecord]],
) -> list[Trial]:
    # What ``LocalDetector.train`` stores: one sample per image with exactly one face,
    # keyed by the image's sha256 (the same image twice is one sample).
    samples = {
        id(image): Sample(
            ref=hashlib.sha256(image.data).hexdigest(),
            file=image.filename,
            descriptor=tuple(float(v) for v in found[id(image)][0].array()),
        )
        for images in gallery.values()
        for image in images
        if len(found[id(image)]) == 1
    }

    def store(
        absent: str | None = None, held_out: TrainingImage | None = None
    ) -> DescriptorStore:
        trained = DescriptorStore(None)
        for person, images in gallery.items():
            for image in images:
                sample = samples.get(id(image))
                if person != absent and image is not held_out and sample:
                    trained.add(person, sample)
        return trained

    def trial(
        kind: str, image: TrainingImage, person: str | None, trained: DescriptorStore
    ) -> Trial:
        # What ``LocalDetector.recognize`` answers, best face first.
        best: tuple[float, str | None] | None = None
        for record in found[id(image)]:
            nearest = trained.nearest(record.array())
            answer: tuple[float, str | None] = (0.0, None)
            if nearest is not None:
                name, distance = nearest
                answer = (
                    distance_to_confidence(distance, threshold),
                    name if distance <= threshold else None,
                )
            if best is None or answer[0] > best[0]:
                best = answer
        confidence, answer_name = best if best is not None else (0.0, None)
        return Trial(
            kind,
            image.filename,
            person,
            answer_name,
            confidence,
            len(found[id(image)]),
        )

    genuine = [
        trial(GENUINE, image, person, store(held_out=image))
        for person, images in gallery.items()
        if len(images) > 1
        for image in images
    ]
    absent = [
        trial(IMPOSTOR, image, person, store(absent=person))
        for person, images in gallery.items()
        for image in images
    ]
    everyone = store()
    return [
        *genuine,
        *absent,
        *(trial(IMPOSTOR, image, None, everyone) for image in strangers),
    ]


# -- other detectors: temporary subjects ----------------------------------------------


class _Subjects:
    """The temporary subjects of one evaluation, and what is trained under them."""

    def __init__(self, detector: Detector, persons: Sequence[str]) -> None:
        self.detector = detector
        token = secrets.token_hex(4)
        self.names = {person: f"{SUBJECT_PREFIX}{token}-{person}" for person in persons}
        self.persons = {normalize_name(name): p for p, name in self.names.items()}
        # Subject → refs of its trained examples, for every subject that may hold some.
        self.live: dict[str, list[str]] = {}

    async def train(self, person: str, images: Sequence[TrainingImage]) -> None:
        subject = self.names[person]
        if subject in self.live:
            await self.remove(person)
        # Live before the call: a call that fails midway may have stored some images.
        refs = self.live.setdefault(subject, [])
        outcomes = await self.detector.train(subject, images)
        refs.extend(outcome.ref for outcome in outcomes if outcome.ref is not None)

    async def remove(self, person: str) -> None:
        subject = self.names[person]
        if subject in self.live:
            await self.detector.remove(subject, self.live[subject])
            del self.live[subject]

    async def remove_all(self) -> list[str]:
        """Remove every live subject; return those that could not be removed."""
        leftovers: list[str] = []
        for subject, refs in list(self.live.items()):
            try:
                await self.detector.remove(subject, refs)
            except ApiError as err:
                _LOGGER.warning(
                    "Cannot remove the temporary subject %s of an evaluation: %s",
                    subject,
                    err,
                )
                leftovers.append(subject)
            else:
                del self.live[subject]
        return leftovers

    async def trial(self, kind: str, image: TrainingImage, person: str | None) -> Trial:
        try:
            faces = await self.detector.recognize(image.data)
        except ApiError as err:
            raise type(err)(f"{image.filename}: {err}") from err
        best = _best(faces)
        if best is None:
            return Trial(kind, image.filename, person, None, 0.0, 0)
        answer = self.persons.get(best.name)
        foreign = best.name if answer is None and best.known else None
        return Trial(
            kind, image.filename, person, answer, best.confidence, len(faces), foreign
        )


async def _trained_trials(
    detector: Detector,
    gallery: dict[str, list[TrainingImage]],
    strangers: list[TrainingImage],
    allow_other_subjects: bool,
    leftovers: list[str],
) -> list[Trial]:
    """Trials through ``train``/``recognize``/``remove`` under temporary subjects."""
    if not allow_other_subjects:
        known = await detector.list_subjects()
        if known:
            raise EvaluationError(
                f"{detector.label} already knows {len(known)} subjects, whose answers"
                " would mix into the evaluation: use an empty server (or recognition"
                " service)"
            )
    subjects = _Subjects(detector, list(gallery))
    genuine: list[Trial] = []
    absent: list[Trial] = []
    try:
        for person, images in gallery.items():
            await subjects.train(person, images)
        unknown = [await subjects.trial(IMPOSTOR, i, None) for i in strangers]
        last = list(gallery)[-1]
        for person, images in gallery.items():
            await subjects.remove(person)
            absent.extend([await subjects.trial(IMPOSTOR, i, person) for i in images])
            if len(images) > 1:
                for held_out in images:
                    await subjects.train(
                        person, [i for i in images if i is not held_out]
                    )
                    genuine.append(await subjects.trial(GENUINE, held_out, person))
            if person != last:  # the persons after this one are tried against it
                await subjects.train(person, images)
    finally:
        leftovers.extend(await subjects.remove_all())
    return [*genuine, *absent, *unknown]
