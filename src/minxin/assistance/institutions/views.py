"""Care institutions 供养机构: the pages.

* `/institutions` — care institutions in scope with the 集中 recipients living in each, and the add form.
* `/institutions.xlsx` — the same list as a spreadsheet.

Routes stay thin: parse the form, call `registry.service` (institutions are registry records the
engine and elderly care share) or `assistance.institutions.service`, commit once; a refusal is shown
in Chinese next to its form with nothing stored. The strings are in `assistance.institutions.messages`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from minxin.assistance.institutions.service import institutions_with_residents
from minxin.auth.models import User
from minxin.auth.service import Perm, has_perm
from minxin.core.errors import MinxinError, NotFound, ValidationError
from minxin.registry.models import Institution, Region
from minxin.registry.service import INSTITUTION_KINDS, add_institution, counties_for, region_choices_for, region_path
from minxin.web.deps import current_user, get_session
from minxin.web.errors import status_for
from minxin.web.forms import XLSX, attachment, error_message, see_other
from minxin.web.nav import NavItem
from minxin.web.templating import local_today, render

router = APIRouter()

NAV = [NavItem(label="nav.institutions", path="/institutions", perm=Perm.CASES_APPLY)]


@dataclass(frozen=True)
class InstitutionRow:
    institution: Institution
    region: str
    residents: int
    account: str  # the account's last four digits, as staff confirm it with the bank

    @property
    def occupancy_permille(self) -> int | None:
        beds = self.institution.beds
        return self.residents * 1000 // beds if beds else None


def _region_options(session: Session, user: User) -> list[tuple[Region, list[Region]]]:
    """Counties in scope, each with its towns (a town-scoped user gets just the town)."""
    counties = counties_for(session, user)
    towns = [r for r in region_choices_for(session, user) if r.level == "town"]
    return [(c, [t for t in towns if t.code.startswith(c.code)]) for c in counties]


def _institutions_page(request: Request, session: Session, user: User, *, form: dict[str, str] | None = None,
                       error: str | None = None, added: str | None = None, status_code: int = 200) -> Response:
    listed = institutions_with_residents(session, user=user)
    paths: dict[str, str] = {}
    rows = []
    for inst, residents in listed:
        if inst.region_code not in paths:
            paths[inst.region_code] = region_path(session, inst.region_code)
        rows.append(InstitutionRow(inst, paths[inst.region_code], residents,
                                   inst.bank_account[-4:] if inst.bank_account else ""))
    can_add = has_perm(user, Perm.STANDARDS_SET)
    return render(request, "assistance/institutions.html", {
        "rows": rows, "total_beds": sum(i.beds for i, _ in listed), "total_residents": sum(n for _, n in listed),
        "can_add": can_add, "regions": _region_options(session, user) if can_add else [],
        "kinds": INSTITUTION_KINDS, "form": form or {"kind": INSTITUTION_KINDS[0]}, "error": error, "added": added,
        "today": local_today().isoformat(),
    }, status_code=status_code)


@router.get("/institutions", name="institutions")
def institutions_page(request: Request, added: str = Query("", max_length=100), user: User = Depends(current_user),
                      session: Session = Depends(get_session)) -> Response:
    """Care institutions in scope with their 集中 recipients, and the add form for those who may."""
    return _institutions_page(request, session, user, added=added or None)


def _beds(text: str) -> int:
    value = text.strip()
    if not value:
        return 0
    if not value.isdigit() or len(value) > 6:
        raise ValidationError("床位数应为不超过 6 位的非负整数 (beds must be a whole number)", field="beds")
    return int(value)


def _opened_on(text: str) -> date | None:
    value = text.strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError("开办日期格式应为 年-月-日，如 2012-05-01 (bad date)", field="opened_on") from None
    if day > local_today():
        raise ValidationError("开办日期不能晚于今天 (opening date in the future)", field="opened_on")
    return day


@router.post("/institutions", name="institution_add")
def institution_add(request: Request, name: str = Form("", max_length=200), region: str = Form("", max_length=12),
                    kind: str = Form("", max_length=16), beds: str = Form("", max_length=12),
                    bank_account: str = Form("", max_length=60), opened_on: str = Form("", max_length=20),
                    user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Register a care institution; a refusal redisplays the form with the reason and nothing stored."""
    form = {"name": name, "region": region, "kind": kind, "beds": beds, "bank_account": bank_account,
            "opened_on": opened_on}
    try:
        inst = add_institution(session, actor=user, name=name, region_code=region.strip(), kind=kind,
                               beds=_beds(beds), bank_account=bank_account.strip() or None,
                               opened_on=_opened_on(opened_on))
    except MinxinError as exc:
        session.rollback()
        status = 422 if isinstance(exc, NotFound) else status_for(exc)  # a region out of scope is a form error
        return _institutions_page(request, session, user, form=form, error=error_message(request, exc),
                                  status_code=status)
    session.commit()
    return see_other("/institutions", added=inst.name)


@router.get("/institutions.xlsx", name="institutions_xlsx")
def institutions_xlsx(user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The care institutions in scope with their beds and 集中 五保 residents, as xlsx."""
    from minxin.kit.tabular import write_xlsx

    rows = [[i.name, i.kind, region_path(session, i.region_code), i.beds, residents,
             i.opened_on.isoformat() if i.opened_on else None]
            for i, residents in institutions_with_residents(session, user=user)]
    buffer = io.BytesIO()
    write_xlsx(buffer, ["机构名称", "类型", "所在区域", "床位", "集中供养五保对象", "启用日期"], rows, sheet="供养机构",
               widths={"机构名称": 24, "所在区域": 28})
    return Response(buffer.getvalue(), media_type=XLSX,
                    headers=attachment(f"供养机构-{local_today():%Y%m%d}.xlsx", "institutions.xlsx"))
