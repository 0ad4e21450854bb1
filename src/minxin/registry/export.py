"""Registry lists to xlsx: one row per person, masked unless the caller may and asks to unmask."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, require, scoped
from minxin.core._text import LIKE_ESCAPE, escape_like
from minxin.core.masking import mask_id, mask_name, mask_phone
from minxin.core.money import format_yuan
from minxin.kit.tabular import write_xlsx
from minxin.regions import LABEL_SEPARATOR
from minxin.registry.models import Household, Person, Region
from minxin.registry.service import check_search_field, person_query

# The unmasked export (`minxin export households --unmasked`, PII access, audited) carries every field.
EXPORT_HEADERS = ["户编号", "姓名", "身份证号", "性别", "出生日期", "与户主关系", "社区代码", "社区",
                  "户籍类别", "月收入", "联系电话", "残疾等级"]
# The masked export masks names, ID numbers and phones as the screen does, and leaves out the birth date:
# beside a masked ID number (320706********1234) it gives the eight hidden digits back, and the check
# digit confirms them (PIPL Art.6, 最小必要). The sex stays: the visible last four digits carry it.
MASKED_HEADERS = [h for h in EXPORT_HEADERS if h != "出生日期"]
GRADES = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def _rows(session: Session, user: User, *, q_region: str | None, unmasked: bool, q: str = "",
          by: str = "name_id") -> Iterator[list[Any]]:
    town = aliased(Region)
    stmt = scoped(
        select(Household.household_no, Person.name, Person.id_number, Person.sex, Person.birth_date,
               Person.relation, Household.region_code, Region.name, Household.hukou_type,
               Person.monthly_income_fen, Person.phone, Person.disability_grade, town.name)
        .join(Household, Person.household_id == Household.id)
        .join(Region, Region.code == Household.region_code)
        .outerjoin(town, town.code == Region.parent_code),
        user, Household.region_code,
    ).order_by(Household.id, Person.is_head.desc(), Person.id)
    if q_region:
        stmt = stmt.where(Household.region_code.like(escape_like(q_region) + "%", escape=LIKE_ESCAPE))
    stmt = person_query(stmt, q, by=by, user=user)
    for r in session.execute(stmt.execution_options(yield_per=5000)):
        community = f"{r[12]}{LABEL_SEPARATOR}{r[7]}" if r[12] else r[7]
        sex = "男" if r[3] == "M" else "女"
        phone = r[10] if unmasked else mask_phone(r[10] or "")
        tail = [r[5], r[6], community, r[8], format_yuan(r[9]), phone or None, GRADES.get(r[11] or 0)]
        if unmasked:
            yield [r[0], r[1], r[2], sex, r[4].isoformat(), *tail]
        else:
            yield [r[0], mask_name(r[1]), mask_id(r[2]), sex, *tail]


def export_persons(session: Session, *, user: User, target: Path | io.BytesIO, region_code: str | None = None,
                   unmasked: bool = False, q: str = "", by: str = "name_id") -> None:
    """Write the user's scoped registry (or one region, or one search of it) to xlsx: masked as the
    screen masks, or (``unmasked``, PII access) in full; an export is audited either way."""
    require(user, Perm.REGISTRY_READ)
    if unmasked:
        require(user, Perm.PII_VIEW)
    check_search_field(by)
    write_xlsx(target, EXPORT_HEADERS if unmasked else MASKED_HEADERS,
               _rows(session, user, q_region=region_code, unmasked=unmasked, q=q, by=by),
               sheet="户籍成员", text_columns=("身份证号", "社区代码", "联系电话", "户编号"),
               widths={"身份证号": 22, "社区代码": 16, "社区": 20})
    audit.record(session, actor=user.username, action="registry.export", entity="export",
                 region_code=region_code or user.scope_code, detail={"unmasked": unmasked, "q": q, "by": by})
