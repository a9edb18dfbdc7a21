"""The JSON depth guard shared by the gateway and the importer: the exact limit, brackets in
strings ignored, wide documents accepted, and over-deep ones refused before the parser (which
would crash under web3's raised recursion limit) ever sees them."""

from __future__ import annotations

import json
import sys

import pytest
import web3  # noqa: F401  (py_ecc raises the recursion limit: the condition the guard is for)

from ledger.jsonsafe import MAX_JSON_DEPTH, JSONTooDeepError, check_json_depth, loads


def nested(depth: int, *, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


def test_web3_has_raised_the_recursion_limit_the_guard_protects_against() -> None:
    assert sys.getrecursionlimit() >= 100_000


@pytest.mark.parametrize("document", [nested(MAX_JSON_DEPTH), nested(MAX_JSON_DEPTH).encode()])
def test_nesting_up_to_the_limit_parses(document: str | bytes) -> None:
    check_json_depth(document)
    assert loads(document) is not None


@pytest.mark.parametrize(
    "document",
    [
        nested(MAX_JSON_DEPTH + 1),
        '{"a":' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1),
        nested(200_000).encode(),
        "[" * 300,  # unbalanced: refused before the parser sees it
    ],
)
def test_deeper_nesting_is_refused_without_parsing(document: str | bytes) -> None:
    with pytest.raises(JSONTooDeepError) as excinfo:
        loads(document)
    assert excinfo.value.limit == MAX_JSON_DEPTH
    assert isinstance(excinfo.value, ValueError)  # bad input, like json.JSONDecodeError


def test_brackets_inside_strings_are_text_not_nesting() -> None:
    text = "[" * 1000 + '\\"{{{' + "\\\\"
    document = json.dumps({"note": text, "list": [text] * 3})
    assert loads(document) == {"note": text, "list": [text] * 3}


def test_wide_documents_with_many_brackets_are_fine() -> None:
    document = json.dumps([{"k": [i]} for i in range(10_000)])
    check_json_depth(document)
    check_json_depth(document, limit=3)
    with pytest.raises(JSONTooDeepError):
        check_json_depth(document, limit=2)
