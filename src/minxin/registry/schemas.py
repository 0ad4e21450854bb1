"""Registry API shapes (Pydantic v2). Lists and details carry masked ID numbers and phones."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from minxin.core._text import MAX_LENGTH, optional_text
from minxin.core.errors import ValidationError as DomainValidationError
from minxin.core.idnumber import normalize_id
from minxin.core.money import parse_yuan
from minxin.registry.service import (
    HouseholdIn,
    MemberIn,
    check_address,
    check_household_no,
    check_name,
    normalize_phone,
    normalize_relation,
)

HealthStatus = Literal["健康", "慢性病", "重病", "残疾", "失能"]  # = models.HEALTH_STATUSES (tested)

# Chinese field names in service errors → the API's field names, so a 422 names the JSON field.
API_FIELDS = {
    "户编号": "household_no", "社区代码": "region_code", "户籍类别": "hukou_type", "姓名": "name",
    "身份证号": "id_number", "与户主关系": "relation", "月收入": "monthly_income_yuan", "联系电话": "phone",
    "残疾等级": "disability_grade", "健康状况": "health_status", "资产": "assets_yuan",
    "申报日期": "declared_on",
}


# ---- out -----------------------------------------------------------------------------------------

class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: str
    parent_code: str | None
    urban: bool
    alias_of: str | None = None


class CountyCount(BaseModel):
    code: str
    name: str
    households: int
    persons: int
    urban: int
    rural: int


class StatsOut(BaseModel):
    scope_code: str
    counts: dict[str, int] = Field(description="persons, households, users, regions (communities), …")
    by_county: list[CountyCount]


class PersonOut(BaseModel):
    """A person in a list: name and ID number masked."""

    id: int
    name: str
    id_number: str
    sex: Literal["M", "F"]
    relation: str | None
    region_code: str | None
    region_name: str | None = Field(description="town · community")
    household_id: int | None
    household_no: str | None = None


class PersonPage(BaseModel):
    items: list[PersonOut]
    total: int
    page: int
    page_size: int
    pages: int


class CommunityOut(BaseModel):
    """A community of the caller's scope with its town and county (the community picker)."""

    code: str = Field(description="12-digit community code, as the household import takes it")
    name: str
    label: str = Field(description="town · community (names repeat across towns)")
    town_code: str
    town: str
    county_code: str
    county: str
    urban: bool


class CommunityPage(BaseModel):
    items: list[CommunityOut]
    total: int
    page: int
    page_size: int
    pages: int


class MemberOut(BaseModel):
    """A household member for a user whose scope covers the household: ID number and phone masked."""

    id: int
    name: str
    id_number: str
    sex: Literal["M", "F"]
    birth_year: int
    relation: str | None
    is_head: bool
    phone: str | None
    disability_grade: int | None
    health_status: str | None
    monthly_income_fen: int
    monthly_income_yuan: str


class HouseholdOut(BaseModel):
    id: int
    household_no: str
    region_code: str
    region_name: str
    hukou_type: str
    address: str | None
    phone: str | None
    monthly_income_fen: int
    monthly_income_yuan: str
    per_capita_income_fen: int
    assets_fen: int | None
    income_declared_on: date | None
    members: list[MemberOut]


class RevealOut(BaseModel):
    id_number: str


class ImportOut(BaseModel):
    households: int
    persons: int
    dry_run: bool


class ImportErrorOut(BaseModel):
    row: int
    column: str
    reason: str


class ImportErrorsOut(BaseModel):
    errors: list[ImportErrorOut]


class FieldErrorOut(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class FieldErrorsOut(BaseModel):
    """A request the API could not parse (FastAPI's 422 shape, every field named)."""

    detail: list[FieldErrorOut]


# ---- in ------------------------------------------------------------------------------------------

def _domain(fn: Any, value: Any) -> Any:
    """Run a domain normaliser; its ValidationError becomes pydantic's, so the 422 names the field."""
    try:
        return fn(value)
    except DomainValidationError as exc:
        raise ValueError(exc.message) from None


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=32)]
    id_number: Annotated[str, Field(min_length=15, max_length=18, description="18 digits (15 are upgraded)")]
    relation: Annotated[str, Field(description="户主/本人、配偶、子女、父母、孙子女、兄弟姐妹、其他")]
    phone: Annotated[str | None, Field(max_length=20)] = None
    disability_grade: Annotated[int | None, Field(ge=1, le=4)] = None
    health_status: HealthStatus | None = None
    monthly_income_yuan: Annotated[str | int | float, Field(description="yuan, e.g. \"1200.50\"")] = "0"

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return str(_domain(check_name, v))

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str) -> str:
        return str(_domain(normalize_id, v))

    @field_validator("relation")
    @classmethod
    def _relation(cls, v: str) -> str:
        return str(_domain(normalize_relation, v))

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return _domain(normalize_phone, v) if v is not None else None

    @field_validator("monthly_income_yuan")
    @classmethod
    def _income(cls, v: str | int | float) -> str | int | float:
        _domain(lambda x: parse_yuan(x, field="monthly_income_yuan"), v)
        return v

    def to_domain(self) -> MemberIn:
        return MemberIn(name=self.name, id_number=self.id_number, relation=self.relation, phone=self.phone,
                        disability_grade=self.disability_grade, health_status=self.health_status,
                        monthly_income_fen=parse_yuan(self.monthly_income_yuan, field="monthly_income_yuan"))


class HouseholdCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    household_no: Annotated[str, Field(min_length=1, max_length=32)]
    region_code: Annotated[str, Field(pattern=r"^[0-9]{12}$", description="12-digit community code")]
    hukou_type: Literal["城镇", "农村"]
    address: Annotated[str | None, Field(max_length=200)] = None
    phone: Annotated[str | None, Field(max_length=20)] = None
    members: Annotated[list[MemberCreate], Field(min_length=1, max_length=50)]

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return _domain(normalize_phone, v) if v is not None else None

    @field_validator("household_no")
    @classmethod
    def _household_no(cls, v: str) -> str:
        return str(_domain(check_household_no, v))

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        return _domain(check_address, v) if v is not None else None

    def to_domain(self) -> HouseholdIn:
        return HouseholdIn(household_no=self.household_no, region_code=self.region_code,
                           hukou_type=self.hukou_type, address=self.address, phone=self.phone,
                           members=[m.to_domain() for m in self.members])


class RevealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str | None, Field(max_length=200)] = None

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str | None) -> str | None:
        reason = _domain(lambda x: optional_text(x, label="理由", max_length=MAX_LENGTH["source"]), v)
        return str(reason) if reason is not None else None
