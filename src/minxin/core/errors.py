"""Domain errors shared by every minxin package.

Web and CLI layers translate these into 4xx pages or exit codes; the rules
and services only raise them.
"""

from __future__ import annotations

__all__ = ["Conflict", "Forbidden", "MinxinError", "NotFound", "Unavailable", "ValidationError"]


class MinxinError(Exception):
    """Base class for expected, user-facing domain errors.

    ``message`` is shown to the user (Chinese, with a short English gloss);
    ``field`` names the form field or column at fault, if any.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, field={self.field!r})"


class ValidationError(MinxinError):
    """Input that breaks a rule: malformed ID number, bad amount, bad month."""


class NotFound(MinxinError):
    """A record that does not exist, or that the user may not see."""


class Forbidden(MinxinError):
    """An action the user is not allowed to perform."""


class Conflict(MinxinError):
    """A change that clashes with the current state (duplicate, stale update)."""


class Unavailable(MinxinError):
    """Something the server needs is missing or misconfigured (e.g. the audit key file): not the user's fault."""
