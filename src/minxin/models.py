"""Every installed domain's tables, so that Base.metadata knows them all (Alembic, tests).

The list of table modules is each domain descriptor's `models` (`minxin.domains`).
"""

from minxin.db import Base
from minxin.domains import import_models

import_models()

__all__ = ["Base"]
