"""Household facts kept on the household row for benefit cycles: member count, the severely disabled
(grade 1–2), the seriously ill (重病), and the five earliest birth dates in order.

Database triggers on persons keep them (revision 20261201_household_facts); nothing in the
application writes them. A bulk loader that writes hundreds of thousands of persons at once may
lift the triggers for the load and refresh the facts of the households it wrote in one statement
afterwards (`bulk_facts`), which costs a tenth of the per-row triggers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, text

BIRTH_SLOTS = 5


def facts_set(h: str = "households") -> str:
    """The SET clause recomputing the facts of household row `h` from its persons."""
    births = ", ".join(
        f"birth{i + 1} = (SELECT p.birth_date FROM persons p WHERE p.household_id = {h}.id "
        f"ORDER BY p.birth_date, p.id LIMIT 1 OFFSET {i})" for i in range(BIRTH_SLOTS))
    return (f"member_count = (SELECT COUNT(*) FROM persons p WHERE p.household_id = {h}.id), "
            f"severe_disabled = (SELECT COUNT(*) FROM persons p WHERE p.household_id = {h}.id "
            f"AND p.disability_grade IN (1, 2)), "
            f"seriously_ill = (SELECT COUNT(*) FROM persons p WHERE p.household_id = {h}.id "
            f"AND p.health_status = '重病'), {births}")


def refresh_facts(conn: Connection, *, first_id: int, last_id: int) -> int:
    """Recompute the facts of the households with ids in [first_id, last_id], set-based."""
    result: Any = conn.execute(text(f"UPDATE households SET {facts_set()} WHERE id BETWEEN :a AND :b"),
                               {"a": first_id, "b": last_id})
    return int(result.rowcount or 0)


def lift_facts_triggers(conn: Connection) -> list[tuple[str, str]]:
    """Drop the facts triggers on persons; returns (name, definition) of each, as the database itself
    prints them, for `restore_facts_triggers`."""
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'persons' "
                                 "AND name LIKE 'persons_facts_%' ORDER BY name")).all()
    else:
        rows = conn.execute(text("SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = "
                                 "'persons'::regclass AND tgname LIKE 'persons_facts_%' ORDER BY tgname")).all()
    triggers = [(str(n), str(d)) for n, d in rows]
    for name, _ in triggers:
        conn.execute(text(f"DROP TRIGGER {name}" + ("" if conn.dialect.name == "sqlite" else " ON persons")))
    return triggers


def restore_facts_triggers(conn: Connection, triggers: list[tuple[str, str]]) -> None:
    """Put back the triggers `lift_facts_triggers` dropped, exactly as they were."""
    for _, definition in triggers:
        conn.execute(text(definition))


@contextmanager
def bulk_facts(conn: Connection, *, first_id: int, last_id: int) -> Iterator[None]:
    """Within one transaction: lift the facts triggers, let the caller write households and persons with
    ids from first_id to last_id, then refresh those households' facts and put the triggers back exactly
    as they were. A failure rolls the whole thing back, triggers included (DDL is transactional on both
    databases). Nobody else writes persons meanwhile: the drop locks the table until the commit."""
    triggers = lift_facts_triggers(conn)
    yield
    refresh_facts(conn, first_id=first_id, last_id=last_id)
    restore_facts_triggers(conn, triggers)
