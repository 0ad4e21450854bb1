"""优抚 API request bodies and responses (Pydantic)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field


class RecipientRow(BaseModel):
    id: int
    name: str  # masked
    id_number: str  # masked
    region_code: str
    category: str
    subkind: str
    service_years: int | None
    status: str
    case_id: int


class RecipientPage(BaseModel):
    total: int
    page: int
    pages: int
    items: list[RecipientRow]


class StatusIn(BaseModel):
    kind: str = Field(description="moved_out or deceased", max_length=16)
    on: date
    note: str | None = Field(default=None, max_length=200)
    cause: str | None = Field(default=None, max_length=16,
                              description="deceased: illness or other (required for 残疾军人: illness pays 12 months)")


class ServiceIn(BaseModel):
    kind: str = Field(description="checkup or convalescence", max_length=16)
    on: date
    hospital: str = Field(max_length=100)
    days: int | None = Field(default=None, ge=1, le=365)


class ServiceOut(BaseModel):
    id: int
    recipient_id: int
    kind: str
    on: date
    hospital: str
    days: int | None


class SoldierRow(BaseModel):
    id: int
    name: str
    region_code: str
    discharged_on: date
    priority: bool
    priority_reason: str | None
    placement_status: str


class SoldierPage(BaseModel):
    total: int
    page: int
    items: list[SoldierRow]


JsonObject = dict[str, Any]
