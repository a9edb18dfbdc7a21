"""`MarketClient`: the typed, validated way to buy and sell passported items on the resale market.

Why this exists: the market (`contracts/ResaleMarket.sol`) works in sale ids, enum ordinals,
hashes and exact wei amounts, and it moves money; callers think in items, prices, reasons and
documents. The client converts between the two, pays exactly what is due (a listing's price is
read before buying, so a buyer never over- or under-pays), returns the ids the contract assigns,
and, like `ledger.client.ProvenanceClient` (whose plumbing it shares, see `ContractClient`),
simulates every write first so a refusal raises the contract's own error class without spending
gas.

The life of a sale, and who calls what:

* seller: `MarketClient.list_item` (or `build_order` + `sign_order` for a signed offer that costs
  no gas until someone buys it), `cancel_listing`, `cancel_order`, `cancel_all_orders`;
* buyer: `buy` / `buy_order` (the price goes into escrow, the item is locked);
* seller: `mark_shipped` before the shipping deadline, or `cancel_unshipped` (refund);
* buyer: `confirm_delivery`, or `open_dispute` before the delivery deadline; anyone may
  `finalize` after it; the buyer may `cancel_unshipped` when the seller missed the shipping
  deadline;
* parties: `submit_evidence`; an active arbiter who is not a party: `rule`; after the ruling
  deadline either party: `execute_default` (full refund);
* everyone paid: `withdraw` (money only moves by pull payment; see `credits`).

Evidence arguments accept what `ProvenanceClient` accepts (`ledger.client.Evidence`): a hash, a
JSON document, bytes or text, hashed the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from ledger.client import (
    ContractClient,
    Evidence,
    evidence_hash,
    parse_address,
    parse_item_id,
    parse_member,
)
from ledger.deploy import MAX_FEE_BPS, Deployment, market_abi, passport_abi
from ledger.errors import ConfigurationError, InputError, ListingNotFound, TransactionError
from ledger.signatures import Eip712Domain, order_digest, parse_signature, read_domain
from ledger.signatures import sign_sell_order as _sign_sell_order
from ledger.tx import TransactionSender, tx_result
from ledger.types import (
    DisputeReason,
    Hash32,
    ItemId,
    Listing,
    ListingStatus,
    Ruling,
    Sale,
    SaleState,
    SellOrder,
    TxResult,
    VoidReason,
    Wei,
)

__all__ = [
    "BPS",
    "MAX_PRICE",
    "MarketClient",
    "MarketInfo",
    "NewListing",
    "NewSale",
    "Withdrawal",
]

BPS = 10_000
"""Basis points in a whole: ``buyer_share_bps`` and fees are fractions of this."""
MAX_PRICE = 2**96 - 1
"""Prices are stored as uint96 (about 79 billion ETH)."""
_MAX_EXPIRY = 2**40 - 1
_UINT256_MAX = 2**256 - 1


@dataclass(frozen=True, slots=True)
class NewListing:
    listing_id: int
    tx: TxResult


@dataclass(frozen=True, slots=True)
class NewSale:
    """A purchase: the sale the contract opened, and what the buyer paid into escrow."""

    sale_id: int
    price: Wei
    tx: TxResult


@dataclass(frozen=True, slots=True)
class Withdrawal:
    amount: Wei
    tx: TxResult


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """The market's settings and counters."""

    address: ChecksumAddress
    passport: ChecksumAddress
    treasury: ChecksumAddress
    fee_bps: int
    shipping_window: int
    delivery_window: int
    ruling_window: int
    listing_count: int
    sale_count: int


# ---------------------------------------------------------------------- input checks


def _positive_id(value: object, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _UINT256_MAX:
        raise InputError(f"{field} must be a positive integer id, got {value!r}", field=field)
    return value


def _price(value: object, *, field: str = "price") -> Wei:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_PRICE:
        raise InputError(
            f"{field} must be a whole number of wei between 1 and 2**96 - 1, got {value!r}",
            field=field,
        )
    return Wei(value)


def _expiry(value: object, *, field: str = "expiry") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_EXPIRY:
        raise InputError(f"{field} must be a unix timestamp in seconds, got {value!r}", field=field)
    return value


def _bps(value: object, *, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise InputError(f"{field} must be 0..{maximum} basis points, got {value!r}", field=field)
    return value


def _uri(value: object, *, field: str = "uri") -> str:
    if not isinstance(value, str):
        raise InputError(f"{field} must be text", field=field)
    return value


def _order(value: object) -> SellOrder:
    if not isinstance(value, SellOrder):
        raise InputError(
            f"order must be a ledger.types.SellOrder, not {type(value).__name__}", field="order"
        )
    return value


# ---------------------------------------------------------------------- the client


class MarketClient(ContractClient):
    """Reads and writes the resale market of one `Deployment` (which must record a market).

    With ``account=None`` the client is read-only. To act as the same account as a
    `ProvenanceClient`, build it with `from_client`, so both share one transaction sender.
    """

    def __init__(
        self,
        *,
        w3: Web3,
        deployment: Deployment,
        account: LocalAccount | None = None,
        gas_margin: float = 1.2,
        sender: TransactionSender | None = None,
    ) -> None:
        if deployment.market is None:
            raise ConfigurationError(
                f"the deployment of {deployment.passport} has no resale market; run "
                "`provenance deploy` (or ledger.deploy.add_market) to add one"
            )
        super().__init__(
            w3=w3, deployment=deployment, account=account, gas_margin=gas_margin, sender=sender
        )
        self.market: Contract = w3.eth.contract(address=deployment.market, abi=market_abi())
        self.passport: Contract = w3.eth.contract(address=deployment.passport, abi=passport_abi())
        self._domain: Eip712Domain | None = None

    @classmethod
    def from_client(cls, client: ContractClient) -> MarketClient:
        """A market client on ``client``'s chain and deployment, signing as its account with its
        sender (so their nonces never collide)."""
        return cls(
            w3=client.w3,
            deployment=client.deployment,
            account=client.account,
            sender=client.sender,
        )

    def __repr__(self) -> str:
        return f"<MarketClient {self.market.address} as {self.address or 'read-only'}>"

    # ------------------------------------------------------------------ plumbing

    def _events(self, receipt: TxReceipt, name: str) -> list[dict[str, Any]]:
        logs = self.market.events[name]().process_receipt(receipt, errors=DISCARD)
        return [dict(log["args"]) for log in logs if log["address"] == self.market.address]

    def _event_value(self, receipt: TxReceipt, event: str, argument: str) -> int:
        found = self._events(receipt, event)
        if len(found) != 1:
            raise TransactionError(
                f"the transaction was mined but emitted {len(found)} {event} events",
                tx_hash=tx_result(receipt).tx_hash,
            )
        return int(found[0][argument])

    # ------------------------------------------------------------------ views

    def info(self) -> MarketInfo:
        fn = self.market.functions
        return MarketInfo(
            address=self.market.address,
            passport=to_checksum_address(self._read(fn.passport())),
            treasury=to_checksum_address(self._read(fn.treasury())),
            fee_bps=int(self._read(fn.feeBps())),
            shipping_window=int(self._read(fn.shippingWindow())),
            delivery_window=int(self._read(fn.deliveryWindow())),
            ruling_window=int(self._read(fn.rulingWindow())),
            listing_count=int(self._read(fn.listingCount())),
            sale_count=int(self._read(fn.saleCount())),
        )

    def listing(self, listing_id: int) -> Listing:
        """The listing; `ListingNotFound` for an id never issued."""
        number = _positive_id(listing_id, field="listing_id")
        item, seller, price, expiry, nonce, status = self._read(
            self.market.functions.listingOf(number)
        )
        if ListingStatus(status) == ListingStatus.NONE:
            raise ListingNotFound("ListingNotFound", {"listingId": number})
        return Listing(
            listing_id=number,
            item_id=ItemId(bytes(item)),
            seller=to_checksum_address(seller),
            price=Wei(int(price)),
            expiry=int(expiry),
            item_nonce=int(nonce),
            status=ListingStatus(status),
        )

    def sale(self, sale_id: int) -> Sale:
        """The sale; `SaleNotFound` for an id never issued."""
        number = _positive_id(sale_id, field="sale_id")
        item, seller, price, buyer, fee, state, reason, deadline = self._read(
            self.market.functions.saleOf(number)
        )
        return Sale(
            sale_id=number,
            item_id=ItemId(bytes(item)),
            seller=to_checksum_address(seller),
            buyer=to_checksum_address(buyer),
            price=Wei(int(price)),
            fee_bps=int(fee),
            state=SaleState(state),
            dispute_reason=DisputeReason(reason),
            deadline=int(deadline),
        )

    def credits(self, address: str | None = None) -> Wei:
        """What ``address`` (default: this client's account) can withdraw."""
        account = self._account_or_self(address)
        return Wei(int(self._read(self.market.functions.credits(account))))

    def listing_void_reason(self, listing_id: int) -> VoidReason:
        """Why the listing cannot be bought now (`VoidReason.NONE`: it can)."""
        number = _positive_id(listing_id, field="listing_id")
        return VoidReason(self._read(self.market.functions.listingVoidReason(number)))

    def order_void_reason(self, order: SellOrder) -> VoidReason:
        """Why the signed order cannot be bought now (signature not checked)."""
        return VoidReason(
            self._read(self.market.functions.orderVoidReason(_order(order).as_tuple()))
        )

    def order_status(self, order: SellOrder) -> ListingStatus:
        """FILLED or CANCELLED once that happened to the order, else NONE."""
        return ListingStatus(self._read(self.market.functions.orderStatus(self.order_hash(order))))

    def order_counter(self, seller: str | None = None) -> int:
        """The counter ``seller``'s new orders must carry (`cancel_all_orders` moves it on)."""
        return int(self._read(self.market.functions.nonces(self._account_or_self(seller))))

    def domain(self) -> Eip712Domain:
        """The market's EIP-712 domain (from its ``eip712Domain()``, read once)."""
        if self._domain is None:
            self._domain = cast(Eip712Domain, self._chain(read_domain, self.market))
        return self._domain

    def order_hash(self, order: SellOrder) -> Hash32:
        """The order's id on chain: the EIP-712 digest its seller signs."""
        return order_digest(self.domain(), _order(order))

    def _account_or_self(self, address: str | None) -> ChecksumAddress:
        if address is not None:
            return parse_address(address, field="address", allow_zero=True)
        return self._signer().address

    # ------------------------------------------------------------------ admin

    def set_fee(self, *, fee_bps: int) -> TxResult:
        """The fee future purchases pay (sales in escrow keep theirs). Platform admin only."""
        fee = _bps(fee_bps, field="fee_bps", maximum=MAX_FEE_BPS)
        return self._send(self.market.functions.setFee(fee))

    def set_treasury(self, *, treasury: str) -> TxResult:
        """Where future fees are credited. Platform admin only."""
        return self._send(
            self.market.functions.setTreasury(parse_address(treasury, field="treasury"))
        )

    # ------------------------------------------------------------------ listings and orders

    def list_item(self, *, item_id: ItemId, price: Wei, expiry: int) -> NewListing:
        """List an item the signer owns at ``price`` wei until ``expiry`` (inclusive, unix
        seconds). No approval is needed: the market moves items through the passport's hooks.

        Refusals: `NotItemOwner`, `CannotList` (with the `VoidReason`: flagged, retired, in
        escrow, found counterfeit, seller a suspended merchant), `InvalidExpiry`.
        """
        call = self.market.functions.list(parse_item_id(item_id), _price(price), _expiry(expiry))
        receipt = self._send_for_receipt(call)
        return NewListing(
            listing_id=self._event_value(receipt, "Listed", "listingId"), tx=tx_result(receipt)
        )

    def cancel_listing(self, *, listing_id: int) -> TxResult:
        """Withdraw an open listing (its seller only)."""
        number = _positive_id(listing_id, field="listing_id")
        return self._send(self.market.functions.cancelListing(number))

    def build_order(
        self, *, item_id: ItemId, price: Wei, expiry: int, seller: str | None = None
    ) -> SellOrder:
        """A sell order at the item's current nonce and the seller's current counter, ready for
        `sign_order` (``seller`` defaults to this client's account)."""
        item = parse_item_id(item_id)
        owner = self._account_or_self(seller)
        nonce = self._read(self.passport.functions.nonces(int.from_bytes(item, "big")))
        return SellOrder(
            item_id=item,
            seller=owner,
            price=_price(price),
            expiry=_expiry(expiry),
            item_nonce=int(nonce),
            counter=self.order_counter(owner),
        )

    def sign_order(self, order: SellOrder) -> bytes:
        """This client's account (the order's seller) signs ``order`` (EIP-712, 65 bytes)."""
        return _sign_sell_order(self._signer(), domain=self.domain(), order=_order(order))

    def cancel_order(self, *, order: SellOrder) -> TxResult:
        """Cancel one signed order (its seller only); `OrderNotOpen` once filled or cancelled."""
        return self._send(self.market.functions.cancelOrder(_order(order).as_tuple()))

    def cancel_all_orders(self) -> TxResult:
        """Cancel every order the signer has signed so far (moves its order counter on)."""
        return self._send(self.market.functions.cancelAllOrders())

    # ------------------------------------------------------------------ purchases

    def buy(self, *, listing_id: int) -> NewSale:
        """Buy a listing, paying exactly its price into escrow.

        Refusals: `ListingNotFound`, `ListingVoid` (with the `VoidReason`), `BuyerIsSeller`.
        """
        number = _positive_id(listing_id, field="listing_id")
        price = self.listing(number).price
        receipt = self._send_for_receipt(self.market.functions.buy(number), value=price)
        return NewSale(
            sale_id=self._event_value(receipt, "Purchased", "saleId"),
            price=price,
            tx=tx_result(receipt),
        )

    def buy_order(self, *, order: SellOrder, signature: bytes | str) -> NewSale:
        """Buy a signed order, paying exactly its price into escrow.

        Refusals: `InvalidOrderSignature` (not the seller's signature for this chain and market,
        or a high-s twin), `OrderVoid` (filled, cancelled, expired, the item moved...),
        `BuyerIsSeller`.
        """
        checked = _order(order)
        call = self.market.functions.buyOrder(checked.as_tuple(), parse_signature(signature))
        receipt = self._send_for_receipt(call, value=checked.price)
        return NewSale(
            sale_id=self._event_value(receipt, "Purchased", "saleId"),
            price=checked.price,
            tx=tx_result(receipt),
        )

    # ------------------------------------------------------------------ fulfilment

    def mark_shipped(self, *, sale_id: int, shipment_ref: Evidence) -> TxResult:
        """The seller reports the item shipped (``shipment_ref``: carrier and tracking, hashed);
        starts the buyer's delivery window. `DeadlinePassed` after the shipping deadline."""
        return self._send(
            self.market.functions.markShipped(
                _positive_id(sale_id, field="sale_id"),
                evidence_hash(shipment_ref, field="shipment_ref"),
            )
        )

    def confirm_delivery(self, *, sale_id: int) -> TxResult:
        """The buyer confirms delivery: the item goes to the buyer, the price less the fee is
        credited to the seller and the fee to the treasury."""
        return self._send(
            self.market.functions.confirmDelivery(_positive_id(sale_id, field="sale_id"))
        )

    def finalize(self, *, sale_id: int) -> TxResult:
        """Anyone settles a shipped sale as confirmed once the delivery deadline has passed with
        neither confirmation nor dispute (`DeadlineNotReached` before)."""
        return self._send(self.market.functions.finalize(_positive_id(sale_id, field="sale_id")))

    def cancel_unshipped(self, *, sale_id: int) -> TxResult:
        """Unwind a sale never shipped: the seller at any time, the buyer after the shipping
        deadline. The buyer is credited the full price; the item stays with the seller."""
        return self._send(
            self.market.functions.cancelUnshipped(_positive_id(sale_id, field="sale_id"))
        )

    # ------------------------------------------------------------------ disputes

    def open_dispute(
        self,
        *,
        sale_id: int,
        reason: DisputeReason | str,
        evidence: Evidence,
        uri: str = "",
    ) -> TxResult:
        """The buyer disputes a shipped sale before the delivery deadline; starts the ruling
        window. ``evidence`` is hashed; ``uri`` says where it can be fetched (optional)."""
        return self._send(
            self.market.functions.openDispute(
                _positive_id(sale_id, field="sale_id"),
                int(parse_member(DisputeReason, reason, field="reason")),
                evidence_hash(evidence, field="evidence"),
                _uri(uri),
            )
        )

    def submit_evidence(self, *, sale_id: int, evidence: Evidence, uri: str = "") -> TxResult:
        """A party adds evidence to an open dispute, until the ruling deadline."""
        return self._send(
            self.market.functions.submitEvidence(
                _positive_id(sale_id, field="sale_id"),
                evidence_hash(evidence, field="evidence"),
                _uri(uri),
            )
        )

    def rule(
        self,
        *,
        sale_id: int,
        ruling: Ruling | str,
        ruling_evidence: Evidence,
        buyer_share_bps: int = 0,
        counterfeit: bool = False,
    ) -> TxResult:
        """An active arbiter who is not a party rules before the ruling deadline.

        ``REFUND``: the buyer gets the price back, the item stays with the seller; ``RELEASE``:
        settled as confirmed; ``PARTIAL_REFUND``: the item goes to the buyer and
        ``buyer_share_bps`` (1..9999) of the price is refunded. ``counterfeit`` (not with
        RELEASE) records a Counterfeit verdict on the item's passport. ``ruling_evidence`` is the
        reasoned decision, hashed. Inconsistent combinations are refused by the contract with
        `InvalidRuling`.
        """
        if not isinstance(counterfeit, bool):
            raise InputError("counterfeit must be true or false", field="counterfeit")
        return self._send(
            self.market.functions.rule(
                _positive_id(sale_id, field="sale_id"),
                int(parse_member(Ruling, ruling, field="ruling")),
                _bps(buyer_share_bps, field="buyer_share_bps", maximum=2**16 - 1),
                counterfeit,
                evidence_hash(ruling_evidence, field="ruling_evidence"),
            )
        )

    def execute_default(self, *, sale_id: int) -> TxResult:
        """After the ruling deadline with no ruling, a party settles the dispute with the
        default: a full refund to the buyer, the item stays with the seller."""
        return self._send(
            self.market.functions.executeDefault(_positive_id(sale_id, field="sale_id"))
        )

    # ------------------------------------------------------------------ payments

    def withdraw(self) -> Withdrawal:
        """Send the signer its whole credit; `NothingToWithdraw` when it has none."""
        receipt = self._send_for_receipt(self.market.functions.withdraw())
        return Withdrawal(
            amount=Wei(self._event_value(receipt, "Withdrawn", "amount")), tx=tx_result(receipt)
        )
