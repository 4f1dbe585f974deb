"""No secret in an error, a log line, an alert or an audit row, whatever the failure.

Every secret the project reads (the registry's bearer token, the warehouse and alert passwords,
the webhook's headers) is remembered here when it is read (htx.settings, htx.ops.notify), and
`redact` replaces it — as given, stripped, escaped or URL-quoted — by `***` in any text; the
shapes that carry secrets (`Bearer …`, `user:password@` in a URL, `password=…`) are masked even
when the value was never remembered. Failures are described through `htx.errors.describe`, which
redacts, before they are logged, alerted or recorded.
"""
from __future__ import annotations

import re
from urllib.parse import quote

MASK = "***"
_MIN_LENGTH = 4  # shorter values would mask ordinary words
_known: set[str] = set()

_SHAPES = (
    (re.compile(r"\b(Bearer\s+)[^\s'\"]{8,}"), r"\1" + MASK),  # a header value, not the words
    (re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@"), r"\1" + MASK + "@"),
    (re.compile(r"(?i)\b(password\s*=\s*)('[^']*'|\S+)"), r"\1" + MASK),
)


def remember(*secrets: str | None) -> None:
    """Mark values as secret for the rest of this process."""
    for secret in secrets:
        if not isinstance(secret, str) or len(secret.strip()) < _MIN_LENGTH:
            continue
        for form in (secret, secret.strip(), repr(secret)[1:-1], quote(secret, safe="")):
            if len(form) >= _MIN_LENGTH:
                _known.add(form)


def redact(text: str) -> str:
    """`text` with every remembered secret and every secret-bearing shape masked."""
    for secret in sorted(_known, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for shape, replacement in _SHAPES:
        text = shape.sub(replacement, text)
    return text
