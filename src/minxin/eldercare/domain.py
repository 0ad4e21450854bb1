"""Elderly care (养老服务, plan P15–P20): elderly people, the home-call and emergency-rescue centre, care
institutions' construction and beds (see `minxin.domains`)."""

from __future__ import annotations

from enum import StrEnum

from minxin.domains import Domain, Permission


class EldercarePerm(StrEnum):
    """Permissions elderly care adds to the platform's."""

    CALLS_INTAKE = "calls:intake"  # the phone system posts calls
    CALLS_HANDLE = "calls:handle"  # take, classify, answer, order a service, dispatch a rescue
    CALLS_SUPERVISE = "calls:supervise"  # receives escalations (值班主任)
    CARE_MANAGE = "care:manage"  # service centres, care workers, their courses and exams (P20)
    # Government-purchased home care (政府购买居家养老服务, homecare/service.py).
    HOMECARE_READ = "homecare:read"  # providers, staff, orders, entitlements and settlements of one's region
    HOMECARE_RECORD = "homecare:record"  # create, start, finish and cancel service orders (provider systems too)
    HOMECARE_MANAGE = "homecare:manage"  # contract providers, their staff, bank accounts


DOMAIN = Domain(
    name="eldercare",
    label="养老服务",
    web=("minxin.eldercare.views", "minxin.eldercare.training.views", "minxin.eldercare.homecare.views"),
    api=("minxin.eldercare.api", "minxin.eldercare.homecare.api"),
    cli=("minxin.eldercare.cli", "minxin.eldercare.homecare.cli"),
    models=("minxin.eldercare.models", "minxin.eldercare.training.models"),
    permissions=(
        Permission(EldercarePerm.CALLS_INTAKE, roles=("call_agent", "city_admin")),
        Permission(EldercarePerm.CALLS_HANDLE, roles=("call_agent", "city_admin")),
        Permission(EldercarePerm.CALLS_SUPERVISE, roles=("city_admin",)),
        Permission(EldercarePerm.CARE_MANAGE, roles=("town_officer", "county_officer", "city_admin")),
        Permission(EldercarePerm.HOMECARE_READ, roles=("community_worker", "town_officer", "county_officer",
                                                       "city_admin", "call_agent", "auditor")),
        # Orders are recorded where the service is arranged: the community, the town, the county, the centre.
        Permission(EldercarePerm.HOMECARE_RECORD, roles=("community_worker", "town_officer", "county_officer",
                                                         "city_admin", "call_agent")),
        # Contracting a provider opens a payment case: the county bureau and the city.
        Permission(EldercarePerm.HOMECARE_MANAGE, roles=("county_officer", "city_admin")),
    ),
    calculators=("minxin.eldercare.homecare.calculator",),
    stats=("minxin.eldercare.homecare.service:homecare_counts",),
    menu_group="nav.group.eldercare",
    # The escalation sweep: runs in every server process, escalates each call once (tasks.py).
    background=("minxin.eldercare.tasks:escalation_loop",),
    worklist=("minxin.eldercare.worklist:queues",),
)
