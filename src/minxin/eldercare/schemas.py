"""JSON shapes of the call-centre API (`/api/v1/calls`). Field names are the issue's contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class CallIn(BaseModel):
    """A call from the phone system or a 一键呼叫 device."""

    model_config = ConfigDict(extra="ignore")

    caller: str = Field(description="The calling phone number or device (terminal) id.")
    kind: str | None = Field(None, description="consult, service or emergency")
    at: datetime | None = Field(None, description="When the call came in (ISO 8601; without an offset: China time)")
    location: str | None = None
    event_id: str | None = Field(None, description="The phone system's id of the call: sent twice, one call.")

    @field_validator("caller", "event_id", mode="before")
    @classmethod
    def _number_as_text(cls, value: Any) -> Any:
        # Phone systems send numbers as JSON numbers too; a number is read as its digits.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value


class CallOut(BaseModel):
    id: int
    person_id: int | None
    status: str
    kind: str | None
    received_at: datetime


class StepOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    what: str


class CallDetailOut(BaseModel):
    id: int
    status: str
    person_id: int | None
    kind: str | None
    caller: str
    location: str | None
    received_at: datetime
    taken_at: datetime | None
    taken_by: str | None
    dispatched_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    escalated: bool
    timeline: list[StepOut]


class CallPage(BaseModel):
    items: list[CallOut]
    total: int
    page: int
    page_size: int


class ClassifyIn(BaseModel):
    kind: str


class CloseIn(BaseModel):
    outcome: str
    note: str | None = None


class ServiceOrderIn(BaseModel):
    provider_id: int
    service_type: str
    scheduled_at: datetime | None = None
    note: str | None = None


class ServiceOrderOut(BaseModel):
    id: int
    call_id: int | None
    person_id: int
    provider_id: int
    service_type: str
    status: str


class DispatchIn(BaseModel):
    target: str = Field(description="ambulance_120, community or family")
    contact_id: int | None = None
    note: str | None = None
