"""Social assistance's own strings: the label of its menu drop-down (its pages live in the sub-packages,
listed in `minxin.assistance.domain`)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {"zh": {"nav.group.assistance": "社会救助"},
                                       "en": {"nav.group.assistance": "Assistance"}}
