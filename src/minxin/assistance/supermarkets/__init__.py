"""Charity supermarkets (慈善超市, plan P10)."""
