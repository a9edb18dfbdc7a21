"""EIP-712 messages the contracts accept on an owner's behalf, built and signed with eth-account.

Why this exists: an owner should be able to act without paying gas or holding ETH. They sign a
typed message in their wallet and anyone (the gateway, a buyer) submits it, paying the gas:

* ERC-4494 ``permit`` (passport): approve ``spender`` for one item;
* ``transferBySig`` (passport): move one item to ``to``, recording a sale reference;
* ``SellOrder`` (market): an offer to sell at a price, filled by any buyer with ``buyOrder``.

Each message is bound to a chain id and a contract (its EIP-712 domain, read from the contract's
own ERC-5267 ``eip712Domain()`` so it can never drift from what the contract checks), carries a
nonce and has a deadline. Permits and transfers use the item's nonce (``nonces(tokenId)``), which
every transfer and every permit moves on, so each signature works once; sell orders use the
item's nonce (the order dies when the item moves) and the seller's order counter (bumped by
``cancelAllOrders``). The contracts refuse high-s twins (OpenZeppelin ECDSA), so signatures are
not malleable. Nothing here checks a signature against the chain: the clients simulate every
submission, and a refusal comes back as the contract's own error (`InvalidSignature`,
`SignatureExpired`, `InvalidOrderSignature`, `OrderVoid`...).

Messages convert to the full JSON a wallet signs (``eth_signTypedData_v4``) with the
``*_typed_data`` functions, and to and from plain JSON (``to_json`` / ``from_json``) for a gateway
that receives signed messages over HTTP; `relay_body` is the whole ``POST /relay`` body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from eth_abi import encode as abi_encode
from eth_account import Account as EthAccount
from eth_account.messages import encode_typed_data
from eth_keys.exceptions import BadSignature
from eth_typing import ChecksumAddress
from eth_utils import is_address, keccak, to_checksum_address
from web3.contract import Contract

from ledger.errors import ConfigurationError, InputError
from ledger.types import Hash32, ItemId, SellOrder, Wei

__all__ = [
    "DOMAIN_TYPE",
    "MARKET_DOMAIN_NAME",
    "PASSPORT_DOMAIN_NAME",
    "PERMIT_TYPES",
    "SELL_ORDER_TYPES",
    "SIGNATURE_LENGTH",
    "TRANSFER_TYPES",
    "Eip712Domain",
    "PermitMessage",
    "TransferMessage",
    "TypedDataSigner",
    "order_digest",
    "parse_signature",
    "permit_typed_data",
    "read_domain",
    "recover_signer",
    "relay_body",
    "sell_order_from_json",
    "sell_order_signer",
    "sell_order_to_json",
    "sell_order_typed_data",
    "sign_permit",
    "sign_sell_order",
    "sign_transfer",
    "transfer_typed_data",
    "typed_data",
]

PASSPORT_DOMAIN_NAME = "Provenance Item Passport"
MARKET_DOMAIN_NAME = "Provenance Resale Market"
SIGNATURE_LENGTH = 65
"""r ‖ s ‖ v: the only length OpenZeppelin 5's ECDSA accepts."""

DOMAIN_TYPE: list[dict[str, str]] = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
PERMIT_TYPES: dict[str, list[dict[str, str]]] = {
    "Permit": [
        {"name": "spender", "type": "address"},
        {"name": "tokenId", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}
TRANSFER_TYPES: dict[str, list[dict[str, str]]] = {
    "Transfer": [
        {"name": "from", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "itemId", "type": "bytes32"},
        {"name": "saleRef", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}
SELL_ORDER_TYPES: dict[str, list[dict[str, str]]] = {
    "SellOrder": [
        {"name": "itemId", "type": "bytes32"},
        {"name": "seller", "type": "address"},
        {"name": "price", "type": "uint256"},
        {"name": "expiry", "type": "uint256"},
        {"name": "itemNonce", "type": "uint256"},
        {"name": "counter", "type": "uint256"},
    ]
}

# ERC-5267 `fields`: bit 0 name, 1 version, 2 chainId, 3 verifyingContract (4 salt, 5 extensions).
_DOMAIN_FIELDS = 0x0F
_DOMAIN_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_UINT256_MAX = 2**256 - 1


class TypedDataSigner(Protocol):
    """Anything that signs EIP-712 data like eth-account's `LocalAccount`."""

    @property
    def address(self) -> ChecksumAddress: ...

    def sign_typed_data(
        self,
        domain_data: dict[str, Any] | None = None,
        message_types: dict[str, Any] | None = None,
        message_data: dict[str, Any] | None = None,
        full_message: dict[str, Any] | None = None,
    ) -> Any: ...


# ---------------------------------------------------------------------- the domain


@dataclass(frozen=True, slots=True)
class Eip712Domain:
    """An EIP-712 domain: ``{name, version, chainId, verifyingContract}``."""

    name: str
    version: str
    chain_id: int
    verifying_contract: ChecksumAddress

    def to_json(self) -> dict[str, Any]:
        """The domain as EIP-712 JSON (``domain`` of ``eth_signTypedData_v4``)."""
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }

    @property
    def separator(self) -> Hash32:
        """``DOMAIN_SEPARATOR()`` as the contract computes it."""
        return Hash32(
            keccak(
                abi_encode(
                    ["bytes32", "bytes32", "bytes32", "uint256", "address"],
                    [
                        _DOMAIN_TYPEHASH,
                        keccak(text=self.name),
                        keccak(text=self.version),
                        self.chain_id,
                        self.verifying_contract,
                    ],
                )
            )
        )


def read_domain(contract: Contract) -> Eip712Domain:
    """The EIP-712 domain ``contract`` verifies signatures under, from its ``eip712Domain()``.

    `ConfigurationError` if the contract uses domain fields these messages do not (a salt or
    extensions). Reverts and connection failures propagate as web3 raised them; the clients
    translate them.
    """
    fields, name, version, chain_id, verifying_contract, _salt, extensions = (
        contract.functions.eip712Domain().call()
    )
    if bytes(fields) != bytes([_DOMAIN_FIELDS]) or extensions:
        raise ConfigurationError(
            f"{contract.address} uses EIP-712 domain fields 0x{bytes(fields).hex()} "
            f"(extensions {list(extensions)}); expected name, version, chainId, verifyingContract"
        )
    return Eip712Domain(
        name=str(name),
        version=str(version),
        chain_id=int(chain_id),
        verifying_contract=to_checksum_address(verifying_contract),
    )


def typed_data(
    domain: Eip712Domain,
    primary_type: str,
    types: Mapping[str, list[dict[str, str]]],
    message: Mapping[str, Any],
) -> dict[str, Any]:
    """The full EIP-712 document (what ``eth_signTypedData_v4`` takes); bytes become 0x-hex."""
    return {
        "types": {"EIP712Domain": DOMAIN_TYPE, **types},
        "primaryType": primary_type,
        "domain": domain.to_json(),
        "message": {key: _json_value(value) for key, value in message.items()},
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value


# ---------------------------------------------------------------------- input checks


def _address(value: object, *, field: str) -> ChecksumAddress:
    if not isinstance(value, str) or not is_address(value.lower()):
        raise InputError(
            f"{field} must be a 0x-prefixed 20-byte address, got {value!r}", field=field
        )
    return to_checksum_address(value)


def _bytes32(value: object, *, field: str) -> bytes:
    if isinstance(value, bytes | bytearray) and len(value) == 32:
        return bytes(value)
    if isinstance(value, str) and value[:2] in ("0x", "0X") and len(value) == 66:
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise InputError(f"{field} must be 32 bytes (0x + 64 hex digits), got {value!r}", field=field)


def _uint(value: object, *, field: str) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())  # JSON readers that cannot hold uint256 send decimal text
    if number is None or not 0 <= number <= _UINT256_MAX:
        raise InputError(f"{field} must be an unsigned integer, got {value!r}", field=field)
    return number


def parse_signature(value: object, *, field: str = "signature") -> bytes:
    """A 65-byte ``r ‖ s ‖ v`` signature from bytes or 0x-hex, with ``v`` as 27 or 28.

    Some wallets and hardware signers report ``v`` as 0 or 1; that is the same signature, so it
    is normalised (the contracts only accept 27/28). Nothing else is changed: in particular a
    high-s signature is passed on as is, for the contract to refuse.
    """
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError:
            raise InputError(f"{field} is not valid hex", field=field) from None
    elif isinstance(value, bytes | bytearray):
        raw = bytes(value)
    else:
        raise InputError(
            f"{field} must be bytes or 0x-hex, got {type(value).__name__}", field=field
        )
    if len(raw) != SIGNATURE_LENGTH:
        raise InputError(
            f"{field} must be {SIGNATURE_LENGTH} bytes (r, s, v), got {len(raw)}", field=field
        )
    if raw[64] in (0, 1):
        raw = raw[:64] + bytes([raw[64] + 27])
    return raw


# ---------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class PermitMessage:
    """ERC-4494: the owner of ``item_id`` approves ``spender`` for it, once, until ``deadline``.

    ``nonce`` is ``ItemPassport.nonces(itemId)`` when signed; the contract reads it at submission,
    so only the signature and the other fields are sent.
    """

    spender: ChecksumAddress
    item_id: ItemId
    nonce: int
    deadline: int

    def message(self) -> dict[str, Any]:
        return {
            "spender": self.spender,
            "tokenId": int.from_bytes(self.item_id, "big"),
            "nonce": self.nonce,
            "deadline": self.deadline,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "spender": self.spender,
            "item_id": "0x" + bytes(self.item_id).hex(),
            "nonce": self.nonce,
            "deadline": self.deadline,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PermitMessage:
        """Parse `to_json` output; `InputError` naming the bad field."""
        return cls(
            spender=_address(_get(data, "spender"), field="spender"),
            item_id=ItemId(_bytes32(_get(data, "item_id"), field="item_id")),
            nonce=_uint(_get(data, "nonce"), field="nonce"),
            deadline=_uint(_get(data, "deadline"), field="deadline"),
        )


@dataclass(frozen=True, slots=True)
class TransferMessage:
    """``transferBySig``: ``from_`` (the owner) moves ``item_id`` to ``to``, recording
    ``sale_ref`` (zero for none), once, until ``deadline``.

    ``nonce`` is ``ItemPassport.nonces(itemId)`` when signed; the contract reads it at submission.
    """

    from_: ChecksumAddress
    to: ChecksumAddress
    item_id: ItemId
    sale_ref: Hash32
    nonce: int
    deadline: int

    def message(self) -> dict[str, Any]:
        return {
            "from": self.from_,
            "to": self.to,
            "itemId": bytes(self.item_id),
            "saleRef": bytes(self.sale_ref),
            "nonce": self.nonce,
            "deadline": self.deadline,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.from_,
            "to": self.to,
            "item_id": "0x" + bytes(self.item_id).hex(),
            "sale_ref": "0x" + bytes(self.sale_ref).hex(),
            "nonce": self.nonce,
            "deadline": self.deadline,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TransferMessage:
        """Parse `to_json` output; `InputError` naming the bad field."""
        return cls(
            from_=_address(_get(data, "from"), field="from"),
            to=_address(_get(data, "to"), field="to"),
            item_id=ItemId(_bytes32(_get(data, "item_id"), field="item_id")),
            sale_ref=Hash32(_bytes32(_get(data, "sale_ref"), field="sale_ref")),
            nonce=_uint(_get(data, "nonce"), field="nonce"),
            deadline=_uint(_get(data, "deadline"), field="deadline"),
        )


def _get(data: Mapping[str, Any], name: str) -> Any:
    if not isinstance(data, Mapping):
        raise InputError("a signed message must be a JSON object", field=name)
    if name not in data:
        raise InputError(f"{name} is missing", field=name)
    return data[name]


def _order_message(order: SellOrder) -> dict[str, Any]:
    return {
        "itemId": bytes(order.item_id),
        "seller": order.seller,
        "price": int(order.price),
        "expiry": order.expiry,
        "itemNonce": order.item_nonce,
        "counter": order.counter,
    }


def sell_order_to_json(order: SellOrder) -> dict[str, Any]:
    """A `SellOrder` as JSON; ``price`` as a decimal string (wei exceeds JSON-safe integers)."""
    return {
        "item_id": "0x" + bytes(order.item_id).hex(),
        "seller": order.seller,
        "price": str(int(order.price)),
        "expiry": order.expiry,
        "item_nonce": order.item_nonce,
        "counter": order.counter,
    }


def sell_order_from_json(data: Mapping[str, Any]) -> SellOrder:
    """Parse `sell_order_to_json` output (numbers or decimal strings); `InputError` naming the
    bad field."""
    return SellOrder(
        item_id=ItemId(_bytes32(_get(data, "item_id"), field="item_id")),
        seller=_address(_get(data, "seller"), field="seller"),
        price=Wei(_uint(_get(data, "price"), field="price")),
        expiry=_uint(_get(data, "expiry"), field="expiry"),
        item_nonce=_uint(_get(data, "item_nonce"), field="item_nonce"),
        counter=_uint(_get(data, "counter"), field="counter"),
    )


def permit_typed_data(domain: Eip712Domain, permit: PermitMessage) -> dict[str, Any]:
    return typed_data(domain, "Permit", PERMIT_TYPES, permit.message())


def transfer_typed_data(domain: Eip712Domain, transfer: TransferMessage) -> dict[str, Any]:
    return typed_data(domain, "Transfer", TRANSFER_TYPES, transfer.message())


def sell_order_typed_data(domain: Eip712Domain, order: SellOrder) -> dict[str, Any]:
    return typed_data(domain, "SellOrder", SELL_ORDER_TYPES, _order_message(order))


# ---------------------------------------------------------------------- signing


def _sign(
    signer: TypedDataSigner,
    domain: Eip712Domain,
    types: dict[str, list[dict[str, str]]],
    message: dict[str, Any],
) -> bytes:
    signed = signer.sign_typed_data(
        domain_data=domain.to_json(), message_types=types, message_data=message
    )
    return bytes(signed.signature)


def _check_signer(signer: TypedDataSigner, expected: str, *, role: str) -> None:
    # Signing for someone else only produces a signature the contract refuses; say so now.
    if signer.address != expected:
        raise InputError(
            f"the message names {expected} as {role}, but {signer.address} is signing",
            field="signer",
        )


def sign_permit(signer: TypedDataSigner, *, domain: Eip712Domain, permit: PermitMessage) -> bytes:
    """The owner's 65-byte signature of ``permit`` under the passport's ``domain``.

    The signer is not checked against the item's owner here (that needs the chain); a wrong
    signer is refused by the contract with `InvalidSignature`.
    """
    return _sign(signer, domain, PERMIT_TYPES, permit.message())


def sign_transfer(
    signer: TypedDataSigner, *, domain: Eip712Domain, transfer: TransferMessage
) -> bytes:
    """``transfer.from_``'s 65-byte signature of ``transfer`` under the passport's ``domain``."""
    _check_signer(signer, transfer.from_, role="from")
    return _sign(signer, domain, TRANSFER_TYPES, transfer.message())


def sign_sell_order(signer: TypedDataSigner, *, domain: Eip712Domain, order: SellOrder) -> bytes:
    """``order.seller``'s 65-byte signature of ``order`` under the market's ``domain``."""
    _check_signer(signer, order.seller, role="seller")
    return _sign(signer, domain, SELL_ORDER_TYPES, _order_message(order))


def relay_body(message: TransferMessage | PermitMessage, signature: bytes | str) -> dict[str, Any]:
    """The gateway's ``POST /relay`` body for a signed message:
    ``{"transfer": {...message, "signature": "0x..."}}`` (or ``"permit"``)."""
    kind = "transfer" if isinstance(message, TransferMessage) else "permit"
    return {kind: {**message.to_json(), "signature": "0x" + parse_signature(signature).hex()}}


def order_digest(domain: Eip712Domain, order: SellOrder) -> Hash32:
    """The EIP-712 digest of ``order``: what the seller signs and the order's id on chain
    (``ResaleMarket.hashOrder``, ``OrderCancelled.orderHash``, ``Purchased.orderHash``)."""
    signable = encode_typed_data(full_message=sell_order_typed_data(domain, order))
    return Hash32(keccak(b"\x19" + signable.version + signable.header + signable.body))


def recover_signer(full_message: Mapping[str, Any], signature: bytes) -> ChecksumAddress:
    """Who signed ``full_message`` (an EIP-712 document from the ``*_typed_data`` functions).

    A local check for callers that want one before submitting; like the contracts, a high-s
    signature is refused (`InputError`).
    """
    raw = parse_signature(signature)
    if int.from_bytes(raw[32:64], "big") > _SECP256K1_N // 2:
        raise InputError("the signature has a high s value (a malleable twin)", field="signature")
    signable = encode_typed_data(full_message=dict(full_message))
    return to_checksum_address(EthAccount.recover_message(signable, signature=raw))


def sell_order_signer(
    domain: Eip712Domain, order: SellOrder, signature: bytes | str
) -> ChecksumAddress | None:
    """The account whose signature of ``order`` (under the market's ``domain``) ``signature``
    is, as the market's ECDSA check sees it; None when the contract would recover nobody from it
    (``v`` not 27/28, ``r`` or ``s`` zero or out of range, a high-s twin, not a curve point).

    For a buyer (or a gateway) to tell before paying whether ``buyOrder`` would accept the
    signature: it does when the result is ``order.seller``. Sellers that are contracts sign with
    ERC-1271, which only the chain can check. `InputError` only for a signature that is not
    65 bytes (see `parse_signature`).
    """
    raw = parse_signature(signature)
    r = int.from_bytes(raw[:32], "big")
    s = int.from_bytes(raw[32:64], "big")
    if raw[64] not in (27, 28) or not 0 < r < _SECP256K1_N or not 0 < s <= _SECP256K1_N // 2:
        return None
    try:
        return recover_signer(sell_order_typed_data(domain, order), raw)
    except (ValueError, BadSignature):  # no public key for this (r, s, v): nobody signed it
        return None
