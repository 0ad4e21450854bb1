"""The audit trail: a hash chain, sealed with a key the database does not hold, anchored in a file the
database cannot rewrite, and refused UPDATE and DELETE by the database itself. Any edited, deleted,
recomputed or truncated entry is found and named."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from tests.factories import household

from minxin.auth import audit
from minxin.auth.models import AuditEvent
from minxin.core.errors import Unavailable
from minxin.infra import migrate
from minxin.infra.db import make_engine, unit_of_work
from minxin.infra.settings import get_settings


def _last_ids(session, n: int) -> list[int]:
    return sorted(session.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(n)).scalars())


def tamper(session: Session, sql: str, params: dict | None = None) -> None:
    """Rewrite the trail as whoever owns the database could: lift the append-only triggers first
    (inside the test's transaction, so they come back when it rolls back)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        session.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
    else:
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    session.execute(text(sql), params or {})
    session.expire_all()


def recompute_plain_chain(session: Session) -> None:
    """What someone without the key can do after deleting entries: relink and rehash every entry."""
    prev = audit.GENESIS
    for ev in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all():
        canonical = audit._canonical(at=ev.at, actor=ev.actor, action=ev.action, entity=ev.entity,
                                     entity_id=ev.entity_id, region_code=ev.region_code, detail=ev.detail)
        digest = audit.entry_hash(prev, canonical)
        if (ev.prev_hash, ev.hash) != (prev, digest):
            tamper(session, "UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :i",
                   {"p": prev, "h": digest, "i": ev.id})
        prev = digest


@pytest.fixture
def anchors(tmp_path: Path) -> Path:
    return tmp_path / "anchors.jsonl"


def test_entries_chain_to_each_other_carry_an_hmac_and_verify(session, county_officer):
    for _ in range(3):
        household(session, county_officer, members=1)
    a, b, c = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(3)).scalars().all()[::-1]
    assert b.prev_hash == a.hash and c.prev_hash == b.hash
    assert c.hmac == audit.entry_hmac(audit.audit_key(), c.hash) and c.hmac != c.hash
    result = audit.verify(session)
    assert result.ok and result.checked >= 3 and result.keyed >= 3


def test_editing_one_row_is_found_and_named(session, county_officer):
    for _ in range(3):
        household(session, county_officer, members=1)
    target = _last_ids(session, 3)[1]
    tamper(session, "UPDATE audit_events SET detail = :d WHERE id = :i", {"d": '{"members": 9}', "i": target})
    result = audit.verify(session)
    assert not result.ok
    assert result.broken_id == target
    assert "edited" in result.reason


def test_deleting_a_row_is_found_at_the_next_entry(session, county_officer):
    for _ in range(3):
        household(session, county_officer, members=1)
    _first, second, third = _last_ids(session, 3)
    tamper(session, "DELETE FROM audit_events WHERE id = :i", {"i": second})
    result = audit.verify(session)
    assert not result.ok and result.broken_id == third


def test_a_forged_entry_with_recomputed_own_hash_is_caught_by_its_own_hmac(session, county_officer):
    for _ in range(2):
        household(session, county_officer, members=1)
    first, second = _last_ids(session, 2)
    ev = session.get(AuditEvent, first)
    forged = audit._canonical(at=ev.at, actor="someone-else", action=ev.action, entity=ev.entity,
                              entity_id=ev.entity_id, region_code=ev.region_code, detail=ev.detail)
    tamper(session, "UPDATE audit_events SET actor='someone-else', hash=:h WHERE id=:i",
           {"h": audit.entry_hash(ev.prev_hash, forged), "i": first})
    result = audit.verify(session)
    # Before the key, the forgery showed only at the next link (`second`); now its own seal fails.
    assert not result.ok and result.broken_id == first and "HMAC" in result.reason
    assert second > first


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET actor = 'mallory' WHERE id = :i",
    "DELETE FROM audit_events WHERE id = :i",
])
def test_the_database_refuses_to_update_or_delete_an_entry(session, county_officer, statement):
    household(session, county_officer, members=1)
    (target,) = _last_ids(session, 1)
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(statement), {"i": target})
    assert session.get(AuditEvent, target).actor == county_officer.username


def test_deleting_the_newest_entries_is_named_as_a_truncation(session, county_officer, anchors):
    for _ in range(3):
        household(session, county_officer, members=1)
    anchor = audit.write_anchor(session, anchors)
    assert anchor is not None and anchor.id == _last_ids(session, 1)[0]
    assert audit.verify(session, anchor_file=anchors).ok
    second, third = _last_ids(session, 2)
    tamper(session, "DELETE FROM audit_events WHERE id >= :i", {"i": second})
    result = audit.verify(session, anchor_file=anchors)
    assert not result.ok and result.truncated
    assert result.reason.startswith(f"审计记录被截断：锚点记录到第 {third} 条，数据库只有到第 {second - 1} 条")


def test_deleting_entries_and_recomputing_the_plain_chain_fails_on_the_hmac(session, county_officer, anchors):
    for _ in range(4):
        household(session, county_officer, members=1)
    _a, b, c, d = _last_ids(session, 4)
    tamper(session, "DELETE FROM audit_events WHERE id IN (:b, :c)", {"b": b, "c": c})
    recompute_plain_chain(session)
    result = audit.verify(session, anchor_file=anchors)
    assert not result.ok
    assert result.broken_id == d and "HMAC" in result.reason


def test_an_anchored_entry_that_was_deleted_is_named(session, county_officer, anchors):
    for _ in range(3):
        household(session, county_officer, members=1)
    _first, second, third = _last_ids(session, 3)
    audit.append_anchor(audit.Anchor(id=second, hash=session.get(AuditEvent, second).hash,
                                     hmac=session.get(AuditEvent, second).hmac, at="t"), anchors)
    household(session, county_officer, members=1)
    audit.write_anchor(session, anchors)
    tamper(session, "DELETE FROM audit_events WHERE id = :i", {"i": second})
    recompute_plain_chain(session)
    # The recomputed entry after the gap fails its HMAC first: the first broken entry is named.
    result = audit.verify(session, anchor_file=anchors)
    assert not result.ok and result.broken_id == third


def test_stripping_every_hmac_and_recomputing_is_caught_by_the_anchor(session, county_officer, anchors):
    household(session, county_officer, members=1)
    audit.write_anchor(session, anchors)
    (last,) = _last_ids(session, 1)
    tamper(session, "UPDATE audit_events SET hmac = NULL")
    result = audit.verify(session, anchor_file=anchors)
    assert not result.ok and result.broken_id == last and "anchor" in result.reason


def test_an_unreadable_anchor_file_is_refused_naming_the_line(session, county_officer, anchors):
    household(session, county_officer, members=1)
    audit.write_anchor(session, anchors)
    with anchors.open("a") as fh:
        fh.write("not json\n")
    with pytest.raises(audit.AnchorFileError, match="第 2 行"):
        audit.verify(session, anchor_file=anchors)


def test_a_missing_key_file_is_a_clear_error_and_nothing_is_recorded(session, county_officer, tmp_path,
                                                                     monkeypatch):
    before = _last_ids(session, 1)
    missing = tmp_path / "nowhere" / "minxin-audit.key"
    monkeypatch.setenv("MINXIN_AUDIT_KEY_FILE", str(missing))
    get_settings.cache_clear()
    try:
        with pytest.raises(Unavailable, match=f"审计密钥文件不存在：{missing}"):
            audit.verify(session)
        with pytest.raises(Unavailable, match="minxin init"):
            audit.record(session, actor="x", action="test.action", entity="test")
        assert _last_ids(session, 1) == before
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_a_short_or_garbled_key_file_is_refused(tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text("zz-not-hex\n")
    with pytest.raises(Unavailable, match="审计密钥文件无效"):
        audit.audit_key(bad)


def test_a_new_key_file_is_random_and_readable_by_its_owner_only(tmp_path):
    one, two = tmp_path / "one.key", tmp_path / "two.key"
    assert audit.create_key(one) and audit.create_key(two)
    assert not audit.create_key(one)  # never overwritten
    assert stat.S_IMODE(os.stat(one).st_mode) == 0o600
    assert audit.audit_key(one) != audit.audit_key(two) and len(audit.audit_key(one)) == 32


@pytest.fixture
def file_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A database file of its own at head, its anchor file beside it (real commits, no rollback)."""
    url = f"sqlite:///{tmp_path / 'own.db'}"
    monkeypatch.setenv("MINXIN_DATABASE_URL", url)
    monkeypatch.delenv("MINXIN_AUDIT_ANCHOR_FILE", raising=False)
    get_settings.cache_clear()
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
    monkeypatch.undo()
    get_settings.cache_clear()


def _record_and_fail(engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="rolled back"):
        _record_then_raise(engine)


def _record_then_raise(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        audit.record(s, actor="a", action="test.rolled_back", entity="test")
        raise RuntimeError("rolled back: no anchor")


def test_each_commit_that_adds_entries_appends_one_anchor_line(file_engine: Engine, tmp_path: Path):
    path = tmp_path / "own-audit-anchors.jsonl"
    assert audit.anchor_path() == path
    with unit_of_work(file_engine) as s:
        audit.record(s, actor="a", action="test.one", entity="test")
        audit.record(s, actor="a", action="test.two", entity="test")
    with unit_of_work(file_engine) as s:
        pass  # nothing recorded, nothing anchored
    _record_and_fail(file_engine)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 1
    with unit_of_work(file_engine, write=False) as s:
        head = s.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
        assert lines[0]["id"] == head.id and lines[0]["hmac"] == head.hmac and lines[0]["at"]
        assert audit.verify(s).ok
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_entries_written_before_the_key_still_verify_and_later_ones_must_be_keyed(tmp_path: Path):
    """An existing database: its unkeyed entries verify by the chain; after the upgrade every entry is keyed."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "20261201_line_status_check")
    prev = audit.GENESIS
    with engine.begin() as conn:  # the old code's entries: chained, no key
        for i in range(3):
            at = audit.utcnow()
            canonical = audit._canonical(at=at, actor="old", action="old.entry", entity="test", entity_id=str(i),
                                         region_code=None, detail="{}")
            digest = audit.entry_hash(prev, canonical)
            conn.execute(text("INSERT INTO audit_events (at, actor, action, entity, entity_id, region_code, detail, "
                              "prev_hash, hash) VALUES (:at, 'old', 'old.entry', 'test', :e, NULL, '{}', :p, :h)"),
                         {"at": at.replace(tzinfo=None), "e": str(i), "p": prev, "h": digest})
            prev = digest
    migrate.upgrade(engine)
    anchors = tmp_path / "anchors.jsonl"
    with unit_of_work(engine) as s:
        audit.record(s, actor="new", action="new.entry", entity="test")
        audit.write_anchor(s, anchors)
    with unit_of_work(engine, write=False) as s:
        result = audit.verify(s, anchor_file=anchors)
        assert result.ok and result.checked == 4 and result.keyed == 1
    with unit_of_work(engine) as s:
        audit.record(s, actor="new", action="new.entry", entity="test")
        (last,) = _last_ids(s, 1)
        tamper(s, "UPDATE audit_events SET hmac = NULL WHERE id = :i", {"i": last})
        result = audit.verify(s, anchor_file=anchors)
        assert not result.ok and result.broken_id == last and "HMAC missing" in result.reason
        s.rollback()
    engine.dispose()


def test_the_anchor_names_the_head_the_commit_made_also_after_a_rolled_back_savepoint(file_engine: Engine,
                                                                                    tmp_path: Path):
    """The commit anchors the entry this session appended last without reading it back; an entry taken
    away by a rolled-back savepoint is not anchored (the head is read back then)."""
    path = tmp_path / "own-audit-anchors.jsonl"
    with unit_of_work(file_engine) as s:
        kept = audit.record(s, actor="a", action="test.kept", entity="test")
    def undone_in_savepoint(s: Session) -> None:
        with s.begin_nested():
            audit.record(s, actor="a", action="test.undone", entity="test")
            raise RuntimeError("savepoint rolled back")

    def released_then_rolled_back() -> None:
        with unit_of_work(file_engine) as s:
            with s.begin_nested():  # a savepoint released is not a commit: nothing to anchor yet …
                audit.record(s, actor="a", action="test.undone", entity="test")
            raise RuntimeError("… and the transaction rolls back")

    with unit_of_work(file_engine) as s:
        second = audit.record(s, actor="a", action="test.kept", entity="test")
        with pytest.raises(RuntimeError):
            undone_in_savepoint(s)
    with pytest.raises(RuntimeError):
        released_then_rolled_back()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["id"] for line in lines] == [kept.id, second.id]
    with unit_of_work(file_engine, write=False) as s:
        head = s.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
        assert head.id == second.id and lines[-1]["hash"] == head.hash and lines[-1]["hmac"] == head.hmac
        assert audit.verify(s).ok
