"""The city's policy file (TOML): programs, their parameters and seed standards."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from minxin.core.errors import ValidationError
from minxin.core.money import parse_yuan
from minxin.infra.settings import get_settings

DEFAULT_POLICY = "lianyungang-2012.toml"


@dataclass(frozen=True)
class SeedStandard:
    region: str
    category: str
    amount_fen: int
    effective: date
    source: str


@dataclass(frozen=True)
class ProgramPolicy:
    code: str
    name: str
    short: str
    unit: str
    calculator: str
    categories: tuple[str, ...]
    notice_days: int = 7
    spot_check_permille: int = 300
    review_months: dict[str, int] = field(default_factory=dict)
    standards: tuple[SeedStandard, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    path: Path
    city_code: str
    programs: dict[str, ProgramPolicy]
    raw: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """A top-level table of the policy file (statistics, premiums, medical …), or {}."""
        value = self.raw.get(name, {})
        return value if isinstance(value, dict) else {}

    def program(self, code: str) -> ProgramPolicy:
        try:
            return self.programs[code]
        except KeyError:
            raise ValidationError(
                f"未知项目：{code}；可选：{', '.join(sorted(self.programs))} (unknown program)", field="program"
            ) from None


def policy_path() -> Path:
    configured = get_settings().policy_file
    if configured:
        return Path(configured)
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent.parent / "policies" / DEFAULT_POLICY, here / "policies" / DEFAULT_POLICY):
        if candidate.is_file():
            return candidate
    raise ValidationError("找不到政策文件 (policy file not found); set MINXIN_POLICY_FILE")


def _program(code: str, raw: dict[str, Any], where: Path) -> ProgramPolicy:
    def bad(msg: str) -> ValidationError:
        return ValidationError(f"{where.name}: programs.{code}: {msg}")

    standards = []
    for s in raw.get("standards", []):
        try:
            standards.append(SeedStandard(
                region=str(s["region"]), category=str(s.get("category", "")),
                amount_fen=parse_yuan(str(s["amount_yuan"])), effective=date.fromisoformat(str(s["effective"])),
                # shown to clerks as the standard's source: in Chinese, not the file's name
                source="政策文件" + ("" if s.get("verified", True) else "（未核实的占位数据）"),
            ))
        except (KeyError, ValueError) as exc:
            raise bad(f"bad standard entry {s!r}: {exc}") from exc
    # Everything else (a calculator's own parameters: floors, add-ons, ages …) stays in `extra`, read by
    # the calculator that the entry names.
    known = {"name", "short", "unit", "calculator", "categories", "notice_days", "spot_check_permille",
             "review_months", "standards"}
    return ProgramPolicy(
        code=code, name=raw["name"], short=raw.get("short", raw["name"]), unit=raw.get("unit", "household"),
        calculator=raw.get("calculator", code), categories=tuple(raw.get("categories", [])),
        notice_days=int(raw.get("notice_days", 7)), spot_check_permille=int(raw.get("spot_check_permille", 300)),
        review_months={k: int(v) for k, v in raw.get("review_months", {}).items()},
        standards=tuple(standards),
        extra={k: v for k, v in raw.items() if k not in known},
    )


@lru_cache(maxsize=4)
def _load(path: Path) -> Policy:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(f"政策文件无法读取 {path}: {exc}") from exc
    programs = {code: _program(code, p, path) for code, p in raw.get("programs", {}).items()}
    return Policy(path=path, city_code=str(raw.get("city", {}).get("code", "320700")), programs=programs, raw=raw)


def load_policy(path: Path | None = None) -> Policy:
    return _load((path or policy_path()).resolve())
