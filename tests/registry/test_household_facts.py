"""The member facts a benefit cycle reads from the household row (count, 分类施保 counts, birth-date
slots) are kept by the database itself: whatever writes persons — the services, an import, raw SQL —
leaves them equal to a count from persons."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import text
from tests.factories import household, new_id

from minxin.registry.importer import import_households

_FACTS = ("member_count, severe_disabled, seriously_ill, birth1, birth2, birth3, birth4, birth5")


def _facts(session, household_id):
    row = session.execute(text(f"SELECT {_FACTS} FROM households WHERE id = :h"), {"h": household_id}).one()
    return tuple(str(v) if isinstance(v, date) else v for v in row)


def _counted(session, household_id):
    """The same facts counted from persons, as the triggers must keep them."""
    people = session.execute(text(
        "SELECT birth_date, disability_grade, health_status FROM persons WHERE household_id = :h "
        "ORDER BY birth_date, id"), {"h": household_id}).all()
    births = [str(p[0]) for p in people][:5]
    return (len(people), sum(1 for p in people if p[1] in (1, 2)), sum(1 for p in people if p[2] == "重病"),
            *births, *([None] * (5 - len(births))))


def test_registering_a_household_fills_its_facts(session, county_officer):
    hh = household(session, county_officer, members=3)
    facts = _facts(session, hh.id)
    assert facts[:3] == (3, 0, 0) and facts[3].startswith("1975-03") and facts[5].startswith("2005-06")
    assert facts[6:] == (None, None)
    assert facts == _counted(session, hh.id)


def test_every_kind_of_person_change_keeps_the_facts(session, county_officer):
    a = household(session, county_officer, members=2)
    b = household(session, county_officer, members=6)  # more than five: slots hold the five earliest
    rng = random.Random(5)
    ids = [r[0] for r in session.execute(text("SELECT id FROM persons WHERE household_id IN (:a, :b)"),
                                         {"a": a.id, "b": b.id})]
    for pid in ids:
        session.execute(text("UPDATE persons SET birth_date = :d, disability_grade = :g, health_status = :s "
                             "WHERE id = :p"),
                        {"d": date(1930 + rng.randrange(90), 1 + rng.randrange(12), 1), "p": pid,
                         "g": rng.choice([None, 1, 2, 3]), "s": rng.choice(["健康", "重病", None])})
    moved = ids[-1]
    session.execute(text("UPDATE persons SET household_id = :a, is_head = false WHERE id = :p"),
                    {"a": a.id, "p": moved})
    session.execute(text(
        "INSERT INTO persons (id_number, name, sex, birth_date, household_id, relation, is_head, monthly_income_fen, "
        "created_at, updated_at) VALUES (:n, '新生', 'F', '2012-05-01', :b, '子女', false, 0, :t, :t)"),
        {"n": new_id(date(2012, 5, 1), female=True), "b": b.id, "t": "2012-05-02 00:00:00"})
    gone = next(i for i in ids if i != moved and session.execute(
        text("SELECT household_id FROM persons WHERE id = :p AND is_head = false"), {"p": i}).scalar() == b.id)
    session.execute(text("DELETE FROM persons WHERE id = :p"), {"p": gone})
    for hh in (a, b):
        assert _facts(session, hh.id) == _counted(session, hh.id)
    assert _facts(session, a.id)[0] == 3 and _facts(session, b.id)[0] == 5  # 6 − moved + born − deleted


def test_an_import_fills_the_facts_of_every_household_it_creates(session, county_officer):
    rows = ["户编号,姓名,身份证号,与户主关系,社区代码,户籍类别,月收入,联系电话,残疾等级"]
    for k in range(4):
        rows.append(f"F{k},王{'一二三四'[k]}强,{new_id(date(1940 + k, 1, 1))},户主,320706006001,城镇,100,,"
                    f"{1 if k % 2 else ''}")
        rows.append(f"F{k},王{'一二三四'[k]}明,{new_id(date(2001, 1, 1))},子女,320706006001,城镇,0,,")
    result = import_households(session, actor=county_officer, data="\n".join(rows).encode(), filename="f.csv")
    assert result.ok, result.errors
    ids = [r[0] for r in session.execute(text("SELECT id FROM households WHERE household_no LIKE 'F%'"))]
    assert len(ids) == 4
    for h in ids:
        assert _facts(session, h) == _counted(session, h)
        assert _facts(session, h)[0] == 2
    assert sorted(_facts(session, h)[1] for h in ids) == [0, 0, 1, 1]  # grade 1 heads
