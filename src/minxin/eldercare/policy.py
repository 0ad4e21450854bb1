"""The call centre's settings from the policy file's [eldercare] section (seconds and days)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from minxin.core.errors import ValidationError
from minxin.infra.settings import get_settings
from minxin.programs.policy import load_policy


@dataclass(frozen=True)
class CallPolicy:
    emergency_ack_seconds: int = 60
    unclassified_ack_seconds: int = 180
    escalation_poll_seconds: int = 5
    answer_sla_seconds: int = 60
    dispatch_sla_seconds: int = 600
    care_call_interval_days: int = 7
    care_call_grace_days: int = 2


def call_policy() -> CallPolicy:
    """[eldercare] of the city's policy file; a missing key takes the default, a bad one is an error.

    Read once per process and policy file setting, like the other policy reads (the file is loaded
    once per path): a changed policy takes effect when the server restarts."""
    return _call_policy(get_settings().policy_file)


@lru_cache(maxsize=4)
def _call_policy(configured: object) -> CallPolicy:
    raw = load_policy().section("eldercare")
    values: dict[str, int] = {}
    for name in CallPolicy.__dataclass_fields__:
        if name in raw:
            value = raw[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValidationError(f"政策文件 [eldercare] {name} 应为非负整数 (bad policy value)")
            values[name] = value
    return CallPolicy(**values)
