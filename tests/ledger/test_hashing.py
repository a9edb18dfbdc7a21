"""Item ids and document hashes: anyone must be able to recompute them from a label or a file."""

from __future__ import annotations

import pytest
import rfc8785
from eth_utils import keccak

from ledger.client import evidence_hash, parse_item_id
from ledger.errors import InputError
from ledger.hashing import (
    hash_bytes,
    hash_document,
    item_id,
    normalise_brand,
    normalise_serial,
    parse_hash32,
)


def _fullwidth(text: str) -> str:
    """``text`` in full-width forms (as some label printers and CJK keyboards produce)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _word(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _padded(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 32)


# ---------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("  Hermès  PARIS ", "hermès paris"),
        ("LOUIS\tVUITTON", "louis vuitton"),
        (_fullwidth("Herm") + "è" + _fullwidth("s"), "hermès"),  # full-width folds under NFKC
        ("Hermès", "hermès"),  # precomposed è
        ("Herme\u0300s", "hermès"),  # e + combining grave composes to the same è
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # case folding, not just lower-casing
    ],
)
def test_brand_is_normalised_ignoring_case_spacing_and_unicode_form(
    raw: str, normalised: str
) -> None:
    assert normalise_brand(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("ab-12 34", "AB1234"),
        (" wk45-0001 ", "WK450001"),
        ("WK45\u20130001", "WK45\u20130001".upper()),  # an en dash is not a separator
        (_fullwidth("wk45"), "WK45"),  # full-width digits and letters fold under NFKC
        ("a\tb\nc", "ABC"),
    ],
)
def test_serial_is_normalised_upper_case_without_separators(raw: str, normalised: str) -> None:
    assert normalise_serial(raw) == normalised


def test_label_variants_of_one_item_share_its_id() -> None:
    expected = item_id(brand="Maison Test", serial="WK45-0001")
    for brand, serial in [
        ("maison test", "wk45 0001"),
        ("  MAISON   TEST", "WK450001"),
        (_fullwidth("Maison") + " " + _fullwidth("Test"), "wk45-00-01"),
    ]:
        assert item_id(brand=brand, serial=serial) == expected


def test_different_items_get_different_ids() -> None:
    assert item_id(brand="Maison Test", serial="WK45-0001") != item_id(
        brand="Maison Test", serial="WK45-0002"
    )
    assert item_id(brand="Maison Test", serial="X1") != item_id(brand="Other", serial="X1")


@pytest.mark.parametrize(("brand", "serial"), [("", "X1"), ("  \t", "X1"), ("Brand", " - ")])
def test_empty_label_parts_are_refused(brand: str, serial: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        item_id(brand=brand, serial=serial)


# ---------------------------------------------------------------------- abi.encode


def test_item_id_is_keccak_of_abi_encode_of_the_normalised_label() -> None:
    brand, serial = b"maison test", b"WK450001"
    # abi.encode(string, string): two head offsets, then each string as length + padded bytes.
    encoded = (
        _word(0x40)
        + _word(0x80)
        + _word(len(brand))
        + _padded(brand)
        + _word(len(serial))
        + _padded(serial)
    )
    assert item_id(brand="Maison Test", serial="WK45-0001") == keccak(encoded)
    assert item_id(brand="Maison Test", serial="WK45-0001").hex() == (
        "5b19af401f4ccf36a460837ed85f49b1c0d69fe1f220ef97353106d2df281052"
    )


def test_abi_encode_keeps_labels_apart_that_packed_encoding_would_merge() -> None:
    # Packed, ("1", "23") and ("12", "3") are both b"123".
    assert keccak(b"1" + b"23") == keccak(b"12" + b"3")
    assert item_id(brand="1", serial="23") != item_id(brand="12", serial="3")
    assert item_id(brand="ab", serial="c") != item_id(brand="a", serial="bc")


# ---------------------------------------------------------------------- documents


def test_document_hash_does_not_depend_on_key_order() -> None:
    first = {"brand": "Maison Test", "model": "Weekender", "photos": ["a.jpg", "b.jpg"]}
    second = {"photos": ["a.jpg", "b.jpg"], "model": "Weekender", "brand": "Maison Test"}
    assert hash_document(first) == hash_document(second)


def test_document_hash_does_not_depend_on_nested_key_order_or_number_spelling() -> None:
    assert hash_document({"a": {"x": 1, "y": 2.0}}) == hash_document({"a": {"y": 2, "x": 1.0}})


def test_document_hash_is_keccak_of_rfc8785_canonical_json() -> None:
    document = {"b": [1, 2.5, 1.0, 1e21], "a": "é", "c": None}
    canonical = b'{"a":"\xc3\xa9","b":[1,2.5,1,1e+21],"c":null}'
    assert rfc8785.dumps(document) == canonical
    assert hash_document(document) == keccak(canonical)


def test_document_hash_sees_every_value() -> None:
    assert hash_document({"a": [1, 2]}) != hash_document({"a": [2, 1]})  # list order matters
    assert hash_document({"a": "1"}) != hash_document({"a": 1})


def test_document_hash_refuses_what_json_cannot_say() -> None:
    with pytest.raises(Exception):  # noqa: B017 - rfc8785 raises its own error types
        hash_document({"a": float("nan")})


def test_file_hash_is_keccak_of_its_bytes() -> None:
    assert hash_bytes(b"photo") == keccak(b"photo")


# ---------------------------------------------------------------------- parsing


def test_hash32_is_accepted_as_bytes_or_hex() -> None:
    raw = bytes(range(32))
    assert parse_hash32(raw) == raw
    assert parse_hash32("0x" + raw.hex()) == raw
    assert parse_hash32(raw.hex().upper()) == raw


@pytest.mark.parametrize("bad", ["0x1234", "0x" + "zz" * 32, b"\x01" * 31])
def test_malformed_hash32_is_refused_naming_the_field(bad: str | bytes) -> None:
    with pytest.raises(ValueError, match="evidence"):
        parse_hash32(bad, field="evidence")


def test_evidence_is_a_hash_as_is_a_document_hashed_or_data_hashed() -> None:
    digest = hash_document({"report": "ok"})
    assert evidence_hash(digest, field="evidence") == digest
    assert evidence_hash("0x" + digest.hex(), field="evidence") == digest
    assert evidence_hash({"report": "ok"}, field="evidence") == digest
    assert evidence_hash(b"photo bytes", field="evidence") == keccak(b"photo bytes")
    assert evidence_hash("order 1234", field="evidence") == keccak(b"order 1234")


@pytest.mark.parametrize("bad", ["0x12", "0x" + "g" * 64, "", b"", 42, ["a"]])
def test_malformed_evidence_is_an_input_error_naming_the_field(bad: object) -> None:
    with pytest.raises(InputError) as caught:
        evidence_hash(bad, field="report")
    assert caught.value.field == "report"


@pytest.mark.parametrize("bad", ["0x12", "12" * 32, b"\x01" * 31, "0x" + "00" * 32, None])
def test_malformed_item_id_is_an_input_error(bad: object) -> None:
    with pytest.raises(InputError) as caught:
        parse_item_id(bad)
    assert caught.value.field == "item_id"
