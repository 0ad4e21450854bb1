"""Imports every domain's tables so that Base.metadata knows them all (Alembic, tests)."""

from minxin.assistance.medical import models as medical_models
from minxin.assistance.supermarkets import models as supermarket_models
from minxin.auth import models as auth_models
from minxin.db import Base
from minxin.programs import models as program_models
from minxin.registry import models as registry_models

__all__ = ["Base", "auth_models", "medical_models", "program_models", "registry_models", "supermarket_models"]
