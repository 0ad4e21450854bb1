"""City-wide counts for `minxin stats` and the home page: each installed domain's `stats` providers."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.domains import stats_providers


def city_stats(session: Session, *, scope_code: str | None = None) -> dict[str, Any]:
    """The counts of every installed domain in the scope (the whole city without one), in domain order."""
    data: dict[str, Any] = {}
    for provider in stats_providers():
        data.update(provider(session, scope_code=scope_code))
    return data


def stats_for(session: Session, user: User) -> dict[str, Any]:
    """`city_stats` of the user's scope: what the home page and /api/v1/stats show them."""
    return city_stats(session, scope_code=user.scope_code)
