"""The registry domain: regions, households, persons, incomes, import and export (see `minxin.domains`)."""

from __future__ import annotations

from minxin.auth.service import Perm
from minxin.domains import ROLES, Domain, Permission

_STAFF = ("community_worker", "town_officer", "county_officer", "city_admin")

DOMAIN = Domain(
    name="registry",
    label="困难群众档案",
    web=("minxin.registry.views", "minxin.registry.import_runs_views"),
    api=("minxin.registry.api",),
    cli=("minxin.registry.cli",),
    models=("minxin.regions", "minxin.registry.models", "minxin.registry.import_runs"),
    permissions=(
        Permission(Perm.REGISTRY_READ, roles=ROLES),
        Permission(Perm.REGISTRY_WRITE, roles=_STAFF),
        Permission(Perm.REGISTRY_IMPORT, roles=_STAFF),
        Permission(Perm.PII_VIEW, roles=_STAFF),
    ),
    stats=("minxin.registry.service:registry_counts",),
    # Imports with errors (待处理导入错误): every domain's imports are recorded in import_runs.
    worklist=("minxin.registry.worklist:queues",),
)
