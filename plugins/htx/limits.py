"""Every bound on what one delivery may hold or cost, so that no source can stall a feed or
exhaust a worker. Each limit is a setting: its `HTX_MAX_…` environment variable, when present,
replaces the default (a whole number above 0; anything else is refused, naming the variable).

Read at run time, never at DAG parse time. The README's "Reliability and security" section lists
them (a test keeps that table and this module in step).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30


class LimitSettingError(ValueError):
    """An HTX_MAX_… variable that is not a whole number above 0."""


@dataclass(frozen=True)
class Limit:
    setting: str   # the environment variable
    default: int
    unit: str      # what the number counts, plural ("bytes", "pages")
    what: str      # what it bounds, as the README's table says it

    def value(self) -> int:
        raw = os.environ.get(self.setting, "").strip()
        if not raw:
            return self.default
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            raise LimitSettingError(f"refused setting: {self.setting} must be a whole number of "
                                    f"{self.unit} above 0, not {raw!r}")
        return value

    def named(self, value: int | None = None) -> str:
        """'4,194,304 bytes (HTX_MAX_JSON_BYTES)': the limit in force, for messages."""
        return f"{self.value() if value is None else value:,} {self.unit} ({self.setting})"


API_PAGES = Limit("HTX_MAX_API_PAGES", 2_000, "pages", "pages in one registry API pull")
API_PULL_BYTES = Limit("HTX_MAX_API_PULL_BYTES", GIB, "bytes", "bytes in one registry API pull")
API_PAGE_SECONDS = Limit("HTX_MAX_API_PAGE_SECONDS", 120, "seconds",
                         "time to read one API page (then retried as a timeout)")
JSON_BYTES = Limit("HTX_MAX_JSON_BYTES", 4 * MIB, "bytes",
                   "one JSON document: an API page, a credit-fund report")
JSON_DEPTH = Limit("HTX_MAX_JSON_DEPTH", 32, "levels", "nesting of a JSON document")
JSON_NUMBER_CHARS = Limit("HTX_MAX_JSON_NUMBER_CHARS", 1_000, "characters",
                          "one number in a JSON document")
CSV_LINE_CHARS = Limit("HTX_MAX_CSV_LINE_CHARS", 128 * KIB, "characters",
                       "one CSV row (its line, or its lines when a quoted field holds line breaks)")
ANNUAL_REPORTS_BYTES = Limit("HTX_MAX_ANNUAL_REPORTS_BYTES", 32 * MIB, "bytes",
                             "an annual-reports CSV file (read whole)")
XLSX_BYTES = Limit("HTX_MAX_XLSX_BYTES", 32 * MIB, "bytes", "an XLSX workbook as delivered")
XLSX_UNCOMPRESSED_BYTES = Limit("HTX_MAX_XLSX_UNCOMPRESSED_BYTES", 64 * MIB, "bytes",
                                "an XLSX workbook unzipped (zip bombs)")
XLSX_ROWS = Limit("HTX_MAX_XLSX_ROWS", 100_000, "rows", "rows of an XLSX sheet")
XLSX_COLUMNS = Limit("HTX_MAX_XLSX_COLUMNS", 256, "columns", "columns of an XLSX sheet")
CLOCK_SKEW_SECONDS = Limit("HTX_MAX_CLOCK_SKEW_SECONDS", 600, "seconds",
                           "how far past now a registry `updated_at` may lie (else quarantined)")

ALL = (API_PAGES, API_PULL_BYTES, API_PAGE_SECONDS, JSON_BYTES, JSON_DEPTH, JSON_NUMBER_CHARS,
       CSV_LINE_CHARS, ANNUAL_REPORTS_BYTES, XLSX_BYTES, XLSX_UNCOMPRESSED_BYTES, XLSX_ROWS,
       XLSX_COLUMNS, CLOCK_SKEW_SECONDS)
