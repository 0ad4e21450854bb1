"""Every installed domain's tables, so that Base.metadata knows them all (Alembic, tests).

The list of table modules is each domain descriptor's `models` (`minxin.domains`).
"""

from minxin.domains import import_models
from minxin.infra.db import Base

import_models()

__all__ = ["Base"]
