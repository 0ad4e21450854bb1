"""The auth domain: accounts, logins, API tokens and the audit trail (see `minxin.domains`)."""

from __future__ import annotations

from minxin.auth.service import Perm
from minxin.domains import Domain, Permission

DOMAIN = Domain(
    name="auth",
    label="用户与审计",
    web=("minxin.auth.views",),
    api=("minxin.auth.api",),
    cli=("minxin.auth.cli",),
    models=("minxin.auth.models",),
    permissions=(
        Permission(Perm.USERS_MANAGE, roles=("city_admin",)),
        Permission(Perm.AUDIT_READ, roles=("city_admin", "auditor")),
    ),
)
