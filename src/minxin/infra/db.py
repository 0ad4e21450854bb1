"""Engine, sessions and the unit of work. SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, Table, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from minxin.infra.settings import get_settings

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Record ids are INTEGER columns (32-bit on PostgreSQL); an id past this can name no record.
MAX_DB_ID = 2**31 - 1


def is_db_id(value: int) -> bool:
    """Whether `value` could be a record id: 1 … MAX_DB_ID (a larger one would overflow the driver)."""
    return 0 < value <= MAX_DB_ID


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, typed as one (for Core batch inserts: `table_of(Person).insert()`)."""
    table = model.__table__
    if not isinstance(table, Table):  # a class mapped onto a join or a select has no single table
        raise TypeError(f"{model.__name__} is not mapped to one table")
    return table


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; gives back timezone-aware UTC datetimes on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# SQLite: a write transaction takes the write lock up front (BEGIN IMMEDIATE) so that two writers
# wait for each other instead of failing halfway on a lock upgrade.
_sqlite_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_immediate", default=False)


WAL_AUTOCHECKPOINT_PAGES = 10_000


def checkpoint_wal(engine: Engine) -> tuple[int, int] | None:
    """SQLite: copy the committed pages of the WAL into the database file (PASSIVE: waits for no reader
    or writer and blocks none). Outside any transaction, on a connection of the pool. Returns the
    WAL's frames and how many of them are now in the database file; None on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return None
    raw = engine.raw_connection()
    try:
        _busy, frames, copied = raw.driver_connection.execute(  # type: ignore[union-attr]
            "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(frames), int(copied)
    finally:
        raw.close()


_checkpoints_beside: contextvars.ContextVar[bool] = contextvars.ContextVar("checkpoints_beside", default=False)
CHECKPOINT_BESIDE_SECONDS = 0.2


@contextmanager
def checkpoint_every(engine: Engine, seconds: float) -> Iterator[None]:
    """SQLite: while the block runs, a thread checkpoints the WAL every `seconds` (and once at the
    end), so the copy into the database file and its fsync happen beside the work, not in a commit.
    Nothing happens on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        yield
        return
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(seconds):
            try:
                checkpoint_wal(engine)
            except Exception:  # a busy or locked database: the next turn tries again
                logging.getLogger("minxin.db").warning("WAL checkpoint failed", exc_info=True)

    thread = threading.Thread(target=loop, name="wal-checkpoint", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        checkpoint_wal(engine)


@contextmanager
def checkpoints_beside(engine: Engine) -> Iterator[None]:
    """SQLite: within this block, the write transactions begun by this thread leave the WAL to a
    thread that checkpoints it every 0.2 s (checkpoint_every), instead of copying it into the
    database file at their own commit (the backstop). A long run of big transactions one after
    another (a city's county cycles) then computes the next county while the last one's pages are
    copied, on another core."""
    token = _checkpoints_beside.set(True)
    try:
        with checkpoint_every(engine, CHECKPOINT_BESIDE_SECONDS):
            yield
    finally:
        _checkpoints_beside.reset(token)


def sqlite_file_engine(factory: sessionmaker[Session]) -> Engine | None:
    """The SQLite engine a session factory is bound to; None for PostgreSQL or a test's connection."""
    bind = factory.kw.get("bind")
    return bind if isinstance(bind, Engine) and bind.dialect.name == "sqlite" else None


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp_store=MEMORY")
        # A committing writer copies the WAL into the database file once it holds this many pages
        # (4 KiB each; SQLite's default is 1,000). A running server does that every second in a
        # thread of its own (checkpoint_wal), so requests rarely do; this is the backstop.
        cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not _sqlite_immediate.get():
            conn.exec_driver_sql("BEGIN")
            return
        dbapi_conn = conn.connection.dbapi_connection
        wanted = 0 if _checkpoints_beside.get() else WAL_AUTOCHECKPOINT_PAGES
        if getattr(dbapi_conn, "autocheckpoint", WAL_AUTOCHECKPOINT_PAGES) != wanted:
            dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={wanted}")
            dbapi_conn.autocheckpoint = wanted
        take_turn = getattr(dbapi_conn, "take_write_turn", None)
        if take_turn is not None:
            take_turn()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            dbapi_conn.end_write_turn()
            raise


# SQLite's own wait for the write lock (busy_timeout) sleeps and retries, backing off up to 100 ms a
# try: with many writers queued the lock sits free while they sleep, which costs throughput and
# makes the slowest wait seconds. So writers take turns before BEGIN IMMEDIATE, in two steps:
#
# 1. the threads of one process queue on a lock of the process (per database file) and take turns
#    at once;
# 2. the one thread of each process that holds that turn takes an exclusive lock on a file next to
#    the database (`<database>-turn`, flock), so the worker processes of `minxin serve --workers N`
#    and a command run beside them take turns too, without SQLite's back-off. A process that finds
#    the file taken waits in steps of half a millisecond and says so (a shared lock on
#    `<database>-waiting`); a process that has just had its turn lets a waiting one go first, so no
#    process keeps the lock by handing it from thread to thread.
#
# The turn ends with the transaction (commit, rollback, close); after 30 s of waiting a writer goes
# on to BEGIN IMMEDIATE anyway (busy_timeout then decides, as before). The kernel drops a dead
# process's file locks.
_WRITE_TURN_WAIT = 30.0
_FILE_TURN_STEP = 0.0005
_LET_WAITER_GO = 0.002
_turns: dict[str, threading.Lock] = {}
_turns_guard = threading.Lock()


def _write_turn(database: str) -> threading.Lock:
    key = os.path.abspath(database)
    with _turns_guard:
        return _turns.setdefault(key, threading.Lock())


class _FileTurn:
    """The processes' turn on one database file (step 2 above). Used only by the thread that holds the
    process's turn (step 1), so one open file per process serves all its connections."""

    def __init__(self, database: str) -> None:
        self.base = os.path.abspath(database)
        self._files: tuple[int, int, int] | None = None  # (pid, turn fd, waiting fd)

    def _fds(self) -> tuple[int, int]:
        pid = os.getpid()
        if self._files is None or self._files[0] != pid:  # a forked child opens its own (locks are per open file)
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
            self._files = (pid, os.open(self.base + "-turn", flags, 0o600),
                           os.open(self.base + "-waiting", flags, 0o600))
        return self._files[1], self._files[2]

    def take(self, deadline: float) -> bool:
        turn, waiting = self._fds()
        if self._others_waiting(waiting):
            time.sleep(_LET_WAITER_GO)
        if self._try(turn):
            return True
        fcntl.flock(waiting, fcntl.LOCK_SH)
        try:
            while time.monotonic() < deadline:
                time.sleep(_FILE_TURN_STEP)
                if self._try(turn):
                    return True
            return False
        finally:
            fcntl.flock(waiting, fcntl.LOCK_UN)

    def give_back(self) -> None:
        fcntl.flock(self._fds()[0], fcntl.LOCK_UN)

    @staticmethod
    def _try(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    @classmethod
    def _others_waiting(cls, waiting: int) -> bool:
        if not cls._try(waiting):
            return True
        fcntl.flock(waiting, fcntl.LOCK_UN)
        return False


_file_turns: dict[str, _FileTurn] = {}


def _file_turn(database: str) -> _FileTurn | None:
    if fcntl is None:  # no flock (Windows): the processes wait SQLite's way
        return None
    key = os.path.abspath(database)
    with _turns_guard:
        return _file_turns.setdefault(key, _FileTurn(key))


def _connection_class(module: Any) -> Any:
    class TurnTakingConnection(module.Connection):  # type: ignore[misc]
        """A connection whose write transactions queue for the process's turn, then the file's."""

        def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(database, *args, **kwargs)
            name = str(database)
            local = name == ":memory:" or name.startswith("file:")
            self._turn: threading.Lock | None = None if local else _write_turn(name)
            self._file_turn: _FileTurn | None = None if local else _file_turn(name)
            self._has_turn = False
            self._has_file_turn = False

        def take_write_turn(self) -> None:
            if self._turn is None or self._has_turn:
                return
            deadline = time.monotonic() + _WRITE_TURN_WAIT
            self._has_turn = self._turn.acquire(timeout=_WRITE_TURN_WAIT)
            if self._has_turn and self._file_turn is not None:
                try:
                    self._has_file_turn = self._file_turn.take(deadline)
                except OSError:  # a read-only directory: no lock file, SQLite's own wait
                    self._has_file_turn = False

        def end_write_turn(self) -> None:
            if self._has_file_turn and self._file_turn is not None:
                self._has_file_turn = False
                self._file_turn.give_back()
            if self._has_turn and self._turn is not None:
                self._has_turn = False
                self._turn.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self.end_write_turn()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.end_write_turn()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.end_write_turn()

    return TurnTakingConnection


def sqlite_module() -> Any:
    """The SQLite driver: pysqlite3 (a current SQLite built with its default options) where its wheel
    exists, else Python's own sqlite3 (linked to the system's library).

    The system library of Debian 12 is SQLite 3.40, built without the lookaside allocator, so every
    small allocation of a statement goes to malloc: a 1M-line payment cycle computes about 30 % slower
    on it than on the library pysqlite3 ships (bench/RESULTS.md). Both speak the same DB-API and the
    same file format; the database file is the same either way.
    """
    try:
        import pysqlite3.dbapi2 as module
    except ImportError:  # no wheel for this platform: the standard library's driver
        import sqlite3 as module
    return module


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        module = sqlite_module()
        engine = create_engine(url, module=module, connect_args={"check_same_thread": False, "timeout": 30,
                                                                 "factory": _connection_class(module)})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine(url: str | None = None) -> Engine:
    return _engine_for(url or get_settings().database_url)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False)


def is_sqlite(bind: Engine | Session) -> bool:
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name == "sqlite"


@contextmanager
def write_lock() -> Iterator[None]:
    """Within this block, new SQLite transactions begin IMMEDIATE (hold the write lock)."""
    token = _sqlite_immediate.set(True)
    try:
        yield
    finally:
        _sqlite_immediate.reset(token)


def begin_write(session: Session) -> None:
    """End the session's current transaction (committing it) and begin a write transaction, which on
    SQLite holds the write lock from its first statement (BEGIN IMMEDIATE).

    A read transaction must never turn into a write one on SQLite: if another writer committed since
    it began, the upgrade fails at once with "database is locked" instead of waiting.
    """
    if session.in_transaction():
        session.commit()
    with write_lock():
        session.connection()
    for apply in session.info.pop(_AFTER_WRITE_BEGINS, ()):
        apply(session)


def start_writing(session: Session) -> None:
    """From here on the request writes; so far it has only read (who is calling).

    SQLite: as `begin_write` (the read transaction ends, a write transaction begins with the lock).
    PostgreSQL: the transaction simply goes on, a read one may turn into a write one there; no
    commit, no second connection from the pool, no round trips spent on either.
    """
    if is_sqlite(session) or not session.in_transaction():
        begin_write(session)
        return
    for apply in session.info.pop(_AFTER_WRITE_BEGINS, ()):
        apply(session)


_AFTER_WRITE_BEGINS = "minxin.after_write_begins"


def finish_reading(session: Session) -> None:
    """The request has read what it needs and writes elsewhere (a group commit, minxin.infra.groupcommit):
    end its read transaction, so its connection goes back to the pool while it waits. A change held
    back while reading (`after_write_begins`: an API token's last-use stamp, every few minutes) is
    made in a short write transaction of its own first."""
    if session.info.get(_AFTER_WRITE_BEGINS):
        begin_write(session)
        session.commit()
    elif session.in_transaction():
        session.rollback()


def after_write_begins(session: Session, apply: Callable[[Session], None]) -> None:
    """Hold back a change found while reading (an API token's last-use stamp) until the handler's
    `begin_write`: made in the read transaction, it would turn that into a write one (see above)."""
    session.info.setdefault(_AFTER_WRITE_BEGINS, []).append(apply)


@contextmanager
def unit_of_work(engine: Engine | None = None, *, write: bool = True) -> Iterator[Session]:
    """One transaction: commits once at the end, rolls back on any error."""
    factory = session_factory(engine)
    token = _sqlite_immediate.set(write)
    try:
        with factory() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        _sqlite_immediate.reset(token)


@contextmanager
def savepoint(session: Session) -> Iterator[Session]:
    """A unit of work nested in the session's transaction (SAVEPOINT): an error inside rolls back only its
    part. Used where one request does several independent units (a city's run of every county)."""
    with session.begin_nested():
        yield session
