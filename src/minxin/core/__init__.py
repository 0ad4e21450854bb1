"""minxin.core: pure rules shared by every domain (no web, no database).

Errors, resident ID numbers, money in fen, monthly periods, masking and
administrative division codes.
"""

from minxin.core.divisions import (
    ancestors,
    county_of,
    covers,
    level_of,
    parent_of,
    scope_prefix,
    town_of,
    validate_code,
)
from minxin.core.errors import Conflict, Forbidden, MinxinError, NotFound, ValidationError
from minxin.core.idnumber import (
    IdInfo,
    check_char,
    is_valid_id,
    make_id,
    normalize_id,
    parse_id,
    region_name_for,
)
from minxin.core.masking import mask_account, mask_id, mask_name, mask_phone
from minxin.core.money import fen_to_yuan_compact, format_yuan, format_yuan_display, parse_yuan
from minxin.core.period import Period

__all__ = [
    "Conflict",
    "Forbidden",
    "IdInfo",
    "MinxinError",
    "NotFound",
    "Period",
    "ValidationError",
    "ancestors",
    "check_char",
    "county_of",
    "covers",
    "fen_to_yuan_compact",
    "format_yuan",
    "format_yuan_display",
    "is_valid_id",
    "level_of",
    "make_id",
    "mask_account",
    "mask_id",
    "mask_name",
    "mask_phone",
    "normalize_id",
    "parent_of",
    "parse_id",
    "parse_yuan",
    "region_name_for",
    "scope_prefix",
    "town_of",
    "validate_code",
]
