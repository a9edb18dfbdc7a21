"""JSON parsing that deeply nested input cannot crash: one depth check for every untrusted document.

Why this exists: web3 imports py_ecc, which raises Python's recursion limit to 100000 for the
whole process. The stdlib JSON parser recurses once per nesting level and honours that limit, so
a document of 100k nested brackets overflows the C stack and kills the process (or, at best,
raises ``RecursionError``) instead of failing as bad input. Documents from outside (gateway
bodies, import files) are therefore measured first, without parsing and without recursion, and
refused when they nest deeper than `MAX_JSON_DEPTH`.

The check looks only at the brackets outside string literals, so it is linear in the document and
runs at C speed: it never builds the document and never calls back into Python per character.
It is conservative on malformed input (e.g. an unterminated string's brackets still count), which
the parser refuses anyway.
"""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate
from typing import Any

__all__ = ["MAX_JSON_DEPTH", "JSONTooDeepError", "check_json_depth", "loads"]

MAX_JSON_DEPTH = 200
"""Deepest accepted nesting of arrays/objects (``[]`` is 1 level). Far beyond any item metadata,
far below what the parser survives; it is also pydantic-core's own parsing limit, which the
gateway used before this module."""

# A complete string literal (escapes included); brackets inside it are text, not structure.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
# Each bracket becomes its depth step as a signed byte: opening +1, closing -1 (0xff).
_STEPS = bytes.maketrans(_BRACKETS, b"\x01\xff\x01\xff")


class JSONTooDeepError(ValueError):
    """The document nests arrays/objects deeper than the limit; it was not parsed.

    A `ValueError`, like `json.JSONDecodeError`, so code that treats unparsable JSON as bad input
    treats this the same way.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels (the limit)")
        self.limit = limit


def check_json_depth(document: str | bytes, *, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise `JSONTooDeepError` if the JSON text ``document`` nests deeper than ``limit`` levels.

    Says nothing about whether the document is otherwise valid JSON: parse it afterwards.
    """
    data = document.encode("utf-8", "surrogatepass") if isinstance(document, str) else document
    # Depth can never exceed the number of opening brackets: almost every document stops here.
    if data.count(b"[") + data.count(b"{") <= limit:
        return
    skeleton = _STRING.sub(b"", data).translate(_STEPS, _NOT_BRACKETS)
    if max(accumulate(array("b", skeleton)), default=0) > limit:
        raise JSONTooDeepError(limit)


def loads(document: str | bytes, *, limit: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads`, after `check_json_depth`: raises `JSONTooDeepError` or
    `json.JSONDecodeError` (both `ValueError`) for unusable input."""
    check_json_depth(document, limit=limit)
    return json.loads(document)
