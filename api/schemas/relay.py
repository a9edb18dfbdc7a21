"""Relayed transactions and owner-signed messages.

``POST /relay`` takes exactly one of three members. The JSON Schema says so (``oneOf`` of the
members' ``required``), and the validator says which rule a body broke, naming the field:
``missing_field`` (``raw_transaction``, the original form) for none, ``conflicting_fields`` for
more than one (the second one given).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from api.schemas.common import AddressStr, ItemIdStr, RequestModel, ResponseModel
from ledger.errors import InputError
from ledger.relay import MAX_RAW_TRANSACTION_BYTES
from ledger.signatures import PermitMessage, TransferMessage, parse_signature

__all__ = [
    "RELAY_FORMS",
    "PermitForm",
    "RelayRequest",
    "RelayView",
    "TransferForm",
]

RELAY_FORMS = ("raw_transaction", "transfer", "permit")
_UINT256_MAX = 2**256 - 1
_SIGNATURE = re.compile(r"0[xX][0-9a-fA-F]{130}")
_BYTES32 = re.compile(r"0[xX][0-9a-fA-F]{64}")
ZERO_HASH = "0x" + "0" * 64


def _signature(value: str) -> str:
    # The library decides (65 bytes, v 0/1 normalised to 27/28); the pattern keeps out what
    # bytes.fromhex would forgive (spaces).
    try:
        if not _SIGNATURE.fullmatch(value):
            raise InputError("not 0x + 130 hex digits", field="signature")
        return "0x" + parse_signature(value).hex()
    except InputError:
        raise PydanticCustomError(
            "malformed_signature", "must be a 65-byte signature (r, s, v) in 0x-hex"
        ) from None


def _whole_number(value: object) -> object:
    # JSON Schema's "integer" includes 492.0; text and booleans stay refused (strict int).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _bytes32(value: str) -> str:
    if not _BYTES32.fullmatch(value):
        raise PydanticCustomError("invalid_sale_ref", "must be 32 bytes in 0x-hex (66 characters)")
    return "0x" + value[2:].lower()


SignatureStr = Annotated[
    str,
    AfterValidator(_signature),
    Field(
        description="The owner's EIP-712 signature, r ‖ s ‖ v (v 27/28, or 0/1), 0x-hex.",
        json_schema_extra={"pattern": "^0[xX][0-9a-fA-F]{130}$"},
    ),
]
Bytes32Str = Annotated[
    str,
    AfterValidator(_bytes32),
    Field(json_schema_extra={"pattern": "^0[xX][0-9a-fA-F]{64}$"}),
]
# FastAPI's OpenAPI models hold bounds as floats, which cannot say 2**256 - 1 (it rounds up to
# 2**256, whose shortest decimal form, 1.157920892373162e77, is larger still). The document
# states the largest float below it, 2**256 - 2**203 (1.1579208923731618e77 either way); the
# few values above it up to 2**256 - 1 (a "never expires" deadline) are accepted all the same.
_DOCUMENTED_MAX = float(2**256 - 2**203)
Uint256 = Annotated[
    int,
    BeforeValidator(_whole_number),
    Field(strict=True, ge=0, le=_UINT256_MAX),
    WithJsonSchema(
        {
            "type": "integer",
            "minimum": 0,
            "maximum": _DOCUMENTED_MAX,
            "description": "An unsigned 256-bit integer (up to 2**256 - 1).",
        }
    ),
]


class TransferForm(RequestModel):
    """An owner-signed ``transferBySig`` message (`ledger.signatures.TransferMessage` JSON)."""

    from_: AddressStr = Field(alias="from", description="The owner, who signed.")
    to: AddressStr = Field(description="The new owner.")
    item_id: ItemIdStr
    sale_ref: Bytes32Str = Field(
        default=ZERO_HASH, description="The off-chain sale the transfer settles (zero: none)."
    )
    nonce: Uint256 = Field(description="The item's nonce when signed (``nonces(tokenId)``).")
    deadline: Uint256 = Field(description="Unix seconds; refused after this block time.")
    signature: SignatureStr

    def message(self) -> TransferMessage:
        return TransferMessage.from_json(self.model_dump(by_alias=True, exclude={"signature"}))


class PermitForm(RequestModel):
    """An owner-signed ERC-4494 permit (`ledger.signatures.PermitMessage` JSON)."""

    spender: AddressStr = Field(description="Who may then transfer the item.")
    item_id: ItemIdStr
    nonce: Uint256 = Field(description="The item's nonce when signed (``nonces(tokenId)``).")
    deadline: Uint256 = Field(description="Unix seconds; refused after this block time.")
    signature: SignatureStr

    def message(self) -> PermitMessage:
        return PermitMessage.from_json(self.model_dump(exclude={"signature"}))


def _exactly_one(schema: dict[str, Any]) -> None:
    # A member is given or left out, never null; exactly one is given.
    for name in RELAY_FORMS:
        prop = schema["properties"][name]
        branches = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
        if branches:
            prop.update(branches[0])
        prop.pop("default", None)
    schema["oneOf"] = [{"required": [name]} for name in RELAY_FORMS]


class RelayRequest(RequestModel):
    """Exactly one of ``raw_transaction``, ``transfer`` or ``permit``."""

    model_config = ConfigDict(json_schema_extra=_exactly_one)

    raw_transaction: str | None = Field(
        default=None,
        min_length=4,
        max_length=2 + 2 * MAX_RAW_TRANSACTION_BYTES,
        description="A signed transaction to one of our contracts, 0x-hex; its sender pays.",
        # Documented only: the decoder checks it, with the `malformed_transaction` code.
        json_schema_extra={"pattern": "^0x([0-9a-fA-F]{2})+$"},
    )
    transfer: TransferForm | None = Field(
        default=None, description="An owner-signed transfer; the gateway pays the gas."
    )
    permit: PermitForm | None = Field(
        default=None, description="An owner-signed ERC-4494 permit; the gateway pays the gas."
    )

    @model_validator(mode="after")
    def _one_form(self) -> RelayRequest:
        given = [name for name in RELAY_FORMS if name in self.model_fields_set]
        for name in given:
            if getattr(self, name) is None:
                _fail(name, "invalid_type", f"{name} must not be null; leave it out instead")
        if not given:
            _fail(
                "raw_transaction",
                "missing_field",
                "give one of raw_transaction, transfer or permit",
            )
        if len(given) > 1:
            _fail(
                given[1],
                "conflicting_fields",
                f"give only one of raw_transaction, transfer or permit, not {' and '.join(given)}",
            )
        return self


def _fail(field: str, code: str, message: str) -> None:
    # A model validator cannot name a field with a plain error; a ValidationError keeps its loc.
    raise ValidationError.from_exception_data(
        "RelayRequest",
        [InitErrorDetails(type=PydanticCustomError(code, message), loc=(field,), input=None)],
    )


class RelayView(ResponseModel):
    tx_hash: str
    kind: Literal["raw_transaction", "transfer", "permit"]
    sender: str = Field(
        description="Who sent the transaction and paid the gas: the signer of a raw "
        "transaction, the gateway's sponsor account for a message."
    )
    to: str = Field(description="The contract called.")
    signer: str = Field(
        description="Who authorised it: the raw transaction's sender, a transfer's from, the "
        "owner who signed a permit."
    )
    block_number: int
    gas_used: int
