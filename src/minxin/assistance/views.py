"""Social-assistance pages: each sub-domain's router, navigation and strings, gathered for the app factory."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter

from minxin.web.app import optional_import

SUBDOMAINS = ("minxin.assistance.supermarkets.views", "minxin.assistance.lowincome.views",
              "minxin.assistance.medical.views", "minxin.assistance.wubao_views")

router = APIRouter()
NAV: list[Any] = []
MESSAGES: dict[str, dict[str, str]] = {"zh": {"nav.group.assistance": "社会救助"},
                                       "en": {"nav.group.assistance": "Assistance"}}

for _name in SUBDOMAINS:
    _module = optional_import(_name)
    if _module is None:
        continue
    router.include_router(_module.router)
    # All of social assistance shares one drop-down in the top bar.
    NAV.extend(replace(item, group="nav.group.assistance") for item in getattr(_module, "NAV", []))
    for _lang, _strings in getattr(_module, "MESSAGES", {}).items():
        MESSAGES.setdefault(_lang, {}).update(_strings)
