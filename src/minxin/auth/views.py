"""Login and logout pages; the auditor's audit-log page (filter, verify the chain, export).

The login form has no session yet, so it carries its own CSRF token: a random value in a short-lived
cookie that the form must echo (double submit). That stops another site from logging a browser in
under an account of its choosing.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from minxin.auth.audit_labels import action_label, entity_label
from minxin.auth.audit_log import AuditFilter, audit_choices, audit_events_for, export_audit, labels_for, verify_for
from minxin.auth.models import User, WebSession
from minxin.auth.service import (
    LoginFailed,
    Perm,
    begin_login,
    check_password,
    end_session,
    finish_login,
    get_user,
    start_session,
)
from minxin.core.errors import ValidationError
from minxin.infra.db import begin_write
from minxin.infra.settings import get_settings
from minxin.web.deps import (
    SESSION_COOKIE,
    current_user,
    ensure_city_name,
    get_session,
    own_writes,
    safe_next,
    web_session,
    writes,
)
from minxin.web.forms import XLSX, PublicFormToken, secure_cookies
from minxin.web.i18n import gettext
from minxin.web.nav import NavItem
from minxin.web.templating import local_today, render, request_lang

router = APIRouter()
public_router = APIRouter()

LOGIN_FORM = PublicFormToken(cookie="minxin_login_csrf", path="/login", max_age=3600)


NAV = [NavItem(label="nav.audit", path="/audit", perm=Perm.AUDIT_READ)]

MESSAGES = {
    "zh": {
        "nav.audit": "审计日志",
        "audit.title": "审计日志",
        "audit.intro": "系统中每一次数据变更和敏感信息查看都记录在这条不可篡改的哈希链上。",
        "audit.actor": "操作人（用户名）",
        "audit.entity": "对象类型",
        "audit.entity_id": "对象编号",
        "audit.action": "操作",
        "audit.since": "开始日期",
        "audit.until": "结束日期",
        "audit.any": "全部",
        "audit.filter": "筛选",
        "audit.reset": "清除",
        "audit.export": "导出 Excel",
        "audit.verify": "校验哈希链",
        "audit.verify_hint": "从第一条记录起逐条校验哈希、密钥签名和锚点文件，与服务器上的审计校验命令相同。",
        "audit.verify_ok": "校验通过：共 {n} 条记录，链条完整（其中 {keyed} 条带密钥签名）。",
        "audit.verify_broken": "校验未通过：{reason}",
        "audit.verify_at": "问题记录：第 {id} 条",
        "audit.col_id": "序号",
        "audit.col_at": "时间",
        "audit.col_actor": "操作人",
        "audit.col_action": "操作",
        "audit.col_record": "对象",
        "audit.col_region": "区划",
        "audit.col_detail": "详情",
        "audit.empty": "没有符合条件的记录。",
        "audit.bad_date": "日期格式应为 年-月-日，如 2026-12-01",
    },
    "en": {
        "nav.audit": "Audit log",
        "audit.title": "Audit log",
        "audit.intro": "Every change and every view of personal data is an entry of this hash chain.",
        "audit.actor": "Actor (user name)",
        "audit.entity": "Record kind",
        "audit.entity_id": "Record id",
        "audit.action": "Action",
        "audit.since": "From",
        "audit.until": "To",
        "audit.any": "Any",
        "audit.filter": "Filter",
        "audit.reset": "Clear",
        "audit.export": "Export to Excel",
        "audit.verify": "Verify the chain",
        "audit.verify_hint": "Walks the chain from the first entry, as minxin audit verify does.",
        "audit.verify_ok": "Verified: {n} entries, the chain is whole ({keyed} keyed).",
        "audit.verify_broken": "Verification failed: {reason}",
        "audit.verify_at": "At entry {id}",
        "audit.col_id": "No.",
        "audit.col_at": "Time",
        "audit.col_actor": "Actor",
        "audit.col_action": "Action",
        "audit.col_record": "Record",
        "audit.col_region": "Region",
        "audit.col_detail": "Detail",
        "audit.empty": "No entries match.",
        "audit.bad_date": "Dates are YYYY-MM-DD",
    },
}



def _login_page(request: Request, *, next_path: str, username: str = "", error: str | None = None,
                status_code: int = 200) -> Response:
    token = LOGIN_FORM.issue(request)
    settings = get_settings()
    response = render(request, "auth/login.html", {
        "login_csrf": token, "next": next_path, "username": username, "error": error,
        "max_failures": settings.login_max_failures, "lockout_minutes": settings.login_lockout_minutes,
    }, status_code=status_code)
    LOGIN_FORM.set(request, response, token)
    return response


@public_router.get("/login", name="login")
def login_form(request: Request, next: str = "/",
               ws: WebSession | None = Depends(web_session)) -> Response:
    if ws is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_path=safe_next(next))


@public_router.post("/login")
@own_writes
def login(request: Request, username: str = Form(""), password: str = Form(""),
          next: str = Form("/"),
          csrf_token: str = Form(""), session: Session = Depends(get_session)) -> Response:
    """Log in: a short write to pass the throttle, argon2 with no transaction open, a short write for
    the outcome (and the session). Throttled: 429; wrong name or password: 401, the same for both."""
    ensure_city_name(request, session)
    lang = request_lang(request)
    next_path = safe_next(next)
    if not LOGIN_FORM.accepts(request, csrf_token):
        return _login_page(request, next_path=next_path, username=username,
                           error=gettext("login.expired", lang=lang), status_code=403)
    if not username.strip() or not password:
        return _login_page(request, next_path=next_path, username=username,
                           error=gettext("login.required", lang=lang), status_code=422)
    address = request.client.host if request.client else None
    try:
        begin_write(session)
        attempt = begin_login(session, username=username, address=address)
    except LoginFailed as exc:
        session.commit()
        response = _login_page(request, next_path=next_path, username=username, error=exc.message,
                               status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after or 1)
        return response
    session.commit()  # the attempt is counted before the slow part
    check = check_password(attempt, password)  # no transaction open: other writers go on meanwhile
    begin_write(session)
    try:
        user = finish_login(session, attempt=attempt, check=check)
    except LoginFailed as exc:
        session.commit()
        return _login_page(request, next_path=next_path, username=username, error=exc.message,
                           status_code=401)
    key, _ws = start_session(session, user=user)
    session.commit()
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(SESSION_COOKIE, key, max_age=get_settings().session_hours * 3600, httponly=True,
                        samesite="lax", secure=secure_cookies(request), path="/")
    LOGIN_FORM.clear(response)
    return response


@router.post("/logout", name="logout")
def logout(request: Request, user: User = Depends(current_user),
           session: Session = Depends(get_session)) -> Response:
    key = request.cookies.get(SESSION_COOKIE)
    if key:
        end_session(session, key)
        session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies(request))
    return response


# ---- the audit log -----------------------------------------------------------------------------------

def _day(value: str, *, field: str, lang: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(gettext("audit.bad_date", lang=lang), field=field) from None


def _audit_filter(request: Request, actor: str, entity: str, entity_id: str, action: str, since: str,
                  until: str) -> AuditFilter:
    lang = request_lang(request)
    return AuditFilter(actor=actor, entity=entity, entity_id=entity_id, action=action,
                       since=_day(since, field="since", lang=lang), until=_day(until, field="until", lang=lang)).check()


def _audit_page(request: Request, session: Session, user: User, f: AuditFilter, *, page: int = 1,
                verified: object = None) -> Response:
    events = audit_events_for(session, user, f, page=page)
    actions, entities = audit_choices(session, user)
    return render(request, "auth/audit.html", {"events": events, "f": f, "actions": actions, "entities": entities,
                                               **labels_for(session, events.items), "verified": verified,
                                               "action_label": action_label, "entity_label": entity_label})


@router.get("/audit", name="audit")
def audit_log(request: Request, actor: str = Query("", max_length=64), entity: str = Query("", max_length=32),
              entity_id: str = Query("", max_length=64), action: str = Query("", max_length=64),
              since: str = Query("", max_length=10), until: str = Query("", max_length=10),
              page: int = Query(1, ge=1, le=1_000_000), user: User = Depends(current_user),
              session: Session = Depends(get_session)) -> Response:
    """The audit trail, newest first, filtered by actor, record, action and dates (audit:read)."""
    f = _audit_filter(request, actor, entity, entity_id, action, since, until)
    return _audit_page(request, session, user, f, page=page)


@router.post("/audit/verify", name="audit_verify")
def audit_verify(request: Request, user: User = Depends(current_user),
                 session: Session = Depends(get_session)) -> Response:
    """Verify the whole chain from the web (the same service as `minxin audit verify`); the check is audited."""
    username = user.username
    result = verify_for(session, user)
    session.commit()
    # The walk reads the trail in batches and lets go of what it read (the user too): read them again.
    fresh = get_user(session, username)
    request.state.user = fresh
    return _audit_page(request, session, fresh, AuditFilter(), verified=result)


@router.get("/audit/export.xlsx", name="audit_export")
@writes
def audit_export(request: Request, actor: str = Query("", max_length=64), entity: str = Query("", max_length=32),
                 entity_id: str = Query("", max_length=64), action: str = Query("", max_length=64),
                 since: str = Query("", max_length=10), until: str = Query("", max_length=10),
                 user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The filtered trail as xlsx (formula-safe); the export is itself an audit entry."""
    f = _audit_filter(request, actor, entity, entity_id, action, since, until)
    handle = tempfile.NamedTemporaryFile(prefix="minxin-audit-", suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    try:
        export_audit(session, user, f, target=path)
        session.commit()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(path, media_type=XLSX, filename=f"审计日志-{local_today():%Y%m%d}.xlsx",
                        background=BackgroundTask(path.unlink, missing_ok=True))
