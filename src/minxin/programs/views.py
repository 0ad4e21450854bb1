"""Benefit-engine pages: cases and their workflow, standards, payment cycles (bank file, reconciliation),
and the public notice (公示) where anyone may raise an objection.

Routes stay thin: they parse the form, call `programs.service` / `programs.cycles`, commit once, and
show a refused action's reason in Chinese next to its form (never a 500). Out-of-scope records are
404 like missing ones (`get_case_for`). The public pages (`public_router`) need no login; their one
form carries a double-submit CSRF token, as the login page does.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import Perm, display_names, has_perm
from minxin.core.errors import Conflict, Forbidden, MinxinError, NotFound, ValidationError
from minxin.core.masking import mask_account
from minxin.core.money import parse_yuan
from minxin.core.period import Period
from minxin.infra.db import savepoint, utcnow
from minxin.infra.settings import get_settings
from minxin.kit import ratelimit
from minxin.programs import cycle_access
from minxin.programs import cycles as cycle_service
from minxin.programs.messages import EVENT_NAMES, PAY_STATUSES
from minxin.programs.models import CASE_STATUSES, Case, Cycle, Payment, Program
from minxin.programs.notices import (
    case_problem,
    communities_under_notice,
    get_notice_community,
    notice_rows,
    object_to_notice,
    policy_or_none,
    safe_proposed_amount,
)
from minxin.programs.service import (
    REASON_REQUIRED,
    STEPS,
    actions_for,
    apply,
    case_head_for,
    case_household_for,
    case_region_filter,
    cases_due_for_review,
    default_program,
    get_case_for,
    get_objection_for,
    get_program,
    list_cases,
    list_programs,
    objections_of,
    overdue_preview,
    program_policy,
    record_review,
    resolve_objection,
    set_bank_account,
    set_standard,
    standards_table_for,
    step,
    suspend_overdue,
)
from minxin.registry.models import Region
from minxin.registry.service import (
    get_household_by_no_for,
    list_institutions,
    person_names,
    region_choices_for,
    region_labels,
    region_names,
    region_path,
)
from minxin.web.deps import current_user, ensure_city_name, get_session, writes
from minxin.web.errors import status_for
from minxin.web.forms import XLSX, PublicFormToken, attachment, error_message, see_other
from minxin.web.i18n import domain_message, gettext
from minxin.web.nav import NavItem
from minxin.web.templating import local_today, render, request_lang, yuan
from minxin.web.uploads import read_upload

router = APIRouter()
public_router = APIRouter()

NAV = [
    NavItem(label="nav.cases", path="/cases", perm=Perm.CASES_APPLY),
    NavItem(label="nav.standards", path="/standards", perm=Perm.CASES_APPLY),
    # The auditor reads cycles too (cycles.may_read_cycles): the menu shows what the role may read.
    NavItem(label="nav.cycles", path="/cycles", perm=(Perm.CYCLES_RUN, Perm.AUDIT_READ)),
]

# The public objection form's CSRF token: kept while the cookie lives, so a page reloaded after a
# refusal still posts.
NOTICE_FORM = PublicFormToken(cookie="minxin_notice_csrf", path="/notice", max_age=3600 * 12, reuse=True)
STAGES = ("applied", "investigated", "reviewed", "noticed", "approved", "active")
FORWARD_STEPS = ("investigate", "review", "notice", "approve", "activate", "resume")
MONTH_STEPS = {"activate", "terminate"}

# ---- small helpers --------------------------------------------------------------------------------

def _text(request: Request, key: str, **params: Any) -> str:
    return gettext(key, lang=request_lang(request), **params)


def _parse_period(value: str, *, field: str = "月份") -> Period:
    if not value.strip():
        raise ValidationError("请填写月份，格式为 年-月，如 2012-07 (month required)", field=field)
    return Period.parse(value)


def _parse_date(value: str, *, message: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(message, field=field) from None


def _short_names(programs: list[Program]) -> dict[str, str]:
    """A program's short name (its policy entry's `short`) where a table column is narrow."""
    names = {}
    for p in programs:
        try:
            names[p.code] = program_policy(p.code).short
        except MinxinError:  # a program the policy file no longer lists
            names[p.code] = p.name
    return names


def _problem(request: Request, program: Program | None, case: Case) -> str | None:
    """What is missing from a stored case (shown beside it, so a broken record is marked, not fatal)."""
    if program is None:
        return None
    problem = case_problem(program, case, policy_or_none(case.program_code))
    return domain_message(problem, lang=request_lang(request)) if problem else None


# ---- cases ----------------------------------------------------------------------------------------

def _cases_page(request: Request, session: Session, user: User, *, program: str = "", status: str = "",
                region: str = "", due: bool = False, page: int = 1, apply_form: dict[str, Any] | None = None,
                apply_error: str | None = None, overdue_form: dict[str, Any] | None = None,
                overdue_error: str | None = None, suspended: int | None = None, status_code: int = 200) -> Response:
    programs = list_programs(session)
    program = program if program in {p.code for p in programs} else ""
    status = status if status in CASE_STATUSES else ""
    error = None
    try:
        region_code = case_region_filter(user, region)
    except MinxinError as exc:
        region_code, error = None, error_message(request, exc)
    size = get_settings().page_size
    today = local_today()
    if due:
        results = cases_due_for_review(session, user=user, program=program or None, region_code=region_code,
                                       on=today, page=page, page_size=size)
    else:
        results = list_cases(session, user=user, program=program or None, status=status or None,
                             region_code=region_code, page=page, page_size=size)
    due_total = cases_due_for_review(session, user=user, program=program or None, on=today, page_size=1).total
    by_code = {p.code: p for p in programs}
    return render(request, "programs/cases.html", {
        "programs": programs, "program_names": _short_names(programs),
        "program": program, "status": status, "region": region_code or "", "due": due, "error": error,
        "results": results, "statuses": CASE_STATUSES, "regions": region_choices_for(session, user),
        "heads": person_names(session, {c.person_id for c in results.items}),
        "problems": {c.id: _problem(request, by_code.get(c.program_code), c) for c in results.items},
        "community_names": region_labels(session, {c.region_code for c in results.items}),
        "due_total": due_total, "today": today,
        "can_apply": has_perm(user, Perm.CASES_APPLY), "can_suspend": has_perm(user, Perm.CASES_APPROVE),
        "apply_form": apply_form or {"review_class": "B"}, "apply_error": apply_error,
        "categories": sorted({c for p in programs for c in p.category_list if c not in ("城镇", "农村")}),
        "institutions": list_institutions(session, user=user) if has_perm(user, Perm.CASES_APPLY) else [],
        "overdue_form": overdue_form or {}, "overdue_error": overdue_error, "suspended": suspended,
    }, status_code=status_code)


@router.get("/cases", name="cases")
def cases_list(request: Request, program: str = Query("", max_length=32), status: str = Query("", max_length=16),
               region: str = Query("", max_length=12), due: bool = False,
               page: int = Query(1, ge=1, le=100_000), suspended: int | None = Query(None, ge=0),
               user: User = Depends(current_user),
               session: Session = Depends(get_session)) -> Response:
    """Cases in the user's scope, filtered and paged; the application form for those who may apply."""
    return _cases_page(request, session, user, program=program, status=status, region=region, due=due, page=page,
                       suspended=suspended)


@router.post("/cases", name="case_apply")
def case_apply(request: Request, program: str = Form(""), household_no: str = Form(""),
               bank_account: str = Form(""), sanwu: bool = Form(False), staff_relative: bool = Form(False),
               review_class: str = Form("B"), reason: str = Form(""), category: str = Form(""),
               institution: str = Form(""), user: User = Depends(current_user),
               session: Session = Depends(get_session)) -> Response:
    """申请: open a case for a household found by its number; the reason is shown next to the form."""
    form = {"program": program, "household_no": household_no[:32], "bank_account": bank_account[:40],
            "sanwu": sanwu, "staff_relative": staff_relative, "review_class": review_class[:1],
            "reason": reason[:500], "category": category[:16], "institution": institution[:12]}
    try:
        household = get_household_by_no_for(session, user, household_no, field="household_no")
        if institution.strip() and not institution.strip().isdigit():
            raise ValidationError("请选择供养机构 (choose an institution)", field="institution")
        case = apply(session, actor=user, program=program or default_program(),
                     household_id=household.id, bank_account=bank_account.strip() or None, sanwu=sanwu,
                     staff_relative=staff_relative, review_class=review_class.strip(),
                     reason=reason or None, category=category.strip() or None,
                     institution_id=int(institution) if institution.strip() else None)
    except MinxinError as exc:
        if isinstance(exc, NotFound):
            exc = ValidationError(exc.message, field="household_no")
        session.rollback()
        return _cases_page(request, session, user, apply_form=form, apply_error=error_message(request, exc),
                           status_code=status_for(exc))
    session.commit()
    return see_other(f"/cases/{case.id}", done="apply")


def _overdue_date(value: str) -> date:
    if not value.strip():
        raise ValidationError("请填写日期，格式为 年-月-日 (date required)", field="before")
    return _parse_date(value, message="日期格式应为 年-月-日，如 2013-01-01 (bad date)", field="before")


@router.get("/cases/suspend-overdue", name="cases_suspend_overdue_preview")
def suspend_overdue_preview(request: Request, program: str = Query("", max_length=32),
                            before: str = Query("", max_length=20), reason: str = Query("", max_length=200),
                            user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The confirm step of 批量暂停: which active cases in scope would be suspended."""
    form = {"program": program, "before": before, "reason": reason}
    try:
        prog = get_program(session, program or default_program())
        day = _overdue_date(before) if before.strip() else local_today()  # overdue today, by default
        form["before"] = day.isoformat()
        preview = overdue_preview(session, user=user, program=prog.code, overdue_before=day)
    except MinxinError as exc:
        if isinstance(exc, Forbidden):
            raise
        return _cases_page(request, session, user, overdue_form=form, overdue_error=error_message(request, exc),
                           status_code=status_for(exc))
    reason = reason.strip() or _text(request, "programs.overdue.default_reason")
    return render(request, "programs/suspend_confirm.html", {
        "program": prog, "program_short": _short_names([prog])[prog.code], "before": day, "reason": reason,
        "preview": preview,
        "heads": person_names(session, {c.person_id for c in preview.items}),
        "community_names": region_labels(session, {c.region_code for c in preview.items}),
    })


@router.post("/cases/suspend-overdue", name="cases_suspend_overdue")
def suspend_overdue_confirm(request: Request, program: str = Form(""), before: str = Form(""),
                            reason: str = Form(""), user: User = Depends(current_user),
                            session: Session = Depends(get_session)) -> Response:
    """Suspend every overdue active case in scope in one statement (each gets its event)."""
    form = {"program": program, "before": before, "reason": reason}
    try:
        day = _overdue_date(before)
        n = suspend_overdue(session, actor=user, program=program, overdue_before=day,
                            reason=reason.strip() or _text(request, "programs.overdue.default_reason"))
    except MinxinError as exc:
        session.rollback()
        return _cases_page(request, session, user, overdue_form=form, overdue_error=error_message(request, exc),
                           status_code=status_for(exc))
    session.commit()
    return see_other("/cases", suspended=n)


# ---- one case -------------------------------------------------------------------------------------

@dataclass
class Stage:
    status: str
    state: str  # done | current | todo


def _stages(case: Case) -> list[Stage]:
    """The stepper: stages before the current one are done (the workflow only moves forward; an imported
    case has no events for them). A rejected case shows the stages its events reached."""
    if case.status == "rejected":
        reached = {e.to_status for e in case.events}
        return [Stage(s, "done" if s in reached else "todo") for s in STAGES]
    current = {"suspended": "active", "terminated": None}.get(case.status, case.status)
    at = STAGES.index(current) if current in STAGES else len(STAGES)
    return [Stage(s, "done" if i < at else "current" if i == at else "todo") for i, s in enumerate(STAGES)]


def _case_page(request: Request, session: Session, user: User, case: Case, *, errors: dict[str, str] | None = None,
               forms: dict[str, dict[str, Any]] | None = None, done: str | None = None,
               status_code: int = 200) -> Response:
    program = get_program(session, case.program_code)
    household = case_household_for(session, user, case)
    head = case_head_for(session, user, case)
    steps, waits = actions_for(session, user, case)
    objections = objections_of(session, user, case.id)
    payments = cycle_service.case_payment_items(session, case.id)
    events = list(case.events)
    names = display_names(session, {e.actor for e in events} | {o.resolved_by for o in objections if o.resolved_by})
    lang = request_lang(request)
    flash = None
    if done == "apply":
        flash = gettext("programs.apply.done", lang=lang, id=case.id)
    elif done in STEPS:
        flash = gettext("programs.case.step_done", lang=lang, step=gettext(f"programs.event.{done}", lang=lang))
    elif done == "periodic":
        flash = gettext("programs.case.review_done", lang=lang, date=case.next_review_due or "—")
    elif done in ("bank", "objection"):
        flash = gettext("programs.case.bank_done" if done == "bank" else "programs.case.obj_done", lang=lang)
    errors = dict(errors or {})
    for key in [k for k in errors if k.startswith("step:") and k[5:] not in steps]:
        errors["general"] = errors.pop(key)  # its form is not on the page (any more)
    active_like = case.status not in ("terminated", "rejected")
    proposed, proposed_broken = safe_proposed_amount(session, case) if active_like else (None, False)
    problem = _problem(request, program, case)
    if problem and active_like:
        proposed, proposed_broken = None, True
    forward = [s for s in steps if s in FORWARD_STEPS]
    other = [s for s in steps if s not in FORWARD_STEPS]
    return render(request, "programs/case.html", {
        "case": case, "program": program, "household": household, "head_name": head.name if head else "",
        "members": len(household.members) if household else 0,
        "community": region_path(session, case.region_code), "stages": _stages(case),
        "account": mask_account(case.bank_account) if case.bank_account else None,
        "forward_steps": forward, "other_steps": other, "waits": waits,
        "open_other": not forward or any(f"step:{s}" in errors for s in other),
        "event_names": EVENT_NAMES,
        "can_see_cycles": cycle_service.may_read_cycles(user),
        "reason_required": REASON_REQUIRED, "month_steps": MONTH_STEPS,
        "objections": objections, "events": events, "names": names,
        "payments": payments,
        "proposed": proposed, "proposed_broken": proposed_broken,
        "problem": problem,
        "spot_needed": case.spot_check_required or case.staff_relative,
        "can_resolve": has_perm(user, Perm.CASES_REVIEW),
        "can_review": has_perm(user, Perm.CASES_INVESTIGATE) and case.status == "active",
        "can_bank": has_perm(user, Perm.CASES_APPLY) and active_like,
        "this_month": str(Period.of(local_today())), "today": local_today(),
        "errors": errors, "forms": forms or {}, "flash": flash,
    }, status_code=status_code)


_DONE = {*STEPS, "apply", "periodic", "bank", "objection"}


@router.get("/cases/{case_id:int}", name="case")
def case_page(request: Request, case_id: int, done: str = Query("", max_length=20),
              user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """One case: facts, workflow stepper and the buttons this user may press, objections, history, payments."""
    case = get_case_for(session, user, case_id)
    return _case_page(request, session, user, case, done=done if done in _DONE else None)


def _refused(request: Request, session: Session, user: User, case_id: int, key: str, exc: MinxinError,
             form: dict[str, Any]) -> Response:
    """Redisplay the case page with the service's reason next to the form that was refused."""
    if isinstance(exc, NotFound):
        raise exc
    session.rollback()
    case = get_case_for(session, user, case_id)
    return _case_page(request, session, user, case, errors={key: error_message(request, exc)}, forms={key: form},
                      status_code=status_for(exc))


@router.post("/cases/{case_id:int}/step", name="case_step")
def case_step(request: Request, case_id: int, action: str = Form(""), reason: str = Form(""),
              spot_checked: bool = Form(False), month: str = Form(""), income: str = Form(""),
              user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """One workflow step (the service refuses out-of-order steps, wrong roles and self-approval)."""
    case = get_case_for(session, user, case_id)
    action = action.strip()[:20]
    form = {"reason": reason[:2000], "spot_checked": spot_checked, "month": month[:20], "income": income[:20]}
    try:
        period = _parse_period(month) if action in MONTH_STEPS and month.strip() else None
        income_fen = parse_yuan(income, field="核定收入") if action == "investigate" and income.strip() else None
        step(session, actor=user, case_id=case.id, action=action, reason=reason or None,
             spot_checked=spot_checked, start_period=period, income_fen=income_fen)
    except MinxinError as exc:
        return _refused(request, session, user, case.id, f"step:{action}", exc, form)
    session.commit()
    return see_other(f"/cases/{case.id}", done=action)


@router.post("/cases/{case_id:int}/objections/{objection_id:int}/resolve", name="case_resolve_objection")
def case_resolve_objection(request: Request, case_id: int, objection_id: int, resolution: str = Form(""),
                           user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Record how an objection was investigated (县/乡镇 reviewers); approval waits until all are resolved."""
    objection = get_objection_for(session, user, case_id, objection_id)
    case = get_case_for(session, user, case_id)
    try:
        resolve_objection(session, actor=user, objection_id=objection.id, resolution=resolution[:2000])
    except MinxinError as exc:
        return _refused(request, session, user, case.id, f"objection:{objection.id}", exc,
                        {"resolution": resolution[:2000]})
    session.commit()
    return see_other(f"/cases/{case.id}", done="objection")


@router.post("/cases/{case_id:int}/review", name="case_periodic_review")
def case_periodic_review(request: Request, case_id: int, note: str = Form(""), review_class: str = Form(""),
                         user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """定期复核 of an active case: the next review date moves on by the class's interval."""
    case = get_case_for(session, user, case_id)
    try:
        record_review(session, actor=user, case_id=case.id, note=note or None,
                      review_class=review_class.strip()[:1] or None)
    except MinxinError as exc:
        return _refused(request, session, user, case.id, "review", exc,
                        {"note": note[:2000], "review_class": review_class[:1]})
    session.commit()
    return see_other(f"/cases/{case.id}", done="periodic")


@router.post("/cases/{case_id:int}/bank-account", name="case_bank_account")
def case_bank_account(request: Request, case_id: int, account: str = Form(""), user: User = Depends(current_user),
                      session: Session = Depends(get_session)) -> Response:
    """Register or change the bank account payments go to (audited)."""
    case = get_case_for(session, user, case_id)
    try:
        if not account.strip():
            raise ValidationError("请填写银行账号 (account required)", field="账号")
        set_bank_account(session, actor=user, case_id=case.id, account=account[:40])
    except MinxinError as exc:
        return _refused(request, session, user, case.id, "bank", exc, {"account": account[:40]})
    session.commit()
    return see_other(f"/cases/{case.id}", done="bank")


# ---- standards ------------------------------------------------------------------------------------

def _standards_page(request: Request, session: Session, user: User, *, program: str = "",
                    form: dict[str, Any] | None = None, form_error: str | None = None, added: int | None = None,
                    status_code: int = 200) -> Response:
    table = standards_table_for(session, user, program=program, month=Period.of(local_today()))
    history = table.history
    added_row = next((s for s in history if s.id == added), None) if added else None
    return render(request, "programs/standards.html", {
        "programs": list_programs(session), "program": table.program, "month": str(table.month),
        "categories": table.categories, "table": table.rows,
        "history": list(reversed(history)), "in_force_ids": table.in_force_ids,
        "names": region_names(session, {s.region_code for s in history} | {r.code for r in table.regions}),
        "users": display_names(session, {s.created_by for s in history}),
        "settable": table.settable, "form": form or {}, "form_error": form_error, "added": added_row,
        "today": local_today().isoformat(),
    }, status_code=status_code)


@router.get("/standards", name="standards")
def standards_page(request: Request, program: str = Query("", max_length=32), added: int | None = Query(None, ge=1),
                   user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The standard in force this month for the city and each county, the full history, and the form to add one."""
    return _standards_page(request, session, user, program=program, added=added)


@router.post("/standards", name="standards_add")
def standards_add(request: Request, program: str = Form(""), region: str = Form(""), category: str = Form(""),
                  amount: str = Form(""), effective: str = Form(""), source: str = Form(""),
                  user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Add a standard row (never an edit); a back-dated one pays arrears in the next cycle."""
    form = {"region": region[:12], "category": category[:16], "amount": amount[:30], "effective": effective[:20],
            "source": source[:200]}
    try:
        if not amount.strip():
            raise ValidationError("请填写金额 (amount required)", field="amount")
        amount_fen = parse_yuan(amount, field="金额")
        if not effective.strip():
            raise ValidationError("请填写生效日期 (effective date required)", field="effective")
        day = _parse_date(effective, field="effective",
                          message="生效日期格式应为 年-月-日，如 2013-01-01 (bad date)")
        std = set_standard(session, actor=user, program=program, region_code=region.strip(), amount_fen=amount_fen,
                           effective=day, category=category, source=source)
    except MinxinError as exc:
        session.rollback()
        return _standards_page(request, session, user, program=program, form=form,
                               form_error=error_message(request, exc), status_code=status_for(exc))
    session.commit()
    return see_other("/standards", program=std.program_code, added=std.id)


# ---- payment cycles -------------------------------------------------------------------------------

_PERIOD_RE = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _cycles_page(request: Request, session: Session, user: User, *, page: int = 1, program: str | None = None,
                 form: dict[str, Any] | None = None, run_error: str | None = None,
                 status_code: int = 200) -> Response:
    cycles = cycle_service.list_cycles_for(session, user, program=program or None, page=page,
                                           page_size=get_settings().page_size)
    programs = list_programs(session)
    can_run = has_perm(user, Perm.CYCLES_RUN)
    run_counties = cycle_service.runnable_counties_for(session, user)
    return render(request, "programs/cycles.html", {
        "programs": programs, "program_names": _short_names(programs), "cycles": cycles,
        "program_units": {p.code: p.unit for p in programs},
        "county_names": cycle_service.county_names(session), "can_run": can_run, "run_counties": run_counties,
        "form": form or {"period": str(Period.of(local_today()))}, "run_error": run_error,
    }, status_code=status_code)


@router.get("/cycles", name="cycles")
def cycles_page(request: Request, page: int = Query(1, ge=1, le=100_000), program: str = Query("", max_length=32),
                period: str = Query("", max_length=7), user: User = Depends(current_user),
                session: Session = Depends(get_session)) -> Response:
    """The payment cycles in the user's scope (a county's, or every county's for the city), newest month
    first (of one program, when asked: the home page's links), and the form to compute one."""
    form = {"program": program, "period": period if _PERIOD_RE.fullmatch(period) else str(Period.of(local_today()))}
    return _cycles_page(request, session, user, page=page, program=program, form=form)


@router.post("/cycles", name="cycles_run")
def cycles_run(request: Request, program: str = Form(""), period: str = Form(""), county: str = Form(""),
               user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Compute (or recompute a draft of) the cycle of a program and month for a county (or, for a city user
    who names none, every county), then show it."""
    form = {"program": program[:32], "period": period[:20], "county": county[:6]}
    try:
        program = program or default_program()
        month = _parse_period(period)
        if not cycle_service.runs_every_county(user, county):
            summary = cycle_service.run_cycle(session, actor=user, program=program, period=month,
                                              county=county or None)
            target = f"/cycles/{summary.cycle_id}"
        else:
            city = cycle_service.run_county_cycles(lambda: savepoint(session), actor=user.username,
                                                   program=program, period=month)
            if city.failed:
                raise Conflict("；".join(f"{f['county']}：{f['error']}" for f in city.failed))
            target = "/cycles"
    except MinxinError as exc:
        session.rollback()
        return _cycles_page(request, session, user, form=form, run_error=error_message(request, exc),
                            status_code=status_for(exc))
    session.commit()
    return see_other(target, done="run")


def _cycle_payment_rows(session: Session, cycle: Cycle, rows: list[Any]) -> list[tuple[Any, Payment, str]]:
    """A page of lines as display rows: one per part, with its line and the head's name."""
    names = {(p.case_id, p.seq): name for p, name in rows}
    items = cycle_service.items_of_lines(session, [(p, cycle.period) for p, _ in rows])
    return [(item, p, names[(p.case_id, p.seq)]) for item, p in items]


_CYCLE_DONE = {"run", "approved", "reconciled"}


def _cycle_page(request: Request, session: Session, user: User, cycle: Cycle, *, county: str = "",
                pay_status: str = "", page: int = 1, done: str | None = None,
                errors: dict[str, str] | None = None, row_errors: list[Any] | None = None,
                status_code: int = 200) -> Response:
    program = get_program(session, cycle.program_code)
    counties = cycle_service.county_totals(session, cycle.id)
    totals = {k: sum(c[k] for c in counties) for k in ("cases", "regular_fen", "arrears_fen", "carryover_fen",
                                                        "total_fen", "paid_fen", "failed_fen")}
    county = county if county in {c["county"] for c in counties} else ""
    pay_status = pay_status if pay_status in PAY_STATUSES else ""
    payments = cycle_access.cycle_payments_for(session, user, cycle, county=county or None,
                                               status=pay_status or None, page=page,
                                               page_size=get_settings().page_size)
    actions = cycle_service.cycle_actions_for(user, cycle)
    lang = request_lang(request)
    flash = None
    if done == "approved":
        flash = gettext("programs.cycle.approved_done", lang=lang)
    elif done == "reconciled":
        flash = gettext("programs.cycle.reconciled_done", lang=lang, paid=yuan(cycle.paid_fen),
                        failed=yuan(cycle.failed_fen))
    return render(request, "programs/cycle.html", {
        "cycle": cycle, "program": program, "counties": counties, "totals": totals,
        "unit": gettext(f"programs.unit.{program.unit}", lang=lang),
        "county_name": cycle_service.county_names(session).get(cycle.county_code, cycle.county_code),
        "payments": _cycle_payment_rows(session, cycle, payments.items),
        "page": payments, "county": county, "pay_status": pay_status, "pay_statuses": PAY_STATUSES,
        "users": display_names(session, {u for u in (cycle.run_by, cycle.approved_by) if u}),
        "can_run": actions.run, "can_pay": actions.pay, "can_approve": actions.approve,
        "flash": flash, "errors": errors or {}, "row_errors": row_errors or [],
        "result_words": cycle_service.result_words_text(),
    }, status_code=status_code)


@router.get("/cycles/{cycle_id:int}", name="cycle")
def cycle_page(request: Request, cycle_id: int, county: str = Query("", max_length=6),
               status: str = Query("", max_length=10), page: int = Query(1, ge=1, le=100_000),
               done: str = Query("", max_length=20), user: User = Depends(current_user),
               session: Session = Depends(get_session)) -> Response:
    """One cycle: totals, the table per county, what may be done next, and its payments."""
    cycle = cycle_service.get_cycle_for(session, user, cycle_id)
    return _cycle_page(request, session, user, cycle, county=county, pay_status=status, page=page,
                       done=done if done in _CYCLE_DONE else None)


@router.post("/cycles/{cycle_id:int}/approve", name="cycle_approve")
def cycle_approve(request: Request, cycle_id: int, user: User = Depends(current_user),
                  session: Session = Depends(get_session)) -> Response:
    """draft → approved, by someone other than whoever computed it (the service says why not)."""
    cycle = cycle_service.get_cycle_for(session, user, cycle_id)
    try:
        cycle_service.approve_cycle(session, actor=user, cycle_id=cycle.id)
    except MinxinError as exc:
        if isinstance(exc, NotFound):
            raise
        session.rollback()
        cycle = cycle_service.get_cycle_for(session, user, cycle.id)
        return _cycle_page(request, session, user, cycle, errors={"approve": error_message(request, exc)},
                           status_code=status_for(exc))
    session.commit()
    return see_other(f"/cycles/{cycle.id}", done="approved")


def _bank_response(session: Session, cycle: Cycle, buffer: io.BytesIO, fmt: str, encoding: str) -> Response:
    short = program_policy(cycle.program_code).short
    suffix = "" if fmt == "xlsx" else f"-{encoding.upper().replace('UTF8', 'UTF-8')}"
    county = region_names(session, {cycle.county_code}).get(cycle.county_code, cycle.county_code)
    filename = f"{short}-{county}-{cycle.period}-银行代发{suffix}.{fmt}"
    ascii_name = cycle_service.bank_file_name(cycle, fmt).replace(f".{fmt}", f"{suffix}.{fmt}")
    media = XLSX if fmt == "xlsx" else f"text/csv; charset={'gbk' if encoding.lower() == 'gbk' else 'utf-8'}"
    return Response(buffer.getvalue(), media_type=media, headers=attachment(filename, ascii_name))


@router.post("/cycles/{cycle_id:int}/export", name="cycle_export")
def cycle_export(request: Request, cycle_id: int, fmt: str = Form("xlsx", max_length=16),
                 user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Export the bank file of an approved cycle (approved → exported): a state change, so by POST with the
    CSRF token only. The file is the answer."""
    cycle = cycle_service.get_cycle_for(session, user, cycle_id)
    kind, _, encoding = fmt.partition("-")
    kind, encoding = (kind, encoding or "utf-8") if kind in ("xlsx", "csv") else ("xlsx", "utf-8")
    buffer = io.BytesIO()
    try:
        cycle_service.export_cycle(session, actor=user, cycle_id=cycle.id, target=buffer, fmt=kind, encoding=encoding)
    except MinxinError as exc:
        if isinstance(exc, NotFound):
            raise
        session.rollback()
        cycle = cycle_service.get_cycle_for(session, user, cycle.id)
        return _cycle_page(request, session, user, cycle, errors={"export": error_message(request, exc)},
                           status_code=status_for(exc))
    session.commit()
    return _bank_response(session, cycle, buffer, kind, encoding)


@router.get("/cycles/{cycle_id:int}/bank.{fmt}", name="cycle_bank_file")
@writes
def cycle_bank_file(cycle_id: int, fmt: str, encoding: str = Query("utf-8", max_length=10),
                    user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The bank file of a cycle already exported, again (xlsx, or CSV in UTF-8 or GBK): reading only, each
    download audited. Exporting (the state change) is the POST above."""
    cycle = cycle_service.get_cycle_for(session, user, cycle_id)
    if fmt not in ("xlsx", "csv"):
        raise NotFound("没有这种格式的银行文件 (no such format)")
    buffer = io.BytesIO()
    cycle_service.download_bank_file(session, actor=user, cycle_id=cycle.id, target=buffer, fmt=fmt,
                                     encoding=encoding)
    session.commit()
    return _bank_response(session, cycle, buffer, fmt, encoding)


@router.post("/cycles/{cycle_id:int}/reconcile", name="cycle_reconcile")
def cycle_reconcile(request: Request, cycle_id: int, file: UploadFile | None = File(None),
                    user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Book the bank's result file: every row must check, or nothing is booked and each error is listed."""
    cycle = cycle_service.get_cycle_for(session, user, cycle_id)
    try:
        data, filename = read_upload(file)
        result = cycle_service.reconcile_cycle(session, actor=user, cycle_id=cycle.id, data=data, filename=filename)
    except MinxinError as exc:
        if isinstance(exc, NotFound):
            raise
        session.rollback()
        cycle = cycle_service.get_cycle_for(session, user, cycle.id)
        return _cycle_page(request, session, user, cycle, errors={"reconcile": error_message(request, exc)},
                           status_code=status_for(exc))
    if not result.ok:
        session.rollback()
        cycle = cycle_service.get_cycle_for(session, user, cycle.id)
        return _cycle_page(request, session, user, cycle, row_errors=result.errors, status_code=422)
    session.commit()
    return see_other(f"/cycles/{cycle.id}", done="reconciled")


# ---- public notice (公示) -------------------------------------------------------------------------

# The public objection form: at most this many posts per client address in the window, counted in the
# database (minxin.kit.ratelimit) so that every worker process shares the count.
OBJECTIONS_PER_WINDOW = 5
OBJECTION_WINDOW = timedelta(minutes=10)

def _public(request: Request, session: Session) -> None:
    ensure_city_name(request, session)


@public_router.get("/notice", name="notice_index")
def notice_index(request: Request, q: str = Query("", max_length=40),
                 session: Session = Depends(get_session)) -> Response:
    """The public notice index: find a community with households under notice (no login)."""
    _public(request, session)
    communities = communities_under_notice(session, q=q, now=utcnow())
    return render(request, "programs/notice_index.html", {"q": q, "communities": communities})


def _notice_page(request: Request, session: Session, community: Region, *, thanks: bool = False,
                 errors: dict[int, str] | None = None, forms: dict[int, dict[str, str]] | None = None,
                 status_code: int = 200) -> Response:
    rows = notice_rows(session, community_code=community.code)
    errors = dict(errors or {})
    for key in [k for k in errors if k not in {r.case_id for r in rows}]:
        errors[0] = errors.pop(key)  # not a row on the page: shown above the table
    token = NOTICE_FORM.issue(request)
    response = render(request, "programs/notice.html", {
        "community": community, "region_label": region_path(session, community.code), "rows": rows, "thanks": thanks,
        "errors": errors, "forms": forms or {}, "notice_csrf": token,
    }, status_code=status_code)
    NOTICE_FORM.set(request, response, token)
    return response


@public_router.get("/notice/{community_code}", name="notice")
def notice_page(request: Request, community_code: str, thanks: bool = False,
                session: Session = Depends(get_session)) -> Response:
    """One community's households under notice: masked head, persons, income, proposed amount, end date."""
    _public(request, session)
    return _notice_page(request, session, get_notice_community(session, community_code), thanks=thanks)


@public_router.post("/notice/{community_code}/objections", name="notice_objection")
def notice_objection(request: Request, community_code: str, case_id: int = Form(0), content: str = Form(""),
                     name: str = Form(""), contact: str = Form(""), csrf_token: str = Form(""),
                     session: Session = Depends(get_session)) -> Response:
    """Anyone may object to a household under notice; the county cannot approve until it is resolved."""
    _public(request, session)
    community = get_notice_community(session, community_code)
    form = {"content": content[:2000], "name": name[:64], "contact": contact[:64]}
    client = request.client.host if request.client else "unknown"
    allowed = ratelimit.hit(session, key=f"objection:{client}", limit=OBJECTIONS_PER_WINDOW, window=OBJECTION_WINDOW)
    session.commit()  # the attempt counts even when it is refused below
    if not allowed:
        response = _notice_page(request, session, community, forms={case_id: form}, status_code=429, errors={
            case_id: _text(request, "programs.notice.too_many", n=OBJECTIONS_PER_WINDOW,
                           minutes=int(OBJECTION_WINDOW.total_seconds()) // 60)})
        response.headers["Retry-After"] = str(int(OBJECTION_WINDOW.total_seconds()))
        return response
    if not NOTICE_FORM.accepts(request, csrf_token):
        return _notice_page(request, session, community, errors={case_id: _text(request, "programs.notice.expired")},
                            forms={case_id: form}, status_code=403)
    try:
        object_to_notice(session, community_code=community.code, case_id=case_id, content=content, raised_by=name,
                         contact=contact)
    except MinxinError as exc:
        session.rollback()
        return _notice_page(request, session, community, errors={case_id: error_message(request, exc)},
                            forms={case_id: form}, status_code=status_for(exc))
    session.commit()
    return RedirectResponse(f"/notice/{community.code}?thanks=1", status_code=303)
