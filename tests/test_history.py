"""The result history database: schema, pages, caps, deletion (history.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
import sqlite3

import pytest

from custom_components.double_take.history import (
    _MIGRATIONS,
    DB_FILE,
    MAX_PAGE,
    HistoryStore,
    NewRecord,
)

BOX = {"top": 10, "left": 20, "width": 100, "height": 120}


def record(number: int, **fields: object) -> NewRecord:
    """Return a face of run ``number``: alice matched on front_door unless told otherwise."""
    values: dict[str, object] = {
        "time": 1_000.0 + number,
        "source": "frigate",
        "camera": "front_door",
        "event_id": f"1760011207.{number}-abc",
        "kind": "match",
        "name": "Alice",
        "confidence": 90.0,
        "detector": "compreface",
        "box": BOX,
        "detections": [{"detector": "compreface", "name": "alice", "confidence": 90.0}],
        "frame": f"history/{number}.jpg",
        "face": f"history/{number}-face.jpg",
        "bytes": 1000,
    }
    values.update(fields)
    return NewRecord(**values)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    """Open a history in a temporary folder."""
    history = HistoryStore(tmp_path / DB_FILE, "entry")
    history.open()
    yield history
    history.close()


def test_schema_created_once_and_in_wal(tmp_path: Path) -> None:
    """A new file gets the current schema in WAL mode; opening again keeps the rows."""
    path = tmp_path / "sub" / DB_FILE
    first = HistoryStore(path, "entry")
    first.open()
    first.open()  # idempotent
    assert first.schema_version == 2
    first.add([record(1)])
    first.close()
    first.close()
    again = HistoryStore(path, "entry")
    again.open()
    assert again.count() == 1
    again.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database from a newer version is not touched."""
    path = tmp_path / DB_FILE
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(sqlite3.DatabaseError, match="newer"):
        HistoryStore(path, "entry").open()


def test_closed_store_refuses_work(tmp_path: Path) -> None:
    """Using the store before open is a clear error."""
    with pytest.raises(sqlite3.ProgrammingError):
        HistoryStore(tmp_path / DB_FILE, "entry").add([record(1)])


def test_pages_newest_first_with_filters(store: HistoryStore) -> None:
    """Filters by kind, name (case-insensitive) and camera; a cursor walks the pages."""
    added, _ = store.add([record(number) for number in range(5)])
    added += store.add(
        [record(5, kind="miss", name="bob"), record(6, camera="garden")]
    )[0]
    # What add returns is what the database holds.
    assert [store.get(row.id) for row in added] == added
    assert [row.event_id for row in added] == [record(n).event_id for n in range(7)]
    page = store.page(limit=3)
    assert [r.event_id for r in page.records] == [
        "1760011207.6-abc",
        "1760011207.5-abc",
        "1760011207.4-abc",
    ]
    assert page.next == page.records[-1].id
    rest = store.page(limit=10, before=page.next)
    assert len(rest.records) == 4
    assert rest.next is None
    assert [r.name for r in store.page(kind="miss").records] == ["bob"]
    assert len(store.page(name="ALICE").records) == 6
    assert [r.camera for r in store.page(camera="garden").records] == ["garden"]
    first = store.page(limit=1).records[0]
    assert first.box == BOX
    assert first.detections[0]["detector"] == "compreface"
    assert store.get(first.id) == first
    assert store.get(10_000) is None
    assert len(store.page(limit=10_000).records) <= MAX_PAGE


def test_caps_drop_the_oldest_rows_and_their_files(tmp_path: Path) -> None:
    """Beyond max_rows or max_bytes the oldest rows go; their files are returned."""
    store = HistoryStore(tmp_path / DB_FILE, "entry", max_rows=3, max_bytes=10_000)
    store.open()
    kept, dropped = store.add([record(number) for number in range(4)])
    assert store.count() == 3
    # The row dropped at once is not among those returned as recorded.
    assert [row.event_id for row in kept] == [record(n).event_id for n in (1, 2, 3)]
    assert dropped == ["history/0.jpg", "history/0-face.jpg"]
    _, dropped = store.add([record(9, bytes=9_500)])
    # 9500 with any 1000-byte row is over 10 000 bytes: the old rows go until it fits.
    assert dropped == [
        f"history/{number}{suffix}.jpg"
        for number in (1, 2, 3)
        for suffix in ("", "-face")
    ]
    assert store.count() == 1
    store.close()


def test_delete_keeps_files_other_rows_use(store: HistoryStore) -> None:
    """Two faces of one frame: deleting one keeps the frame, deleting both frees it."""
    added, _ = store.add(
        [
            record(1, frame="history/shared.jpg", face="history/a.jpg"),
            record(1, frame="history/shared.jpg", face="history/b.jpg", kind="unknown"),
        ]
    )
    ids = [row.id for row in added]
    assert store.delete([ids[0]]) == ["history/a.jpg"]
    assert store.delete([ids[1]]) == ["history/shared.jpg", "history/b.jpg"]
    assert store.delete([]) == []
    assert store.count() == 0


def test_purge_by_kind_and_age(store: HistoryStore) -> None:
    """Purge removes the old rows of the kinds asked for, and returns their files."""
    store.add(
        [
            record(1, time=100.0),
            record(2, time=100.0, kind="unknown"),
            record(3, time=900.0, kind="unknown"),
        ]
    )
    assert store.purge(["unknown"], older_than=500.0) == [
        "history/2.jpg",
        "history/2-face.jpg",
    ]
    assert store.purge(["nonsense"], older_than=500.0) == []
    assert [r.kind for r in store.page().records] == ["unknown", "match"]


def test_mark_corrected(store: HistoryStore) -> None:
    """An assigned face becomes a corrected match of the new name."""
    (added,), _ = store.add([record(1, kind="unknown", name="unknown")])
    record_id = added.id
    assert not added.corrected
    store.mark_corrected(record_id, "Carol")
    corrected = store.get(record_id)
    assert corrected is not None
    assert (corrected.kind, corrected.name, corrected.corrected) == (
        "match",
        "Carol",
        True,
    )
    assert corrected.files() == ["history/1.jpg", "history/1-face.jpg"]
    assert len(store.page(name="carol").records) == 1


def test_entries_share_the_file_not_the_rows(tmp_path: Path) -> None:
    """Two entries' histories in one file: each sees, caps and deletes only its own."""
    first = HistoryStore(tmp_path / DB_FILE, "first", max_rows=1)
    second = HistoryStore(tmp_path / DB_FILE, "second")
    first.open()
    second.open()
    (theirs,), _ = second.add([record(1)])
    first.add([record(2)])
    _, dropped = first.add([record(3)])
    assert dropped == ["history/2.jpg", "history/2-face.jpg"]
    assert [r.event_id for r in first.page().records] == ["1760011207.3-abc"]
    assert first.get(theirs.id) is None
    assert first.delete([theirs.id]) == []
    assert second.count() == 1
    first.close()
    second.close()


def test_schema_1_is_upgraded_with_its_totals(tmp_path: Path) -> None:
    """A database of the first schema gets running totals that match its rows."""
    path = tmp_path / DB_FILE
    with sqlite3.connect(path) as db:
        db.executescript(f"{_MIGRATIONS[0]}; PRAGMA user_version=1;")
        for number, entry in enumerate(("first", "first", "second")):
            db.execute(
                "INSERT INTO results (entry_id, time, source, camera, event_id, kind,"
                " name, name_key, confidence, detector, box, detections, bytes)"
                " VALUES (?, 1, 'frigate', 'door', 'e', 'match', 'A', 'a', 90,"
                " 'compreface', '{}', '[]', ?)",
                (entry, 100 * (number + 1)),
            )
    first = HistoryStore(path, "first", max_rows=2, max_bytes=400)
    first.open()
    assert first.schema_version == 2
    assert first.count() == 2
    # 100 + 200 + 150 bytes is over 400: the oldest row goes (the totals were right).
    first.add([record(1, bytes=150, frame=None, face=None)])
    assert first.count() == 2
    assert [r.event_id for r in first.page().records][-1] == "e"
    first.close()
    second = HistoryStore(path, "second")
    second.open()
    assert second.count() == 1
    second.close()


def test_totals_follow_every_change(store: HistoryStore) -> None:
    """Counts stay equal to the rows through adds, deletes, purges and corrections."""
    ids = [row.id for row in store.add([record(n, bytes=n) for n in range(10)])[0]]
    store.delete(ids[:3])
    store.purge(["match"], older_than=1_005.0)
    store.mark_corrected(ids[-1], "Bob")
    assert store.count() == len(store.page(limit=MAX_PAGE).records) == 5
    db = store._connection()  # noqa: SLF001
    assert db.execute("SELECT rows, bytes FROM totals").fetchone() == (
        5,
        sum(range(5, 10)),
    )
