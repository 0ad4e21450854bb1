"""The fastest write path each database offers, for loading millions of generated rows.

SQLAlchemy Core's `conn.execute(table.insert(), dicts)` spends most of its time turning dicts
into parameters; the generator already has plain tuples in column order, so it hands them
straight to the driver inside the caller's transaction: SQLite's `executemany`, PostgreSQL's
COPY FROM STDIN. Values are given the way SQLAlchemy itself stores them (dates and UTC
timestamps as ISO text, booleans as 1/0 or true/false), so the ORM reads them back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, text


def timestamp_text(moment: datetime) -> str:
    """A UTC-aware datetime as SQLAlchemy stores it in a naive UTC column (SQLite and COPY)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def date_text(day: date) -> str:
    return day.isoformat()


def insert_rows(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Append rows (tuples in `columns` order) to `table` within the connection's transaction."""
    if not rows:
        return
    cols = ", ".join(columns)
    driver = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" * len(columns))
        driver.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)  # type: ignore[union-attr]
        return
    if conn.dialect.name == "postgresql":
        with driver.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # type: ignore[union-attr]
            write_row = copy.write_row
            for row in rows:
                write_row(row)
        return
    # Any other database: the portable (slower) path.
    placeholders = ", ".join(f":c{i}" for i in range(len(columns)))
    conn.execute(text(f"INSERT INTO {table} ({cols}) VALUES ({placeholders})"),
                 [{f"c{i}": v for i, v in enumerate(row)} for row in rows])


@contextmanager
def fast_load(conn: Connection) -> Iterator[None]:
    """Relax durability settings of this connection for the length of one bulk load.

    SQLite: `synchronous=OFF` skips the fsyncs of the WAL while loading (a crash mid-load loses
    the uncommitted load, which is all or nothing anyway; the commit itself is still atomic in
    the WAL), and a 1 GB page cache keeps the unique and name indexes in memory while millions
    of keys go in at random places. Enter it before the transaction begins; the connection's
    usual settings are restored afterwards, since it returns to the pool. PostgreSQL needs
    nothing here: COPY is already the fast path.
    """
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        old_sync = driver.execute("PRAGMA synchronous").fetchone()[0]
        old_cache = driver.execute("PRAGMA cache_size").fetchone()[0]
        driver.execute("PRAGMA synchronous=OFF")
        driver.execute("PRAGMA cache_size=-1048576")
        try:
            yield
        finally:
            driver.execute(f"PRAGMA synchronous={int(old_sync)}")
            driver.execute(f"PRAGMA cache_size={int(old_cache)}")
        return
    yield
