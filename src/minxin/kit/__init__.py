"""Shared tools every domain uses: paged lists, spreadsheets in and out, the xlsx guard, rate limits, CLI helpers."""
