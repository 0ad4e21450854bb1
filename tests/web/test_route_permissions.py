"""Every route × every role: the answer agrees with the permission table, and no record leaves its scope.

The table below names, for each route of the app (pages and /api/v1, every method), the permission a
role must hold (`Perm`, as the service checks it), whether the user's scope must be the city, and
whether the path names a record of the first county (Haizhou). The roles allowed are derived from
the installed domains' permission table (`role_perms`), so the expectation follows any change of it.
A route without an entry fails the test, and so does an entry without a route.

Seven logged-in users (the six roles with demo-like scopes in Haizhou and the city, and a county
officer of Ganyu) and an anonymous client call each route with ids of real records of Haizhou; a
refused role gets 403 or 404 (anonymous: the login page, or 401 on the API), an allowed one never
403, 401 or a 5xx; the Ganyu officer gets 404 for Haizhou's records; no answer carries a marker of a
record outside the caller's scope; and ids beyond 64 bits are 404 on every route that takes an id.
Each request runs in a savepoint rolled back afterwards, so the data stays the same for all of them.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from tests.conftest import make_user
from tests.factories import active_case, household, new_id
from tests.web.conftest import csrf_from, logged_in

from minxin.assistance.domain import AssistancePerm
from minxin.assistance.supermarkets.models import CharitySupermarket
from minxin.auth.models import User
from minxin.auth.service import Perm, ensure_system_user, role_perms
from minxin.children.domain import ChildrenPerm
from minxin.core.divisions import covers
from minxin.core.period import Period
from minxin.eldercare import stream as call_stream
from minxin.eldercare.calls import receive_call
from minxin.eldercare.domain import EldercarePerm
from minxin.eldercare.homecare.service import add_staff, register_provider
from minxin.eldercare.models import CareCallSchedule, ElderlyProfile, ServiceOrder
from minxin.eldercare.training import service as care
from minxin.infra.clock import today
from minxin.infra.db import utcnow, write_lock
from minxin.infra.settings import get_settings
from minxin.programs.cycles import run_cycle
from minxin.programs.models import Case, Objection
from minxin.registry.import_runs import ImportRun
from minxin.registry.importer import import_households
from minxin.registry.models import Institution, Person
from minxin.registry.service import HouseholdIn, MemberIn, create_household
from minxin.veterans.domain import VeteranPerm
from minxin.veterans.importer import import_veterans
from minxin.veterans.models import RetiredSoldier, TrainingCourse, TrainingEnrolment, VeteranRecipient
from minxin.web.app import create_app

# Who may call which route and which records come back is decided in the services, whose scoped queries
# run on both databases in their own tests; the 339 routes × 8 callers take minutes per database.
ONE_DATABASE = "access is decided in the services, tested on both databases"

CITY = "320700"
HAIZHOU, HAIZHOU_TOWN, HAIZHOU_COMMUNITY = "320706", "320706006", "320706006001"
HAIZHOU_OTHER_COMMUNITY = "320706001001"  # 朐阳街道: in Haizhou, outside 新海街道
GANYU, GANYU_COMMUNITY = "320707", "320707100001"

# (username, role, scope); "other_county" is a county officer of Ganyu.
IDENTITIES: dict[str, tuple[str, str, str]] = {
    "community_worker": ("rp_worker", "community_worker", HAIZHOU_COMMUNITY),
    "town_officer": ("rp_town", "town_officer", HAIZHOU_TOWN),
    "county_officer": ("rp_county", "county_officer", HAIZHOU),
    "city_admin": ("rp_city", "city_admin", CITY),
    "call_agent": ("rp_agent", "call_agent", CITY),
    "auditor": ("rp_auditor", "auditor", CITY),
    "other_county": ("rp_ganyu", "county_officer", GANYU),
}
ANONYMOUS = "anonymous"
CALLERS = [*IDENTITIES, ANONYMOUS]

# Surnames no generated name has and no page prints: every person of the city's test households is renamed
# to begin with the one of their region, so a name (masked or not) in an answer tells whose record it is.
SURNAME_MARKS = (("甄", HAIZHOU_COMMUNITY), ("璩", HAIZHOU_OTHER_COMMUNITY), ("禚", GANYU_COMMUNITY))


# ---- the permission table ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """Who may call a route: `perms` (any one of them; empty: any logged-in user), `city` (the scope must
    be the city), `public` (no login). `record`: the region of the
    Haizhou record the path names; a user whose scope does not cover it gets 404 (another county's
    officer, or a town officer for a county's supermarket). `writes_in`: the region the request's body
    names; a user whose scope does not cover it is refused (403 or 404), nothing stored. `missing`: the
    path names nothing (404 for everyone)."""

    perms: tuple[str, ...] = ()
    city: bool = False
    public: bool = False
    record: str | None = None
    writes_in: str | None = None
    missing: bool = False

    def allows(self, role: str, scope: str) -> bool:
        if self.public:
            return True
        if self.perms and not any(p in role_perms(role) for p in self.perms):
            return False
        return not self.city or covers(scope, CITY)


PUBLIC = Rule(public=True)
LOGIN = Rule()
READ = Rule(perms=(Perm.REGISTRY_READ,))
CYCLES = Rule(perms=(Perm.CYCLES_RUN, Perm.AUDIT_READ))
MANAGE_SUPERMARKETS = AssistancePerm.SUPERMARKETS_MANAGE
CALLS = EldercarePerm.CALLS_HANDLE
CARE = EldercarePerm.CARE_MANAGE
VETERANS = Rule(perms=(VeteranPerm.READ,))
HC_READ, HC_RECORD, HC_MANAGE = (EldercarePerm.HOMECARE_READ, EldercarePerm.HOMECARE_RECORD,
                                 EldercarePerm.HOMECARE_MANAGE)


def rec(*perms: str, region: str = HAIZHOU_COMMUNITY, **kw: Any) -> Rule:
    """A route whose path names a record in `region` (a person, household or case of 新海街道 by default)."""
    return Rule(perms=perms, record=region, **kw)


def writes(*perms: str, region: str = HAIZHOU, **kw: Any) -> Rule:
    """A write whose body names a region (or a record) of Haizhou."""
    return Rule(perms=perms, writes_in=region, **kw)


ROUTES: dict[str, Rule] = {
    # the web kit and login
    "GET /": LOGIN,
    "GET /import/errors/{token}.xlsx": Rule(missing=True),
    "GET /lang/{code}": PUBLIC,
    "GET /healthz": PUBLIC,
    "GET /api/docs": PUBLIC,
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "POST /logout": LOGIN,
    # 待办: every logged-in user has a list (maybe empty); one kind is shown to the roles whose step it is
    "GET /worklist": LOGIN,
    "GET /worklist/badge": LOGIN,
    "GET /worklist/{key}": Rule(perms=(Perm.CYCLES_RUN,)),
    # the audit log
    "GET /audit": Rule(perms=(Perm.AUDIT_READ,)),
    "POST /audit/verify": Rule(perms=(Perm.AUDIT_READ,)),
    "GET /audit/export.xlsx": Rule(perms=(Perm.AUDIT_READ,)),
    # registry
    "GET /registry": READ,
    "GET /registry/export.xlsx": READ,
    "GET /registry/communities": READ,
    "GET /registry/communities.xlsx": READ,
    "GET /households/{household_id}": rec(Perm.REGISTRY_READ),
    "POST /households/{household_id}/income": rec(Perm.REGISTRY_WRITE),
    "POST /persons/{person_id}/reveal": rec(Perm.PII_VIEW),
    "GET /import": Rule(perms=(Perm.REGISTRY_IMPORT,)),
    "GET /import/template.xlsx": Rule(perms=(Perm.REGISTRY_IMPORT,)),
    "POST /import": Rule(perms=(Perm.REGISTRY_IMPORT,)),
    # import runs (any kind's; a failed household import of 新海街道 here) and 待处理导入错误
    "GET /imports": Rule(perms=(Perm.REGISTRY_IMPORT,)),
    "GET /imports/{run_id:int}": rec(Perm.REGISTRY_IMPORT),
    "GET /imports/{run_id:int}/errors.{fmt}": rec(Perm.REGISTRY_IMPORT),
    "POST /imports/{run_id:int}/resolve": rec(Perm.REGISTRY_IMPORT),
    # public notice (公示)
    "GET /notice": PUBLIC,
    "GET /notice/{community_code}": PUBLIC,
    "POST /notice/{community_code}/objections": PUBLIC,
    # cases and standards
    "GET /cases": READ,
    "POST /cases": writes(Perm.CASES_APPLY, region=HAIZHOU_COMMUNITY),
    "GET /cases/suspend-overdue": Rule(perms=(Perm.CASES_APPROVE,)),
    "POST /cases/suspend-overdue": Rule(perms=(Perm.CASES_APPROVE,)),
    "GET /cases/{case_id:int}": rec(Perm.REGISTRY_READ),
    "POST /cases/{case_id:int}/step": rec(Perm.CASES_REVIEW),  # the form asks for 审核 (review)
    "POST /cases/{case_id:int}/objections/{objection_id:int}/resolve": rec(Perm.CASES_REVIEW),
    "POST /cases/{case_id:int}/review": rec(Perm.CASES_INVESTIGATE),
    "POST /cases/{case_id:int}/bank-account": rec(Perm.CASES_APPLY),
    "GET /standards": READ,
    "POST /standards": writes(Perm.STANDARDS_SET),
    # payment cycles: a cycle is one program, month and county (Haizhou's here); read by who runs or audits
    # cycles, of that county or the city; approved, exported and reconciled by the county or the city.
    "GET /cycles": CYCLES,
    "POST /cycles": writes(Perm.CYCLES_RUN),
    "GET /cycles/{cycle_id:int}": rec(Perm.CYCLES_RUN, Perm.AUDIT_READ, region=HAIZHOU),
    "POST /cycles/{cycle_id:int}/approve": rec(Perm.CYCLES_APPROVE, region=HAIZHOU),
    "POST /cycles/{cycle_id:int}/export": rec(Perm.CYCLES_RUN, region=HAIZHOU),
    "GET /cycles/{cycle_id:int}/bank.{fmt}": rec(Perm.CYCLES_RUN, region=HAIZHOU),
    "POST /cycles/{cycle_id:int}/reconcile": rec(Perm.CYCLES_RUN, region=HAIZHOU),
    # assistance
    "GET /supermarkets": READ,
    "POST /supermarkets": writes(MANAGE_SUPERMARKETS),
    "GET /supermarkets/{supermarket_id:int}": rec(Perm.REGISTRY_READ, region=HAIZHOU),
    "POST /supermarkets/{supermarket_id:int}/donations": rec(MANAGE_SUPERMARKETS, region=HAIZHOU),
    "POST /supermarkets/{supermarket_id:int}/distributions": rec(MANAGE_SUPERMARKETS, region=HAIZHOU),
    "POST /supermarkets/{supermarket_id:int}/reversals": rec(MANAGE_SUPERMARKETS, region=HAIZHOU),
    "GET /supermarkets/{supermarket_id:int}/ledger.xlsx": rec(Perm.REGISTRY_READ, region=HAIZHOU),
    "GET /reports/low-income": READ,
    "GET /reports/low-income.xlsx": READ,
    "GET /reports/low-income/chart.js": LOGIN,
    "GET /medical": READ,
    "POST /medical/import": Rule(perms=(Perm.CASES_APPROVE,)),
    "GET /medical/export.{fmt}": Rule(perms=(Perm.PII_VIEW,)),
    "GET /wubao": READ,
    "POST /wubao/standards": Rule(perms=(Perm.STANDARDS_SET,)),
    "GET /wubao/rate.xlsx": READ,
    "GET /statistics/rural-income": READ,
    "POST /statistics/rural-income": writes(Perm.STANDARDS_SET),
    "GET /premiums": READ,
    "GET /premiums/{year}/roster.{fmt}": Rule(perms=(Perm.PII_VIEW,)),
    "GET /institutions": READ,
    "POST /institutions": writes(Perm.STANDARDS_SET, region=HAIZHOU_TOWN),
    "GET /institutions.xlsx": READ,
    # children (孤儿基本生活费)
    "GET /children": Rule(perms=(ChildrenPerm.CHILDREN_READ,)),
    "GET /children.xlsx": Rule(perms=(ChildrenPerm.CHILDREN_READ,)),
    "GET /children/{child_id:int}": rec(ChildrenPerm.CHILDREN_READ),
    "GET /children/import": Rule(perms=(ChildrenPerm.CHILDREN_IMPORT,)),
    "POST /children/import": Rule(perms=(ChildrenPerm.CHILDREN_IMPORT,)),
    # 优抚 resettlement (P24): soldiers, their training and placement, courses
    "POST /veterans/soldiers": writes(VeteranPerm.SERVICES, region=HAIZHOU_COMMUNITY),
    "GET /veterans/soldiers/{soldier_id:int}": rec(VeteranPerm.READ),
    "POST /veterans/soldiers/{soldier_id:int}/placement": rec(VeteranPerm.SERVICES),
    "POST /veterans/soldiers/{soldier_id:int}/enrolments": rec(VeteranPerm.SERVICES),
    "POST /veterans/soldiers/{soldier_id:int}/results": rec(VeteranPerm.SERVICES),
    "GET /veterans/courses": Rule(perms=(VeteranPerm.READ,)),
    "GET /veterans/courses.xlsx": Rule(perms=(VeteranPerm.READ,)),
    "POST /veterans/courses": writes(VeteranPerm.SERVICES),
    # JSON API
    "GET /openapi.json": PUBLIC,
    "GET /api/v1/me": LOGIN,
    "GET /api/v1/regions": LOGIN,
    "GET /api/v1/stats": LOGIN,
    "GET /api/v1/persons": READ,
    "GET /api/v1/communities": READ,
    "GET /api/v1/households/{household_id}": rec(Perm.REGISTRY_READ),
    "POST /api/v1/households": writes(Perm.REGISTRY_WRITE, region=HAIZHOU_COMMUNITY),
    "POST /api/v1/persons/{person_id}/reveal": rec(Perm.PII_VIEW),
    "POST /api/v1/imports/households": Rule(perms=(Perm.REGISTRY_IMPORT,)),
    "GET /api/v1/standards": READ,
    "GET /api/v1/standards/in-force": READ,
    "POST /api/v1/standards": writes(Perm.STANDARDS_SET),
    "GET /api/v1/cases": READ,
    "GET /api/v1/cases/{case_id}": rec(Perm.REGISTRY_READ),
    "POST /api/v1/cases": writes(Perm.CASES_APPLY, region=HAIZHOU_COMMUNITY),
    "POST /api/v1/cases/{case_id}/steps": rec(Perm.CASES_REVIEW),
    "GET /api/v1/cycles": CYCLES,
    "POST /api/v1/cycles": writes(Perm.CYCLES_RUN),
    "POST /api/v1/cycles/city": Rule(perms=(Perm.CYCLES_RUN,), city=True),
    "GET /api/v1/cycles/{cycle_id}": rec(Perm.CYCLES_RUN, Perm.AUDIT_READ, region=HAIZHOU),
    "POST /api/v1/cycles/{cycle_id}/approve": rec(Perm.CYCLES_APPROVE, region=HAIZHOU),
    "GET /api/v1/children": Rule(perms=(ChildrenPerm.CHILDREN_READ,)),
    "GET /api/v1/children/{child_id}": rec(ChildrenPerm.CHILDREN_READ),
    "POST /api/v1/children/import": Rule(perms=(ChildrenPerm.CHILDREN_IMPORT,)),
    # elderly care: the elderly, institutions, the call centre (its agents and the city), its API
    "GET /eldercare/elderly": READ,
    "GET /eldercare/elderly/{elderly_id}": rec(Perm.REGISTRY_READ),
    "GET /eldercare/institutions": READ,
    "GET /institutions/free-beds": PUBLIC,
    "GET /eldercare/console": Rule(perms=(CALLS,)),
    "GET /eldercare/console/queue": Rule(perms=(CALLS,)),
    "GET /eldercare/console/calls/{call_id}": rec(CALLS),
    "POST /eldercare/console/calls/{call_id}/{action}": rec(CALLS),
    "POST /eldercare/care-calls": Rule(perms=(CALLS,)),
    "POST /eldercare/care-calls/{schedule_id}": rec(CALLS),
    "GET /eldercare/reports": Rule(perms=(CALLS,)),
    # service centres and care-worker training (P20); a county's course is seen by everyone inside the
    # county, which for these identities is what a record of 新海 community gives
    "GET /eldercare/centres": READ,
    "POST /eldercare/centres": writes(CARE, region=HAIZHOU_TOWN),
    "POST /eldercare/centres/{centre_id:int}/status": rec(CARE, region=HAIZHOU_TOWN),
    "GET /eldercare/workers": READ,
    "POST /eldercare/workers": writes(CARE, region=HAIZHOU_COMMUNITY),
    "GET /eldercare/workers/{worker_id:int}": rec(Perm.REGISTRY_READ),
    "GET /eldercare/training": READ,
    "GET /eldercare/training/export.xlsx": READ,
    "POST /eldercare/training/courses": writes(CARE, region=HAIZHOU),
    "GET /eldercare/training/courses/{course_id:int}": rec(Perm.REGISTRY_READ),
    "POST /eldercare/training/courses/{course_id:int}/enrol": rec(CARE),
    "POST /eldercare/training/enrolments/{enrolment_id:int}/result": rec(CARE),
    "POST /api/v1/calls": Rule(perms=(EldercarePerm.CALLS_INTAKE,)),
    "GET /api/v1/calls": Rule(perms=(CALLS,)),
    "GET /api/v1/calls/stream": Rule(perms=(CALLS,)),
    "GET /api/v1/calls/{call_id}": rec(CALLS, EldercarePerm.CALLS_INTAKE),
    "POST /api/v1/calls/{call_id}/take": rec(CALLS),
    "POST /api/v1/calls/{call_id}/classify": rec(CALLS),
    "POST /api/v1/calls/{call_id}/close": rec(CALLS),
    "POST /api/v1/calls/{call_id}/service-orders": rec(CALLS),
    "POST /api/v1/calls/{call_id}/dispatch": rec(CALLS),
    # veterans (优抚安置): recipients of 新海街道, reports per county, retired soldiers and courses
    "GET /veterans": VETERANS,
    "GET /veterans.xlsx": VETERANS,
    "GET /veterans/import": Rule(perms=(VeteranPerm.MANAGE,)),
    "POST /veterans/import": Rule(perms=(VeteranPerm.MANAGE,)),
    "GET /veterans/{recipient_id}": rec(VeteranPerm.READ),
    "POST /veterans/{recipient_id}/status": rec(VeteranPerm.MANAGE),
    "POST /veterans/{recipient_id}/documents": rec(VeteranPerm.MANAGE),
    "POST /veterans/{recipient_id}/medical": rec(VeteranPerm.MANAGE),
    "POST /veterans/{recipient_id}/services": rec(VeteranPerm.SERVICES),
    "GET /veterans/ontime": VETERANS,
    "GET /veterans/ontime.xlsx": VETERANS,
    "GET /veterans/services": VETERANS,
    "GET /veterans/services.xlsx": VETERANS,
    "GET /veterans/resettlement": VETERANS,
    "GET /veterans/resettlement.xlsx": VETERANS,
    "GET /api/v1/veterans/recipients": VETERANS,
    "GET /api/v1/veterans/recipients/{recipient_id}": rec(VeteranPerm.READ),
    "POST /api/v1/veterans/recipients/{recipient_id}/events": rec(VeteranPerm.MANAGE),
    "POST /api/v1/veterans/recipients/{recipient_id}/services": rec(VeteranPerm.SERVICES),
    "GET /api/v1/veterans/ontime/{period}": VETERANS,
    "GET /api/v1/veterans/services/{year}": VETERANS,
    "GET /api/v1/veterans/soldiers": VETERANS,
    # government-purchased home care: providers are their county's (every Haizhou user sees Haizhou's), orders
    # their person's community's; providers contracted by the county and the city
    "GET /eldercare/providers": Rule(perms=(HC_READ,)),
    "POST /eldercare/providers": writes(HC_MANAGE),
    "GET /eldercare/providers/{provider_id}": rec(HC_READ),
    "POST /eldercare/providers/{provider_id}/staff": rec(HC_MANAGE),
    "POST /eldercare/providers/{provider_id}/update": rec(HC_MANAGE),
    "GET /eldercare/orders/new": Rule(perms=(HC_RECORD,)),
    "POST /eldercare/orders": writes(HC_RECORD, region=HAIZHOU_COMMUNITY),
    "GET /eldercare/orders/{order_id}": rec(HC_READ),
    "POST /eldercare/orders/{order_id}/start": rec(HC_RECORD),
    "POST /eldercare/orders/{order_id}/finish": rec(HC_RECORD),
    "POST /eldercare/orders/{order_id}/cancel": rec(HC_RECORD),
    "GET /eldercare/settlements": Rule(perms=(HC_READ,)),
    "GET /api/v1/homecare/providers": Rule(perms=(HC_READ,)),
    "GET /api/v1/homecare/providers/{provider_id}": rec(HC_READ),
    "GET /api/v1/homecare/orders": Rule(perms=(HC_READ,)),
    "POST /api/v1/homecare/orders": writes(HC_RECORD, region=HAIZHOU_COMMUNITY),
    "GET /api/v1/homecare/orders/{order_id}": rec(HC_READ),
    "POST /api/v1/homecare/orders/{order_id}/start": rec(HC_RECORD),
    "POST /api/v1/homecare/orders/{order_id}/finish": rec(HC_RECORD),
    "POST /api/v1/homecare/orders/{order_id}/cancel": rec(HC_RECORD),
    "GET /api/v1/homecare/entitlements/{person_id}": rec(HC_READ),
}


def app_routes(app: FastAPI) -> dict[str, tuple[str, str]]:
    """'METHOD /path' → (method, path) for every route the app serves, but /static (HEAD rides on GET)."""
    from fastapi.routing import _IncludedRouter  # FastAPI ≥ 0.16x keeps included routers as branches

    def walk(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            if isinstance(route, _IncludedRouter):
                yield from walk(route.effective_candidates())
            else:
                yield route

    found = {}
    for route in walk(app.routes):
        path = getattr(route, "path", "")
        if not path or path.startswith("/static"):
            continue
        for method in getattr(getattr(route, "original_route", route), "methods", None) or ():
            if method != "HEAD":
                found[f"{method} {path}"] = (method, path)
    return found


# ---- the city: one module-wide fixture --------------------------------------------------------------

@dataclass
class World:
    app: FastAPI
    connection: Any
    ids: dict[str, Any]
    users: dict[str, User]
    clients: dict[str, TestClient]
    csrf: dict[str, str]
    markers: list[tuple[str, str]]  # (text shown on pages, region code of its record)


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[World]:
    # The call console's live feed ends after this long (a browser reconnects with Last-Event-ID).
    saved, call_stream.MAX_STREAM_SECONDS = call_stream.MAX_STREAM_SECONDS, 0.3
    with write_lock():
        connection = engine.connect()
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield _build_world(session, connection)
        finally:
            session.close()
            outer.rollback()
            connection.close()
            call_stream.MAX_STREAM_SECONDS = saved


def _build_world(session: Session, connection: Any) -> World:
    users = {key: make_user(session, username=name, role=role, scope=scope)
             for key, (name, role, scope) in IDENTITIES.items()}
    system = ensure_system_user(session)
    # Haizhou 新海街道 community (every Haizhou user's scope), another Haizhou town, and Ganyu.
    home = household(session, system, community=HAIZHOU_COMMUNITY, no="RPMARKA001")
    paid = household(session, system, community=HAIZHOU_COMMUNITY, no="RPMARKA002")
    other_town = household(session, system, community=HAIZHOU_OTHER_COMMUNITY, no="RPMARKB001")
    ganyu = household(session, system, community=GANYU_COMMUNITY, no="RPMARKC001")
    noticed = active_case(session, home)
    noticed.status, noticed.start_period = "noticed", None
    noticed.notice_start, noticed.notice_end = utcnow() - timedelta(days=1), utcnow() + timedelta(days=6)
    for h in (paid, other_town, ganyu):
        active_case(session, h)
    kid = next(m for m in paid.members if not m.is_head)
    orphan = Case(program_code="orphan", household_id=paid.id, person_id=kid.id, region_code=paid.region_code,
                  category="社会散居", status="active", start_period="2012-01", bank_account="6222020000000000009")
    session.add(orphan)
    # A retired soldier of 新海街道 enrolled in one course of Haizhou, another course open; a course of Ganyu.
    soldier = RetiredSoldier(person_id=next(m for m in home.members if not m.is_head).id,
                             region_code=HAIZHOU_COMMUNITY, discharged_on=date(2011, 12, 1), priority=True,
                             priority_reason="烈士子女")
    # A county's course is shown with the soldiers of the county it trains (no marker); Ganyu's is a marker.
    vet_courses = {tag: TrainingCourse(name=name, region_code=code, starts_on=date(2012, 3, 1),
                                       ends_on=date(2012, 5, 31))
                   for tag, name, code in (("A", "RP课程A", HAIZHOU), ("D", "RP课程D", HAIZHOU),
                                           ("C", "RP标记C课程", GANYU))}
    session.add_all([soldier, *vet_courses.values()])
    session.flush()
    soldier_enrolment = TrainingEnrolment(course_id=vet_courses["A"].id, soldier_id=soldier.id)
    session.add(soldier_enrolment)
    objection = Objection(case_id=noticed.id, content="收入不实", raised_by="邻居")
    session.add(objection)
    for name, region in (("RP标记A敬老院", HAIZHOU_COMMUNITY), ("RP标记B敬老院", HAIZHOU_OTHER_COMMUNITY),
                         ("RP标记C敬老院", GANYU_COMMUNITY)):
        session.add(Institution(name=name, region_code=region, kind="敬老院", beds=10))
    new_year = today().replace(month=1, day=1)
    markets = {code: CharitySupermarket(name=f"RP标记{tag}超市", county_code=code, opened_on=new_year)
               for tag, code in (("A", HAIZHOU), ("C", GANYU))}
    session.add_all(markets.values())
    session.flush()
    cycle = run_cycle(session, actor=system, program="dibao", period=Period(2012, 7), county=HAIZHOU)
    # An elderly person of 新海街道 with a call-centre call and a care-call schedule.
    elderly = create_household(session, actor=system, data=HouseholdIn(
        household_no="RPELDER001", region_code=HAIZHOU_COMMUNITY, hukou_type="城镇",
        members=[MemberIn(name="王秀英", id_number=new_id(date(1940, 3, 1), female=True), relation="户主")]))
    old = elderly.members[0]
    session.add(ElderlyProfile(person_id=old.id, region_code=HAIZHOU_COMMUNITY, living_arrangement="独居",
                               phone="13811112222"))
    session.flush()
    call_, _ = receive_call(session, actor=system, caller="13811112222", kind="service")
    schedule = CareCallSchedule(person_id=old.id, region_code=HAIZHOU_COMMUNITY, interval_days=7,
                                next_due_on=today())
    session.add(schedule)
    # Home care: a provider of Haizhou with a worker and an order for the elderly person, one of Ganyu.
    providers = {}
    for tag, county, rep_household in (("A", HAIZHOU, other_town), ("C", GANYU, ganyu)):
        rep = next(m for m in rep_household.members if m.is_head)
        providers[county] = register_provider(
            session, actor=system, name=f"RP标记{tag}服务商", county_code=county, contact_id_number=rep.id_number,
            phone="0518-1234567", bank_account=f"62220000{(tag == 'A' and 1) or 2:011d}")
    hc_worker = add_staff(session, actor=system, provider_id=providers[HAIZHOU].id, name="李护工")
    order_ = ServiceOrder(person_id=old.id, provider_id=providers[HAIZHOU].id, service_type="助洁", status="ordered",
                          scheduled_at=utcnow(), created_by="rp_county", period=str(Period.of(today())), minutes=60,
                          value_fen=2000, staff_id=hc_worker.id)
    session.add(order_)
    session.flush()
    # Service centres of 新海 and of Ganyu; care workers of 新海 community, one enrolled on a Haizhou course.
    centre = care.add_centre(session, actor=system, name="RP标记A中心", kind="centre", region_code=HAIZHOU_TOWN,
                             opened_on=date(2012, 6, 1))
    care.add_centre(session, actor=system, name="RP标记C中心", kind="centre", region_code="320707100",
                    opened_on=date(2012, 6, 1))
    worker = care.add_worker(session, actor=system, name="RP标记A护理员", phone="13955551111",
                             region_code=HAIZHOU_COMMUNITY)
    care.add_worker(session, actor=system, name="RP标记A护理员二", phone="13955552222", region_code=HAIZHOU_COMMUNITY)
    care.add_worker(session, actor=system, name="RP标记C护理员", phone="13955553333", region_code=GANYU_COMMUNITY)
    care.add_course(session, actor=system, name="RP标记C培训班", region_code=GANYU, level="初级",
                    starts_on=today() - timedelta(days=30), ends_on=today() - timedelta(days=20), hours=80)
    course = care.add_course(session, actor=system, name="RP海州初级班", region_code=HAIZHOU, level="初级",
                             starts_on=today() - timedelta(days=30), ends_on=today() - timedelta(days=20), hours=80)
    enrolment = care.enrol(session, actor=system, course_id=course.id, worker_id=worker.id)
    # The lists of children, the elderly, veterans and retired soldiers hold a record of each of the three
    # regions: an orphan and an elderly person in the other households too, and a 优抚 recipient (also a
    # retired soldier) and a training course in each.
    for h, phone in ((other_town, "13811113333"), (ganyu, "13811114444")):
        kid = next(m for m in h.members if not m.is_head)
        session.add(Case(program_code="orphan", household_id=h.id, person_id=kid.id, region_code=h.region_code,
                         category="社会散居", status="active", start_period="2012-01",
                         bank_account=f"62220200000{kid.id:08d}"))
        head_ = next(m for m in h.members if m.is_head)
        session.add(ElderlyProfile(person_id=head_.id, region_code=h.region_code, living_arrangement="独居",
                                   phone=phone))
    veterans = (("甄伤残", HAIZHOU_COMMUNITY), ("璩伤残", HAIZHOU_OTHER_COMMUNITY), ("禚伤残", GANYU_COMMUNITY))
    rows = "\n".join(f"{name},{new_id(date(1950, 2, 1))},{region},残疾军人,二级/因战,2013-01,6222000000000{n:05d},"
                     for n, (name, region) in enumerate(veterans, start=71))
    imported = import_veterans(session, actor=users["city_admin"], filename="rp.csv", data=(
        f"姓名,身份证号,社区代码,优抚类别,子类,开始月份,账号,服役年限\n{rows}\n").encode())
    assert imported.ok, imported.errors
    # A household file of 新海街道 refused for its rows: an import run waiting as 待处理导入错误.
    failed = import_households(session, actor=users["community_worker"], filename="户籍-有错误.csv",
                               data="户编号,姓名\nRP1,甄某\n".encode())
    assert not failed.ok
    failed_run = session.execute(select(ImportRun).where(ImportRun.filename == "户籍-有错误.csv")).scalar_one()
    recipients = {r.region_code: r for r in session.execute(select(VeteranRecipient)).scalars()}
    for r in recipients.values():
        session.add(RetiredSoldier(person_id=r.person_id, region_code=r.region_code, discharged_on=date(2012, 12, 1),
                                   priority=True, priority_reason="烈士子女"))
    for tag, region in (("A", HAIZHOU), ("C", GANYU)):
        session.add(TrainingCourse(name=f"RP标记{tag}课程", region_code=region, starts_on=date(2013, 3, 1),
                                   ends_on=date(2013, 4, 30)))
    # Every person's name begins with the mark of their region (the surname, which masking keeps).
    for person in session.execute(select(Person).where(Person.region_code.is_not(None))).scalars():
        mark = next((m for m, region in SURNAME_MARKS if person.region_code.startswith(region)), None)
        if mark is not None:
            person.name = mark + person.name[1:]
    session.flush()
    session.commit()

    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    app = create_app(factory)
    clients, csrf = {}, {}
    for key in [*IDENTITIES, ANONYMOUS]:
        client = TestClient(app, base_url="http://testserver", follow_redirects=False)
        if key != ANONYMOUS:
            csrf[key] = logged_in(client, users[key])
        clients[key] = client
    head = next(m for m in home.members if m.is_head)
    ids = {"household_id": home.id, "person_id": head.id, "case_id": noticed.id, "objection_id": objection.id,
           "cycle_id": cycle.cycle_id, "child_id": orphan.id, "run_id": failed_run.id,
           "supermarket_id": markets[HAIZHOU].id, "token": "0" * 32, "fmt": "xlsx",
           "year": str(today().year), "code": "zh", "community_code": HAIZHOU_COMMUNITY,
           "key": "cycles.reconcile",  # 待办 of the county and the city (cycles:run), 404 for other roles
           "elderly_id": old.id, "call_id": call_.id, "schedule_id": schedule.id, "action": "take",
           "centre_id": centre.id, "worker_id": worker.id, "course_id": course.id, "enrolment_id": enrolment.id,
           "recipient_id": recipients[HAIZHOU_COMMUNITY].id, "period": "2013-01",
           "soldier_id": soldier.id, "vet_course_id": vet_courses["D"].id,
           "vet_enrolment_id": soldier_enrolment.id,
           "free_id_number": next(m for m in paid.members if m.is_head).id_number,
           "provider_id": providers[HAIZHOU].id, "order_id": order_.id, "rep_id_number": head.id_number,
           "old_id": old.id}
    markers = [("RPMARKA001", HAIZHOU_COMMUNITY), ("RPMARKA002", HAIZHOU_COMMUNITY),
               ("RPMARKB001", HAIZHOU_OTHER_COMMUNITY), ("RPMARKC001", GANYU_COMMUNITY),
               ("RP标记A敬老院", HAIZHOU_COMMUNITY), ("RP标记B敬老院", HAIZHOU_OTHER_COMMUNITY),
               ("RP标记C敬老院", GANYU_COMMUNITY), ("RP标记A超市", HAIZHOU), ("RP标记C超市", GANYU),
               ("RP标记A中心", HAIZHOU_TOWN), ("RP标记C中心", "320707100"), ("RP标记A护理员", HAIZHOU_COMMUNITY),
               ("RP标记C护理员", GANYU_COMMUNITY), ("RP标记C培训班", GANYU),
               # a county's training course is open to the soldiers of all its towns (a soldier's page offers it), so
               # everyone inside Haizhou may see it: for these identities, a record of 新海街道
               ("RP标记A课程", HAIZHOU_COMMUNITY), ("RP标记C课程", GANYU), *SURNAME_MARKS,
               # a provider is its county's: every Haizhou identity sees Haizhou's (their scopes cover 新海街道)
               ("RP标记A服务商", HAIZHOU_COMMUNITY), ("RP标记C服务商", GANYU_COMMUNITY)]
    return World(app=app, connection=connection, ids=ids, users=users, clients=clients, csrf=csrf,
                 markers=markers)


# ---- requests ---------------------------------------------------------------------------------------

_PARAM = re.compile(r"{([a-z_]+)(?::[a-z]+)?}")


def fill(path: str, ids: dict[str, Any], *, huge: str | None = None) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if huge and name.endswith("_id"):
            return huge
        return str(ids[name])
    return _PARAM.sub(value, path)


def _upload() -> dict[str, Any]:
    """A small file that is no valid import of any kind: the service refuses it once it may look at it."""
    return {"file": ("nothing.csv", "甲,乙\n1,2\n".encode(), "text/csv")}


def form_for(key: str, ids: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A minimal, well-formed form or JSON body for a POST route: (data or json, files)."""
    year = today().year
    order = {"provider_id": ids["provider_id"], "person_id": ids["old_id"], "service_type": "助餐", "minutes": "60",
             "scheduled_at": f"{today().isoformat()}T10:00:00+08:00"}
    forms: dict[str, dict[str, Any]] = {
        "POST /login": {"username": "nobody", "password": "wrong-password"},
        "POST /households/{household_id}/income": {"monthly_income": "100"},
        "POST /import": {},
        "POST /notice/{community_code}/objections": {"case_id": ids["case_id"], "content": "收入不实"},
        "POST /cases": {"program": "dibao", "household_no": "RPMARKA001"},
        "POST /cases/suspend-overdue": {"program": "dibao", "before": "2000-01-01"},
        "POST /cases/{case_id:int}/step": {"action": "review", "reason": "核实"},
        "POST /cases/{case_id:int}/objections/{objection_id:int}/resolve": {"resolution": "经核实不属实"},
        "POST /cases/{case_id:int}/review": {"note": "复核"},
        "POST /cases/{case_id:int}/bank-account": {"account": "6228480012345678901"},
        "POST /standards": {"program": "dibao", "region": HAIZHOU, "category": "城镇", "amount": "500",
                            "effective": f"{year + 1}-01-01"},
        "POST /cycles": {"program": "dibao", "period": "2012-08", "county": HAIZHOU},
        "POST /cycles/{cycle_id:int}/export": {"fmt": "xlsx"},
        "POST /supermarkets": {"name": "RP新超市", "county": HAIZHOU, "opened_on": f"{year}-01-01"},
        "POST /supermarkets/{supermarket_id:int}/donations": {"donor": "某公司", "money": "100"},
        "POST /supermarkets/{supermarket_id:int}/distributions": {"household_no": "RPMARKA001", "money": "10"},
        "POST /supermarkets/{supermarket_id:int}/reversals": {"entry_id": "1", "reason": "录错"},
        "POST /wubao/standards": {"year": str(year), "ratio": "55", "action": "preview"},
        "POST /statistics/rural-income": {"county": HAIZHOU, "year": "2011", "amount": "9200"},
        "POST /institutions": {"name": "RP新敬老院", "region": HAIZHOU_TOWN, "kind": "敬老院", "beds": "10"},
        "POST /veterans/soldiers": {"id_number": ids["free_id_number"], "discharged_on": "2012-12-01"},
        "POST /veterans/soldiers/{soldier_id:int}/placement": {"status": "placed", "on": "2012-06-01"},
        "POST /veterans/soldiers/{soldier_id:int}/enrolments": {"course_id": str(ids["vet_course_id"])},
        "POST /veterans/soldiers/{soldier_id:int}/results": {"enrolment_id": str(ids["vet_enrolment_id"]),
                                                             "result": "passed", "certificate_no": "RP证001"},
        "POST /veterans/courses": {"name": "RP新课程", "region_code": HAIZHOU, "starts_on": f"{year}-03-01",
                                   "ends_on": f"{year}-05-31"},
        "POST /api/v1/households": {"household_no": "RPNEW001", "region_code": HAIZHOU_COMMUNITY,
                                    "hukou_type": "城镇",
                                    "members": [{"name": "王五", "id_number": new_id(), "relation": "户主"}]},
        "POST /api/v1/persons/{person_id}/reveal": {"reason": "核对"},
        "POST /api/v1/standards": {"program": "dibao", "region_code": HAIZHOU, "category": "城镇",
                                   "amount_yuan": "500", "effective": f"{year + 1}-01-01"},
        "POST /api/v1/cases": {"program": "dibao", "household_id": ids["household_id"]},
        "POST /api/v1/cases/{case_id}/steps": {"action": "review", "reason": "核实"},
        "POST /api/v1/cycles": {"program": "dibao", "period": "2012-08", "county": HAIZHOU},
        "POST /api/v1/cycles/city": {"program": "dibao", "period": "2012-08"},
        "POST /eldercare/care-calls/{schedule_id}": {"reached": "1"},
        "POST /api/v1/calls": {"caller": "13800000000", "kind": "consult"},
        "POST /api/v1/calls/{call_id}/classify": {"kind": "service"},
        "POST /api/v1/calls/{call_id}/close": {"outcome": "answered"},
        "POST /api/v1/calls/{call_id}/service-orders": {"provider_id": 1, "service_type": "助餐"},
        "POST /api/v1/calls/{call_id}/dispatch": {"target": "community"},
        "POST /eldercare/centres": {"name": "RP新中心", "kind": "centre", "region": HAIZHOU_TOWN,
                                    "opened_on": "2012-06-01"},
        "POST /eldercare/centres/{centre_id:int}/status": {"status": "closed"},
        "POST /eldercare/workers": {"name": "RP新护理员", "phone": "13955550000", "region": HAIZHOU_COMMUNITY},
        "POST /eldercare/training/courses": {"name": "RP课程", "region": HAIZHOU, "level": "初级",
                                             "starts_on": f"{year}-01-01", "ends_on": f"{year}-01-10", "hours": "40"},
        "POST /eldercare/training/courses/{course_id:int}/enrol": {"phone": "13955552222"},
        "POST /eldercare/training/enrolments/{enrolment_id:int}/result": {"result": "withdrawn"},
        "POST /veterans/{recipient_id}/status": {"kind": "deceased", "on": "2013-06-01"},
        "POST /veterans/{recipient_id}/documents": {"certificate_no": "苏残0001", "issued": "2010-01-05"},
        "POST /veterans/{recipient_id}/medical": {"insurance": "新型农村合作医疗", "subsidy": "true"},
        "POST /veterans/{recipient_id}/services": {"kind": "checkup", "on": "2013-05-02", "hospital": "优抚医院"},
        "POST /api/v1/veterans/recipients/{recipient_id}/events": {"kind": "deceased", "on": "2013-06-01"},
        "POST /api/v1/veterans/recipients/{recipient_id}/services": {"kind": "checkup", "on": "2013-05-02",
                                                                     "hospital": "优抚医院"},
        "POST /eldercare/providers": {"name": "RP新服务商", "county_code": HAIZHOU, "bank_account": "6222000000000099",
                                      "contact_id_number": ids["rep_id_number"], "phone": "0518-1234567"},
        "POST /eldercare/providers/{provider_id}/staff": {"name": "张护工", "phone": "13900000000"},
        "POST /eldercare/providers/{provider_id}/update": {"phone": "0518-7654321"},
        "POST /eldercare/orders": order, "POST /api/v1/homecare/orders": {**order, "minutes": 60},
        "POST /eldercare/orders/{order_id}/cancel": {"reason": "老人住院"},
        "POST /api/v1/homecare/orders/{order_id}/cancel": {"reason": "老人住院"},
    }
    uploads = {"POST /import", "POST /cycles/{cycle_id:int}/reconcile", "POST /medical/import",
               "POST /api/v1/imports/households", "POST /children/import", "POST /api/v1/children/import",
               "POST /veterans/import"}
    return forms.get(key, {}), (_upload() if key in uploads else None)


def call(world: World, caller: str, key: str, *, huge: str | None = None) -> Any:
    """One request in a savepoint that is rolled back; the client's cookies are kept as they were."""
    method, path = key.split(" ", 1)
    url = fill(path, world.ids, huge=huge)
    own = world.clients[caller]
    cookies = dict(own.cookies)
    client = own
    savepoint = world.connection.begin_nested()
    try:
        if method == "GET":
            return client.get(url)
        body, files = form_for(key, world.ids)
        headers = {"X-CSRF-Token": world.csrf[caller]} if caller in world.csrf else {}
        if ROUTES[key].public:
            # A public form is the same for everyone and carries its own token (a cookie and a field) from
            # its page, which a logged-in browser is not shown (/login redirects it): post it afresh.
            client = TestClient(world.app, base_url="http://testserver", follow_redirects=False)
            form_page = client.get(url.removesuffix("/objections"))
            body = {**body, "csrf_token": csrf_from(form_page.text)}
            headers = {}
        if path.startswith("/api/") and files is None:
            return client.post(url, json=body, headers=headers)
        return client.post(url, data=body, files=files, headers=headers)
    finally:
        savepoint.rollback()
        own.cookies.clear()
        for name, value in cookies.items():
            own.cookies.set(name, value)


def body_text(response: Any) -> str:
    """The answer as text; an xlsx is unzipped so its cells can be searched too."""
    if response.content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(response.content)) as z:
            return " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
    return response.content.decode("utf-8", "replace")


# ---- the tests --------------------------------------------------------------------------------------

def test_every_route_of_the_app_has_an_entry_in_the_permission_table(world: World) -> None:
    served = set(app_routes(world.app))
    assert served - set(ROUTES) == set(), "routes without a permission entry"
    assert set(ROUTES) - served == set(), "permission entries without a route"


@pytest.mark.parametrize("key", sorted(ROUTES))
def test_each_role_gets_what_the_permission_table_says(world: World, key: str) -> None:
    rule = ROUTES[key]
    is_api = key.split(" ", 1)[1].startswith("/api/")
    wrong = []
    for caller in CALLERS:
        response = call(world, caller, key)
        status = response.status_code
        if caller == ANONYMOUS:
            if rule.public:  # a wrong password is 401, a refused CSRF token would be 403
                ok = status < 500 and status != 403
            elif is_api:
                ok = status == 401
            else:
                ok = status == 303 and response.headers["location"].startswith("/login")
        else:
            _, role, scope = IDENTITIES[caller]
            if status >= 500:
                ok = False
            elif rule.public:
                ok = status != 403
            elif rule.missing:
                ok = status == 404
            elif not rule.allows(role, scope):
                ok = status in (403, 404)
            elif rule.record and not covers(scope, rule.record):
                ok = status == 404
            elif rule.writes_in and not covers(scope, rule.writes_in):
                ok = status in (403, 404, 422)  # refused; a page shows it beside its form (422)
            else:
                ok = status not in (401, 403, 404)
        if not ok:
            wrong.append(f"{caller}: {status} {response.text[:160]!r}")
    assert not wrong, f"{key}\n" + "\n".join(wrong)


# Every answer but a redirect, to a read or a write (a refused form is shown again with its page's lists).
# Public pages show public facts to everyone (the free-bed page names every institution in use).
@pytest.mark.parametrize("key", sorted(k for k in ROUTES if not ROUTES[k].public))
def test_no_answer_shows_a_record_outside_the_callers_scope(world: World, key: str) -> None:
    leaks = []
    for caller in IDENTITIES:
        response = call(world, caller, key)
        if 300 <= response.status_code < 400:
            continue
        text = body_text(response)
        scope = IDENTITIES[caller][2]
        sent = str(form_for(key, world.ids)[0])  # a refused form shows what the caller typed, not a record
        leaks += [f"{caller} sees {marker}" for marker, region in world.markers
                  if marker in text and marker not in sent and not covers(scope, region)]
    assert not leaks, f"{key}: {leaks}"


def test_the_markers_are_shown_to_users_whose_scope_covers_them(world: World) -> None:
    """The check above has teeth: each marker does appear somewhere for a user who may see it."""
    seen: set[str] = set()
    for key in sorted(k for k in ROUTES if k.startswith("GET ") and "{" not in k):
        response = call(world, "city_admin", key)
        if response.status_code == 200:
            text = body_text(response)
            seen |= {marker for marker, _ in world.markers if marker in text}
    assert seen == {marker for marker, _ in world.markers}


@pytest.mark.parametrize("key", sorted(k for k in ROUTES if "_id" in k))
def test_an_id_beyond_64_bits_is_not_found_on_every_route_that_takes_one(world: World, key: str) -> None:
    # past 64 bits, and past Python's 4,300-digit limit for int()
    for huge in ("99999999999999999999999", "9" * 5000):
        answers = {caller: call(world, caller, key, huge=huge).status_code for caller in ("city_admin", "auditor")}
        assert set(answers.values()) == {404}, (huge[:30], answers)


def test_an_id_beyond_64_bits_in_a_form_or_json_body_is_not_found_either(world: World) -> None:
    huge = 10**23
    city = world.clients["city_admin"]
    savepoint = world.connection.begin_nested()
    try:
        applied = city.post("/api/v1/cases", json={"program": "dibao", "household_id": huge},
                            headers={"X-CSRF-Token": world.csrf["city_admin"]})
    finally:
        savepoint.rollback()
    assert applied.status_code == 404, applied.text
    public = TestClient(world.app, base_url="http://testserver", follow_redirects=False)
    page = public.get(f"/notice/{HAIZHOU_COMMUNITY}")
    savepoint = world.connection.begin_nested()
    try:
        objected = public.post(f"/notice/{HAIZHOU_COMMUNITY}/objections",
                               data={"case_id": str(huge), "content": "收入不实", "csrf_token": csrf_from(page.text)})
    finally:
        savepoint.rollback()
    assert objected.status_code in (404, 422), objected.text[:300]


def test_the_city_has_the_records_the_table_is_checked_with(world: World) -> None:
    with Session(bind=world.connection) as s:
        case = s.execute(select(Case).where(Case.id == world.ids["case_id"])).scalar_one()
        assert case.status == "noticed" and case.region_code == HAIZHOU_COMMUNITY
    assert get_settings().city_code == CITY


# The lists of people: each lists the records of every region in the caller's scope and of no other (the
# check above finds a leak anywhere; this one also proves that each list does list what it should).
PEOPLE_LISTS = ["GET /registry", "GET /api/v1/persons", "GET /cases", "GET /api/v1/cases", "GET /children",
                "GET /children.xlsx", "GET /api/v1/children", "GET /eldercare/elderly", "GET /veterans",
                "GET /veterans.xlsx", "GET /api/v1/veterans/recipients", "GET /veterans/resettlement",
                "GET /veterans/resettlement.xlsx", "GET /api/v1/veterans/soldiers"]


@pytest.mark.parametrize("key", PEOPLE_LISTS)
def test_each_list_of_people_shows_every_region_in_scope_and_none_outside(world: World, key: str) -> None:
    checked = []
    for caller, (_, role, scope) in IDENTITIES.items():
        if not ROUTES[key].allows(role, scope):
            continue
        response = call(world, caller, key)
        assert response.status_code == 200, (caller, response.status_code)
        text = body_text(response)
        seen = {mark for mark, _ in SURNAME_MARKS if mark in text}
        assert seen == {mark for mark, region in SURNAME_MARKS if covers(scope, region)}, (caller, seen)
        checked.append(caller)
    assert {"city_admin", "county_officer", "other_county"} <= set(checked)
