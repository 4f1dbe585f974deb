"""The toy feed's contract parser (a htx.feeds.kit.Parser): `code,amount` rows of one CSV file."""
import csv
import io

from htx import limits
from htx.feeds.common import ParsedRow, RejectedObject, read_whole

HEADER = ["code", "amount"]
COLUMNS = ("code", "amount")
CHECK_COLUMNS = ()


def parse_object(raw, source_object: str):
    text = read_whole(raw, source_object, limits.ANNUAL_REPORTS_BYTES).decode("utf-8")
    lines = list(csv.reader(io.StringIO(text)))
    if not lines or lines[0] != HEADER:
        raise RejectedObject(source_object, f"the header is not {','.join(HEADER)}")
    for number, fields in enumerate(lines[1:], start=2):
        record = dict(zip(HEADER, fields))
        row = ParsedRow(source_object, number, record)
        row.values["code"] = record.get("code", "").strip() or None
        amount = record.get("amount", "").strip()
        if amount.lstrip("-").isdigit():
            row.values["amount"] = int(amount)
        else:
            row.fail("amount", "is_integer", amount, "amount is not a whole number")
        yield row
