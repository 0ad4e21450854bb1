"""JSON shapes of the children's API (/api/v1/children)."""

from __future__ import annotations

from pydantic import BaseModel


class GuardianOut(BaseModel):
    name: str  # masked
    relation: str
    phone: str | None  # masked
    id_number: str | None  # masked


class ChildPaymentOut(BaseModel):
    cycle_id: int
    cycle_period: str
    kind: str  # regular | arrears | carryover
    for_period: str
    amount_fen: int
    status: str
    explanation: str


class ChildSummaryOut(BaseModel):
    case_id: int
    name: str  # masked
    id_number: str  # masked
    age: int  # full years; never the birth date, which beside the masked ID number gives it back
    region_code: str
    placement: str  # 集中养育 | 社会散居
    institution: str | None
    status: str
    start_period: str | None
    paid_until: str  # the month of the 18th birthday
    guardian_name: str | None  # masked
    guardian_relation: str | None


class ChildPage(BaseModel):
    items: list[ChildSummaryOut]
    total: int
    page: int
    page_size: int


class ChildOut(BaseModel):
    case_id: int
    name: str
    id_number: str
    age: int  # full years; never the birth date, which beside the masked ID number gives it back
    region_code: str
    placement: str
    institution: str | None
    status: str
    start_period: str | None
    paid_until: str
    guardian: GuardianOut | None
    payments: list[ChildPaymentOut]


class ImportErrorOut(BaseModel):
    row: int
    column: str
    reason: str


class ChildImportOut(BaseModel):
    ok: bool
    dry_run: bool
    children: int
    errors: list[ImportErrorOut]
