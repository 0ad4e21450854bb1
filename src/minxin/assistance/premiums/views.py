"""Premium subsidies 参保参合 (P3): the page.

* `/premiums` — a year's premium roster summed per scheme, and the roster itself (xlsx or CSV) for
  the insurance agency; it carries full ID numbers, so it needs PII_VIEW and every download is audited.

Routes stay thin: parse, call `assistance.premiums.service`, commit once. The strings are in
`assistance.premiums.messages`.
"""

from __future__ import annotations

import io

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from minxin.assistance.premiums.service import (
    ROSTER_HEADERS,
    RosterSummary,
    export_roster,
    premium_policy,
    roster_rows,
)
from minxin.auth.models import User
from minxin.auth.service import Perm, has_perm
from minxin.core.errors import MinxinError, NotFound
from minxin.web.deps import current_user, get_session, writes
from minxin.web.forms import XLSX, attachment, error_message, parse_year
from minxin.web.nav import NavItem
from minxin.web.templating import local_today, render

router = APIRouter()

# The roster carries full ID numbers, hence PII_VIEW for the menu entry.
NAV = [NavItem(label="nav.premiums", path="/premiums", perm=Perm.PII_VIEW)]


def _summary(session: Session, user: User, year: int) -> RosterSummary:
    """The roster's totals per scheme, read without writing the roster out (nothing personal is shown)."""
    proration, _ = premium_policy(year)
    summary = RosterSummary(year=year, proration=proration)
    for _row in roster_rows(session, user=user, year=year, summary=summary):
        pass
    return summary


@router.get("/premiums", name="premiums")
def premiums_page(request: Request, year: str = Query("", max_length=10), user: User = Depends(current_user),
                  session: Session = Depends(get_session)) -> Response:
    """A year's premium subsidies per scheme, the proration rule, and the roster downloads."""
    chosen = year or str(local_today().year)
    summary, schemes, error = None, [], None
    try:
        number = parse_year(chosen)
        summary = _summary(session, user, number)
        _, by_hukou = premium_policy(number)
        schemes = [(s, summary.by_scheme.get(s.scheme, {"people": 0, "total_fen": 0})) for s in by_hukou.values()]
    except MinxinError as exc:
        error = error_message(request, exc)
    return render(request, "assistance/premiums.html", {
        "year": chosen, "summary": summary, "schemes": schemes, "error": error,
        "can_download": has_perm(user, Perm.PII_VIEW), "columns": "、".join(ROSTER_HEADERS),
    }, status_code=422 if error else 200)


@router.get("/premiums/{year}/roster.{fmt}", name="premiums_roster")
@writes
def premiums_roster(year: int, fmt: str, user: User = Depends(current_user),
                    session: Session = Depends(get_session)) -> Response:
    """The year's roster for the insurance agency (xlsx, or UTF-8 CSV), full ID numbers; audited."""
    if fmt not in ("xlsx", "csv"):
        raise NotFound("没有这种格式的名册 (no such format)")
    buffer = io.BytesIO()
    export_roster(session, user=user, year=year, target=buffer, fmt=fmt)
    session.commit()
    media = XLSX if fmt == "xlsx" else "text/csv; charset=utf-8"
    return Response(buffer.getvalue(), media_type=media,
                    headers=attachment(f"{year}年参保参合代缴名册.{fmt}", f"premium-roster-{year}.{fmt}"))
