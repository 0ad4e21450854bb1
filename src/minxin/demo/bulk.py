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

from minxin.infra.db import Base


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
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" * len(columns))
        # Table and column names are the caller's constants, never user input.
        driver.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)  # noqa: S608
    elif conn.dialect.name == "postgresql":
        with driver.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)
    else:  # any other database: the portable, slower path
        conn.execute(Base.metadata.tables[table].insert(), [dict(zip(columns, row, strict=True)) for row in rows])


@contextmanager
def fast_load(conn: Connection) -> Iterator[None]:
    """Relax durability settings of this connection for the length of one bulk load.

    SQLite: `synchronous=OFF` skips the fsyncs of the WAL while loading (a crash mid-load loses
    the uncommitted load, which is all or nothing anyway; the commit itself is still atomic in
    the WAL), and a 256 MB page cache keeps the unique and name indexes in memory while millions
    of keys go in at random places. Enter it before the transaction begins; the connection's
    usual settings are restored afterwards, since it returns to the pool. PostgreSQL needs
    nothing here: COPY is already the fast path.
    """
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        old_sync = driver.execute("PRAGMA synchronous").fetchone()[0]
        old_cache = driver.execute("PRAGMA cache_size").fetchone()[0]
        driver.execute("PRAGMA synchronous=OFF")
        driver.execute("PRAGMA cache_size=-262144")
        try:
            yield
        finally:
            driver.execute(f"PRAGMA synchronous={int(old_sync)}")
            driver.execute(f"PRAGMA cache_size={int(old_cache)}")
        return
    yield


@contextmanager
def deferred_postgres_checks(conn: Connection, tables: Sequence[str]) -> Iterator[None]:
    """PostgreSQL: load into `tables` without their secondary indexes and foreign keys, then put
    back exactly the same definitions (as PostgreSQL itself prints them) before the commit.

    Building an index once over sorted data and checking a foreign key with one join is several
    times cheaper than maintaining them row by row (the demo's 1M households: about a third of
    the load time). Only for empty tables: on a full table the rebuild would cost more than it
    saves. The drops take an exclusive lock, held until the transaction ends, and a failure rolls
    the drops back with everything else. Constraint-backed indexes (primary and unique keys) stay.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    names = list(tables)
    foreign_keys = conn.execute(text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid = ANY(CAST(:t AS regclass[])) ORDER BY conname"
    ), {"t": names}).all()
    indexes = conn.execute(text(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(CAST(:t AS regclass[])) AND NOT i.indisprimary AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1"
    ), {"t": names}).all()
    for table, name, _ in foreign_keys:
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        conn.execute(text(f"DROP INDEX {name}"))
    yield
    for _, definition in indexes:
        conn.execute(text(definition))
    for table, name, definition in foreign_keys:
        conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
