"""The top navigation: built from the NAV entries of the domain modules that are installed.

A domain's views module declares, next to its router::

    NAV = [NavItem(label="nav.programs", path="/programs", perm=Perm.CASES_APPLY, order=30)]

and the app factory collects it. A section appears only if its module is present and the user's
role holds its permission, so the layout never links to a page that does not exist or would refuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from minxin.auth.models import User
from minxin.auth.service import Perm, has_perm


@dataclass(frozen=True)
class NavItem:
    label: str  # an i18n key, e.g. "nav.registry"
    path: str
    perm: Perm | None = None  # shown only to roles holding it
    order: int = 100  # position from the left; core sections use 0-20, domains 30 and up
    also: tuple[str, ...] = ()  # other path prefixes that highlight this entry (e.g. "/households")

    def visible_to(self, user: User) -> bool:
        return self.perm is None or has_perm(user, self.perm)

    def is_active(self, path: str) -> bool:
        prefixes = (self.path, *self.also)
        return any(path == p or (p != "/" and path.startswith(p.rstrip("/") + "/")) for p in prefixes)


class NavRegistry:
    """The sections of the installed domains, in display order."""

    def __init__(self) -> None:
        self._items: list[NavItem] = []

    def add(self, items: Iterable[NavItem]) -> None:
        for item in items:
            if any(existing.path == item.path for existing in self._items):
                raise ValueError(f"two navigation entries for {item.path}")
            self._items.append(item)
        self._items.sort(key=lambda i: (i.order, i.path))

    def for_user(self, user: User | None) -> list[NavItem]:
        if user is None:
            return []
        return [item for item in self._items if item.visible_to(user)]

    def __iter__(self) -> Iterator[NavItem]:
        return iter(list(self._items))
