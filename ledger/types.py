"""Domain types shared by the client, the CLI and the gateway.

The enums mirror `contracts/types/ProvenanceTypes.sol` and `contracts/types/MarketTypes.sol`
value for value, so a decoded log or call result converts with ``ItemStatus(value)``.
Identifiers are ``NewType``s over the plain Python types web3.py hands back, so mypy keeps an item
id from being passed where a metadata hash is expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import NewType

from eth_typing import ChecksumAddress

__all__ = [
    "Account",
    "AccountStatus",
    "ConditionGrade",
    "DisputeReason",
    "Hash32",
    "Item",
    "ItemId",
    "ItemStatus",
    "Listing",
    "ListingStatus",
    "RetirementKind",
    "Role",
    "Ruling",
    "Sale",
    "SaleState",
    "SellOrder",
    "ServiceKind",
    "Settlement",
    "TxResult",
    "Verdict",
    "VoidReason",
    "Wei",
]

ItemId = NewType("ItemId", bytes)
"""32-byte item id, also the ERC-721 token id (see `ledger.hashing.item_id`)."""

Hash32 = NewType("Hash32", bytes)
"""32-byte keccak256 digest of a document or file."""

Wei = NewType("Wei", int)


class Role(IntFlag):
    """Roles an account can be vetted for; a bitmask, as on chain (bit ``uint8(Role)``)."""

    MERCHANT = 1 << 0
    AUTHENTICATOR = 1 << 1
    ARBITER = 1 << 2
    BRAND = 1 << 3


class AccountStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    REVOKED = 3


class ItemStatus(IntEnum):
    ACTIVE = 0
    LOST = 1
    STOLEN = 2
    RETIRED = 3


class Verdict(IntEnum):
    NONE = 0
    AUTHENTIC = 1
    COUNTERFEIT = 2
    INCONCLUSIVE = 3


class ConditionGrade(IntEnum):
    UNGRADED = 0
    NEW = 1
    LIKE_NEW = 2
    EXCELLENT = 3
    VERY_GOOD = 4
    GOOD = 5
    FAIR = 6
    POOR = 7


class ServiceKind(IntEnum):
    REPAIR = 0
    REFURBISHMENT = 1
    PART_REPLACEMENT = 2
    OTHER = 3


class RetirementKind(IntEnum):
    RECYCLED = 0
    DESTROYED = 1
    DISMANTLED = 2
    REMANUFACTURED = 3


@dataclass(frozen=True, slots=True)
class Account:
    """A vetted account's on-chain record."""

    address: ChecksumAddress
    id: int
    roles: Role
    status: AccountStatus
    vetted_at: int
    updated_at: int
    credential_hash: Hash32
    name: str


@dataclass(frozen=True, slots=True)
class Item:
    """An item passport's current on-chain state; its history is in events."""

    item_id: ItemId
    owner: ChecksumAddress
    status: ItemStatus
    brand_certified: bool
    flagged_by_admin: bool
    locked: bool
    last_verdict: Verdict
    registrant: ChecksumAddress
    registrant_id: int
    transfer_nonce: int


@dataclass(frozen=True, slots=True)
class TxResult:
    """A mined, successful transaction."""

    tx_hash: str
    block_number: int
    gas_used: int


# ---------------------------------------------------------------------- resale market


class ListingStatus(IntEnum):
    """Where a listing (or a signed order) stands; an order never filled nor cancelled is NONE."""

    NONE = 0
    OPEN = 1
    FILLED = 2
    CANCELLED = 3


class VoidReason(IntEnum):
    """Why a listing or signed order cannot be bought (or an item listed) right now."""

    NONE = 0
    CANCELLED = 1
    FILLED = 2
    EXPIRED = 3
    ITEM_MOVED = 4
    ITEM_FLAGGED = 5
    ITEM_RETIRED = 6
    ITEM_LOCKED = 7
    SELLER_NOT_ACTIVE = 8
    COUNTERFEIT = 9


class SaleState(IntEnum):
    """Where an escrowed sale stands: PAID, SHIPPED and DISPUTED are open, the rest final."""

    NONE = 0
    PAID = 1
    SHIPPED = 2
    DISPUTED = 3
    COMPLETED = 4
    REFUNDED = 5
    PARTIALLY_REFUNDED = 6

    @property
    def is_open(self) -> bool:
        return self in (SaleState.PAID, SaleState.SHIPPED, SaleState.DISPUTED)


class DisputeReason(IntEnum):
    """What the buyer says went wrong (NONE is never valid when opening a dispute)."""

    NONE = 0
    NOT_RECEIVED = 1
    NOT_AS_DESCRIBED = 2
    COUNTERFEIT = 3
    OTHER = 4


class Ruling(IntEnum):
    """An arbiter's decision (NONE is never valid)."""

    NONE = 0
    REFUND = 1
    RELEASE = 2
    PARTIAL_REFUND = 3


class Settlement(IntEnum):
    """How a sale ended, as ``SaleSettled`` reports it."""

    CONFIRMED = 0
    FINALIZED = 1
    CANCELLED_UNSHIPPED = 2
    RULED = 3
    DEFAULT_REFUND = 4


@dataclass(frozen=True, slots=True)
class Listing:
    """An on-chain listing (``ResaleMarket.listingOf``)."""

    listing_id: int
    item_id: ItemId
    seller: ChecksumAddress
    price: Wei
    expiry: int
    """Last timestamp (inclusive) at which it can be bought."""
    item_nonce: int
    """The item's nonce when listed; the listing is void once it changes."""
    status: ListingStatus


@dataclass(frozen=True, slots=True)
class Sale:
    """An escrowed sale (``ResaleMarket.saleOf``)."""

    sale_id: int
    item_id: ItemId
    seller: ChecksumAddress
    buyer: ChecksumAddress
    price: Wei
    fee_bps: int
    """Fixed at purchase: later fee changes never apply to this sale."""
    state: SaleState
    dispute_reason: DisputeReason
    deadline: int
    """Of the current step: ship-by (PAID), deliver-by (SHIPPED) or rule-by (DISPUTED)."""


@dataclass(frozen=True, slots=True)
class SellOrder:
    """An owner's EIP-712 signed offer to sell (see `ledger.signatures`); any buyer may fill it.

    Signed type: ``SellOrder(bytes32 itemId,address seller,uint256 price,uint256 expiry,
    uint256 itemNonce,uint256 counter)``.
    """

    item_id: ItemId
    seller: ChecksumAddress
    price: Wei
    expiry: int
    """Last timestamp (inclusive) at which it can be bought."""
    item_nonce: int
    """``ItemPassport.nonces(itemId)`` when signed: the order dies once the item moves."""
    counter: int
    """``ResaleMarket.nonces(seller)`` when signed: ``cancelAllOrders`` moves it on."""

    def as_tuple(self) -> tuple[bytes, str, int, int, int, int]:
        """The struct as web3 encodes it for a ``SellOrder`` argument."""
        return (
            bytes(self.item_id),
            self.seller,
            int(self.price),
            self.expiry,
            self.item_nonce,
            self.counter,
        )
