"""Pages of home-care service centres and care-worker training (plan P20).

Routes parse, call `minxin.eldercare.training.service`, commit once and render; a refused form is shown
again with the reason and nothing stored. Buttons and forms appear only for `care:manage`.
"""

from __future__ import annotations

import io
from datetime import date

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import Perm, has_perm
from minxin.core.errors import MinxinError, ValidationError
from minxin.eldercare.domain import EldercarePerm
from minxin.eldercare.training import service as svc
from minxin.eldercare.training.models import CENTRE_KINDS, CENTRE_STATUSES, COURSE_LEVELS
from minxin.infra.clock import today
from minxin.kit.tabular import write_xlsx
from minxin.registry.service import region_names
from minxin.web.deps import current_user, get_session
from minxin.web.errors import status_for
from minxin.web.forms import XLSX, attachment, error_message, see_other
from minxin.web.nav import NavItem
from minxin.web.templating import render

router = APIRouter()

NAV = [
    NavItem(label="nav.eldercare.centres", path="/eldercare/centres", perm=Perm.REGISTRY_READ),
    NavItem(label="nav.eldercare.training", path="/eldercare/training", perm=Perm.REGISTRY_READ),
]

_M: dict[str, tuple[str, str]] = {
    "nav.eldercare.centres": ("服务中心", "Service centres"),
    "nav.eldercare.training": ("护理员培训", "Care-worker training"),
    "care.centres.title": ("居家养老服务中心与示范点", "Home-care service centres and demonstration points"),
    "care.centres.intro": ("各乡镇（街道）的居家养老服务中心和示范点；运营中的计入乡镇覆盖。",
                           "Service centres and demonstration points per town; those in use count towards "
                           "town coverage."),
    "care.col.name": ("名称", "Name"),
    "care.col.kind": ("类型", "Kind"),
    "care.col.region": ("所在地", "Where"),
    "care.col.status": ("状态", "Status"),
    "care.col.opened": ("开业日期", "Opened"),
    "care.col.address": ("地址", "Address"),
    "care.col.phone": ("电话", "Phone"),
    "care.col.region_code": ("乡镇（街道）或村（社区）代码", "Town or community code"),
    "care.kind.any": ("全部类型", "All kinds"),
    "care.centres.add": ("登记服务中心或示范点", "Register a centre or point"),
    "care.centres.set_status": ("改为", "Change to"),
    "care.centres.empty": ("辖区内还没有登记服务中心。", "No centres registered in your area."),
    "care.workers.title": ("养老护理员", "Care workers"),
    "care.workers.intro": ("辖区内的养老护理员及其培训和证书。", "Care workers in your area, their training and "
                           "certificates."),
    "care.workers.q": ("姓名或电话", "Name or phone"),
    "care.workers.add": ("登记护理员", "Register a care worker"),
    "care.workers.centre": ("所在服务中心", "Centre"),
    "care.workers.no_centre": ("（不属于服务中心）", "(no centre)"),
    "care.workers.certificates": ("证书", "Certificates"),
    "care.workers.empty": ("辖区内还没有登记护理员。", "No care workers registered in your area."),
    "care.worker.title": ("护理员 {name}", "Care worker {name}"),
    "care.worker.courses": ("培训记录", "Training"),
    "care.training.title": ("养老护理员培训", "Care-worker training"),
    "care.training.intro": ("{year} 年各县区服务中心、示范点、护理员和培训考核情况（人次按当年结业的课程统计）。",
                            "Centres, points, workers and training per county in {year} (person-times on "
                            "courses ending that year)."),
    "care.training.year": ("年份", "Year"),
    "care.training.county": ("县区", "County"),
    "care.training.towns": ("乡镇（街道）", "Towns"),
    "care.training.covered": ("已覆盖乡镇", "Towns covered"),
    "care.training.centres": ("服务中心", "Centres"),
    "care.training.points": ("示范点", "Demo points"),
    "care.training.workers": ("护理员", "Workers"),
    "care.training.trained": ("培训人次", "Trained"),
    "care.training.passed": ("考核合格", "Passed"),
    "care.training.certified": ("持证护理员", "Certified workers"),
    "care.training.total": ("合计", "Total"),
    "care.training.export": ("导出 Excel", "Export to Excel"),
    "care.courses.title": ("培训课程", "Courses"),
    "care.courses.add": ("新增培训课程", "Add a course"),
    "care.col.level": ("等级", "Level"),
    "care.col.dates": ("日期", "Dates"),
    "care.col.starts": ("开始日期", "Starts"),
    "care.col.ends": ("结束日期", "Ends"),
    "care.col.hours": ("学时", "Hours"),
    "care.col.organiser": ("承办单位", "Organiser"),
    "care.col.held_by": ("举办", "Held by"),
    "care.col.enrolled": ("报名", "Enrolled"),
    "care.col.passed": ("合格", "Passed"),
    "care.courses.empty": ("当年没有培训课程。", "No courses that year."),
    "care.course.title": ("课程：{name}", "Course: {name}"),
    "care.course.roster": ("学员", "Trainees"),
    "care.course.enrol": ("报名", "Enrol"),
    "care.course.enrol_phone": ("护理员电话", "Worker's phone"),
    "care.course.empty": ("还没有学员报名。", "Nobody enrolled yet."),
    "care.col.result": ("考核结果", "Result"),
    "care.col.score": ("成绩", "Score"),
    "care.col.certificate": ("证书编号", "Certificate no."),
    "care.col.certified_on": ("发证日期", "Certified on"),
    "care.course.record": ("登记结果", "Record"),
    "care.course.waiting": ("课程 {day} 结束后登记考核结果", "Results after the course ends on {day}"),
    "care.saved": ("已保存。", "Saved."),
}
for _k, _v in svc.KIND_NAMES.items():
    _M[f"care.kind.{_k}"] = (_v, {"centre": "Service centre", "demo_point": "Demonstration point"}[_k])
for _k, _v in svc.CENTRE_STATUS_NAMES.items():
    _M[f"care.status.{_k}"] = (_v, {"building": "Being prepared", "in_use": "In use", "closed": "Closed"}[_k])
for _k, _v in svc.RESULT_NAMES.items():
    _M[f"care.result.{_k}"] = (_v, {"enrolled": "Enrolled", "passed": "Passed", "failed": "Failed",
                                     "withdrawn": "Withdrawn"}[_k])
MESSAGES = {"zh": {k: v[0] for k, v in _M.items()}, "en": {k: v[1] for k, v in _M.items()}}


def _date(value: str, label: str, field: str, *, required: bool = False) -> date | None:
    text = value.strip()
    if not text:
        if required:
            raise ValidationError(f"请填写{label} ({field} required)", field=field)
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{label}格式应为 年-月-日，如 2012-05-01 (bad date)", field=field) from None


def _int(value: str, label: str, field: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 6:
        raise ValidationError(f"{label}应为非负整数 (whole number)", field=field)
    return int(text)


def _can_manage(user: User) -> bool:
    return has_perm(user, EldercarePerm.CARE_MANAGE)


# ---- service centres ----------------------------------------------------------------------------------

def _centres_page(request: Request, session: Session, user: User, *, kind: str = "", page: int = 1,
                  form: dict[str, str] | None = None, error: str | None = None, saved: bool = False,
                  status_code: int = 200) -> Response:
    result = svc.list_centres(session, user=user, kind=kind or None, page=page)
    names = region_names(session, {c.region_code for c in result.items})
    return render(request, "eldercare/centres.html", {
        "result": result, "names": names, "kind": kind, "kinds": CENTRE_KINDS, "statuses": CENTRE_STATUSES,
        "can_manage": _can_manage(user), "form": form or {}, "error": error, "saved": saved,
        "today": today().isoformat()}, status_code=status_code)


@router.get("/eldercare/centres")
def centres(request: Request, kind: str = Query("", max_length=16), page: int = Query(1, ge=1, le=100_000),
            saved: str = Query("", max_length=2), session: Session = Depends(get_session),
            user: User = Depends(current_user)) -> Response:
    try:
        return _centres_page(request, session, user, kind=kind, page=page, saved=bool(saved))
    except MinxinError as exc:
        return _centres_page(request, session, user, error=error_message(request, exc), status_code=status_for(exc))


@router.post("/eldercare/centres")
def centre_add(request: Request, name: str = Form("", max_length=200), kind: str = Form("", max_length=16),
               region: str = Form("", max_length=20), status: str = Form("in_use", max_length=16),
               opened_on: str = Form("", max_length=20), address: str = Form("", max_length=400),
               phone: str = Form("", max_length=40), session: Session = Depends(get_session),
               user: User = Depends(current_user)) -> Response:
    form = {"name": name, "kind": kind, "region": region, "status": status, "opened_on": opened_on,
            "address": address, "phone": phone}
    try:
        svc.add_centre(session, actor=user, name=name, kind=kind, region_code=region, status=status,
                       opened_on=_date(opened_on, "开业日期", "opened_on"), address=address, phone=phone)
    except MinxinError as exc:
        session.rollback()
        return _centres_page(request, session, user, form=form, error=error_message(request, exc),
                             status_code=status_for(exc))
    session.commit()
    return see_other("/eldercare/centres", saved="1")


@router.post("/eldercare/centres/{centre_id:int}/status")
def centre_status(request: Request, centre_id: int, status: str = Form("", max_length=16),
                  opened_on: str = Form("", max_length=20), session: Session = Depends(get_session),
                  user: User = Depends(current_user)) -> Response:
    try:
        svc.set_centre_status(session, actor=user, centre_id=centre_id, status=status,
                              opened_on=_date(opened_on, "开业日期", "opened_on"))
    except MinxinError as exc:
        session.rollback()
        return _centres_page(request, session, user, error=error_message(request, exc), status_code=status_for(exc))
    session.commit()
    return see_other("/eldercare/centres", saved="1")


# ---- care workers -------------------------------------------------------------------------------------

def _workers_page(request: Request, session: Session, user: User, *, q: str = "", page: int = 1,
                  form: dict[str, str] | None = None, error: str | None = None, saved: bool = False,
                  status_code: int = 200) -> Response:
    result = svc.list_workers(session, user=user, q=q, page=page)
    names = region_names(session, {w.region_code for w, _ in result.items})
    centres = svc.list_centres(session, user=user, page_size=200).items if _can_manage(user) else []
    return render(request, "eldercare/workers.html", {
        "result": result, "names": names, "q": q, "centres": centres, "can_manage": _can_manage(user),
        "form": form or {}, "error": error, "saved": saved}, status_code=status_code)


@router.get("/eldercare/workers")
def workers(request: Request, q: str = Query("", max_length=40), page: int = Query(1, ge=1, le=100_000),
            saved: str = Query("", max_length=2), session: Session = Depends(get_session),
            user: User = Depends(current_user)) -> Response:
    try:
        return _workers_page(request, session, user, q=q, page=page, saved=bool(saved))
    except MinxinError as exc:
        return _workers_page(request, session, user, error=error_message(request, exc), status_code=status_for(exc))


@router.post("/eldercare/workers")
def worker_add(request: Request, name: str = Form("", max_length=100), phone: str = Form("", max_length=40),
               region: str = Form("", max_length=20), centre_id: str = Form("", max_length=12),
               session: Session = Depends(get_session), user: User = Depends(current_user)) -> Response:
    form = {"name": name, "phone": phone, "region": region, "centre_id": centre_id}
    try:
        centre = _int(centre_id, "服务中心", "centre_id")
        worker = svc.add_worker(session, actor=user, name=name, phone=phone, region_code=region, centre_id=centre)
    except MinxinError as exc:
        session.rollback()
        return _workers_page(request, session, user, form=form, error=error_message(request, exc),
                             status_code=status_for(exc))
    session.commit()
    return see_other(f"/eldercare/workers/{worker.id}")


@router.get("/eldercare/workers/{worker_id:int}")
def worker_page(request: Request, worker_id: int, session: Session = Depends(get_session),
                user: User = Depends(current_user)) -> Response:
    worker = svc.get_worker_for(session, user, worker_id)
    centre = svc.get_centre_for(session, user, worker.centre_id) if worker.centre_id else None
    return render(request, "eldercare/worker.html", {
        "w": worker, "centre": centre, "enrolments": svc.enrolments_of(session, worker),
        "region": region_names(session, {worker.region_code}).get(worker.region_code, "")})


# ---- training -----------------------------------------------------------------------------------------

def _year(value: int | None) -> int:
    return value or today().year


def _training_page(request: Request, session: Session, user: User, *, year: int, page: int = 1,
                   form: dict[str, str] | None = None, error: str | None = None, status_code: int = 200) -> Response:
    counts = svc.training_counts(session, user=user, year=year)
    courses = svc.list_courses(session, user=user, year=year, page=page)
    held = region_names(session, {c.region_code for c, _, _ in courses.items} | {user.scope_code})
    return render(request, "eldercare/training.html", {
        "counts": counts, "courses": courses, "held": held, "year": year, "levels": COURSE_LEVELS,
        "can_manage": _can_manage(user), "form": form or {}, "error": error,
        "regions": [(c["county_code"], c["name"]) for c in counts["counties"]]}, status_code=status_code)


@router.get("/eldercare/training")
def training(request: Request, year: int | None = Query(None, ge=2000, le=2200),
             page: int = Query(1, ge=1, le=100_000), session: Session = Depends(get_session),
             user: User = Depends(current_user)) -> Response:
    try:
        return _training_page(request, session, user, year=_year(year), page=page)
    except MinxinError as exc:
        return _training_page(request, session, user, year=today().year, error=error_message(request, exc),
                              status_code=status_for(exc))


@router.get("/eldercare/training/export.xlsx")
def training_export(year: int | None = Query(None, ge=2000, le=2200), session: Session = Depends(get_session),
                    user: User = Depends(current_user)) -> Response:
    """The counts per county as a spreadsheet (no personal data)."""
    counts = svc.training_counts(session, user=user, year=_year(year))
    headers = ["县区", "乡镇（街道）", "已覆盖乡镇", "服务中心", "示范点", "护理员", "培训人次", "考核合格",
               "持证护理员"]
    keys = ("towns", "towns_covered", "centres", "demo_points", "workers", "trained", "passed", "certified_workers")
    rows = [[c["name"], *(c[k] for k in keys)] for c in counts["counties"]]
    rows.append(["合计", *(counts["total"][k] for k in keys)])
    buffer = io.BytesIO()
    write_xlsx(buffer, headers, rows, sheet=f"{counts['year']}年护理员培训")
    filename = f"养老服务中心与护理员培训-{counts['year']}.xlsx"
    return Response(buffer.getvalue(), media_type=XLSX,
                    headers=attachment(filename, f"care-training-{counts['year']}.xlsx"))


@router.post("/eldercare/training/courses")
def course_add(request: Request, name: str = Form("", max_length=200), region: str = Form("", max_length=20),
               level: str = Form("", max_length=8), starts_on: str = Form("", max_length=20),
               ends_on: str = Form("", max_length=20), hours: str = Form("", max_length=12),
               organiser: str = Form("", max_length=200), session: Session = Depends(get_session),
               user: User = Depends(current_user)) -> Response:
    form = {"name": name, "region": region, "level": level, "starts_on": starts_on, "ends_on": ends_on,
            "hours": hours, "organiser": organiser}
    try:
        start = _date(starts_on, "开始日期", "starts_on", required=True)
        end = _date(ends_on, "结束日期", "ends_on", required=True)
        assert start is not None and end is not None
        n = _int(hours, "学时", "hours")
        course = svc.add_course(session, actor=user, name=name, region_code=region, level=level, starts_on=start,
                                ends_on=end, hours=n if n is not None else 0, organiser=organiser)
    except MinxinError as exc:
        session.rollback()
        return _training_page(request, session, user, year=today().year, form=form, error=error_message(request, exc),
                              status_code=status_for(exc))
    session.commit()
    return see_other(f"/eldercare/training/courses/{course.id}")


def _course_page(request: Request, session: Session, user: User, course_id: int, *, page: int = 1,
                 error: str | None = None, saved: bool = False, status_code: int = 200) -> Response:
    course = svc.get_course_for(session, user, course_id)
    roster = svc.course_roster(session, user=user, course=course, page=page)
    names = region_names(session, {w.region_code for _, w in roster.items} | {course.region_code})
    return render(request, "eldercare/course.html", {
        "course": course, "roster": roster, "names": names, "can_manage": _can_manage(user), "error": error,
        "saved": saved, "over": course.ends_on <= today(),
        "today": today().isoformat()}, status_code=status_code)


@router.get("/eldercare/training/courses/{course_id:int}")
def course_page(request: Request, course_id: int, page: int = Query(1, ge=1, le=100_000),
                saved: str = Query("", max_length=2), session: Session = Depends(get_session),
                user: User = Depends(current_user)) -> Response:
    return _course_page(request, session, user, course_id, page=page, saved=bool(saved))


@router.post("/eldercare/training/courses/{course_id:int}/enrol")
def course_enrol(request: Request, course_id: int, phone: str = Form("", max_length=40),
                 session: Session = Depends(get_session), user: User = Depends(current_user)) -> Response:
    try:
        worker = svc.find_worker_by_phone(session, user=user, phone=phone)
        svc.enrol(session, actor=user, course_id=course_id, worker_id=worker.id)
    except MinxinError as exc:
        session.rollback()
        return _course_page(request, session, user, course_id, error=error_message(request, exc),
                            status_code=status_for(exc))
    session.commit()
    return see_other(f"/eldercare/training/courses/{course_id}", saved="1")


@router.post("/eldercare/training/enrolments/{enrolment_id:int}/result")
def enrolment_result(request: Request, enrolment_id: int, result: str = Form("", max_length=16),
                     score: str = Form("", max_length=12), certificate_no: str = Form("", max_length=60),
                     certified_on: str = Form("", max_length=20), session: Session = Depends(get_session),
                     user: User = Depends(current_user)) -> Response:
    try:
        row = svc.record_result(session, actor=user, enrolment_id=enrolment_id, result=result,
                                score=_int(score, "成绩", "score"), certificate_no=certificate_no,
                                certified_on=_date(certified_on, "发证日期", "certified_on"))
    except MinxinError as exc:
        session.rollback()
        course_id = svc.course_of_enrolment(session, user=user, enrolment_id=enrolment_id)
        return _course_page(request, session, user, course_id, error=error_message(request, exc),
                            status_code=status_for(exc))
    session.commit()
    return see_other(f"/eldercare/training/courses/{row.course_id}", saved="1")
