"""Veterans' tests: a policy file with a local supplement (地方补助)."""

from __future__ import annotations

from pathlib import Path

import pytest

from minxin.infra.settings import get_settings
from minxin.programs.policy import _load


@pytest.fixture
def supplement_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The city's policy file plus a 海州区 supplement (地方补助) of 30 yuan a month for 烈士遗属 from 2013."""
    src = Path("policies/lianyungang-2012.toml").read_text(encoding="utf-8")
    policy = tmp_path / "p.toml"
    policy.write_text(src + '\n[[programs.youfu.supplements]]\nregion = "320706"\ncategory = "烈士遗属"\n'
                      'monthly_yuan = "30"\neffective = "2013-01-01"\n', encoding="utf-8")
    monkeypatch.setenv("MINXIN_POLICY_FILE", str(policy))
    get_settings.cache_clear()
    _load.cache_clear()
    yield
    monkeypatch.delenv("MINXIN_POLICY_FILE")
    get_settings.cache_clear()
    _load.cache_clear()
