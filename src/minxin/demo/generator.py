"""The synthetic demo city: a reproducible registry of households and persons across Lianyungang.

`generate_demo(engine, households=N, seed=S)` writes N households (about 2.9 persons each) into
the communities that `minxin init` seeded, plus the demo logins, in one transaction:

1. Check that regions exist and that the demo for this seed is not there yet (`demo_exists`).
2. Reserve household ids after the current maximum (under the write lock), so persons can point
   at their household without a round trip.
3. Generate chunks of households in Python from one `random.Random(seed)` stream and hand each
   chunk to the driver's bulk path (SQLite executemany, PostgreSQL COPY; see `minxin.demo.bulk`).
   On PostgreSQL, when the tables are empty, secondary indexes and foreign keys are dropped for
   the load and put back, identical, before the commit.
4. Add the missing demo users and one audit entry, then commit.

Everything is one transaction: a run that is killed or fails leaves nothing behind, and the
next run starts from scratch. The same seed and N give the same names, ID numbers, ages and
incomes (only timestamps and the declaration date, which is the day of the run, differ); a
smaller N with the same seed gives a prefix of the larger city.

Ages are taken at the fixed REFERENCE_DATE rather than today, so the city does not change with
the calendar. ID numbers avoid those already in the database, so a second seed can be loaded
next to the first; the numbers are then no longer identical to a load into an empty database.
"""

from __future__ import annotations

import time
import unicodedata
from bisect import bisect
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from random import Random
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import ROLE_NAMES, hash_password
from minxin.core.errors import ValidationError
from minxin.core.idnumber import CHECK_CHARS, WEIGHTS
from minxin.demo import data
from minxin.demo.bulk import date_text, deferred_postgres_checks, fast_load, insert_rows, timestamp_text
from minxin.infra.clock import today
from minxin.infra.db import utcnow, write_lock
from minxin.registry.facts import bulk_facts
from minxin.registry.models import Household, IncomeDeclaration, Person, Region

__all__ = ["DEMO_PASSWORD", "REFERENCE_DATE", "DemoSummary", "demo_exists", "generate_demo", "household_prefix"]

DEMO_PASSWORD = "minxin-demo-2012"  # noqa: S105 - the published password of the demo logins
# Ages are computed at this date, so a seed gives the same birth dates whatever day it runs.
REFERENCE_DATE = date(2026, 1, 1)
# Households per bulk statement: large enough that per-statement overhead vanishes, small
# enough that a chunk's rows (about 3 persons per household) stay a few tens of MB.
CHUNK_HOUSEHOLDS = 25_000
MAX_HOUSEHOLDS = 99_999_999  # the household number has 8 digits after the seed

Progress = Callable[[str, int, int], None]

HOUSEHOLD_COLUMNS = ("id", "household_no", "region_code", "hukou_type", "address", "phone",
                     "monthly_income_fen", "income_declared_on", "created_at", "updated_at")
PERSON_COLUMNS = ("id_number", "name", "sex", "birth_date", "household_id", "relation", "is_head",
                  "region_code", "phone", "disability_grade", "health_status", "monthly_income_fen",
                  "created_at", "updated_at")
DECLARATION_COLUMNS = ("household_id", "declared_on", "monthly_income_fen", "source", "created_at")
TABLES = ("households", "persons", "income_declarations")


@dataclass
class DemoSummary:
    households: int
    persons: int
    users: list[tuple[str, str, str, str]]  # (username, password, role, scope)
    seconds: float

    def describe(self) -> str:
        """A short report for the terminal, with the table of demo logins."""
        lines = [
            f"演示城市已生成 Demo city: {self.households:,} 户 households, {self.persons:,} 人 persons, "
            f"{self.seconds:.1f} s",
        ]
        if self.users:
            lines.append("演示账号 Demo logins:")
            widths = (12, 22, 32)
            header = ("用户名 user", "密码 password", "角色 role", "范围 scope")
            rows = [(u, p, f"{r} {ROLE_NAMES.get(r, '')}", s) for u, p, r, s in self.users]
            for row in [header, *rows]:
                lines.append("  " + "".join(_pad(cell, w) for cell, w in zip(row, widths, strict=False)) + row[3])
        return "\n".join(lines)


def _pad(cell: str, width: int) -> str:
    """Left-align in a terminal, where a Chinese character takes two columns."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in cell)
    return cell + " " * max(1, width - used)


def household_prefix(seed: int) -> str:
    """Household numbers of the demo for `seed` are this prefix plus 8 digits (D2012 00000001)."""
    return f"D{seed:04d}"


def _demo_exists(conn: Connection | Session, seed: int) -> bool:
    prefix = household_prefix(seed)
    # A range on the unique index (not LIKE, which SQLite would not index) and the exact length,
    # so that seed 12345's numbers (D12345…) are not mistaken for seed 1234's (D1234…).
    found = conn.execute(
        select(Household.id).where(
            Household.household_no >= prefix + "00000000",
            Household.household_no <= prefix + "99999999",
            func.length(Household.household_no) == len(prefix) + 8,
        ).limit(1)
    ).first()
    return found is not None


def demo_exists(engine: Engine, seed: int) -> bool:
    """True if the demo households of this seed are already in the database."""
    with engine.connect() as conn:
        return _demo_exists(conn, seed)


def generate_demo(engine: Engine, *, households: int, seed: int, progress: Progress | None = None,
                  actor: str = "system") -> DemoSummary:
    """Generate the demo city into the database (one transaction). See the module docstring."""
    if not 1 <= households <= MAX_HOUSEHOLDS:
        raise ValidationError(f"户数应在 1 到 {MAX_HOUSEHOLDS:,} 之间 (households out of range)",
                              field="households")
    started = time.perf_counter()
    # Argon2 on purpose costs tens of milliseconds: hash once, outside the write lock.
    password_hash = hash_password(DEMO_PASSWORD)
    now = utcnow()
    now_text = timestamp_text(now)
    today_text = date_text(today())  # the bureau's date (Asia/Shanghai), like every other declaration
    persons = 0
    with write_lock(), engine.connect() as conn, fast_load(conn), conn.begin():
        communities = [
            (code, name, bool(urban)) for code, name, urban in conn.execute(
                select(Region.code, Region.name, Region.urban)
                .where(Region.level == "community").order_by(Region.code)
            )
        ]
        if not communities:
            raise ValidationError("没有社区数据，请先运行 minxin init (no communities: run minxin init first)")
        if _demo_exists(conn, seed):
            raise ValidationError(f"种子 {seed} 的演示数据已存在，可换一个种子 "
                                  f"(the demo for seed {seed} already exists; use another seed)", field="seed")
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            # Nobody else may add households while we hand out ids past the current maximum.
            conn.execute(text("LOCK TABLE households IN SHARE ROW EXCLUSIVE MODE"))
        first_id = (conn.execute(select(func.max(Household.id))).scalar() or 0) + 1
        taken: set[str] = set()
        if conn.execute(select(Person.id).limit(1)).first():
            taken = set(conn.execute(select(Person.id_number)).scalars())
        empty = first_id == 1 and not taken and not conn.execute(select(IncomeDeclaration.id).limit(1)).first()
        city = _City(Random(seed), communities, taken)
        prefix = household_prefix(seed)
        with bulk_facts(conn, first_id=first_id, last_id=first_id + households - 1), \
                deferred_postgres_checks(conn, TABLES) if empty else nullcontext():
            for start in range(0, households, CHUNK_HOUSEHOLDS):
                count = min(CHUNK_HOUSEHOLDS, households - start)
                hh_rows, person_rows, decl_rows = city.households(
                    prefix=prefix, first_index=start + 1, count=count, first_id=first_id + start,
                    now=now_text, today=today_text,
                )
                insert_rows(conn, "households", HOUSEHOLD_COLUMNS, hh_rows)
                insert_rows(conn, "persons", PERSON_COLUMNS, person_rows)
                insert_rows(conn, "income_declarations", DECLARATION_COLUMNS, decl_rows)
                persons += len(person_rows)
                if progress:
                    progress("生成", start + count, households)
            if progress and empty and postgres:
                progress("索引", households, households)
        if postgres:
            # The ids were given explicitly, so move the sequence past them.
            conn.execute(text(
                "SELECT setval(pg_get_serial_sequence('households', 'id'), (SELECT max(id) FROM households))"
            ))
            # Fresh statistics now (a sample, a second or two), so the first pages after the load
            # are not planned as if the tables were still empty.
            conn.execute(text("ANALYZE households, persons, income_declarations"))
        if progress:
            progress("账号", households, households)
        with Session(bind=conn) as session:
            users = _ensure_demo_users(session, password_hash)
            audit.record(session, actor=actor, action="demo.generate", entity="demo", entity_id=seed,
                         detail={"seed": seed, "households": households, "persons": persons,
                                 "first_household_id": first_id, "household_prefix": prefix,
                                 "users_created": [u[0] for u in users if u[1] == DEMO_PASSWORD]})
            session.flush()
    return DemoSummary(households=households, persons=persons, users=users,
                       seconds=time.perf_counter() - started)


def _ensure_demo_users(session: Session, password_hash: str) -> list[tuple[str, str, str, str]]:
    """Create the demo logins that are missing; an existing account is listed, never changed."""
    names: dict[str, str] = dict(session.execute(select(Region.code, Region.name)).all())
    existing = {u.username: u for u in session.execute(
        select(User).where(User.username.in_([u[0] for u in data.DEMO_USERS]))).scalars()}
    out: list[tuple[str, str, str, str]] = []
    for username, role, scope, display in data.DEMO_USERS:
        user = existing.get(username)
        if user is not None:
            out.append((user.username, "(已存在 unchanged)", user.role, user.scope_code))
            continue
        if scope not in names:
            continue  # a city seeded without this region simply has no such demo login
        if role == "town_officer":
            display = f"{names[scope]}民政办"
        elif role == "community_worker":
            display = f"{names[scope]}专干"
        session.add(User(username=username, display_name=display, role=role, scope_code=scope,
                         password_hash=password_hash))
        out.append((username, DEMO_PASSWORD, role, scope))
    session.flush()
    return out


# ---- the synthetic population --------------------------------------------------------------------

# Health and disability, drawn per person.
_ELDERLY_HEALTH = (("慢性病", 0.35), ("重病", 0.04), ("失能", 0.03))
# Share of households in hardship (unemployment, illness): their working members earn little.
_HARDSHIP = {True: 0.02, False: 0.03}
_ID_SLOTS = 499  # sequence numbers per (code, birth date, sex): odd 001-997 for men, even 002-998


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    """Part of the GB 11643 check sum: positions `digits` times their weights."""
    return sum(int(ch) * w for ch, w in zip(digits, weights, strict=True))


def _cumulative(weights: list[float] | tuple[float, ...]) -> tuple[list[float], float]:
    cum = list(accumulate(weights))
    return cum, cum[-1]


class _City:
    """Tables precomputed once, and the state that must persist across chunks (ID counters)."""

    def __init__(self, rng: Random, communities: list[tuple[str, str, bool]], taken: set[str]) -> None:
        self.rng = rng
        self.taken = taken
        counties = list(data.COUNTY_WEIGHTS)
        per_county: dict[str, float] = {}
        for code, _name, urban in communities:
            per_county[code[:6]] = per_county.get(code[:6], 0.0) + (data.URBAN_COMMUNITY_WEIGHT if urban else 1.0)
        self.comm_codes = [c for c, _, _ in communities]
        self.comm_names = [n for _, n, _ in communities]
        self.comm_urban = [u for _, _, u in communities]
        # Communities of a county share its population in proportion to their own weight.
        self.comm_county = [counties.index(c[:6]) if c[:6] in counties else 0 for c in self.comm_codes]
        weights = [
            data.COUNTY_WEIGHTS.get(code[:6], 1.0) * (data.URBAN_COMMUNITY_WEIGHT if urban else 1.0)
            / per_county[code[:6]]
            for code, _, urban in communities
        ]
        self.comm_cum, self.comm_total = _cumulative(weights)

        # ID numbers: the six current county codes, then the historical ones.
        self.id_codes = [*counties, *(code for alts in data.HISTORICAL_ID_CODES.values() for code, _ in alts)]
        self.code_sums = [_weighted(code, WEIGHTS[:6]) for code in self.id_codes]
        self.pre_reform: list[tuple[int, float]] = []
        for county in counties:
            alts = data.HISTORICAL_ID_CODES.get(county, ())
            self.pre_reform.append((self.id_codes.index(alts[0][0]), alts[0][1]) if alts else (0, -1.0))
        # Every day from 105 years before the reference date: ISO text, YYYYMMDD, weighted sum.
        first_day = date(REFERENCE_DATE.year - 105, 1, 1)
        ndays = (REFERENCE_DATE - first_day).days + 1
        self.day_iso: list[str] = []
        self.day_ymd: list[str] = []
        self.day_sum: list[int] = []
        # The weighted sum splits into a year part and a month-day part, each computed once.
        year_sum = {y: _weighted(f"{y:04d}", WEIGHTS[6:10]) for y in range(first_day.year, REFERENCE_DATE.year + 1)}
        md_sum = {(m, d): _weighted(f"{m:02d}{d:02d}", WEIGHTS[10:14]) for m in range(1, 13) for d in range(1, 32)}
        for k in range(ndays):
            d = first_day + timedelta(days=k)
            iso = d.isoformat()
            self.day_iso.append(iso)
            self.day_ymd.append(iso.replace("-", ""))
            self.day_sum.append(year_sum[d.year] + md_sum[(d.month, d.day)])
        self.reference_day = ndays - 1
        self.reform_day = (date.fromisoformat(data.REFORM_DATE_ISO) - first_day).days
        self.old_style_day = (date(data.OLD_STYLE_BEFORE_YEAR, 1, 1) - first_day).days
        self.seq_text = [f"{s:03d}" for s in range(1000)]
        self.seq_sum = [_weighted(f"{s:03d}", WEIGHTS[14:17]) for s in range(1000)]
        self.counts: dict[int, int] = {}

        self.surnames = [s for s, _ in data.SURNAMES]
        self.surname_cum, self.surname_total = _cumulative([w for _, w in data.SURNAMES])
        # Indexed by 2 * male + old-style.
        self.given = [data.GIVEN_NAMES[("F", False)], data.GIVEN_NAMES[("F", True)],
                      data.GIVEN_NAMES[("M", False)], data.GIVEN_NAMES[("M", True)]]
        self.shape_cum = {urban: _cumulative(w) for urban, w in data.FAMILY_WEIGHTS.items()}
        grades: list[int] = []
        for grade, share in data.DISABILITY_GRADE_WEIGHTS:
            grades += [grade] * round(share * 20)
        self.grades = grades

    def households(self, *, prefix: str, first_index: int, count: int, first_id: int, now: str,
                   today: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Rows for households number first_index … first_index+count-1 (ids from first_id).

        One long function on purpose: at millions of persons every attribute look-up and call
        shows, so the tables are bound to locals and each person is one closure call.
        """
        rnd = self.rng.random
        comm_cum, comm_total = self.comm_cum, self.comm_total
        comm_codes, comm_names, comm_urban, comm_county = (
            self.comm_codes, self.comm_names, self.comm_urban, self.comm_county)
        id_codes, code_sums, pre_reform = self.id_codes, self.code_sums, self.pre_reform
        day_iso, day_ymd, day_sum = self.day_iso, self.day_ymd, self.day_sum
        reference_day, reform_day, old_style_day = self.reference_day, self.reform_day, self.old_style_day
        seq_text, seq_sum = self.seq_text, self.seq_sum
        counts = self.counts
        counts_get = counts.get
        taken = self.taken
        surnames, surname_cum, surname_total = self.surnames, self.surname_cum, self.surname_total
        given = self.given
        given_len = [len(g) for g in given]
        grades = self.grades
        n_grades = len(grades)
        roads = data.ROADS
        n_roads = len(roads)
        mobile = data.MOBILE_SECOND_DIGIT
        n_mobile = len(mobile)
        moved_share = data.MOVED_WITHIN_CITY
        n_counties = len(data.COUNTY_WEIGHTS)
        elderly_health = _ELDERLY_HEALTH
        check_chars = CHECK_CHARS
        shape_cum = self.shape_cum

        hh_rows: list[tuple[Any, ...]] = []
        person_rows: list[tuple[Any, ...]] = []
        decl_rows: list[tuple[Any, ...]] = []
        add_person = person_rows.append

        # Household context read by person(); rebound for every household below.
        hid = 0
        region = ""
        county = 0
        urban = True
        hard = False
        head_phone: str | None = None
        head_extra = 0  # yuan the head receives on top of their own earnings (remittances)

        def surname() -> str:
            return surnames[bisect(surname_cum, rnd() * surname_total)]

        def person(relation: str, male: bool, age: int, family_name: str) -> int:
            """Append one member; return their monthly income in fen."""
            nonlocal head_phone
            if age < 0:
                age = 0
            elif age > 100:
                age = 100
            day = reference_day - int(age * 365.2425) - int(rnd() * 365)
            if day < 0:
                day = 0
            # The address code of the ID number: where the number was issued, not where one lives.
            issued = county
            if age >= 18 and rnd() < moved_share:
                issued = int(rnd() * n_counties)
            code = issued
            if day < reform_day:
                alt, share = pre_reform[issued]
                if rnd() < share:
                    code = alt
            sexbit = 1 if male else 0
            while True:
                key = (((day << 4) | code) << 1) | sexbit
                k = counts_get(key, 0)
                if k >= _ID_SLOTS:
                    day = day - 1 if day > 0 else reference_day  # practically never: 499 a day
                    continue
                counts[key] = k + 1
                # Walk the slots from a start that depends on the key, so numbers look scattered.
                seq = 2 * ((key * 7919 + k) % _ID_SLOTS) + (1 if male else 2)
                id_number = (id_codes[code] + day_ymd[day] + seq_text[seq]
                             + check_chars[(code_sums[code] + day_sum[day] + seq_sum[seq]) % 11])
                if not taken or id_number not in taken:
                    break
            pool = (sexbit << 1) | (day < old_style_day)
            name = family_name + given[pool][int(rnd() * given_len[pool])]

            # Health: the elderly and households in hardship are ill or disabled more often.
            grade = None
            health = None
            p_disabled = 0.01 if age < 18 else (0.018 if age < 60 else 0.045)
            if hard:
                p_disabled *= 3
            if rnd() < p_disabled:
                grade = grades[int(rnd() * n_grades)]
                health = "失能" if age >= 60 and grade <= 2 and rnd() < 0.4 else "残疾"
            elif age >= 60:
                r = rnd()
                health = "健康"
                for status, share in elderly_health:
                    if r < share:
                        health = status
                        break
                    r -= share
            elif rnd() < 0.4:
                r = rnd()
                health = "慢性病" if r < 0.08 else ("重病" if r < 0.1 else "健康")

            # Monthly income in yuan.
            if age < 18:
                income = 0
            elif age >= (60 if male else 55):  # retirement age: pension, support, a little farming
                if hard:
                    income = 150 + int(450 * rnd()) if urban else 120 + int(280 * rnd())
                elif urban:
                    # Most urban elderly draw an employee pension; the rest a residents' pension
                    # and their children's support.
                    income = 1500 + int(2500 * rnd()) if rnd() < 0.7 else 300 + int(900 * rnd())
                else:
                    income = 150 + int(250 * rnd())
                    if rnd() < 0.95:
                        income += 300 + int(900 * rnd())  # children's support, farming
            elif (grade is not None and grade <= 2) or health == "重病" or health == "失能":
                income = 0 if rnd() < 0.7 else int(300 * rnd())
            elif age < 22 and rnd() < 0.7:
                income = 0  # student
            elif hard:
                income = 0 if rnd() < 0.45 else 200 + int(900 * rnd())
            elif rnd() < 0.06:
                income = 0 if rnd() < 0.5 else 300 + int(600 * rnd())  # out of work, odd jobs
            elif urban:
                income = 1800 + int(5200 * rnd() * rnd())
                if rnd() < 0.05:
                    income += int(8000 * rnd())
            else:
                income = 1200 + int(2800 * rnd())  # farming and migrant work
            is_head = relation == "户主"
            if is_head:
                income += head_extra
            income_fen = (income // 10) * 1000
            phone = None
            if (is_head and rnd() < 0.95) or (not is_head and 18 <= age <= 70 and rnd() < 0.5):
                phone = f"1{mobile[int(rnd() * n_mobile)]}{int(rnd() * 1_000_000_000):09d}"
            if is_head:
                head_phone = phone
            add_person((id_number, name, "M" if male else "F", day_iso[day], hid, relation, is_head, region,
                        phone, grade, health, income_fen, now, now))
            return income_fen

        def spouse_age(head_male: bool, head_age: int) -> int:
            age = head_age - 5 + int(rnd() * 8) if head_male else head_age - 2 + int(rnd() * 8)
            return age if age >= 20 else 20

        def children(n: int, head_age: int, family_name: str) -> int:
            """n children 20-40 years younger than the head; the second younger than the first."""
            span = (40 if head_age >= 40 else head_age) - 20
            if span < 0:
                return 0
            age = head_age - 20 - int((rnd() + rnd()) * 0.5 * (span + 1))
            income = person("子女", rnd() < 0.52, age, family_name)
            if n > 1:
                second = age - 1 - int(rnd() * 7)
                low = head_age - 40 if head_age > 40 else 0
                income += person("子女", rnd() < 0.52, second if second >= low else low, family_name)
            return income

        for n in range(count):
            hid = first_id + n
            c = bisect(comm_cum, rnd() * comm_total)
            region = comm_codes[c]
            county = comm_county[c]
            urban_place = comm_urban[c]
            urban = (rnd() < 0.9) == urban_place  # 90% of a community has its usual hukou
            cum, total = shape_cum[urban]
            shape = bisect(cum, rnd() * total)
            hard = rnd() < _HARDSHIP[urban]
            head_phone = None
            head_extra = 0
            family = surname()
            income = 0

            if shape == data.SINGLE_YOUNG:
                income += person("户主", rnd() < 0.55, 20 + int(rnd() * 26), family)
            elif shape == data.SINGLE_OLD:
                income += person("户主", rnd() < 0.4, 60 + int(rnd() * rnd() * 36), family)
            elif shape == data.OLD_COUPLE:
                male = rnd() < 0.85
                age = 60 + int(rnd() * rnd() * 32)
                income += person("户主", male, age, family)
                income += person("配偶", not male, spouse_age(male, age), surname())
            elif shape in (data.COUPLE, data.COUPLE_1, data.COUPLE_2):
                male = rnd() < 0.8
                age = (22 + int(rnd() * 38)) if shape == data.COUPLE else (24 + int(rnd() * 34))
                spouse_name = surname()
                income += person("户主", male, age, family)
                income += person("配偶", not male, spouse_age(male, age), spouse_name)
                if shape != data.COUPLE:
                    income += children(1 if shape == data.COUPLE_1 else 2, age,
                                       family if male else spouse_name)
            elif shape == data.THREE_GEN_UP:
                male = rnd() < 0.75
                age = 32 + int(rnd() * 24)
                spouse_name = surname()
                income += person("户主", male, age, family)
                income += person("配偶", not male, spouse_age(male, age), spouse_name)
                income += children(1 if rnd() < 0.6 else 2, age, family if male else spouse_name)
                father_age = age + 22 + int(rnd() * 12)
                r = rnd()
                if r < 0.5:  # both parents
                    income += person("父母", True, father_age, family)
                    income += person("父母", False, father_age - int(rnd() * 5), surname())
                elif r < 0.8:  # a widowed mother
                    income += person("父母", False, father_age - int(rnd() * 5), surname())
                else:
                    income += person("父母", True, father_age, family)
            elif shape == data.THREE_GEN_DOWN:
                male = rnd() < 0.75
                age = 58 + int(rnd() * 27)
                spouse_name = surname()
                income += person("户主", male, age, family)
                if rnd() < 0.7:
                    income += person("配偶", not male, spouse_age(male, age), spouse_name)
                child_name = family if male else spouse_name
                son = rnd() < 0.7
                child_age = age - 22 - int(rnd() * 12)
                in_law_name = surname()
                income += person("子女", son, child_age, child_name)
                income += person("其他", not son, spouse_age(son, child_age), in_law_name)
                grand_name = child_name if son else in_law_name
                grand_age = child_age - 22 - int(rnd() * 10)
                income += person("孙子女", rnd() < 0.52, grand_age, grand_name)
                if rnd() < 0.4:
                    income += person("孙子女", rnd() < 0.52, grand_age - 1 - int(rnd() * 6), grand_name)
            elif shape == data.SINGLE_PARENT:
                male = rnd() < 0.3
                age = 28 + int(rnd() * 25)
                income += person("户主", male, age, family)
                kids_name = family if male or rnd() < 0.3 else surname()
                income += children(1 if rnd() < 0.65 else 2, age, kids_name)
            elif shape == data.SIBLINGS:
                male = rnd() < 0.6
                age = 30 + int(rnd() * 46)
                income += person("户主", male, age, family)
                sibling_age = age - 8 + int(rnd() * 17)
                income += person("兄弟姐妹", rnd() < 0.5, sibling_age if sibling_age >= 18 else 18, family)
            else:  # LEFT_BEHIND: grandparents raising grandchildren
                male = rnd() < 0.6
                age = 55 + int(rnd() * 25)
                spouse_name = surname()
                if not hard:
                    head_extra = 500 + int(1500 * rnd())  # what the parents working away send home
                income += person("户主", male, age, family)
                if rnd() < 0.55:
                    income += person("配偶", not male, spouse_age(male, age), spouse_name)
                grand_name = family if male else surname()
                grand_age = 2 + int(rnd() * 14)
                income += person("孙子女", rnd() < 0.52, grand_age, grand_name)
                if rnd() < 0.45:
                    income += person("孙子女", rnd() < 0.52, grand_age - 1 - int(rnd() * 5), grand_name)

            if urban_place:
                address = (f"{roads[int(rnd() * n_roads)]}{1 + int(rnd() * 300)}号{1 + int(rnd() * 30)}栋"
                           f"{1 + int(rnd() * 18)}0{1 + int(rnd() * 4)}室")
            else:
                address = f"{comm_names[c]}{1 + int(rnd() * 12)}组{1 + int(rnd() * 80)}号"
            hh_rows.append((hid, f"{prefix}{first_index + n:08d}", region, "城镇" if urban else "农村", address,
                            head_phone, income, today, now, now))
            decl_rows.append((hid, today, income, "demo", now))
        return hh_rows, person_rows, decl_rows
