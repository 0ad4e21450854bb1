"""The benefit engine: programs, standards, cases and their workflow, payment cycles (see `minxin.domains`)."""

from __future__ import annotations

from minxin.auth.service import Perm
from minxin.domains import Domain, Permission

_COMMUNITY_UP = ("community_worker", "town_officer", "county_officer", "city_admin")
_TOWN_UP = ("town_officer", "county_officer", "city_admin")
_COUNTY_UP = ("county_officer", "city_admin")

DOMAIN = Domain(
    name="programs",
    label="救助业务",
    # The string catalogue first (its own module), then the pages.
    web=("minxin.programs.messages", "minxin.programs.views"),
    api=("minxin.programs.api",),
    cli=("minxin.programs.cli",),
    # The rate limits of the public objection form (minxin.kit.ratelimit, a table any face may use).
    models=("minxin.programs.models", "minxin.kit.ratelimit"),
    permissions=(
        Permission(Perm.CASES_APPLY, roles=_COMMUNITY_UP),
        Permission(Perm.CASES_INVESTIGATE, roles=_COMMUNITY_UP),
        Permission(Perm.CASES_REVIEW, roles=_TOWN_UP),
        Permission(Perm.CASES_NOTICE, roles=_TOWN_UP),
        Permission(Perm.CASES_APPROVE, roles=_COUNTY_UP),
        Permission(Perm.STANDARDS_SET, roles=_COUNTY_UP),
        Permission(Perm.CYCLES_RUN, roles=_COUNTY_UP),
        Permission(Perm.CYCLES_APPROVE, roles=_COUNTY_UP),
    ),
    init=("minxin.programs.service:init_programs",),
    menu_group="nav.group.programs",
    stats=("minxin.programs.service:program_counts",),
    # The engine's own calculator: the standard as it is (programs name it in the policy file).
    calculators=("minxin.programs.flat",),
    worklist=("minxin.programs.worklist:queues",),
    glance=("minxin.programs.worklist:glance",),
)
