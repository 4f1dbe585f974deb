"""JSON deliveries (API pages, credit-fund reports) read within bounds: the document's size, its
nesting depth and the length of each number (htx.limits). Beyond any of them the delivery is
rejected naming the limit — before Python's own limits (recursion, 4,300-digit integers) could
crash the task instead.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

from htx import limits
from htx.feeds.common import RejectedObject

# A JSON string (escapes included), then the brackets that remain outside strings.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


class _NumberTooLong(Exception):
    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


def loads(text: str, source_object: str, *, what: str,
          parse_float: Callable[[str], Any] = float,
          parse_constant: Callable[[str], Any] | None = None) -> Any:
    """The document in `text` (read within limits.JSON_BYTES: see common.read_whole); invalid
    JSON is rejected as "not {what}: <the decoder's error>"."""
    _check_depth(text, source_object)
    longest = limits.JSON_NUMBER_CHARS.value()

    def bounded(convert):
        def parse(text: str):
            if len(text) > longest:
                raise _NumberTooLong(text)
            return convert(text)
        return parse

    try:
        return json.loads(text, parse_int=bounded(int), parse_float=bounded(parse_float),
                          parse_constant=parse_constant)
    except json.JSONDecodeError as err:
        raise RejectedObject(source_object, f"not {what}: {err}") from None
    except _NumberTooLong as err:
        raise RejectedObject(source_object, (
            f"a number of {len(err.text):,} characters ({err.text[:20]}…), beyond the limit of "
            f"{limits.JSON_NUMBER_CHARS.named(longest)}")) from None
    except RecursionError:  # only when the depth limit is set beyond what Python can nest
        raise RejectedObject(source_object, _too_deep(limits.JSON_DEPTH.value())) from None


def _check_depth(text: str, source_object: str) -> None:
    """Counts brackets outside strings (no parsing): a document nested 50,000 deep is refused
    before json.loads recurses into it."""
    deepest = limits.JSON_DEPTH.value()
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub('""', text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > deepest:
                raise RejectedObject(source_object, _too_deep(deepest))
        else:
            depth -= 1


def _too_deep(deepest: int) -> str:
    return f"nested deeper than the limit of {limits.JSON_DEPTH.named(deepest)}"
