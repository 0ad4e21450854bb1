"""City-wide counts for `minxin stats` and the home page; each domain adds its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from minxin.registry.service import registry_counts


def city_stats(session: Session, *, scope_code: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = dict(registry_counts(session, scope_code=scope_code))
    try:
        from minxin.programs.service import program_counts
    except ImportError:
        return data
    data.update(program_counts(session, scope_code=scope_code))
    return data
