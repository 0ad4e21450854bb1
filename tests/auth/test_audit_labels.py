"""Every action the code writes to the audit trail has a Chinese name on the audit-log page."""

from __future__ import annotations

import re
from pathlib import Path

from minxin.auth.audit_labels import ACTION_NAMES, ENTITY_NAMES, action_label, entity_label

SRC = Path(__file__).resolve().parents[2] / "src" / "minxin"


def _literals(pattern: str) -> set[str]:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        found |= set(re.findall(pattern, path.read_text(encoding="utf-8")))
    return found


def test_every_literal_action_and_record_kind_has_a_name() -> None:
    actions = _literals(r'action="([a-z_]+(?:\.[a-z_]+)+)"')
    entities = _literals(r'entity="([a-z_]+)"')
    assert actions and entities
    assert sorted(actions - set(ACTION_NAMES)) == []
    assert sorted(entities - set(ENTITY_NAMES)) == []


def test_an_unknown_action_reads_as_its_kind_and_verb_never_as_a_key() -> None:
    assert action_label("care_worker.add") == "登记护理员"
    assert action_label("household.frobnicate") == "家庭户 · 操作"
    assert action_label("nothing_known") == "记录 · 操作"
    assert entity_label("no_such_kind") == "记录"
    assert not re.search(r"[a-z]", action_label("service_order.settle"))
