"""Paged lists: every list the UI or API returns goes through `paginate`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
MAX_PAGE_SIZE = 200


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(session: Session, stmt: Select[Any], *, page: int = 1, page_size: int = 20,
             scalars: bool = True) -> Page[Any]:
    page = max(1, page)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    total = session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    result = session.execute(stmt.limit(page_size).offset((page - 1) * page_size))
    items = list(result.scalars().all()) if scalars else list(result.all())
    return Page(items=items, total=total, page=page, page_size=page_size)
