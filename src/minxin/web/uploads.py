"""Uploads for importers: read the file (refusing missing, empty and oversized ones in Chinese) and keep
an error sheet that only the uploading user can download.

Error sheets live under `<tmp>/minxin-import-errors/<user id>/<random token>.xlsx` for a day. Any
importer (households, cases, bank results) can use `store_error_sheet` and link to
`/import/errors/<token>.xlsx`, which `minxin.web.views` serves to the same user only. The sheets hold
the rows as uploaded (names, ID numbers): the directories are 0700 and the files 0600, owned by the
server's account (a directory someone else made or linked is refused), and every download is audited
(`import.errors_download`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import UploadFile
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.core.errors import ValidationError
from minxin.infra.settings import get_settings
from minxin.web.errors import megabytes

log = logging.getLogger(__name__)

ERROR_SHEET_DIR = "minxin-import-errors"
ERROR_SHEET_HOURS = 24
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


class UploadTooLarge(ValidationError):
    """A file over the upload limit: refused before anything reads it (an importer may record the refusal)."""


def upload_limit() -> int:
    """The largest file an import accepts: the smaller of the web limit and the importer's own."""
    return get_settings().max_upload_bytes


def read_upload(file: UploadFile | None, *, field: str = "file") -> tuple[bytes, str]:
    """The file's bytes and name; ValidationError (naming `field`) if absent, empty or too large."""
    if file is None or not file.filename:
        raise ValidationError("请选择要上传的文件 (no file uploaded)", field=field)
    limit = upload_limit()
    too_large = "文件过大（{size}），单次导入上限 {limit}，请拆分后分批导入 (file too large)"
    if file.size is not None and file.size > limit:
        raise UploadTooLarge(too_large.format(size=megabytes(file.size), limit=megabytes(limit)), field=field)
    file.file.seek(0)
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLarge(too_large.format(size=f"> {megabytes(limit)}", limit=megabytes(limit)), field=field)
    if not data.strip():
        raise ValidationError("文件是空的 (the file is empty)", field=field)
    return data, file.filename


def _private_dir(path: Path) -> Path:
    """Make ``path`` a directory only this process's user may enter (0700), or refuse one that is not ours.

    The root sits in the shared temporary directory, where anyone could have made it (or a link
    named like it) first.
    """
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(f"{path} is not a directory owned by this server's account")
    if stat.S_IMODE(info.st_mode) != 0o700:
        path.chmod(0o700)
    return path


def _user_dir(user: User) -> Path:
    root = _private_dir(Path(tempfile.gettempdir()) / ERROR_SHEET_DIR)
    return _private_dir(root / str(user.id))


def _sweep(root: Path) -> None:
    cutoff = time.time() - ERROR_SHEET_HOURS * 3600
    for path in root.glob("*/*.xlsx"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass  # another process swept it first


def store_error_sheet(user: User, write: Callable[[Path], None]) -> str | None:
    """Write an error sheet for this user (`write(path)`), return the token that names it; None (and
    the page shows the errors without a sheet) when the directory is not safe to use."""
    try:
        folder = _user_dir(user)
    except OSError:
        log.exception("import error sheets: no private directory, sheet not kept")
        return None
    _sweep(folder.parent)
    token = secrets.token_urlsafe(24)
    path = folder / f"{token}.xlsx"
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # 0600 before a byte is written
    try:
        write(path)
        path.chmod(0o600)  # in case the writer replaced the file
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return token


def download_error_sheet(session: Session, *, user: User, token: str, partial: bool = False) -> Path | None:
    """The sheet to send to its uploader, with the download written to the audit trail (once: a
    ``partial`` request, which resumes a download already begun, is not recorded again)."""
    path = error_sheet_path(user, token)
    if path is not None and not partial:
        audit.record(session, actor=user.username, action="import.errors_download", entity="import_errors",
                     entity_id=token[:16], region_code=user.scope_code)
    return path


def error_sheet_path(user: User, token: str) -> Path | None:
    """The stored sheet if this user uploaded it and it has not expired."""
    if not _TOKEN.fullmatch(token):
        return None
    path = Path(tempfile.gettempdir()) / ERROR_SHEET_DIR / str(user.id) / f"{token}.xlsx"
    if not path.is_file() or path.stat().st_mtime < time.time() - ERROR_SHEET_HOURS * 3600:
        return None
    return path
