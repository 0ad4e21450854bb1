"""Backups and restores of the whole database (运维 operations).

* SQLite: the online backup API. The copy is taken inside one read transaction, so it is the
  database as of one instant, while the server keeps reading and writing (WAL lets writers go on
  beside a reader); the copy is then switched out of WAL mode, checked (`PRAGMA quick_check`) and
  renamed into place, so a backup file is one self-contained file or absent, never half written.
* PostgreSQL: `pg_dump --format=custom` and `pg_restore`, the client tools of the server's major
  version (looked up beside the server's version, or in MINXIN_PG_BIN_DIR). The connection comes
  from the database URL; the password goes through the environment, never the command line.

A restore refuses a target that holds any table unless `force` is given. On PostgreSQL a forced
restore first sets the old schema aside (renamed), restores in one transaction, and drops the old
schema only when the restore succeeded; on failure the old schema is put back. Backup files hold
every ID number in clear: they are written readable by their owner only (0600).

Every function raises `minxin.core.errors.ValidationError` / `Conflict` with a one-line message.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from minxin.core.errors import Conflict, ValidationError
from minxin.infra.db import sqlite_module

# progress(label, done, total)
Progress = Callable[[str, int, int], None]

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# Pages copied per step of the SQLite backup API (4 MiB at the default page size).
_PAGES_PER_STEP = 1024


def _no_progress(label: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class BackupResult:
    path: Path
    kind: str  # "sqlite" or "postgresql"
    bytes: int
    seconds: float

    def describe(self) -> str:
        return f"backup written: {self.path} ({self.kind}, {_size(self.bytes)}, {self.seconds:.1f} s)"


@dataclass(frozen=True)
class RestoreResult:
    source: Path
    target: str  # the database URL, password hidden
    replaced: bool  # a non-empty database was replaced (--force)
    seconds: float

    def describe(self) -> str:
        what = "replaced the database" if self.replaced else "restored into the empty database"
        return f"{what} {self.target} from {self.source} ({self.seconds:.1f} s)"


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _url(database_url: str) -> URL:
    return make_url(database_url)


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


# ---- files ----------------------------------------------------------------------------------------

def _partial_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.partial")


def _prepare_output(out: Path) -> Path:
    """Check where the backup goes; return the owner-only temporary file it is written to first."""
    if out.is_dir():
        raise ValidationError(f"备份文件路径是一个目录 (OUT is a directory): {out}")
    if not out.parent.is_dir():
        raise ValidationError(f"备份目录不存在 (no such directory): {out.parent}")
    partial = _partial_path(out)
    with suppress(FileNotFoundError):
        partial.unlink()
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    return partial


def _file_kind(path: Path) -> str:
    """"sqlite" or "postgresql" by the file's first bytes; refuse anything else."""
    if not path.is_file():
        raise ValidationError(f"备份文件不存在 (no such file): {path}")
    with path.open("rb") as fh:
        head = fh.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise ValidationError(f"不是 minxin 的备份文件 (not a SQLite or pg_dump custom-format backup): {path}")


# ---- SQLite ---------------------------------------------------------------------------------------

def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise ValidationError(f"只能备份/恢复 SQLite 文件数据库 (a SQLite file database is needed): {_shown(url)}")
    return Path(url.database)


def _sqlite_connect(path: Path, *, readonly: bool = False) -> Any:
    module = sqlite_module()
    if readonly:
        conn = module.connect(f"file:{path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
    else:
        conn = module.connect(str(path), timeout=30, check_same_thread=False)
    conn.isolation_level = None  # transactions only where this module says BEGIN
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _sqlite_tables(conn: Any) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [r[0] for r in rows.fetchall()]


def _sqlite_backup(url: URL, out: Path, progress: Progress) -> None:
    source = _sqlite_path(url)
    if not source.is_file():
        raise ValidationError(f"数据库文件不存在 (no such database file): {source}")
    if out.resolve() == source.resolve():
        raise ValidationError("备份文件不能是数据库本身 (OUT is the database file itself)")
    partial = _prepare_output(out)
    src = _sqlite_connect(source)
    dst = _sqlite_connect(partial)
    try:
        # One read transaction for the whole copy: every step reads the same snapshot, so writers
        # elsewhere neither block the copy nor make it start over.
        src.execute("BEGIN")
        src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()

        def step(status: int, remaining: int, total: int) -> None:
            progress("SQLite", total - remaining, total)

        src.backup(dst, pages=_PAGES_PER_STEP, progress=step, sleep=0)
        src.execute("COMMIT")
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        check = dst.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise ValidationError(f"备份文件校验失败 (the copy failed its integrity check): {check}")
    except BaseException:
        dst.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    dst.close()
    os.replace(partial, out)


def _check_sqlite_backup(path: Path) -> None:
    conn = _sqlite_connect(path, readonly=True)
    try:
        tables = _sqlite_tables(conn)
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
    except Exception as exc:
        raise ValidationError(f"备份文件无法读取 (unreadable SQLite file): {path}: {exc}") from exc
    finally:
        conn.close()
    if check != "ok":
        raise ValidationError(f"备份文件已损坏 (the backup fails its integrity check): {check}")
    if "alembic_version" not in tables:
        raise ValidationError(f"不是 minxin 的备份文件 (no minxin schema in it): {path}")


def _sqlite_restore(url: URL, source: Path, *, force: bool, progress: Progress) -> bool:
    target = _sqlite_path(url)
    if target.exists() and target.resolve() == source.resolve():
        raise ValidationError("备份文件就是目标数据库 (FILE is the target database itself)")
    if not target.parent.is_dir():
        raise ValidationError(f"目标目录不存在 (no such directory): {target.parent}")
    _check_sqlite_backup(source)
    dst = _sqlite_connect(target)
    try:
        existing = _sqlite_tables(dst)
        if existing and not force:
            raise Conflict(f"目标数据库不为空 (the target database holds {len(existing)} tables): {target}; "
                           "use --force to replace it")
        src = _sqlite_connect(source, readonly=True)
        try:
            def step(status: int, remaining: int, total: int) -> None:
                progress("SQLite", total - remaining, total)

            # The backup API writes the target under its write lock and swaps the content at the end:
            # readers see the old database or the new one, never a mix.
            src.backup(dst, pages=_PAGES_PER_STEP, progress=step, sleep=0)
        finally:
            src.close()
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
    return bool(existing)


# ---- PostgreSQL -----------------------------------------------------------------------------------

def _pg_env(url: URL) -> dict[str, str]:
    """libpq's environment for the URL: no secret on any command line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    pairs: dict[str, str | int | None] = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username,
                                          "PGPASSWORD": url.password, "PGDATABASE": url.database}
    for key, value in pairs.items():
        if value is not None:
            env[key] = str(value)
    for key, option in url.query.items():  # ?host=/run/postgresql, ?sslmode=require …
        env_key = {"host": "PGHOST", "port": "PGPORT", "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT",
                   "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "application_name": "PGAPPNAME"}.get(key)
        if env_key:
            env[env_key] = option if isinstance(option, str) else option[0]
    return env


@contextmanager
def _pg_connection(url: URL, *, autocommit: bool = False) -> Iterator[Any]:
    engine = create_engine(url, poolclass=NullPool, **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}))
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _pg_server_major(url: URL) -> int:
    with _pg_connection(url) as conn:
        return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000


def _tool_major(binary: str) -> int | None:
    try:
        # An argument list, no shell: the binary is one of the fixed paths above.
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30,  # noqa: S603
                             check=False).stdout
    except OSError:
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


def pg_tool(name: str, server_major: int) -> str:
    """The `pg_dump`/`pg_restore` to use with a server of this major version (same major or newer)."""
    from minxin.infra.settings import get_settings

    candidates: list[str] = []
    if (bin_dir := get_settings().pg_bin_dir) is not None:
        candidates.append(str(Path(bin_dir) / name))
    candidates += [f"/usr/lib/postgresql/{server_major}/bin/{name}", f"/usr/pgsql-{server_major}/bin/{name}",
                   f"/opt/homebrew/opt/postgresql@{server_major}/bin/{name}"]
    if (found := shutil.which(name)) is not None:
        candidates.append(found)
    seen: list[str] = []
    for candidate in candidates:
        if not Path(candidate).is_file() or candidate in seen:
            continue
        seen.append(candidate)
        major = _tool_major(candidate)
        if major is not None and major >= server_major:
            return candidate
    raise ValidationError(f"找不到与 PostgreSQL {server_major} 匹配的 {name} (no {name} of version ≥ {server_major}; "
                          f"install postgresql-client-{server_major} or set MINXIN_PG_BIN_DIR)")


def _run_pg_tool(args: list[str], env: dict[str, str], *, marker: str, total: int, label: str,
                 progress: Progress) -> None:
    """Run pg_dump/pg_restore --verbose, counting the lines that mark one table as progress."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,  # noqa: S603
                            env=env)  # an argument list, no shell
    assert proc.stderr is not None
    done = 0
    errors: list[str] = []
    for line in proc.stderr:
        if marker in line:
            done += 1
            progress(label, min(done, total), total)
        elif re.search(r"\b(error|fatal|FATAL|ERROR):", line):
            errors.append(line.strip())
    code = proc.wait()
    if code != 0:
        first = errors[0] if errors else f"{Path(args[0]).name} exited with status {code}"
        raise ValidationError(f"{Path(args[0]).name} 失败 (failed): {first}")


def _pg_table_count(url: URL) -> int:
    with _pg_connection(url) as conn:
        return int(conn.execute(text(
            "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg\\_%'")).scalar_one())


def _pg_backup(url: URL, out: Path, progress: Progress) -> None:
    major = _pg_server_major(url)
    tool = pg_tool("pg_dump", major)
    total = _pg_table_count(url)
    partial = _prepare_output(out)
    try:
        _run_pg_tool([tool, "--format=custom", "--verbose", f"--file={partial}"], _pg_env(url),
                     marker="dumping contents of table", total=total, label="PostgreSQL", progress=progress)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)


def _pg_archive_tables(tool: str, path: Path, env: dict[str, str]) -> int:
    """Check the archive's table of contents; return how many tables' data it holds."""
    listing = subprocess.run([tool, "--list", str(path)], capture_output=True, text=True,  # noqa: S603
                             env=env, timeout=300, check=False)
    if listing.returncode != 0:
        reason = (listing.stderr.strip().splitlines() or ["unreadable"])[0]
        raise ValidationError(f"备份文件无法读取 (unreadable pg_dump archive): {reason}")
    if " alembic_version " not in listing.stdout:
        raise ValidationError(f"不是 minxin 的备份文件 (no minxin schema in it): {path}")
    return sum(1 for line in listing.stdout.splitlines() if " TABLE DATA " in line)


def _pg_restore(url: URL, source: Path, *, force: bool, progress: Progress) -> bool:
    major = _pg_server_major(url)
    tool = pg_tool("pg_restore", major)
    env = _pg_env(url)
    total = _pg_archive_tables(tool, source, env)
    existing = _pg_table_count(url)
    if existing and not force:
        raise Conflict(f"目标数据库不为空 (the target database holds {existing} tables): {_shown(url)}; "
                       "use --force to replace it")
    aside = f"minxin_replaced_{datetime.now(UTC):%Y%m%d%H%M%S}" if existing else None
    if aside:
        with _pg_connection(url) as conn:
            conn.execute(text(f'ALTER SCHEMA public RENAME TO "{aside}"'))
            conn.execute(text("CREATE SCHEMA public"))
            conn.commit()
    try:
        _run_pg_tool([tool, "--verbose", "--single-transaction", "--exit-on-error", "--no-owner",
                      f"--dbname={url.database}", str(source)], env,
                     marker="processing data for table", total=total, label="PostgreSQL", progress=progress)
    except BaseException:
        if aside:
            with _pg_connection(url) as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text(f'ALTER SCHEMA "{aside}" RENAME TO public'))
                conn.commit()
        raise
    with _pg_connection(url, autocommit=True) as conn:
        if aside:
            conn.execute(text(f'DROP SCHEMA "{aside}" CASCADE'))
        # pg_restore brings no planner statistics: without them the cycle's joins plan badly.
        conn.execute(text("ANALYZE"))
    return bool(existing)


# ---- the two operations ---------------------------------------------------------------------------

def backup_database(*, database_url: str, out: Path, progress: Progress = _no_progress) -> BackupResult:
    """Write a consistent copy of the whole database to `out` (replacing a file there only on success)."""
    url = _url(database_url)
    started = time.monotonic()
    if url.get_backend_name() == "sqlite":
        kind = "sqlite"
        _sqlite_backup(url, out, progress)
    elif url.get_backend_name() == "postgresql":
        kind = "postgresql"
        _pg_backup(url, out, progress)
    else:
        raise ValidationError(f"不支持的数据库 (unsupported database): {url.get_backend_name()}")
    return BackupResult(path=out, kind=kind, bytes=out.stat().st_size, seconds=time.monotonic() - started)


def restore_database(*, database_url: str, source: Path, force: bool = False,
                     progress: Progress = _no_progress) -> RestoreResult:
    """Load a backup into the database; refuse a database holding any table unless `force`."""
    url = _url(database_url)
    backend = url.get_backend_name()
    kind = _file_kind(source)
    if kind != backend:
        raise ValidationError(f"备份类型与目标数据库不符 (a {kind} backup cannot be restored into {backend})")
    started = time.monotonic()
    if kind == "sqlite":
        replaced = _sqlite_restore(url, source, force=force, progress=progress)
    else:
        replaced = _pg_restore(url, source, force=force, progress=progress)
    return RestoreResult(source=source, target=_shown(url), replaced=replaced, seconds=time.monotonic() - started)
