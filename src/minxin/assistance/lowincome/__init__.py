"""Low-income resident doubling plan (低收入居民倍增计划, plan P1): income growth of low-income households."""
