"""优抚 special care for veterans and military families (plan P21–P24), on the benefit engine as the program
`youfu` (see `minxin.domains`). Kept in its own package so that it can move to a 退役军人事务 system as a
whole (DOMAIN.md §4: since 2018 优抚 belongs to the veterans' affairs departments)."""

from __future__ import annotations

from enum import StrEnum

from minxin.domains import Domain, Permission


class VeteranPerm(StrEnum):
    """Permissions the veterans' domain adds."""

    READ = "veterans:read"  # recipients, payments, service events, resettlement of one's region
    MANAGE = "veterans:manage"  # import recipients, record status changes, documents, medical status
    SERVICES = "veterans:services"  # record checkups, convalescence stays, training and placement


DOMAIN = Domain(
    name="veterans",
    label="优抚安置",
    web=("minxin.veterans.views",),
    api=("minxin.veterans.api",),
    cli=("minxin.veterans.cli",),
    models=("minxin.veterans.models",),
    permissions=(
        Permission(VeteranPerm.READ, roles=("community_worker", "town_officer", "county_officer", "city_admin")),
        Permission(VeteranPerm.MANAGE, roles=("county_officer", "city_admin")),
        Permission(VeteranPerm.SERVICES, roles=("town_officer", "county_officer", "city_admin")),
    ),
    stats=("minxin.veterans.service:veteran_counts",),
    menu_group="nav.group.veterans",
    calculators=("minxin.veterans.calculator",),
)
