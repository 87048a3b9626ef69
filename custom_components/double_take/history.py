"""The result history: one row per face of every run, in SQLite (``double_take/double_take.db``).

Every method does blocking I/O: run them in the executor. One connection, shared by the
executor's threads behind a lock; WAL so that reads do not wait for a write. The schema is
versioned (``PRAGMA user_version``) and upgraded by ``_MIGRATIONS`` in order.

Nothing grows without bound: beyond ``max_rows`` rows or ``max_bytes`` of saved frames and
face crops, the oldest rows go, and their files with them (the caller deletes the files
``add`` returns).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
import sqlite3
import threading
from typing import Any, Final

import orjson

DB_FILE: Final = "double_take.db"
DEFAULT_MAX_ROWS: Final = 100_000
DEFAULT_MAX_BYTES: Final = 2 * 1024**3
MAX_PAGE: Final = 200
KINDS: Final = ("match", "miss", "unknown")
SOURCES: Final = ("frigate", "camera", "manual")

_MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: the first schema.
    """
    CREATE TABLE results (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        entry_id TEXT NOT NULL,
        time REAL NOT NULL,
        source TEXT NOT NULL,
        camera TEXT NOT NULL,
        event_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        confidence REAL NOT NULL,
        detector TEXT NOT NULL,
        box TEXT NOT NULL,
        detections TEXT NOT NULL,
        frame TEXT,
        face TEXT,
        bytes INTEGER NOT NULL DEFAULT 0,
        corrected INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX results_entry ON results (entry_id, id);
    CREATE INDEX results_kind ON results (entry_id, kind, id);
    CREATE INDEX results_name ON results (entry_id, name_key, id);
    CREATE INDEX results_camera ON results (entry_id, camera, id);
    CREATE INDEX results_time ON results (entry_id, time);
    CREATE INDEX results_frame ON results (frame);
    CREATE INDEX results_face ON results (face);
    """,
    # 2: running totals per entry, kept by triggers: the caps are checked on every write,
    # and counting 100,000 rows each time took longer than the write itself.
    """
    CREATE TABLE totals (
        entry_id TEXT PRIMARY KEY,
        rows INTEGER NOT NULL,
        bytes INTEGER NOT NULL
    );
    INSERT INTO totals (entry_id, rows, bytes)
        SELECT entry_id, COUNT(*), COALESCE(SUM(bytes), 0) FROM results GROUP BY entry_id;
    CREATE TRIGGER results_added AFTER INSERT ON results BEGIN
        INSERT OR IGNORE INTO totals (entry_id, rows, bytes) VALUES (NEW.entry_id, 0, 0);
        UPDATE totals SET rows = rows + 1, bytes = bytes + NEW.bytes
            WHERE entry_id = NEW.entry_id;
    END;
    CREATE TRIGGER results_removed AFTER DELETE ON results BEGIN
        UPDATE totals SET rows = rows - 1, bytes = bytes - OLD.bytes
            WHERE entry_id = OLD.entry_id;
    END;
    CREATE TRIGGER results_resized AFTER UPDATE OF bytes, entry_id ON results BEGIN
        UPDATE totals SET rows = rows - 1, bytes = bytes - OLD.bytes
            WHERE entry_id = OLD.entry_id;
        INSERT OR IGNORE INTO totals (entry_id, rows, bytes) VALUES (NEW.entry_id, 0, 0);
        UPDATE totals SET rows = rows + 1, bytes = bytes + NEW.bytes
            WHERE entry_id = NEW.entry_id;
    END;
    """,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewRecord:
    """A face to record: what the run found and where its frame and crop are saved."""

    time: float
    source: str
    camera: str
    event_id: str
    kind: str
    name: str
    confidence: float
    detector: str
    box: dict[str, int]
    detections: list[dict[str, Any]] = field(default_factory=list)
    frame: str | None = None
    face: str | None = None
    bytes: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Record(NewRecord):
    """A recorded face, as the history returns it: its row id, and whether a user named it."""

    id: int
    corrected: bool = False

    def files(self) -> list[str]:
        """Return the saved frame and crop (relative to ``double_take/``)."""
        return [path for path in (self.frame, self.face) if path]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of results, newest first, and the cursor of the next page (None: last)."""

    records: list[Record]
    next: int | None


class HistoryStore:
    """The history of one config entry, in the database of its ``double_take/`` folder.

    Entries share the file; every row and every query belongs to ``entry_id``.
    """

    def __init__(
        self,
        path: Path,
        entry_id: str,
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        """Bind the store to its file; nothing is opened until ``open``."""
        self.path = path
        self.entry_id = entry_id
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    # -- lifetime ------------------------------------------------------------------------

    def open(self) -> None:
        """Open (creating or upgrading) the database."""
        with self._lock:
            if self._db is not None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(_MIGRATIONS):
                db.close()
                raise sqlite3.DatabaseError(
                    f"{self.path} has schema {version}, newer than this version knows"
                    f" ({len(_MIGRATIONS)})"
                )
            for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
                db.executescript(
                    f"BEGIN; {script}; PRAGMA user_version={number}; COMMIT;"
                )
            self._db = db

    def close(self) -> None:
        """Close the database (idempotent)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    @property
    def schema_version(self) -> int:
        """The schema version of the open database."""
        return int(self._query("PRAGMA user_version")[0][0])

    # -- writing -------------------------------------------------------------------------

    def add(self, records: Sequence[NewRecord]) -> tuple[list[Record], list[str]]:
        """Record faces; returns those kept as recorded, and the files of rows dropped.

        Rows are dropped, oldest first, to stay within ``max_rows`` and ``max_bytes``;
        with tiny caps that may be some of the rows just added.
        """
        added: list[Record] = []
        with self._lock:
            db = self._connection()
            db.execute("BEGIN")
            for record in records:
                cursor = db.execute(
                    "INSERT INTO results (entry_id, time, source, camera, event_id,"
                    " kind, name, name_key, confidence, detector, box, detections,"
                    " frame, face, bytes)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        self.entry_id,
                        record.time,
                        record.source,
                        record.camera,
                        record.event_id,
                        record.kind,
                        record.name,
                        record.name.casefold(),
                        record.confidence,
                        record.detector,
                        orjson.dumps(record.box).decode(),
                        orjson.dumps(record.detections).decode(),
                        record.frame,
                        record.face,
                        record.bytes,
                    ),
                )
                # The row as written, without reading it back.
                added.append(_recorded(record, int(cursor.lastrowid or 0)))
            last_dropped, dropped = self._trim(db)
            db.execute("COMMIT")
        return [record for record in added if record.id > last_dropped], dropped

    def face_source(self, face: str) -> tuple[str, dict[str, int]] | None:
        """Return the frame and box a face crop is cut from (any entry: paths are unique)."""
        rows = self._query(
            "SELECT frame, box FROM results WHERE face = ? AND frame IS NOT NULL LIMIT 1",
            (face,),
        )
        return (rows[0]["frame"], orjson.loads(rows[0]["box"])) if rows else None

    def add_bytes(self, face: str, size: int) -> None:
        """Count a face crop made after its row was written towards the byte cap."""
        with self._lock:
            self._connection().execute(
                "UPDATE results SET bytes = bytes + ? WHERE face = ?", (size, face)
            )

    def mark_corrected(self, record_id: int, name: str) -> None:
        """Make a row a match of ``name`` that the user corrected."""
        with self._lock:
            self._connection().execute(
                "UPDATE results SET kind = 'match', name = ?, name_key = ?,"
                " corrected = 1 WHERE id = ? AND entry_id = ?",
                (name, name.casefold(), record_id, self.entry_id),
            )

    def delete(self, record_ids: Iterable[int]) -> list[str]:
        """Delete rows; returns the files no other row uses (the caller deletes them)."""
        ids = list(record_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        with self._lock:
            db = self._connection()
            db.execute("BEGIN")
            files = _files(
                db.execute(
                    f"SELECT frame, face FROM results WHERE entry_id = ?"  # noqa: S608
                    f" AND id IN ({marks})",
                    (self.entry_id, *ids),
                )
            )
            db.execute(
                f"DELETE FROM results WHERE entry_id = ? AND id IN ({marks})",  # noqa: S608
                (self.entry_id, *ids),
            )
            files = _orphans(db, files)
            db.execute("COMMIT")
        return files

    def purge(self, kinds: Iterable[str], older_than: float) -> list[str]:
        """Delete rows of ``kinds`` recorded before ``older_than``; returns their files."""
        kind_list = [kind for kind in kinds if kind in KINDS]
        if not kind_list:
            return []
        marks = ",".join("?" * len(kind_list))
        where = f"entry_id = ? AND kind IN ({marks}) AND time < ?"
        with self._lock:
            db = self._connection()
            db.execute("BEGIN")
            files = _files(
                db.execute(
                    f"SELECT frame, face FROM results WHERE {where}",  # noqa: S608
                    (self.entry_id, *kind_list, older_than),
                )
            )
            db.execute(
                f"DELETE FROM results WHERE {where}",  # noqa: S608
                (self.entry_id, *kind_list, older_than),
            )
            files = _orphans(db, files)
            db.execute("COMMIT")
        return files

    # -- reading -------------------------------------------------------------------------

    def get(self, record_id: int) -> Record | None:
        """Return one row, or None."""
        rows = self._query(
            "SELECT * FROM results WHERE id = ? AND entry_id = ?",
            (record_id, self.entry_id),
        )
        return _record(rows[0]) if rows else None

    def page(
        self,
        *,
        kind: str | None = None,
        name: str | None = None,
        camera: str | None = None,
        limit: int = 50,
        before: int | None = None,
    ) -> Page:
        """Newest rows first, filtered; ``before`` is the cursor a previous page returned."""
        limit = max(1, min(limit, MAX_PAGE))
        clauses = ["entry_id = ?"]
        values: list[Any] = [self.entry_id]
        for column, value in (
            ("kind", kind),
            ("name_key", name.casefold() if name is not None else None),
            ("camera", camera),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                values.append(value)
        if before is not None:
            clauses.append("id < ?")
            values.append(before)
        rows = self._query(
            f"SELECT * FROM results WHERE {' AND '.join(clauses)}"  # noqa: S608
            " ORDER BY id DESC LIMIT ?",
            (*values, limit + 1),
        )
        records = [_record(row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(records, records[-1].id if more and records else None)

    def count(self) -> int:
        """Return the number of rows."""
        rows = self._query(
            "SELECT rows FROM totals WHERE entry_id = ?", (self.entry_id,)
        )
        return int(rows[0][0]) if rows else 0

    # -- plumbing ------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise sqlite3.ProgrammingError("the history database is not open")
        return self._db

    def _query(self, sql: str, values: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            db = self._connection()
            db.row_factory = sqlite3.Row
            try:
                return list(db.execute(sql, values))
            finally:
                db.row_factory = None

    def _trim(self, db: sqlite3.Connection) -> tuple[int, list[str]]:
        """Drop the oldest rows beyond ``max_rows`` or ``max_bytes``.

        Returns the id of the newest row dropped (0: none) and the files of those rows.
        """
        count, total = db.execute(
            "SELECT rows, bytes FROM totals WHERE entry_id = ?", (self.entry_id,)
        ).fetchone() or (0, 0)
        if count <= self.max_rows and total <= self.max_bytes:
            return 0, []
        dropped: list[str] = []
        excess_rows = max(0, count - self.max_rows)
        excess_bytes = max(0, total - self.max_bytes)
        last_id = None
        freed = 0
        for number, (row_id, size, frame, face) in enumerate(
            db.execute(
                "SELECT id, bytes, frame, face FROM results WHERE entry_id = ?"
                " ORDER BY id",
                (self.entry_id,),
            )
        ):
            if number >= excess_rows and freed >= excess_bytes:
                break
            last_id = row_id
            freed += size
            dropped += [path for path in (frame, face) if path]
        if last_id is None:
            return 0, []
        db.execute(
            "DELETE FROM results WHERE entry_id = ? AND id <= ?",
            (self.entry_id, last_id),
        )
        return last_id, _orphans(db, dropped)


def _files(rows: Iterable[tuple[str | None, str | None]]) -> list[str]:
    return [path for row in rows for path in row if path]


def _orphans(db: sqlite3.Connection, files: Iterable[str]) -> list[str]:
    """Return the files no remaining row uses (faces of one frame share its file)."""
    return [
        path
        for path in dict.fromkeys(files)
        if db.execute(
            "SELECT 1 FROM results WHERE frame = ? OR face = ? LIMIT 1", (path, path)
        ).fetchone()
        is None
    ]


def _recorded(record: NewRecord, record_id: int) -> Record:
    """``record`` as the row it was written to (its id; not corrected yet)."""
    return Record(
        id=record_id,
        **{column.name: getattr(record, column.name) for column in fields(NewRecord)},
    )


def _record(row: sqlite3.Row) -> Record:
    return Record(
        id=row["id"],
        time=row["time"],
        source=row["source"],
        camera=row["camera"],
        event_id=row["event_id"],
        kind=row["kind"],
        name=row["name"],
        confidence=row["confidence"],
        detector=row["detector"],
        box=orjson.loads(row["box"]),
        detections=orjson.loads(row["detections"]),
        frame=row["frame"],
        face=row["face"],
        bytes=row["bytes"],
        corrected=bool(row["corrected"]),
    )
