"""The city's division tree (区划): the table every scope, household and case points into.

It sits below every domain, beside `db`: a user's scope (auth), the layout's scope label (web) and a
household's community (registry) all name a region, so none of them has to import another to read one.
`minxin.registry` seeds it (`seed_regions`) and lists it (`list_regions`).
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from minxin.infra.db import Base


class Region(Base):
    """A division: city, county, town (街道/乡镇) or community (社区/村)."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)
    urban: Mapped[bool] = mapped_column(Boolean, default=True)
    # A historical code (e.g. 320705 新浦区, abolished 2014) points at the region that replaced it.
    alias_of: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("level in ('province','city','county','town','community')", name="level"),
    )


def region_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(select(Region.code, Region.name).where(Region.code.in_(codes)))
    return dict(rows.all())


def region_path(session: Session, code: str) -> str:
    """Full name of a region: 海州区 新海街道 东风社区."""
    names = []
    current: str | None = code
    while current:
        region = session.get(Region, current)
        if region is None or region.level == "city":
            break
        names.append(region.name)
        current = region.parent_code
    return " ".join(reversed(names))


def community_labels(session: Session, prefix: str) -> dict[str, str]:
    """Every community under a scope prefix → its name with its town's (新海街道 · 朝阳社区), one query."""
    town = Region.__table__.alias("town")
    rows = session.execute(
        select(Region.code, Region.name, town.c.name).outerjoin(town, town.c.code == Region.parent_code)
        .where(Region.level == "community", Region.code.like(prefix + "%")))
    return {code: f"{town_name} · {name}" if town_name else name for code, name, town_name in rows}


LABEL_SEPARATOR = " · "


def region_labels(session: Session, codes: set[str]) -> dict[str, str]:
    """The display name of each region wherever names are listed: a community (社区/村) with its town,
    "新海街道 · 胜利社区" (community names repeat across towns), any other region by its own name.

    The one helper for the display name; codes not found map to nothing (callers show the code)."""
    codes = {c for c in codes if c}
    if not codes:
        return {}
    rows = session.execute(select(Region.code, Region.name, Region.level, Region.parent_code)
                           .where(Region.code.in_(codes))).all()
    towns = {parent for _, _, level, parent in rows if level == "community" and parent}
    town_names = region_names(session, towns)
    out: dict[str, str] = {}
    for code, name, level, parent in rows:
        town = town_names.get(parent or "") if level == "community" else None
        out[code] = f"{town}{LABEL_SEPARATOR}{name}" if town else name
    return out


def region_label(session: Session, code: str | None) -> str:
    """`region_labels` for one code: "新海街道 · 胜利社区", or the code itself when it names no region."""
    if not code:
        return ""
    return region_labels(session, {code}).get(code, code)
