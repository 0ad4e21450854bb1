"""城乡居民最低生活保障 (低保, minimum living guarantee): the first client of the benefit engine.

`rules.py` states the entitlement as a pure function; `calculator.py` is the same rule as the
engine's set-based SQL, registered under the policy file's calculator name "dibao".
"""
