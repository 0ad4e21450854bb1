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


DOMAIN = Domain(
    name="eldercare",
    label="养老服务",
    web=("minxin.eldercare.views", "minxin.eldercare.training_views"),
    api=("minxin.eldercare.api",),
    cli=("minxin.eldercare.cli",),
    models=("minxin.eldercare.models", "minxin.eldercare.training_models"),
    permissions=(
        Permission(EldercarePerm.CALLS_INTAKE, roles=("call_agent", "city_admin")),
        Permission(EldercarePerm.CALLS_HANDLE, roles=("call_agent", "city_admin")),
        Permission(EldercarePerm.CALLS_SUPERVISE, roles=("city_admin",)),
        Permission(EldercarePerm.CARE_MANAGE, roles=("town_officer", "county_officer", "city_admin")),
    ),
    menu_group="nav.group.eldercare",
    # The escalation sweep: runs in every server process, escalates each call once (tasks.py).
    background=("minxin.eldercare.tasks:escalation_loop",),
    worklist=("minxin.eldercare.worklist:queues",),
)
