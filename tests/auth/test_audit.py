"""The audit trail is a hash chain: any edited or deleted entry is found and named."""

from __future__ import annotations

from sqlalchemy import select, text

from factories import household
from minxin.auth import audit
from minxin.auth.models import AuditEvent


def _last_ids(session, n: int) -> list[int]:
    return sorted(session.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(n)).scalars())


def test_entries_chain_to_each_other_and_verify(session, county_officer):
    for _ in range(3):
        household(session, county_officer, members=1)
    a, b, c = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(3)).scalars().all()[::-1]
    assert b.prev_hash == a.hash and c.prev_hash == b.hash
    result = audit.verify(session)
    assert result.ok and result.checked >= 3


def test_editing_one_row_is_found_and_named(session, county_officer):
    for _ in range(3):
        household(session, county_officer, members=1)
    target = _last_ids(session, 3)[1]
    session.execute(text("UPDATE audit_events SET detail = :d WHERE id = :i"), {"d": '{"members": 9}', "i": target})
    session.expire_all()
    result = audit.verify(session)
    assert not result.ok
    assert result.broken_id == target
    assert "edited" in result.reason


def test_deleting_a_row_is_found_at_the_next_entry(session, county_officer):
    for _ in range(3):
        household(session, county_officer, members=1)
    _first, second, third = _last_ids(session, 3)
    session.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": second})
    session.expire_all()
    result = audit.verify(session)
    assert not result.ok and result.broken_id == third


def test_a_forged_entry_with_recomputed_own_hash_still_breaks_the_next_link(session, county_officer):
    for _ in range(2):
        household(session, county_officer, members=1)
    first, second = _last_ids(session, 2)
    ev = session.get(AuditEvent, first)
    forged = audit._canonical(at=ev.at, actor="someone-else", action=ev.action, entity=ev.entity,
                              entity_id=ev.entity_id, region_code=ev.region_code, detail=ev.detail)
    session.execute(text("UPDATE audit_events SET actor='someone-else', hash=:h WHERE id=:i"),
                    {"h": audit.entry_hash(ev.prev_hash, forged), "i": first})
    session.expire_all()
    result = audit.verify(session)
    assert not result.ok and result.broken_id == second
