"""Item ids and document hashes that anyone can recompute.

Item id
    ``keccak256(abi.encode(string brand, string serial))`` over the *normalised* label:

    * brand: Unicode NFKC, case-folded, surrounding whitespace removed, inner runs of whitespace
      collapsed to one space (``"  Hermès  PARIS "`` → ``"hermès paris"``);
    * serial: Unicode NFKC, upper-cased, every whitespace character and hyphen removed
      (``"ab-12 34"`` → ``"AB1234"``), because labels print separators inconsistently.

    ``abi.encode`` (not packed) keeps ``("ab", "c")`` and ``("a", "bc")`` apart.

Document hash
    ``keccak256(RFC 8785 canonical JSON)``: metadata, vetting dossiers, reasons and evidence
    descriptions are hashed this way, so the same JSON object always yields the same hash whatever
    its key order or number formatting. Files (photos, PDFs) are hashed as raw bytes.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import rfc8785
from eth_abi import encode as abi_encode
from eth_utils import keccak

from ledger.types import Hash32, ItemId

__all__ = [
    "hash_bytes",
    "hash_document",
    "item_id",
    "normalise_brand",
    "normalise_serial",
    "parse_hash32",
]

_WHITESPACE = re.compile(r"\s+")
_SERIAL_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_brand(brand: str) -> str:
    normalised = _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", brand).casefold()).strip()
    if not normalised:
        raise ValueError("brand is empty after normalisation")
    return normalised


def normalise_serial(serial: str) -> str:
    normalised = _SERIAL_SEPARATORS.sub("", unicodedata.normalize("NFKC", serial).upper())
    if not normalised:
        raise ValueError("serial is empty after normalisation")
    return normalised


def item_id(*, brand: str, serial: str) -> ItemId:
    """The item id for the label ``brand`` / ``serial``."""
    encoded = abi_encode(["string", "string"], [normalise_brand(brand), normalise_serial(serial)])
    return ItemId(keccak(encoded))


def hash_document(document: Any) -> Hash32:
    """keccak256 of the RFC 8785 canonical JSON of ``document`` (JSON-compatible values)."""
    return Hash32(keccak(rfc8785.dumps(document)))


def hash_bytes(data: bytes) -> Hash32:
    return Hash32(keccak(data))


def parse_hash32(value: str | bytes, *, field: str = "hash") -> Hash32:
    """Accept a 32-byte value as bytes or 0x-hex, with a clear error naming ``field`` otherwise."""
    if isinstance(value, bytes):
        raw = value
    else:
        text = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"{field} must be 0x-prefixed hex, got {value!r}") from None
    if len(raw) != 32:
        raise ValueError(f"{field} must be 32 bytes, got {len(raw)}")
    return Hash32(raw)
