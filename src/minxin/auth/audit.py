"""The append-only, hash-chained, keyed and anchored audit trail.

Every write and every view of an unmasked ID number appends one entry in the same transaction as
the change it records. Three layers make a rewrite visible:

1. **The chain.** Each entry's `hash` = SHA-256(previous entry's hash + the entry), so editing or
   deleting a row breaks the chain from that row on.
2. **The key.** Each entry's `hmac` = HMAC-SHA256(key, hash) under a key kept in a file the database
   does not hold (MINXIN_AUDIT_KEY_FILE, written 0600 by `minxin init`). Someone who can rewrite the
   database but not read that file cannot recompute a chain that verifies. Entries written before
   the trail was keyed have `hmac` NULL and are checked by the chain alone; after the first keyed
   entry every entry must carry one.
3. **The anchor.** After each commit that added entries, the chain head (`id`, `hash`, `hmac`, time)
   is appended as one JSON line to an append-only file the bureau keeps (MINXIN_AUDIT_ANCHOR_FILE):
   deleting the newest entries leaves an anchor pointing past the end, which `verify` names as a
   truncation. Each line is one `write` on a descriptor opened O_APPEND, so several server processes
   share the file without interleaving.

The database also refuses UPDATE and DELETE on the table (triggers, revision 20261203_audit_anchor).
"""

from __future__ import annotations

import hashlib
import hmac as hmac_lib
import json
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, event, insert, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, SessionTransaction

from minxin.auth.models import AuditEvent
from minxin.core.errors import Unavailable
from minxin.infra.db import is_sqlite, utcnow
from minxin.infra.settings import get_settings

log = logging.getLogger("minxin.audit")

GENESIS = "0" * 64
_TABLE = cast(Table, AuditEvent.__table__)
# Built once: every audited request runs both.
_PREV_HASH = select(_TABLE.c.hash).order_by(_TABLE.c.id.desc()).limit(1)
_INSERT = insert(_TABLE).returning(_TABLE.c.id)
_INSERT_MANY = insert(_TABLE).returning(_TABLE.c.id, sort_by_parameter_order=True)
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(7307001)")
_LOCKED = "minxin_audit_locked"  # session.info: the transaction that holds the chain lock


def _canonical(
    *, at: datetime, actor: str, action: str, entity: str, entity_id: str | None, region_code: str | None,
    detail: str,
) -> str:
    return json.dumps(
        [at.strftime("%Y-%m-%dT%H:%M:%S.%f"), actor, action, entity, entity_id, region_code, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def entry_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def entry_hmac(key: bytes, entry_hash_hex: str) -> str:
    """The keyed seal of one entry: its hash already covers its content and the chain before it."""
    return hmac_lib.new(key, b"minxin-audit-v1:" + entry_hash_hex.encode("ascii"), hashlib.sha256).hexdigest()


# ---- the key and the anchor file: where they live ---------------------------------------------------

KEY_FILE_NAME = "minxin-audit.key"
KEY_BYTES = 32


def _database_url(bind: Session | str | URL | None) -> URL:
    if isinstance(bind, Session):
        return bind.get_bind().engine.url
    return make_url(bind if bind is not None else get_settings().database_url)


def _sqlite_file(url: URL) -> Path | None:
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database)
    return None


def key_path(bind: Session | str | URL | None = None) -> Path:
    """MINXIN_AUDIT_KEY_FILE, else `minxin-audit.key` beside an SQLite database or in the working dir.

    `bind`: the session or database URL in question (default MINXIN_DATABASE_URL).
    """
    settings = get_settings()
    if settings.audit_key_file is not None:
        return settings.audit_key_file
    db_file = _sqlite_file(_database_url(bind))
    return (db_file.parent if db_file else Path()) / KEY_FILE_NAME


def anchor_path(bind: Session | str | URL | None = None) -> Path:
    """MINXIN_AUDIT_ANCHOR_FILE, else `<database file stem>-audit-anchors.jsonl` beside an SQLite
    database, or `minxin-audit-anchors-<database name>.jsonl` beside the key file (PostgreSQL)."""
    settings = get_settings()
    if settings.audit_anchor_file is not None:
        return settings.audit_anchor_file
    url = _database_url(bind)
    db_file = _sqlite_file(url)
    if db_file is not None:
        return db_file.with_name(f"{db_file.stem}-audit-anchors.jsonl")
    return key_path(url).parent / f"minxin-audit-anchors-{url.database or 'minxin'}.jsonl"


def create_key(path: Path | None = None) -> bool:
    """Write a new random key, readable by its owner only (0600); False if the file exists already."""
    path = path or key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        os.write(fd, (secrets.token_hex(KEY_BYTES) + "\n").encode("ascii"))
    finally:
        os.close(fd)
    return True


_keys: dict[str, bytes] = {}


def audit_key(path: Path | None = None) -> bytes:
    """The HMAC key, read once per process and path; Unavailable if the file is missing or malformed."""
    path = path or key_path()
    cache_key = str(path)
    if cache_key in _keys:
        return _keys[cache_key]
    try:
        raw = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise Unavailable(
            f"审计密钥文件不存在：{path}（运行 minxin init 创建，或设置 MINXIN_AUDIT_KEY_FILE）"
            f" (audit key file missing)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Unavailable(f"审计密钥文件无法读取：{path}（{exc}） (audit key file unreadable)") from None
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        key = b""
    if len(key) < KEY_BYTES:
        raise Unavailable(f"审计密钥文件无效：{path}（应为 {KEY_BYTES * 2} 位十六进制） (audit key file malformed)")
    _keys[cache_key] = key
    return key


def lock_chain(session: Session) -> None:
    """Serialise appends so two writers never chain onto the same previous entry; held to commit.

    Other append-only tables that readers follow by id (the call centre's `call_events`) take it
    before their insert too: their ids are then handed out in commit order (see eldercare.stream)."""
    if is_sqlite(session):
        return  # SQLite write transactions already hold the database write lock (BEGIN IMMEDIATE)
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_LOCKED) is transaction:
        return  # taken already in this transaction (a rolled-back savepoint forgets it, see below)
    session.execute(_ADVISORY_LOCK)
    session.info[_LOCKED] = session.get_transaction()


@dataclass(frozen=True)
class Entry:
    """One audit entry to append (`record_many`)."""

    action: str
    entity: str
    entity_id: str | int | None = None
    region_code: str | None = None
    detail: dict[str, Any] | None = None


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int | None = None,
    region_code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit entry to the chain (in the caller's transaction)."""
    return record_many(session, actor=actor, entries=[Entry(action, entity, entity_id, region_code, detail)])[0]


def record_many(session: Session, *, actor: str, entries: list[Entry]) -> list[AuditEvent]:
    """Append entries to the chain in this order (in the caller's transaction): the chain head is read
    once and the entries inserted in one multi-row statement (the call intake's group commit)."""
    key = audit_key(key_path(session))  # before anything is written: no key, no entry, no change
    lock_chain(session)
    session.flush()
    prev = session.execute(_PREV_HASH).scalar()
    prev_hash = prev or GENESIS
    # Microsecond precision survives every database round trip.
    at = utcnow()
    rows: list[dict[str, Any]] = []
    for entry in entries:
        detail_json = json.dumps(entry.detail or {}, ensure_ascii=False, sort_keys=True, default=str)
        eid = None if entry.entity_id is None else str(entry.entity_id)
        canonical = _canonical(
            at=at, actor=actor, action=entry.action, entity=entry.entity, entity_id=eid,
            region_code=entry.region_code, detail=detail_json,
        )
        digest = entry_hash(prev_hash, canonical)
        rows.append({"at": at, "actor": actor, "action": entry.action, "entity": entry.entity, "entity_id": eid,
                     "region_code": entry.region_code, "detail": detail_json, "prev_hash": prev_hash,
                     "hash": digest, "hmac": entry_hmac(key, digest)})
        prev_hash = digest
    if not rows:
        return []
    # INSERT … RETURNING id, no unit of work: this runs in every audited request. The ids come back in
    # the rows' order; under the chain lock they are also the chain's order.
    if len(rows) == 1:
        ids = [int(session.execute(_INSERT, rows[0]).scalar_one())]
    else:
        ids = [int(i) for i in session.execute(_INSERT_MANY, rows).scalars()]
    session.info[_PENDING] = True
    session.info[_LAST] = (ids[-1], rows[-1]["hash"], rows[-1]["hmac"])
    return [AuditEvent(id=new_id, **row) for new_id, row in zip(ids, rows, strict=True)]


# ---- anchors ---------------------------------------------------------------------------------------

_PENDING = "minxin_audit_pending"  # session.info: this transaction appended entries
_HEAD = "minxin_audit_head"  # session.info: the head to anchor once the commit has happened
# session.info: (id, hash, hmac) of the entry this session appended last. Under the chain lock, held
# to commit, it is the head the commit makes durable; any rollback (also of a savepoint) forgets it.
_LAST = "minxin_audit_last"


@dataclass(frozen=True)
class Anchor:
    """One checkpoint of the chain head, as a line of the anchor file."""

    id: int
    hash: str
    hmac: str | None
    at: str

    def line(self) -> bytes:
        data = {"id": self.id, "hmac": self.hmac, "hash": self.hash, "at": self.at}
        return (json.dumps(data, separators=(",", ":")) + "\n").encode("ascii")


def _head(session: Session) -> Anchor | None:
    row = session.execute(
        select(AuditEvent.id, AuditEvent.hash, AuditEvent.hmac).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return Anchor(id=row.id, hash=row.hash, hmac=row.hmac, at=utcnow().isoformat())


def append_anchor(anchor: Anchor, path: Path | None = None) -> Path:
    """Append one line with one write(2) on an O_APPEND descriptor (atomic between processes)."""
    path = path or anchor_path()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, anchor.line())
    finally:
        os.close(fd)
    return path


def write_anchor(session: Session, path: Path | None = None) -> Anchor | None:
    """Checkpoint the committed chain head now (`minxin audit anchor`); None if the trail is empty."""
    anchor = _head(session)
    if anchor is not None:
        append_anchor(anchor, path or anchor_path(session))
    return anchor


@event.listens_for(Session, "before_commit")
def _remember_head(session: Session) -> None:
    """Before a commit that appended entries, read the head it will make durable (one indexed row).

    A session bound to a Connection runs inside somebody else's transaction (tests, bulk loaders):
    its "commit" commits nothing, so it anchors nothing; the transaction's owner does.
    """
    if session.in_nested_transaction():
        return  # a savepoint released: nothing is durable yet
    last = session.info.pop(_LAST, None)
    if not session.info.pop(_PENDING, False) or isinstance(session.bind, Connection):
        return
    # The entry this transaction appended last is the head (the chain lock is held to commit); read
    # it back only when a rolled-back savepoint may have taken it away.
    head = _head(session) if last is None else Anchor(id=last[0], hash=last[1], hmac=last[2], at=utcnow().isoformat())
    session.info[_HEAD] = (head, anchor_path(session))


@event.listens_for(Session, "after_commit")
def _anchor_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_HEAD, None)
    if pending is None or pending[0] is None:
        return
    anchor, path = pending
    try:
        append_anchor(anchor, path)
    except OSError:  # the change is committed; a missing anchor is caught up by the next one
        log.exception("could not append the audit anchor for entry %s", anchor.id)


@event.listens_for(Session, "after_soft_rollback")
def _forget_last(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rolled-back savepoint may have held the last entry (the commit then reads the head back) and
    may have taken the chain lock (PostgreSQL releases what a rolled-back subtransaction took); the
    entries before it still go to the commit's anchor."""
    session.info.pop(_LAST, None)
    session.info.pop(_LOCKED, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_transaction(session: Session, transaction: SessionTransaction) -> None:
    """The session's transaction is over (committed and anchored, rolled back, or closed)."""
    if transaction.parent is None:
        for name in (_PENDING, _HEAD, _LAST, _LOCKED):
            session.info.pop(name, None)


class AnchorFileError(Exception):
    """A line of the anchor file that is not an anchor."""


def read_anchors(path: Path | None = None) -> list[Anchor] | None:
    """The anchors in file order; None if there is no anchor file."""
    path = path or anchor_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    anchors: list[Anchor] = []
    for n, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
            mac = obj.get("hmac")
            anchors.append(Anchor(id=int(obj["id"]), hash=str(obj["hash"]), hmac=None if mac is None else str(mac),
                                  at=str(obj.get("at", ""))))
        except (ValueError, KeyError, TypeError):
            raise AnchorFileError(f"锚点文件第 {n} 行无法解析：{path} (anchor file line {n} unreadable)") from None
    return anchors


# ---- verification ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str | None = None
    keyed: int = 0  # entries carrying an HMAC
    last_id: int | None = None  # the newest entry in the database
    anchored_id: int | None = None  # the newest entry the anchor file vouches for
    anchor_file: Path | None = None  # None when there was no anchor file to check against
    truncated: bool = False


def _iter_events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id).limit(batch)
        ).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()


def verify(session: Session, *, anchor_file: Path | None = None) -> VerifyResult:
    """Walk the chain from the start against the key and the anchor file; report the first failure.

    1. Read the anchors first (a commit after this point can only add entries past them).
    2. For every entry: its link to the previous hash, its own hash, its HMAC (once keyed, always
       keyed), and, where an anchor names it, the anchor's hash and HMAC; an anchored id that the walk
       passes without meeting is a deleted entry.
    3. At the end: an anchor beyond the newest entry is a truncation.

    Raises Unavailable when the key file is missing, AnchorFileError for an unreadable anchor file.
    """
    path = anchor_file or anchor_path(session)
    anchors = read_anchors(path)
    key = audit_key(key_path(session))
    expected: dict[int, Anchor] = {}
    for a in anchors or ():
        expected[a.id] = a
    pending = sorted(expected)  # anchored ids not yet met, ascending
    anchored_id = pending[-1] if pending else None
    at = 0
    prev_hash = GENESIS
    checked = keyed = 0
    last_id: int | None = None

    def broken(entry_id: int, why: str) -> VerifyResult:
        return VerifyResult(False, checked, entry_id, why, keyed=keyed, last_id=last_id, anchored_id=anchored_id,
                            anchor_file=path if anchors is not None else None)

    for ev in _iter_events(session):
        # Ids may have gaps (a PostgreSQL sequence skips on rollback); the hash links are the chain.
        if ev.prev_hash != prev_hash:
            return broken(ev.id, "prev_hash does not match the previous entry (an entry was edited or deleted)")
        canonical = _canonical(
            at=ev.at, actor=ev.actor, action=ev.action, entity=ev.entity, entity_id=ev.entity_id,
            region_code=ev.region_code, detail=ev.detail,
        )
        if entry_hash(prev_hash, canonical) != ev.hash:
            return broken(ev.id, "content does not match its hash (edited)")
        if ev.hmac is None:
            if keyed:
                return broken(ev.id, "HMAC missing after keyed entries began (stripped; the chain was rewritten)")
        elif not hmac_lib.compare_digest(ev.hmac, entry_hmac(key, ev.hash)):
            return broken(ev.id, "HMAC does not match (the entry or the chain was rewritten without the key)")
        else:
            keyed += 1
        if at < len(pending) and pending[at] < ev.id:
            missing = pending[at]
            return broken(missing, f"审计记录缺失：锚点记录的第 {missing} 条已不在数据库中 (anchored entry deleted)")
        if at < len(pending) and pending[at] == ev.id:
            a = expected[ev.id]
            if a.hash != ev.hash or a.hmac != ev.hmac:
                return broken(ev.id, "entry does not match its anchor (rewritten after it was anchored)")
            at += 1
        prev_hash = ev.hash
        last_id = ev.id
        checked += 1
    if at < len(pending):
        assert anchored_id is not None
        newest = "数据库中没有审计记录" if last_id is None else f"数据库只有到第 {last_id} 条"
        return VerifyResult(
            False, checked, None, f"审计记录被截断：锚点记录到第 {anchored_id} 条，{newest} (truncated)",
            keyed=keyed, last_id=last_id, anchored_id=anchored_id, anchor_file=path, truncated=True,
        )
    return VerifyResult(True, checked, keyed=keyed, last_id=last_id, anchored_id=anchored_id,
                        anchor_file=path if anchors is not None else None)
