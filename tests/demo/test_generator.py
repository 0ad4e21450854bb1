"""The demo city generator, on fresh SQLite files and (with MINXIN_TEST_DATABASE_URL) fresh PostgreSQL
databases of its own: the generator commits, so it cannot share the suite's rolled-back `engine`."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from minxin.auth import audit
from minxin.auth.models import AuditEvent, User
from minxin.auth.service import ensure_system_user
from minxin.core.errors import ValidationError
from minxin.core.idnumber import is_valid_id, make_id, parse_id
from minxin.demo import generator
from minxin.demo.generator import DEMO_PASSWORD, DemoSummary, demo_exists, generate_demo
from minxin.infra import migrate
from minxin.infra.db import make_engine as make_db_engine
from minxin.infra.db import write_lock
from minxin.registry.models import RELATIONS, Household, IncomeDeclaration, Person, Region
from minxin.registry.service import check_name, seed_regions

PG_URL = os.environ.get("MINXIN_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
N = 1500

MakeDb = Callable[..., Engine]


@pytest.fixture(scope="module")
def fresh_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeDb]:
    """Factory of fresh databases (migrated; regions and system user seeded unless seeded=False).

    PostgreSQL databases are created on the test server under a name of their own and dropped
    at the end, so the suite's shared database is never touched.
    """
    engines: list[Engine] = []
    pg_names: list[str] = []
    root: Path = tmp_path_factory.mktemp("demo")

    def make(backend: str = "sqlite", *, seeded: bool = True) -> Engine:
        n = len(engines)
        if backend == "sqlite":
            url = f"sqlite:///{root / f'demo{n}.db'}"
        else:
            assert PG_URL
            name = f"minxin_demo_test_{os.getpid()}_{n}"
            server = make_url(PG_URL).set(database="postgres")
            admin = create_engine(server, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            pg_names.append(name)
            url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        engine = make_db_engine(url)
        engines.append(engine)
        migrate.upgrade(engine)
        if seeded:
            with write_lock(), Session(engine) as s:
                seed_regions(s)
                ensure_system_user(s)
                s.commit()
        return engine

    yield make
    for engine in engines:
        engine.dispose()
    if pg_names:
        assert PG_URL
        admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in pg_names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def city(request: pytest.FixtureRequest, fresh_db: MakeDb) -> tuple[Engine, DemoSummary, list[tuple[str, int, int]]]:
    """One generated city per backend, shared by the read-only tests below."""
    engine = fresh_db(request.param)
    calls: list[tuple[str, int, int]] = []
    summary = generate_demo(engine, households=N, seed=2012, progress=lambda *a: calls.append(a))
    return engine, summary, calls


def _digest(engine: Engine, limit_households: int | None = None) -> str:
    """A fingerprint of everything the seed decides: numbers, names, births, relations, incomes."""
    stmt = (
        select(Household.household_no, Household.region_code, Household.hukou_type, Household.address,
               Household.monthly_income_fen, Person.id_number, Person.name, Person.sex, Person.birth_date,
               Person.relation, Person.phone, Person.disability_grade, Person.health_status,
               Person.monthly_income_fen)
        .join(Person, Person.household_id == Household.id)
        .where(Household.household_no.like("D%"))
    )
    with engine.connect() as conn:
        rows = sorted(tuple(str(v) for v in r) for r in conn.execute(stmt))
    if limit_households is not None:
        keep = sorted({r[0] for r in rows})[:limit_households]
        rows = [r for r in rows if r[0] in set(keep)]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _persons(engine: Engine) -> list[Person]:
    with Session(engine) as s:
        return list(s.execute(select(Person)).scalars())


# ---- one city, many checks -------------------------------------------------------------------------

def test_the_requested_households_are_written_with_their_members_and_declarations(city) -> None:
    engine, summary, _ = city
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Household)).scalar_one() == N == summary.households
        assert s.execute(select(func.count()).select_from(Person)).scalar_one() == summary.persons
        assert 2.5 * N < summary.persons < 3.3 * N
        declared = s.execute(
            select(func.count()).select_from(IncomeDeclaration).where(IncomeDeclaration.source == "demo")
        ).scalar_one()
        assert declared == N
        # The household's income is the sum of its members', and its declaration says the same.
        mismatched = s.execute(text(
            "SELECT count(*) FROM households h WHERE h.monthly_income_fen <> "
            "(SELECT sum(p.monthly_income_fen) FROM persons p WHERE p.household_id = h.id) "
            "OR h.monthly_income_fen <> (SELECT d.monthly_income_fen FROM income_declarations d "
            "WHERE d.household_id = h.id)"
        )).scalar_one()
        assert mismatched == 0


def test_every_household_has_exactly_one_head(city) -> None:
    engine, _, _ = city
    with Session(engine) as s:
        heads = s.execute(text(
            "SELECT household_id, sum(CASE WHEN is_head THEN 1 ELSE 0 END), "
            "sum(CASE WHEN relation = '户主' THEN 1 ELSE 0 END) FROM persons GROUP BY household_id"
        )).all()
        assert len(heads) == N
        assert all(flagged == 1 and named == 1 for _, flagged, named in heads)
        for hh in s.execute(select(Household).options(selectinload(Household.members))).scalars():
            head = next(m for m in hh.members if m.is_head)
            assert head.relation == "户主" and hh.phone == head.phone
            assert all(m.region_code == hh.region_code for m in hh.members)
            assert all(m.relation in RELATIONS for m in hh.members)


def test_id_numbers_are_valid_unique_and_agree_with_birth_date_and_sex(city) -> None:
    engine, _, _ = city
    persons = _persons(engine)
    numbers = [p.id_number for p in persons]
    assert len(set(numbers)) == len(numbers)
    for p in persons:
        assert is_valid_id(p.id_number), p.id_number
        info = parse_id(p.id_number)
        assert (info.birth_date, info.sex) == (p.birth_date, p.sex)
        assert p.birth_date <= generator.REFERENCE_DATE
        check_name(p.name)  # raises on digits or empty names
        assert 2 <= len(p.name) <= 3


def test_ages_fit_the_relation_to_the_head(city) -> None:
    engine, _, _ = city
    with Session(engine) as s:
        households = s.execute(select(Household).options(selectinload(Household.members))).scalars().all()
        for hh in households:
            head = next(m for m in hh.members if m.is_head)
            for m in hh.members:
                gap = (head.birth_date - m.birth_date).days / 365.25  # > 0: older than the head
                if m.relation == "配偶":
                    assert m.sex != head.sex
                    assert abs(gap) < 12
                elif m.relation == "子女":
                    assert -42 < gap < -18
                elif m.relation == "孙子女":
                    assert gap < -35
                elif m.relation == "父母":
                    assert gap > 16


def test_historical_county_codes_only_for_people_born_before_the_2014_reform(city) -> None:
    engine, _, _ = city
    reform = date(2014, 5, 2)
    codes: dict[str, int] = {}
    for p in _persons(engine):
        code = p.id_number[:6]
        codes[code] = codes.get(code, 0) + 1
        if code in ("320705", "320721"):
            assert p.birth_date < reform
        if code == "320707":
            assert p.birth_date >= reform
    assert codes.get("320705", 0) > 0 and codes.get("320721", 0) > 0
    assert set(codes) <= {"320703", "320705", "320706", "320707", "320721", "320722", "320723", "320724"}


def test_a_share_of_households_is_low_income(city) -> None:
    engine, _, _ = city
    with engine.connect() as conn:
        per_capita = conn.execute(text(
            "SELECT h.monthly_income_fen * 1.0 / count(*) FROM households h "
            "JOIN persons p ON p.household_id = h.id GROUP BY h.id, h.monthly_income_fen"
        )).scalars().all()
    below = sum(1 for v in per_capita if v < 500_00) / len(per_capita)
    assert 0.02 < below < 0.08
    # Children earn nothing; most working-age adults earn something.
    persons = _persons(engine)
    assert all(p.monthly_income_fen == 0 for p in persons if p.birth_date > date(2009, 1, 1))
    assert all(p.monthly_income_fen % 1000 == 0 for p in persons)  # whole tens of yuan


def test_urban_and_rural_households_in_several_counties(city) -> None:
    engine, _, _ = city
    with Session(engine) as s:
        by_community = s.execute(
            select(Household.region_code, Region.urban, Household.hukou_type, func.count())
            .join(Region, Region.code == Household.region_code)
            .group_by(Household.region_code, Region.urban, Household.hukou_type)
        ).all()
    rows = [(code[:6], urban, hukou, n) for code, urban, hukou, n in by_community]
    by_county: dict[str, set[str]] = {}
    place: dict[tuple[bool, str], int] = {}
    for county, urban, hukou, n in rows:
        by_county.setdefault(county, set()).add(hukou)
        place[(bool(urban), hukou)] = place.get((bool(urban), hukou), 0) + n
    assert len(by_county) == 6
    assert sum(1 for kinds in by_county.values() if kinds == {"城镇", "农村"}) >= 4
    # Urban communities are mostly 城镇 hukou, villages mostly 农村.
    assert place[(True, "城镇")] > 0.8 * (place[(True, "城镇")] + place.get((True, "农村"), 0))
    assert place[(False, "农村")] > 0.8 * (place[(False, "农村")] + place.get((False, "城镇"), 0))
    counts = {c: sum(n for cc, _, _, n in rows if cc == c) for c in by_county}
    # 海州, 赣榆 and 东海 are the big ones; 连云 the smallest.
    assert min(counts["320706"], counts["320707"], counts["320722"]) > counts["320703"] * 2


def test_some_persons_are_disabled_or_ill(city) -> None:
    persons = _persons(city[0])
    disabled = [p for p in persons if p.disability_grade is not None]
    assert 0.01 < len(disabled) / len(persons) < 0.05
    assert {p.disability_grade for p in disabled} <= {1, 2, 3, 4}
    assert {p.health_status for p in persons} >= {"健康", "慢性病", "残疾"}


def test_demo_users_exist_and_the_demo_password_verifies(city) -> None:
    engine, summary, _ = city
    hasher = PasswordHasher()
    with Session(engine) as s:
        users = {u.username: u for u in s.execute(select(User)).scalars()}
    expected = {"admin": ("city_admin", "320700"), "haizhou": ("county_officer", "320706"),
                "ganyu": ("county_officer", "320707"), "xinhai": ("town_officer", "320706006"),
                "dongfeng": ("community_worker", "320706006001"), "agent": ("call_agent", "320700"),
                "auditor": ("auditor", "320700")}
    for username, (role, scope) in expected.items():
        user = users[username]
        assert (user.role, user.scope_code) == (role, scope)
        assert user.password_hash and hasher.verify(user.password_hash, DEMO_PASSWORD)
        assert not user.is_system and user.display_name
    assert [(u, p, r, s) for u, p, r, s in summary.users] == [
        (u, DEMO_PASSWORD, r, s) for u, (r, s) in expected.items()]


def test_the_audit_chain_verifies_and_names_the_run(city) -> None:
    engine, _, _ = city
    with Session(engine) as s:
        assert audit.verify(s).ok
        events = s.execute(select(AuditEvent).where(AuditEvent.action == "demo.generate")).scalars().all()
    assert len(events) == 1
    assert events[0].actor == "system" and '"households": 1500' in events[0].detail


def test_bulk_rows_read_back_through_the_orm(city) -> None:
    engine, _, _ = city
    with Session(engine) as s:
        hh = s.execute(select(Household).order_by(Household.id).limit(1)).scalar_one()
        assert hh.household_no == "D201200000001"
        assert hh.created_at.tzinfo is not None and hh.updated_at == hh.created_at
        assert isinstance(hh.income_declared_on, date)
        assert hh.members and all(isinstance(m.birth_date, date) for m in hh.members)
        assert hh.address


def test_progress_is_reported_to_the_end(city) -> None:
    _, _, calls = city
    assert ("生成", N, N) in calls
    assert all(done <= total for _, done, total in calls)


def test_describe_lists_the_logins(city) -> None:
    text_out = city[1].describe()
    assert "1,500" in text_out and DEMO_PASSWORD in text_out and "dongfeng" in text_out


# ---- reproducibility and reruns ----------------------------------------------------------------------

def test_the_same_seed_gives_the_same_city_on_every_database(fresh_db: MakeDb) -> None:
    digests = set()
    for backend in ["sqlite", *BACKENDS]:
        engine = fresh_db(backend)
        generate_demo(engine, households=300, seed=7)
        digests.add(_digest(engine))
    assert len(digests) == 1


def test_a_different_seed_gives_a_different_city(fresh_db: MakeDb) -> None:
    a, b = fresh_db(), fresh_db()
    generate_demo(a, households=300, seed=7)
    generate_demo(b, households=300, seed=8)
    assert _digest(a) != _digest(b)
    names_a = {p.name for p in _persons(a)}
    names_b = {p.name for p in _persons(b)}
    assert names_a != names_b


def test_a_smaller_city_is_the_start_of_a_larger_one(fresh_db: MakeDb) -> None:
    small, large = fresh_db(), fresh_db()
    generate_demo(small, households=120, seed=7)
    generate_demo(large, households=300, seed=7)
    assert _digest(small) == _digest(large, limit_households=120)


def test_the_same_seed_twice_is_refused_and_changes_nothing(fresh_db: MakeDb) -> None:
    engine = fresh_db()
    assert not demo_exists(engine, 5)
    generate_demo(engine, households=50, seed=5)
    assert demo_exists(engine, 5)
    assert not demo_exists(engine, 50)  # D0050… is another seed's prefix, not a longer 5
    with pytest.raises(ValidationError, match="已存在"):
        generate_demo(engine, households=50, seed=5)
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Household)).scalar_one() == 50


@pytest.mark.parametrize("backend", BACKENDS)
def test_another_seed_loads_next_to_the_first(fresh_db: MakeDb, backend: str) -> None:
    engine = fresh_db(backend)
    generate_demo(engine, households=200, seed=1)
    second = generate_demo(engine, households=200, seed=2)
    persons = _persons(engine)
    assert len({p.id_number for p in persons}) == len(persons)
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Household)).scalar_one() == 400
        assert s.execute(select(func.count()).select_from(User).where(User.username == "admin")).scalar_one() == 1
        assert audit.verify(s).ok
        # New households get ids after the demo's (PostgreSQL's sequence was moved past them).
        with write_lock():
            s.add(Household(household_no="X1", region_code="320706006001", hukou_type="城镇"))
            s.commit()
    assert all(password != DEMO_PASSWORD for _, password, _, _ in second.users)


def test_id_numbers_avoid_those_already_registered(fresh_db: MakeDb) -> None:
    reference = fresh_db()
    generate_demo(reference, households=100, seed=3)
    first = min(_persons(reference), key=lambda p: p.id)
    engine = fresh_db()
    with write_lock(), Session(engine) as s:
        s.add(Person(id_number=first.id_number, name="张三", sex=first.sex, birth_date=first.birth_date))
        s.commit()
    generate_demo(engine, households=100, seed=3)
    persons = _persons(engine)
    assert len({p.id_number for p in persons}) == len(persons) == len(_persons(reference)) + 1


def test_a_failed_run_leaves_nothing_behind(fresh_db: MakeDb, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = fresh_db()
    monkeypatch.setattr(generator, "CHUNK_HOUSEHOLDS", 40)

    def interrupt(label: str, done: int, total: int) -> None:
        if done >= 80:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_demo(engine, households=200, seed=9, progress=interrupt)
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Household)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(Person)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(User).where(User.is_system.is_(False))).scalar_one() == 0
    assert not demo_exists(engine, 9)
    assert generate_demo(engine, households=200, seed=9).households == 200


def _schema(engine: Engine) -> list[tuple[str, ...]]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return sorted(tuple(r) for r in conn.execute(text("SELECT type, name, sql FROM sqlite_master")))
        indexes = conn.execute(text(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid::regclass::text IN ('households', 'persons', 'income_declarations')"))
        constraints = conn.execute(text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated::text "
            "FROM pg_constraint WHERE conrelid::regclass::text IN ('households', 'persons', 'income_declarations')"))
        return sorted([tuple(r) for r in indexes] + [tuple(r) for r in constraints])


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_load_leaves_every_index_and_constraint_as_the_migrations_made_them(
        fresh_db: MakeDb, backend: str) -> None:
    engine = fresh_db(backend)
    before = _schema(engine)
    assert any("uq_persons_household_head" in str(r) for r in before)
    generate_demo(engine, households=100, seed=4)
    assert _schema(engine) == before
    # And the head index still bites.
    with Session(engine) as s, pytest.raises(IntegrityError, match=r"uq_persons_household_head|UNIQUE"):
        s.execute(text("UPDATE persons SET is_head = true WHERE relation = '配偶'"))


def test_without_regions_it_asks_for_minxin_init(fresh_db: MakeDb) -> None:
    engine = fresh_db(seeded=False)
    with pytest.raises(ValidationError, match="minxin init"):
        generate_demo(engine, households=10, seed=1)


@pytest.mark.parametrize("households", [0, -5, 100_000_000])
def test_a_household_count_out_of_range_is_refused(households: int) -> None:
    with pytest.raises(ValidationError, match="户数"):
        generate_demo(make_db_engine("sqlite://"), households=households, seed=1)


def test_the_inlined_id_arithmetic_matches_make_id(city) -> None:
    for p in _persons(city[0])[:500]:
        info = parse_id(p.id_number)
        assert make_id(info.region_code, info.birth_date, int(p.id_number[14:17])) == p.id_number
