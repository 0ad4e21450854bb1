"""Children in need (孤儿基本生活费): orphans and children in hardship, their guardians and the monthly
allowance, paid through the benefit engine as program `orphan` (see `minxin.domains`)."""

from __future__ import annotations

from enum import StrEnum

from minxin.domains import Domain, Permission


class ChildrenPerm(StrEnum):
    """Permissions the children's domain adds to the platform's."""

    CHILDREN_READ = "children:read"  # the children list, a child's page (guardian, placement, payments)
    CHILDREN_IMPORT = "children:import"  # move children in from a spreadsheet (creates active cases)


DOMAIN = Domain(
    name="children",
    label="儿童福利",
    web=("minxin.children.views",),
    api=("minxin.children.api",),
    cli=("minxin.children.cli",),
    models=("minxin.children.models",),
    permissions=(
        # Staff who look after children, and the auditor; not the call centre.
        Permission(ChildrenPerm.CHILDREN_READ,
                   roles=("community_worker", "town_officer", "county_officer", "city_admin", "auditor")),
        # Importing opens active cases: the county bureau approves them (县级民政部门审批), and the city.
        Permission(ChildrenPerm.CHILDREN_IMPORT, roles=("county_officer", "city_admin")),
    ),
    stats=("minxin.children.service:children_counts",),
    calculators=("minxin.children.calculator",),
)
