"""The top navigation: built from the NAV entries of the installed domains' web modules.

A domain's views module declares, next to its router::

    NAV = [NavItem(label="nav.programs", path="/programs", perm=Perm.CASES_APPLY)]

and the app factory collects it. The menu's order is declared, not numbered: the domains in
`minxin.domains.INSTALLED` order, within a domain its web modules in the descriptor's order, within
a module the NAV list's order; the home page (`/`) always leads. A section appears only if its domain
is installed and the user's role holds its permission, so the layout never links to a page that does
not exist or would refuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from minxin.auth.models import User
from minxin.auth.service import has_perm


@dataclass(frozen=True)
class NavItem:
    label: str  # an i18n key, e.g. "nav.registry"
    path: str
    perm: str | tuple[str, ...] | None = None  # a permission (e.g. Perm.CASES_APPLY), or several (any one)
    also: tuple[str, ...] = ()  # other path prefixes that highlight this entry (e.g. "/households")
    group: str | None = None  # an i18n key: entries of one group share a drop-down in the top bar

    def visible_to(self, user: User) -> bool:
        if self.perm is None:
            return True
        perms = (self.perm,) if isinstance(self.perm, str) else self.perm
        return any(has_perm(user, p) for p in perms)

    def is_active(self, path: str) -> bool:
        prefixes = (self.path, *self.also)
        return any(path == p or (p != "/" and path.startswith(p.rstrip("/") + "/")) for p in prefixes)


@dataclass(frozen=True)
class NavGroup:
    """Several sections under one top-bar entry (a drop-down), placed where its first member would be."""

    label: str
    items: tuple[NavItem, ...]
    group: str = "group"  # lets templates tell a group from an item

    def is_active(self, path: str) -> bool:
        return any(item.is_active(path) for item in self.items)


class NavRegistry:
    """The sections of the installed domains, in the order they were added (the display order)."""

    def __init__(self) -> None:
        self._items: list[NavItem] = []

    def add(self, items: Iterable[NavItem]) -> None:
        for item in items:
            if any(existing.path == item.path for existing in self._items):
                raise ValueError(f"two navigation entries for {item.path}")
            self._items.append(item)

    def for_user(self, user: User | None) -> list[NavItem | NavGroup]:
        """The user's top bar: visible entries in order, grouped entries folded into one drop-down
        (a group with a single visible member shows as that member)."""
        if user is None:
            return []
        # The home page leads whatever the domain order (auth, first in it, brings the audit log).
        visible = sorted((item for item in self._items if item.visible_to(user)), key=lambda item: item.path != "/")
        members: dict[str, list[NavItem]] = {}
        for item in visible:
            if item.group:
                members.setdefault(item.group, []).append(item)
        menu: list[NavItem | NavGroup] = []
        for item in visible:
            if not item.group:
                menu.append(item)
            elif members[item.group][0] is item:
                group = members[item.group]
                menu.append(group[0] if len(group) == 1 else NavGroup(label=item.group, items=tuple(group)))
        return menu

    def __iter__(self) -> Iterator[NavItem]:
        return iter(list(self._items))
