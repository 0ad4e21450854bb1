"""Registry operations: regions, households and persons, search, income declarations, counts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVarTuple, cast

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, can_see, require, scoped
from minxin.core._text import LIKE_ESCAPE, MAX_LENGTH, clean_text, escape_like, is_ascii_digits, optional_text
from minxin.core.divisions import county_of, scope_prefix
from minxin.core.errors import Conflict, NotFound, ValidationError
from minxin.core.idnumber import normalize_id, parse_id
from minxin.core.masking import mask_id
from minxin.infra.clock import today
from minxin.infra.db import is_db_id, table_of
from minxin.kit.paging import Page, paginate
from minxin.regions import LABEL_SEPARATOR, community_labels
from minxin.regions import region_label as region_label
from minxin.regions import region_labels as region_labels
from minxin.regions import region_names as region_names  # re-exported: callers read regions here
from minxin.regions import region_path as region_path
from minxin.registry import regions_data
from minxin.registry.models import (
    DISABILITY_GRADES,
    HEALTH_STATUSES,
    HUKOU_TYPES,
    RELATIONS,
    Household,
    IncomeDeclaration,
    Institution,
    Person,
    Region,
)

Ts = TypeVarTuple("Ts")

# ---- regions -------------------------------------------------------------------------------------


def seed_regions(session: Session, *, communities_per_town: int = 6) -> int:
    """Load the city, its counties (with 2012 aliases), towns and demo communities. Idempotent."""
    existing = set(session.execute(select(Region.code)).scalars())
    rows: list[dict[str, Any]] = []

    def add(code: str, name: str, level: str, parent: str | None, urban: bool,
            alias_of: str | None = None, note: str | None = None) -> None:
        if code not in existing:
            existing.add(code)
            rows.append({"code": code, "name": name, "level": level, "parent_code": parent, "urban": urban,
                         "alias_of": alias_of, "note": note})

    city_code, city_name = regions_data.CITY
    add(city_code, city_name, "city", None, True)
    for code, name, urban in regions_data.COUNTIES:
        add(code, name, "county", city_code, urban)
    for code, name, alias_of, note in regions_data.HISTORICAL:
        add(code, name, "county", city_code, alias_of == "320706", alias_of=alias_of, note=note)
    for county, towns in regions_data.TOWNS.items():
        for suffix, town_name in towns:
            town_code = county + suffix
            add(town_code, town_name, "town", county, town_name.endswith("街道"))
            for c_code, c_name, urban in regions_data.communities_for(town_code, town_name,
                                                                     communities_per_town):
                add(c_code, c_name, "community", town_code, urban)
    if rows:
        session.execute(table_of(Region).insert(), rows)
    return len(rows)


def list_regions(session: Session, *, level: str | None = None, parent: str | None = None,
                 include_historical: bool = True) -> list[Region]:
    stmt = select(Region).order_by(Region.code)
    if level:
        if level not in ("city", "county", "town", "community"):
            raise ValidationError(f"未知层级：{level}；可选 county/town/community (unknown level)", field="level")
        stmt = stmt.where(Region.level == level)
    if parent:
        stmt = stmt.where(Region.parent_code == parent)
    if not include_historical:
        stmt = stmt.where(Region.alias_of.is_(None))
    return list(session.execute(stmt).scalars())


def counties_for(session: Session, user: User) -> list[Region]:
    """The counties (区县, current codes) the user's scope covers or lies in, in code order.

    The one answer to "which counties' rows does this user see": a city user (city admin, call agent,
    auditor) gets every county, a county officer their county, a town officer or community worker the
    one county their scope lies in.
    """
    stmt = select(Region).where(Region.level == "county", Region.alias_of.is_(None)).order_by(Region.code)
    own = county_of(user.scope_code)
    stmt = stmt.where(Region.code == own) if own else stmt.where(Region.code.like(scope_prefix(user.scope_code) + "%"))
    return list(session.execute(stmt).scalars())


def region_choices_for(session: Session, user: User) -> list[Region]:
    """The current counties and towns inside the user's scope, in code order (each county before its
    towns): what a region filter or a form offers the user."""
    stmt = (select(Region).where(Region.level.in_(("county", "town")), Region.alias_of.is_(None),
                                 Region.code.like(scope_prefix(user.scope_code) + "%"))
            .order_by(Region.code))
    return list(session.execute(stmt).scalars())


# ---- households and persons ----------------------------------------------------------------------

RELATION_ALIASES = {"本人": "户主"}


def normalize_relation(value: str) -> str:
    rel = RELATION_ALIASES.get(value.strip(), value.strip())
    if rel not in RELATIONS:
        raise ValidationError(
            f"与户主关系必须是 户主/本人、{'、'.join(RELATIONS[1:])} 之一 (unknown relation)", field="与户主关系"
        )
    return rel


def normalize_disability(value: object) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    if text in ("", "无", "0", "否"):
        return None
    if text in DISABILITY_GRADES:
        return DISABILITY_GRADES[text]
    if text.endswith(".0"):
        text = text[:-2]
    if text in ("1", "2", "3", "4"):
        return int(text)
    raise ValidationError("残疾等级必须是 一级/二级/三级/四级（或 1-4、无） (bad disability grade)", field="残疾等级")


def normalize_phone(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip().replace(" ", "").replace("-", "")
    if text.endswith(".0"):
        text = text[:-2]
    if not text:
        return None
    if not is_ascii_digits(text) or not (7 <= len(text) <= 12) or (len(text) == 11 and not text.startswith("1")):
        raise ValidationError("联系电话应为 11 位手机号或 7–12 位固定电话 (bad phone number)", field="联系电话")
    return text


def normalize_hukou(value: str) -> str:
    v = value.strip()
    if v not in HUKOU_TYPES:
        raise ValidationError("户籍类别必须是 城镇 或 农村 (hukou must be 城镇 or 农村)", field="户籍类别")
    return v


def check_name(value: object) -> str:
    """A person's name: not blank, at most 32 characters, no digits, control, direction or invisible characters."""
    name = clean_text(value, label="姓名", max_length=MAX_LENGTH["person_name"], required=True, name=True)
    if any(ch.isdigit() for ch in name):
        raise ValidationError("姓名格式不正确 (bad name)", field="姓名")
    return name


def check_household_no(value: object) -> str:
    """户编号: not blank, at most 32 characters (the column's length), no control or invisible characters."""
    return clean_text(value, label="户编号", max_length=MAX_LENGTH["household_no"], required=True, name=True)


def check_address(value: object) -> str | None:
    return optional_text(value, label="住址", max_length=MAX_LENGTH["address"], field="住址")


def outside_scope_message() -> str:
    """What a refusal says about a record outside the user's scope: that it exists, nothing more."""
    return "已在其他辖区登记 (already registered outside your scope)"


def community_region(session: Session, code: str) -> Region:
    region = session.get(Region, code.strip())
    if region is None or region.level != "community":
        raise ValidationError(f"未知社区代码：{code} (unknown community code)", field="社区代码")
    return region


@dataclass
class MemberIn:
    name: str
    id_number: str
    relation: str
    phone: str | None = None
    disability_grade: int | None = None
    health_status: str | None = None
    monthly_income_fen: int = 0


@dataclass
class HouseholdIn:
    household_no: str
    region_code: str
    hukou_type: str
    members: list[MemberIn] = field(default_factory=list)
    address: str | None = None
    phone: str | None = None
    assets_fen: int | None = None


def find_household_of(session: Session, id_numbers: list[str], *, user: User) -> dict[str, str | None]:
    """Map each ID number already registered in a household to that household's number, or to None
    where the household lies outside ``user``'s scope (whose refusal must not say which household)."""
    found: dict[str, str | None] = {}
    for i in range(0, len(id_numbers), 500):
        chunk = id_numbers[i:i + 500]
        rows = session.execute(
            select(Person.id_number, Household.household_no, Household.region_code)
            .join(Household, Person.household_id == Household.id)
            .where(Person.id_number.in_(chunk))
        )
        found.update((number, no if can_see(user, region) else None) for number, no, region in rows)
    return found


def existing_household_numbers(session: Session, numbers: list[str], *, user: User) -> dict[str, bool]:
    """Which of these 户编号 are taken, each with whether the household is inside ``user``'s scope."""
    found: dict[str, bool] = {}
    for i in range(0, len(numbers), 500):
        rows = session.execute(select(Household.household_no, Household.region_code)
                               .where(Household.household_no.in_(numbers[i:i + 500])))
        found.update((no, can_see(user, region)) for no, region in rows)
    return found


def taken_id_message(household_no: str | None) -> str:
    """The refusal for a person already in a household: its number within scope, else only that."""
    if household_no is None:
        return f"此人{outside_scope_message()}"
    return f"此人已登记在户 {household_no} 中 (person already in household {household_no})"


def taken_household_no_message(household_no: str, *, in_scope: bool) -> str:
    if not in_scope:
        return f"户编号{outside_scope_message()}"
    return f"户编号 {household_no} 已存在 (household number already registered)"


def create_household(session: Session, *, actor: User, data: HouseholdIn) -> Household:
    """Register a household with its members; a person already in another household is refused."""
    require(actor, Perm.REGISTRY_WRITE)
    region = community_region(session, data.region_code)
    if not can_see(actor, region.code):
        raise NotFound(f"未知社区代码：{data.region_code} (unknown community code)", field="社区代码")
    hukou = normalize_hukou(data.hukou_type)
    no = check_household_no(data.household_no)
    address = check_address(data.address)
    taken_no = existing_household_numbers(session, [no], user=actor)
    if taken_no:
        raise Conflict(f"户编号已存在：{no} (household number exists)" if taken_no[no]
                       else taken_household_no_message(no, in_scope=False), field="户编号")
    if not data.members:
        raise ValidationError("一户至少要有一名成员 (a household needs members)", field="members")
    heads = []
    numbers: list[str] = []
    for m in data.members:
        m.id_number = normalize_id(m.id_number)
        m.relation = normalize_relation(m.relation)
        m.name = check_name(m.name)
        if m.monthly_income_fen < 0:
            raise ValidationError("月收入不能为负数 (income must not be negative)", field="月收入")
        if m.health_status is not None and m.health_status not in HEALTH_STATUSES:
            raise ValidationError(f"健康状况必须是 {'/'.join(HEALTH_STATUSES)} 之一", field="健康状况")
        if m.id_number in numbers:
            raise ValidationError(f"同一身份证号出现两次：{mask_id(m.id_number)}", field="身份证号")
        numbers.append(m.id_number)
        if m.relation == "户主":
            heads.append(m)
    if len(heads) != 1:
        raise ValidationError(
            "一户必须有且只有一名户主 (a household needs exactly one head)" if heads
            else "户内没有户主 (the household has no head)", field="与户主关系",
        )
    taken = find_household_of(session, numbers, user=actor)
    if taken:
        n, h = next(iter(taken.items()))
        who = f"第 {numbers.index(n) + 1} 名成员：" if len(numbers) > 1 else ""
        raise Conflict(f"{who}{taken_id_message(h)}" if h is None else
                       f"身份证号 {mask_id(n)} 已登记在户 {h} 中 (person already in household {h})",
                       field="身份证号")
    income = sum(m.monthly_income_fen for m in data.members)
    household = Household(
        household_no=no, region_code=region.code, hukou_type=hukou, address=address,
        phone=normalize_phone(data.phone), monthly_income_fen=income, assets_fen=data.assets_fen,
        income_declared_on=today(),
    )
    session.add(household)
    session.flush()
    for m in data.members:
        info = parse_id(m.id_number)
        person = session.execute(select(Person).where(Person.id_number == m.id_number)).scalar_one_or_none()
        if person is None:
            person = Person(id_number=m.id_number, sex=info.sex, birth_date=info.birth_date)
            session.add(person)
        person.name = m.name
        person.household_id = household.id
        person.relation = m.relation
        person.is_head = m.relation == "户主"
        person.region_code = region.code
        person.phone = normalize_phone(m.phone)
        person.disability_grade = m.disability_grade
        person.health_status = m.health_status
        person.monthly_income_fen = m.monthly_income_fen
    session.add(IncomeDeclaration(household_id=household.id, declared_on=today(),
                                  monthly_income_fen=income, assets_fen=data.assets_fen, source="register"))
    session.flush()
    audit.record(session, actor=actor.username, action="household.create", entity="household",
                 entity_id=household.id, region_code=region.code,
                 detail={"household_no": no, "members": len(data.members)})
    return household


def get_household_for(session: Session, user: User, household_id: int) -> Household:
    """The one way to read a household: missing and out-of-scope look alike (NotFound)."""
    require(user, Perm.REGISTRY_READ)
    household = session.execute(
        select(Household).options(selectinload(Household.members)).where(Household.id == household_id)
    ).scalar_one_or_none() if is_db_id(household_id) else None
    if household is None or not can_see(user, household.region_code):
        raise NotFound(f"户不存在：{household_id} (no such household)")
    return household


def get_household_by_no_for(session: Session, user: User, household_no: str, *, field: str = "户编号") -> Household:
    """A household by its number (户编号) within the user's scope; NotFound alike for missing and out of scope."""
    number = household_no.strip()
    if not number:
        raise ValidationError("请填写户编号 (household number is required)", field=field)
    number = check_household_no(number)
    found = session.execute(select(Household.id).where(Household.household_no == number)).scalar()
    try:
        return get_household_for(session, user, found if found is not None else 0)
    except NotFound:
        raise NotFound(f"户编号 {number[:32]} 不存在或不在您的辖区内 (no such household in your scope)",
                       field=field) from None


def get_person_for(session: Session, user: User, person_id: int) -> Person:
    require(user, Perm.REGISTRY_READ)
    person = session.get(Person, person_id) if is_db_id(person_id) else None
    if person is None or not can_see(user, person.region_code):
        raise NotFound(f"人员不存在：{person_id} (no such person)")
    return person


def reveal_id_number(session: Session, *, user: User, person_id: int, reason: str | None = None) -> str:
    """Show a full ID number to a user whose scope covers the person; every view is audited."""
    require(user, Perm.PII_VIEW)
    person = get_person_for(session, user, person_id)
    audit.record(session, actor=user.username, action="person.view_id", entity="person", entity_id=person.id,
                 region_code=person.region_code, detail={"reason": reason or ""})
    return person.id_number


# How the registry search reads the text typed: `by` names the field (the search page's 查找方式).
SEARCH_FIELDS: dict[str, str] = {
    "name_id": "姓名或身份证号",
    "household_no": "户编号",
    "phone": "联系电话",
    "address": "家庭住址",
    "community": "所属社区",
}
MIN_PHONE_DIGITS = 4
MIN_ADDRESS_CHARS = 2


def check_search_field(by: str) -> str:
    """The search field's code ('' reads as name_id); a clear error for anything else."""
    by = (by or "name_id").strip()
    if by not in SEARCH_FIELDS:
        raise ValidationError(f"查找方式只能是 {'、'.join(SEARCH_FIELDS.values())} 之一 (unknown search field)",
                              field="by")
    return by


def check_search_text(q: str, *, label: str = "查询内容") -> str:
    """The text a clerk searched for, stripped: at most 64 characters, no control or direction characters.

    A NUL byte would reach PostgreSQL as an error (a 500), a direction override would make the
    echoed text read as something else: both are refused with a reason."""
    return clean_text(q, label=label, max_length=MAX_LENGTH["search"], field="q")


def search_persons(session: Session, *, user: User, q: str = "", by: str = "name_id", region_code: str | None = None,
                   page: int = 1, page_size: int = 20) -> Page[Person]:
    """Search the persons of the user's scope by name or ID number (full or its first/last digits), by
    户编号, phone number, address or community name (``by``); paged. Members of a household found by a
    household field are listed together, head first."""
    require(user, Perm.REGISTRY_READ)
    stmt = scoped(select(Person).options(selectinload(Person.household)), user, Person.region_code).where(
        Person.household_id.is_not(None))
    by = check_search_field(by)
    stmt = person_query(stmt, q, by=by, user=user)
    if region_code:
        stmt = stmt.where(Person.region_code.like(escape_like(region_code.strip()) + "%", escape=LIKE_ESCAPE))
    if by in ("household_no", "address", "phone") and q.strip():
        stmt = stmt.order_by(Person.household_id, Person.is_head.desc(), Person.id)
    else:
        stmt = stmt.order_by(Person.name, Person.id)
    return paginate(session, stmt, page=page, page_size=page_size)


def _households_where(*conditions: Any) -> Any:
    return Person.household_id.in_(select(Household.id).where(*conditions))


def _phone_digits(q: str) -> str:
    digits = q.replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
    if not is_ascii_digits(digits):
        raise ValidationError("按联系电话查找时只能输入数字 (digits only)", field="q")
    if len(digits) < MIN_PHONE_DIGITS:
        raise ValidationError(f"按联系电话查找时至少输入 {MIN_PHONE_DIGITS} 位数字 (too few digits)", field="q")
    return digits


def _community_condition(q: str, user: User | None) -> Any:
    """Persons of the communities whose name holds ``q``; "新海街道 胜利社区" (or with ·) also names the town."""
    parts = [p for p in re.split(r"[\s·・]+", q) if p]
    communities = select(Region.code).where(Region.level == "community")
    if user is not None:
        communities = scoped(communities, user, Region.code)
    if len(parts) >= 2:
        town = "".join(parts[:-1])
        towns = select(Region.code).where(Region.level == "town",
                                          Region.name.like(f"%{escape_like(town)}%", escape=LIKE_ESCAPE))
        communities = communities.where(Region.parent_code.in_(towns))
        parts = parts[-1:]
    communities = communities.where(Region.name.like(f"%{escape_like(parts[0])}%", escape=LIKE_ESCAPE))
    return Person.region_code.in_(communities)


def person_query(stmt: Select[*Ts], q: str, *, by: str = "name_id", user: User | None = None) -> Select[*Ts]:
    """Narrow a query over persons by the text a clerk typed, read as the field ``by`` names.

    name_id: an ID number (full, or its first/last digits) or a name; household_no: part of the 户编号;
    phone: 4 or more digits of the person's or the household's phone; address: part of the household's
    address; community: part of the community's name (or "town community"). % and _ are what the clerk
    typed, never wildcards: "%" must not list everyone.
    """
    by = check_search_field(by)
    q = check_search_text(q)
    if not q:
        return stmt
    if by == "household_no":
        return stmt.where(_households_where(
            Household.household_no.like(f"%{escape_like(q)}%", escape=LIKE_ESCAPE)))
    if by == "phone":
        pattern = f"%{escape_like(_phone_digits(q))}%"
        return stmt.where(or_(Person.phone.like(pattern, escape=LIKE_ESCAPE),
                              _households_where(Household.phone.like(pattern, escape=LIKE_ESCAPE))))
    if by == "address":
        if len(q) < MIN_ADDRESS_CHARS:
            raise ValidationError(f"按家庭住址查找时至少输入 {MIN_ADDRESS_CHARS} 个字 (too short)", field="q")
        return stmt.where(_households_where(
            Household.address.like(f"%{escape_like(q)}%", escape=LIKE_ESCAPE)))
    if by == "community":
        return stmt.where(_community_condition(q, user))
    digits = q.replace(" ", "").upper()
    if len(digits) >= 15 and digits[:-1].isdigit():
        try:
            return stmt.where(Person.id_number == normalize_id(digits))
        except ValidationError:
            return stmt.where(Person.id_number == digits)
    if digits.isdigit() or (digits[:-1].isdigit() and digits.endswith("X") and len(digits) > 1):
        # A clerk often has only the last digits of a number at hand.
        pattern = escape_like(digits)
        return stmt.where(or_(Person.id_number.like(f"%{pattern}", escape=LIKE_ESCAPE),
                              Person.id_number.like(f"{pattern}%", escape=LIKE_ESCAPE)))
    pattern = escape_like(q)
    return stmt.where(Person.name.like(f"{pattern}%", escape=LIKE_ESCAPE) if len(q) < 2
                      else Person.name.like(f"%{pattern}%", escape=LIKE_ESCAPE))


# ---- communities: the code list and the picker ---------------------------------------------------

@dataclass(frozen=True)
class CommunityRow:
    """A community (社区/村) with its town and county, as the code list and the picker show it."""

    code: str
    name: str
    urban: bool
    town_code: str
    town: str
    county_code: str
    county: str

    @property
    def label(self) -> str:
        return f"{self.town}{LABEL_SEPARATOR}{self.name}"


def _communities_stmt(user: User, q: str) -> Select[Any]:
    town = aliased(Region)
    county = aliased(Region)
    stmt: Select[Any] = scoped(
        cast("Select[Any]", select(Region.code, Region.name, Region.urban, town.code, town.name, county.code,
                                   county.name)
             .join(town, town.code == Region.parent_code)
             .join(county, county.code == town.parent_code)
             .where(Region.level == "community", Region.alias_of.is_(None))),
        user, Region.code,
    )
    q = check_search_text(q, label="社区名称或代码")
    if q:
        if is_ascii_digits(q):
            stmt = stmt.where(Region.code.like(escape_like(q) + "%", escape=LIKE_ESCAPE))
        else:
            parts = [p for p in re.split(r"[\s·・]+", q) if p]
            if len(parts) >= 2:
                stmt = stmt.where(town.name.like(f"%{escape_like(''.join(parts[:-1]))}%", escape=LIKE_ESCAPE))
            stmt = stmt.where(or_(Region.name.like(f"%{escape_like(parts[-1])}%", escape=LIKE_ESCAPE),
                                  town.name.like(f"%{escape_like(parts[-1])}%", escape=LIKE_ESCAPE)))
    return stmt.order_by(Region.code)


def search_communities(session: Session, *, user: User, q: str = "", page: int = 1,
                       page_size: int = 20) -> Page[CommunityRow]:
    """The communities of the user's scope whose name, town or code matches ``q``, in code order, paged:
    the community picker and the code list."""
    require(user, Perm.REGISTRY_READ)
    found = paginate(session, _communities_stmt(user, q), page=page, page_size=page_size, scalars=False)
    return Page(items=[CommunityRow(*row) for row in found.items], total=found.total, page=found.page,
                page_size=found.page_size)


def all_communities(session: Session, *, user: User, q: str = "") -> list[CommunityRow]:
    """Every community of the user's scope matching ``q`` (the code list as a spreadsheet)."""
    require(user, Perm.REGISTRY_READ)
    return [CommunityRow(*row) for row in session.execute(_communities_stmt(user, q))]


def list_households(session: Session, *, user: User, region_code: str | None = None, page: int = 1,
                    page_size: int = 20) -> Page[Household]:
    require(user, Perm.REGISTRY_READ)
    stmt = scoped(select(Household), user, Household.region_code)
    if region_code:
        stmt = stmt.where(Household.region_code.like(escape_like(region_code.strip()) + "%", escape=LIKE_ESCAPE))
    return paginate(session, stmt.order_by(Household.id), page=page, page_size=page_size)


def declare_income(session: Session, *, actor: User, household_id: int, monthly_income_fen: int,
                   assets_fen: int | None = None, declared_on: date | None = None,
                   note: str | None = None) -> IncomeDeclaration:
    """Record a new income/asset declaration; the latest by date becomes the household's current one."""
    require(actor, Perm.REGISTRY_WRITE)
    household = get_household_for(session, actor, household_id)
    if monthly_income_fen < 0:
        raise ValidationError("月收入不能为负数 (income must not be negative)", field="月收入")
    if assets_fen is not None and assets_fen < 0:
        raise ValidationError("资产不能为负数 (assets must not be negative)", field="资产")
    when = declared_on or today()
    if when > today():
        raise ValidationError("申报日期不能晚于今天 (declaration date in the future)", field="申报日期")
    note = optional_text(note, label="备注", max_length=MAX_LENGTH["note"], field="note", multiline=True)
    decl = IncomeDeclaration(household_id=household.id, declared_on=when, monthly_income_fen=monthly_income_fen,
                             assets_fen=assets_fen, source="manual", note=note)
    session.add(decl)
    if household.income_declared_on is None or when >= household.income_declared_on:
        household.monthly_income_fen = monthly_income_fen
        household.assets_fen = assets_fen
        household.income_declared_on = when
    session.flush()
    audit.record(session, actor=actor.username, action="household.declare_income", entity="household",
                 entity_id=household.id, region_code=household.region_code,
                 detail={"monthly_income_fen": monthly_income_fen, "assets_fen": assets_fen,
                         "declared_on": when.isoformat()})
    return decl


def income_history(session: Session, *, user: User, household_id: int) -> list[IncomeDeclaration]:
    household = get_household_for(session, user, household_id)
    return list(session.execute(
        select(IncomeDeclaration).where(IncomeDeclaration.household_id == household.id)
        .order_by(IncomeDeclaration.declared_on.desc(), IncomeDeclaration.id.desc())
    ).scalars())


def registry_counts(session: Session, *, scope_code: str | None = None) -> dict[str, int]:
    """Key counts of the registry, for `minxin stats` and the home page."""
    from minxin.auth.models import User as UserModel
    from minxin.core.divisions import scope_prefix

    prefix = scope_prefix(scope_code) if scope_code else ""
    persons = select(func.count()).select_from(Person).where(Person.household_id.is_not(None))
    households = select(func.count()).select_from(Household)
    if prefix:
        persons = persons.where(Person.region_code.like(prefix + "%"))
        households = households.where(Household.region_code.like(prefix + "%"))
    users = select(func.count()).select_from(UserModel).where(UserModel.is_system.is_(False))
    communities = select(func.count()).select_from(Region).where(Region.level == "community")
    if prefix:
        users = users.where(UserModel.scope_code.like(prefix + "%"))
        communities = communities.where(Region.code.like(prefix + "%"))
    return {
        "persons": session.execute(persons).scalar_one(),
        "households": session.execute(households).scalar_one(),
        "users": session.execute(users).scalar_one(),
        "regions": session.execute(communities).scalar_one(),
    }


def counts_by_county_for(session: Session, user: User) -> list[dict[str, Any]]:
    """`counts_by_county` of the user's scope (the home page and /api/v1/stats)."""
    return counts_by_county(session, scope_code=user.scope_code)


def person_names(session: Session, person_ids: set[int]) -> dict[int, str]:
    """Person id → full name, for ids the caller has already read through a scoped query (a list's heads)."""
    if not person_ids:
        return {}
    return dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(person_ids))).all())


def counts_by_county(session: Session, *, scope_code: str | None = None) -> list[dict[str, Any]]:
    """Households and persons per county (and urban/rural split), for the home page."""
    from minxin.core.divisions import scope_prefix

    prefix = scope_prefix(scope_code) if scope_code else ""
    county = func.substr(Household.region_code, 1, 6)
    hh = select(county, Household.hukou_type, func.count()).group_by(county, Household.hukou_type)
    p_county = func.substr(Person.region_code, 1, 6)
    pp = select(p_county, func.count()).where(Person.household_id.is_not(None)).group_by(p_county)
    if prefix:
        hh = hh.where(Household.region_code.like(prefix + "%"))
        pp = pp.where(Person.region_code.like(prefix + "%"))
    out: dict[str, dict[str, Any]] = {}

    def row_for(code: str) -> dict[str, Any]:
        return out.setdefault(code, {"code": code, "households": 0, "persons": 0, "urban": 0, "rural": 0})

    for code, hukou, n in session.execute(hh):
        row = row_for(code)
        row["households"] += n
        row["urban" if hukou == "城镇" else "rural"] += n
    for code, n in session.execute(pp):
        row_for(code)["persons"] += n
    names = region_names(session, set(out))
    for code, row in out.items():
        row["name"] = names.get(code, code)
    return [out[c] for c in sorted(out)]



# ---- institutions --------------------------------------------------------------------------------

INSTITUTION_KINDS = ("敬老院", "福利院", "公办养老机构", "民办养老机构", "光荣院", "公办示范", "医养结合")
INSTITUTION_OWNERSHIPS = ("公办", "民办", "公建民营")
# planned → building → structure_done (主体完工) → in_use (投入使用); eldercare records the dated steps.
INSTITUTION_STATUSES = ("planned", "building", "structure_done", "in_use")


def add_institution(session: Session, *, actor: User, name: str, region_code: str, kind: str = "敬老院",
                    beds: int = 0, bank_account: str | None = None, credit_code: str | None = None,
                    opened_on: date | None = None, ownership: str | None = None,
                    construction_status: str = "in_use") -> Institution:
    """Register a care institution (敬老院 …) in a county or town within the actor's scope."""
    require(actor, Perm.STANDARDS_SET)
    name = clean_text(name, label="机构名称", max_length=MAX_LENGTH["institution_name"], field="name",
                      required=True, name=True)
    region = session.get(Region, region_code)
    if region is None or region.alias_of or region.level not in ("county", "town", "community"):
        raise ValidationError(f"未知区划代码：{region_code} (unknown region)", field="region")
    if not can_see(actor, region.code):
        raise NotFound(f"未知区划代码：{region_code} (unknown region)", field="region")
    if kind not in INSTITUTION_KINDS:
        raise ValidationError(f"机构类型必须是 {'/'.join(INSTITUTION_KINDS)} 之一", field="kind")
    if beds < 0:
        raise ValidationError("床位数不能为负数", field="beds")
    if ownership is not None and ownership not in INSTITUTION_OWNERSHIPS:
        raise ValidationError(f"机构性质必须是 {'/'.join(INSTITUTION_OWNERSHIPS)} 之一", field="ownership")
    if construction_status not in INSTITUTION_STATUSES:
        raise ValidationError(f"建设状态必须是 {'/'.join(INSTITUTION_STATUSES)} 之一", field="status")
    if session.execute(select(Institution.id).where(Institution.name == name)).first():
        raise Conflict(f"机构已存在：{name} (institution exists)", field="name")
    account = None
    if bank_account:
        account = bank_account.replace(" ", "")
        if not is_ascii_digits(account) or not 12 <= len(account) <= 30:
            raise ValidationError("银行账号应为 12–30 位数字 (bad bank account)", field="账号")
    credit_code = optional_text(credit_code, label="统一社会信用代码", max_length=MAX_LENGTH["credit_code"],
                                field="credit_code", name=True)
    inst = Institution(name=name, region_code=region.code, kind=kind, beds=beds, bank_account=account,
                       credit_code=credit_code, opened_on=opened_on, ownership=ownership,
                       construction_status=construction_status)
    session.add(inst)
    session.flush()
    audit.record(session, actor=actor.username, action="institution.add", entity="institution", entity_id=inst.id,
                 region_code=region.code, detail={"name": name, "kind": kind, "beds": beds})
    return inst


def list_institutions(session: Session, *, user: User) -> list[Institution]:
    require(user, Perm.REGISTRY_READ)
    return list(session.execute(scoped(select(Institution), user, Institution.region_code)
                                .order_by(Institution.region_code, Institution.name)).scalars())


def community_labels_for(session: Session, user: User) -> dict[str, str]:
    """The communities of the user's scope by code, named with their town (新海街道 · 朝阳社区)."""
    return community_labels(session, scope_prefix(user.scope_code))
