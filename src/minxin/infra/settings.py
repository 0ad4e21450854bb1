"""Configuration from MINXIN_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting can be given as MINXIN_<NAME> in the environment (or a .env file)."""

    model_config = SettingsConfigDict(env_prefix="MINXIN_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///minxin.db"
    # Where the city's policy file lives (standards, review intervals, targets).
    policy_file: Path | None = None
    city_code: str = "320700"
    host: str = "127.0.0.1"
    port: int = 8000
    # Worker processes of `minxin serve` (docs/deploy.md: 2 × cores on PostgreSQL).
    workers: int = 1
    # Counties whose cycles a city run (`minxin cycle run PROGRAM MONTH` by a city user) computes at
    # the same time on PostgreSQL, each in its own transaction and connection; 0: one per CPU core.
    # SQLite has one writer at a time: its counties always run one after another.
    cycle_workers: int = 0
    # Session cookies get the Secure flag when served over https or when this is set.
    cookie_secure: bool = False
    session_hours: int = 12
    # Failed logins: the first `login_max_failures` in a row from one address or for one user name go
    # unhindered; each further one doubles the wait before the next try (1 s, 2 s, 4 s …), for an
    # address up to `login_lockout_minutes`, for a user name up to LOGIN_NAME_MAX_WAIT (seconds, so an
    # attacker cannot lock anyone out). A key's count is forgotten `login_lockout_minutes` after its
    # last failure.
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    # The audit trail's HMAC key (never in the database) and the append-only file its chain head is
    # checkpointed to. Defaults: beside an SQLite database, else in the working directory
    # (minxin.auth.audit.key_path / anchor_path).
    audit_key_file: Path | None = None
    audit_anchor_file: Path | None = None
    # Largest file an import accepts (web upload and CLI alike), in bytes.
    max_upload_bytes: int = 32 * 1024 * 1024
    timezone: str = "Asia/Shanghai"
    # Where `minxin backup`/`restore` find pg_dump and pg_restore (default: beside the server's version).
    pg_bin_dir: Path | None = None
    page_size: int = 20


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process; tests call `get_settings.cache_clear()` after changing env."""
    return Settings()


def project_root() -> Path:
    """The package's folder (src/minxin): policies, templates and migrations are found from here."""
    return Path(__file__).resolve().parent.parent
