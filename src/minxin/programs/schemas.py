"""Pydantic shapes of the benefit engine's JSON API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StandardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    program: str
    region_code: str
    category: str
    amount_fen: int
    effective_from: date


class StandardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    program: str = Field(min_length=1, max_length=32)
    region_code: str = Field(pattern=r"^[0-9]{6,9}$")
    category: str = Field("", max_length=16)
    amount_yuan: str | int = Field(description="Amount in yuan, e.g. \"480\" or \"480.5\"")
    effective: date
    source: str = Field("", max_length=200)


class CaseEventOut(BaseModel):
    action: str
    from_status: str | None
    to_status: str
    actor: str
    at: datetime
    reason: str | None


class PaymentOut(BaseModel):
    """One part of a payment: the period's regular amount, arrears (补发) for earlier months, or a failed
    payment paid again (重发). for_period names the month(s) it is for ("2012-07～2012-08")."""

    cycle_id: int
    period: str
    kind: Literal["regular", "arrears", "carryover"]
    for_period: str
    amount_fen: int
    status: str
    explanation: str


class CaseOut(BaseModel):
    id: int
    program: str
    status: str
    status_name: str
    household_id: int | None
    head_name: str = Field(description="Masked")
    region_code: str
    category: str
    start_period: str | None
    end_period: str | None
    next_review_due: date | None
    sanwu: bool
    staff_relative: bool
    spot_check_required: bool
    allowed_steps: list[str]
    events: list[CaseEventOut] = []
    payments: list[PaymentOut] = []


class CasePage(BaseModel):
    items: list[CaseOut]
    total: int
    page: int
    page_size: int
    pages: int


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    program: str | None = Field(None, max_length=32, description="default: the policy file's first program")
    household_id: int
    bank_account: str | None = Field(None, max_length=40)
    sanwu: bool = False
    staff_relative: bool = False
    review_class: Literal["A", "B", "C"] = "B"
    reason: str | None = Field(None, max_length=2000)
    category: str | None = Field(None, max_length=16,
                                 description="The case's category: required where the program's categories are "
                                             "not the 户籍 types (e.g. 集中 or 分散); else the household's 户籍类别")
    institution_id: int | None = Field(None, ge=1,
                                       description="集中供养: the id of a care institution in the person's county")


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["investigate", "review", "notice", "approve", "activate", "suspend", "resume", "terminate",
                    "reject"]
    reason: str | None = Field(None, max_length=2000)
    spot_checked: bool = False
    period: str | None = Field(None, pattern=r"^[0-9]{4}-[0-9]{2}$", description="activate/terminate: YYYY-MM")
    income_yuan: str | None = Field(None, description="investigate: assessed monthly household income")


class CycleRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    program: str | None = Field(None, max_length=32, description="default: the policy file's first program")
    period: str = Field(pattern=r"^[0-9]{4}-[0-9]{1,2}$")
    # The county (6 digits); a county user's own when absent. A city user names one, or runs every county
    # through POST /cycles/city.
    county: str | None = Field(None, pattern=r"^[0-9]{6}$")


class CityRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    program: str | None = Field(None, max_length=32, description="default: the policy file's first program")
    period: str = Field(pattern=r"^[0-9]{4}-[0-9]{1,2}$")


class CountyTotal(BaseModel):
    county: str
    name: str
    cases: int
    total_fen: int
    regular_fen: int
    arrears_fen: int
    carryover_fen: int
    paid_fen: int
    failed_fen: int


class CycleOut(BaseModel):
    cycle_id: int
    program: str
    period: str
    county: str
    county_name: str
    status: str
    cases: int
    total_fen: int
    arrears_fen: int
    carryover_fen: int
    by_county: list[CountyTotal]


class CityRunOut(BaseModel):
    """Every county's cycle of one program and month: the city's sums and the county cycles."""

    program: str
    period: str
    cases: int
    total_fen: int
    arrears_fen: int
    carryover_fen: int
    cycles: list[CycleOut]
    failed: list[dict[str, str]]
