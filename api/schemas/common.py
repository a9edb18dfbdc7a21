"""Field types and models shared by the resources.

Validators call the library (`ledger.client`, `ledger.hashing`) to decide, so the gateway accepts
exactly what the library accepts, and raise ``PydanticCustomError`` with a stable code (which the
error handler reports as ``error.code``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from ledger.client import evidence_hash, parse_address, parse_item_id
from ledger.errors import InputError
from ledger.hashing import hash_document, normalise_brand, normalise_serial

__all__ = [
    "MAX_TEXT",
    "ZERO_ADDRESS",
    "ZERO_ITEM_ID",
    "AcceptedView",
    "AddressStr",
    "Brand",
    "Credentials",
    "ErrorBody",
    "ErrorResponse",
    "EvidenceValue",
    "ItemIdStr",
    "JsonObject",
    "Metadata",
    "MetadataUri",
    "Name",
    "RequestModel",
    "ResponseModel",
    "Serial",
    "TxHashStr",
    "TxView",
]

MAX_TEXT = 256
MAX_URI = 2048


class RequestModel(BaseModel):
    """Request bodies refuse unknown fields: a misspelt ``owner`` must not be ignored."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    pass


def _address(value: str) -> str:
    try:
        return parse_address(value, field="address")
    except InputError:
        raise PydanticCustomError(
            "invalid_address",
            "must be a 0x-prefixed 20-byte hex address (valid EIP-55 checksum if mixed-case), "
            "not the zero address",
        ) from None


def _item_id(value: str) -> str:
    try:
        return "0x" + parse_item_id(value).hex()
    except InputError:
        raise PydanticCustomError(
            "invalid_item_id", "must be a non-zero 32-byte item id in 0x-hex (66 characters)"
        ) from None


def _tx_hash(value: str) -> str:
    body = value[2:] if value[:2] in ("0x", "0X") else None
    if body is None or len(body) != 64:
        raise PydanticCustomError("invalid_tx_hash", "must be a 32-byte transaction hash in 0x-hex")
    try:
        bytes.fromhex(body)
    except ValueError:
        raise PydanticCustomError(
            "invalid_tx_hash", "must be a 32-byte transaction hash in 0x-hex"
        ) from None
    return "0x" + body.lower()


def _brand(value: str) -> str:
    try:
        normalise_brand(value)
    except ValueError:
        raise PydanticCustomError("invalid_brand", "must contain a non-blank brand") from None
    return value


def _serial(value: str) -> str:
    try:
        normalise_serial(value)
    except ValueError:
        raise PydanticCustomError(
            "invalid_serial", "must contain characters other than spaces and hyphens"
        ) from None
    return value


def _json_document(code: str) -> Any:
    def check(value: dict[str, Any]) -> dict[str, Any]:
        try:
            hash_document(value)
        except Exception as exc:  # rfc8785 refuses NaN, out-of-range numbers...
            raise PydanticCustomError(
                code, "cannot be canonicalised as RFC 8785 JSON: {detail}", {"detail": str(exc)}
            ) from None
        return value

    return check


def _evidence(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, dict | str):
        raise PydanticCustomError(
            "invalid_evidence", "must be a JSON object, a 0x-hex 32-byte hash, or non-empty text"
        )
    try:
        evidence_hash(value, field="evidence")
    except InputError as exc:
        raise PydanticCustomError("invalid_evidence", "{detail}", {"detail": str(exc)}) from None
    return value


ZERO_ADDRESS = "0x" + "0" * 40
ZERO_ITEM_ID = "0x" + "0" * 64

# What the validators accept, as exactly as JSON Schema can say it. The EIP-55 checksum of a
# mixed-case address cannot be a pattern; the custom format "eth-address" names that rule.
AddressStr = Annotated[
    str,
    AfterValidator(_address),
    WithJsonSchema(
        {
            "type": "string",
            "format": "eth-address",
            "pattern": "^0x[0-9a-fA-F]{40}$",
            "not": {"const": ZERO_ADDRESS},
            "description": "An Ethereum address: 0x + 40 hex digits, all lower-case, all "
            "upper-case or with a valid EIP-55 checksum; not the zero address.",
        }
    ),
]
ItemIdStr = Annotated[
    str,
    AfterValidator(_item_id),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^0x[0-9a-fA-F]{64}$",
            "not": {"const": ZERO_ITEM_ID},
            "description": "An item id: 0x + 64 hex digits, not zero.",
        }
    ),
]
TxHashStr = Annotated[
    str,
    AfterValidator(_tx_hash),
    WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$"}),
]
# The patterns are documentation: the validators check them, with their own error codes.
Brand = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT),
    AfterValidator(_brand),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": "\\S"}),
]
Serial = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT),
    AfterValidator(_serial),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": "[^\\s-]"}),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MetadataUri = Annotated[str, StringConstraints(max_length=MAX_URI)]
JsonObject = dict[str, Any]
Metadata = Annotated[dict[str, Any], AfterValidator(_json_document("invalid_metadata"))]
Credentials = Annotated[dict[str, Any], AfterValidator(_json_document("invalid_credentials"))]
EvidenceValue = Annotated[
    Any,
    AfterValidator(_evidence),
    WithJsonSchema(
        {
            "description": "A JSON object (hashed as RFC 8785 JSON), a 0x-hex 32-byte hash "
            "(used as is) or text (hashed as UTF-8).",
            "anyOf": [{"type": "object"}, {"type": "string", "minLength": 1}],
        }
    ),
]


class TxView(ResponseModel):
    tx_hash: str
    block_number: int
    gas_used: int


class AcceptedView(ResponseModel):
    """A write sent without waiting (``?wait=false``): follow ``status_url``."""

    tx_hash: str
    status: Literal["pending"] = "pending"
    status_url: str


class ErrorBody(ResponseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(ResponseModel):
    error: ErrorBody
