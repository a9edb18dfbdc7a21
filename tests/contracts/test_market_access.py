"""Who may call what on the resale market (and the passport's market hooks once a market is set).

`MATRIX` is the single statement of the access rules: one row per state-changing function, one
column per kind of caller. A cell is ``OK`` (the call is mined and the row's effect is checked)
or the exact custom error the call must revert with, after which every watched view must read
as before. Each row sets its scene once (a sale in the right state, a deadline passed...) and
replays it from an eth-tester snapshot for every caller.

Callers: admin (platform admin), merchant (the active Merchant who sells), suspended_merchant,
buyer (the sale's buyer, unvetted), arbiter (active Arbiter), stranger (never vetted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from ledger.errors import (
    AccountLacksRole,
    AccountNotActive,
    ArbiterIsParty,
    BuyerIsSeller,
    ContractError,
    NotAdmin,
    NotBuyer,
    NothingToWithdraw,
    NotItemOwner,
    NotListingSeller,
    NotMarket,
    NotOrderSeller,
    NotParty,
    NotSeller,
    SaleNotFound,
)
from ledger.hashing import hash_document
from ledger.types import AccountStatus, Role, Verdict
from tests.contracts.conftest_market import (
    DAY,
    EVIDENCE_HASH,
    PRICE,
    RULING_HASH,
    SHIPMENT_HASH,
    DisputeReason,
    ListingStatus,
    MarketWorld,
    Ruling,
    SaleState,
    as_tuple,
    market,
)
from tests.contracts.helpers import view

__all__ = ["market"]  # the fixture, imported so pytest finds it

ACTORS = ("admin", "merchant", "suspended_merchant", "buyer", "arbiter", "stranger")
PEOPLE = {
    "admin": "admin",
    "merchant": "merchant",
    "suspended_merchant": "suspended_merchant",
    "buyer": "owner",
    "arbiter": "arbiter",
    "stranger": "stranger",
}


class _Slot:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


CALLER = _Slot("caller")
SALE = _Slot("sale")
LISTING = _Slot("listing")
ORDER = _Slot("order")
ITEM = _Slot("item")


@dataclass(frozen=True)
class Refused:
    error: type[ContractError]
    args: tuple[tuple[str, object], ...] = ()


def refused(error: type[ContractError], **args: object) -> Refused:
    return Refused(error, tuple(args.items()))


OK = None
NOTADM = refused(NotAdmin, caller=CALLER)
NOTOWN = refused(NotItemOwner, itemId=ITEM, caller=CALLER)
NOTLST = refused(NotListingSeller, listingId=LISTING, caller=CALLER)
NOTORD = refused(NotOrderSeller, orderHash=ORDER, caller=CALLER)
BUYSEL = refused(BuyerIsSeller, buyer=CALLER)
NOTSEL = refused(NotSeller, saleId=SALE, caller=CALLER)
NOTBUY = refused(NotBuyer, saleId=SALE, caller=CALLER)
NOTPTY = refused(NotParty, saleId=SALE, caller=CALLER)
LACKAR = refused(AccountLacksRole, account=CALLER, requiredRoles=Role.ARBITER)
NOTHNG = refused(NothingToWithdraw, account=CALLER)
NOTMKT = refused(NotMarket, caller=CALLER)

# fmt: off
MATRIX: dict[str, tuple[Refused | None, ...]] = {
    # function                 admin   merch.  susp.   buyer   arbiter stranger
    "setFee":                 (OK,     NOTADM, NOTADM, NOTADM, NOTADM, NOTADM),
    "setTreasury":            (OK,     NOTADM, NOTADM, NOTADM, NOTADM, NOTADM),
    "list":                   (NOTOWN, OK,     NOTOWN, NOTOWN, NOTOWN, NOTOWN),
    "cancelListing":          (NOTLST, OK,     NOTLST, NOTLST, NOTLST, NOTLST),
    "cancelOrder":            (NOTORD, OK,     NOTORD, NOTORD, NOTORD, NOTORD),
    "cancelAllOrders":        (OK,     OK,     OK,     OK,     OK,     OK),
    "buy":                    (OK,     BUYSEL, OK,     OK,     OK,     OK),
    "buyOrder":               (OK,     BUYSEL, OK,     OK,     OK,     OK),
    "markShipped":            (NOTSEL, OK,     NOTSEL, NOTSEL, NOTSEL, NOTSEL),
    "confirmDelivery":        (NOTBUY, NOTBUY, NOTBUY, OK,     NOTBUY, NOTBUY),
    "finalize":               (OK,     OK,     OK,     OK,     OK,     OK),
    "cancelUnshipped":        (NOTPTY, OK,     NOTPTY, OK,     NOTPTY, NOTPTY),
    "openDispute":            (NOTBUY, NOTBUY, NOTBUY, OK,     NOTBUY, NOTBUY),
    "submitEvidence":         (NOTPTY, OK,     NOTPTY, OK,     NOTPTY, NOTPTY),
    "rule":                   (LACKAR, LACKAR, LACKAR, LACKAR, OK,     LACKAR),
    "executeDefault":         (NOTPTY, OK,     NOTPTY, OK,     NOTPTY, NOTPTY),
    "withdraw":               (NOTHNG, OK,     NOTHNG, NOTHNG, NOTHNG, NOTHNG),
    # The passport's market hooks, with the market named: only the market contract passes.
    "passport.setMarket":     (OK,     NOTADM, NOTADM, NOTADM, NOTADM, NOTADM),
    "passport.lock":          (NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT),
    "passport.unlock":        (NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT),
    "passport.marketTransfer":(NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT),
    "passport.recordRuling":  (NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT, NOTMKT),
}
# fmt: on


@dataclass
class Scene:
    """What a row's call acts on: a sale, a listing, an order, an item."""

    sale: int = 0
    listing: int = 0
    order: dict[str, Any] = field(default_factory=dict)
    order_hash: bytes = b""
    signature: bytes = b""
    item: bytes = b""


@dataclass(frozen=True)
class Row:
    scene: Callable[[MarketWorld], Scene]
    call: Callable[[MarketWorld, Scene], tuple[ContractFunction, int]]
    effect: Callable[[MarketWorld, Scene, LocalAccount, TxReceipt], None]


def _sale_in(state: SaleState, *, past_deadline: bool = False) -> Callable[[MarketWorld], Scene]:
    def make(w: MarketWorld) -> Scene:
        sale_id = w.buy()
        if state in (SaleState.SHIPPED, SaleState.DISPUTED):
            w.ship(sale_id)
        if state == SaleState.DISPUTED:
            w.dispute(sale_id)
        if past_deadline:
            w.at(w.sale(sale_id)["deadline"] + 1)
        return Scene(sale=sale_id, item=w.items.main)

    return make


def _listing(w: MarketWorld) -> Scene:
    return Scene(listing=w.main_listing, item=w.items.main)


def _unlisted(w: MarketWorld) -> Scene:
    return Scene(item=w.items.spare)


def _order(w: MarketWorld) -> Scene:
    order = w.order(w.items.spare)
    return Scene(
        order=order,
        order_hash=view(w.market.functions.hashOrder(as_tuple(order))),
        signature=w.sign_order(order),
        item=w.items.spare,
    )


def _completed(w: MarketWorld) -> Scene:
    sale_id = w.buy()
    w.send(w.market.functions.confirmDelivery(sale_id), w.buyer)
    return Scene(sale=sale_id, item=w.items.main)


def _state_is(state: SaleState) -> Callable[[MarketWorld, Scene, LocalAccount, TxReceipt], None]:
    def check(w: MarketWorld, scene: Scene, caller: LocalAccount, receipt: TxReceipt) -> None:
        assert w.sale(scene.sale)["state"] == state

    return check


def _settled_by_caller(
    state: SaleState,
) -> Callable[[MarketWorld, Scene, LocalAccount, TxReceipt], None]:
    def check(w: MarketWorld, scene: Scene, caller: LocalAccount, receipt: TxReceipt) -> None:
        assert w.sale(scene.sale)["state"] == state
        assert w.event(receipt, "SaleSettled")["by"] == caller.address

    return check


def _bought(w: MarketWorld, scene: Scene, caller: LocalAccount, receipt: TxReceipt) -> None:
    sale = w.sale(w.event(receipt, "Purchased")["saleId"])
    assert (sale["buyer"], sale["state"]) == (caller.address, SaleState.PAID)
    assert w.item(scene.item)["locked"] is True


def _listed(w: MarketWorld, scene: Scene, caller: LocalAccount, receipt: TxReceipt) -> None:
    listing = w.listing(w.event(receipt, "Listed")["listingId"])
    assert (listing["seller"], listing["status"]) == (caller.address, ListingStatus.OPEN)


NEW_MARKET = "0x000000000000000000000000000000000000bEEF"

ROWS: dict[str, Row] = {
    "setFee": Row(
        _unlisted,
        lambda w, s: (w.market.functions.setFee(500), 0),
        lambda w, s, c, r: view(w.market.functions.feeBps()) == 500 or pytest.fail("fee"),
    ),
    "setTreasury": Row(
        _unlisted,
        lambda w, s: (w.market.functions.setTreasury(NEW_MARKET), 0),
        lambda w, s, c, r: view(w.market.functions.treasury()) == NEW_MARKET or pytest.fail("t"),
    ),
    "list": Row(
        _unlisted,
        lambda w, s: (w.market.functions.list(s.item, PRICE, w.next_timestamp() + DAY), 0),
        _listed,
    ),
    "cancelListing": Row(
        _listing,
        lambda w, s: (w.market.functions.cancelListing(s.listing), 0),
        lambda w, s, c, r: (
            w.listing(s.listing)["status"] == ListingStatus.CANCELLED
            or pytest.fail("not cancelled")
        ),
    ),
    "cancelOrder": Row(
        _order,
        lambda w, s: (w.market.functions.cancelOrder(as_tuple(s.order)), 0),
        lambda w, s, c, r: (
            view(w.market.functions.orderStatus(s.order_hash)) == ListingStatus.CANCELLED
            or pytest.fail("not cancelled")
        ),
    ),
    "cancelAllOrders": Row(
        _unlisted,
        lambda w, s: (w.market.functions.cancelAllOrders(), 0),
        lambda w, s, c, r: (
            view(w.market.functions.nonces(c.address)) == 1 or pytest.fail("counter")
        ),
    ),
    "buy": Row(_listing, lambda w, s: (w.market.functions.buy(s.listing), PRICE), _bought),
    "buyOrder": Row(
        _order,
        lambda w, s: (w.market.functions.buyOrder(as_tuple(s.order), s.signature), PRICE),
        _bought,
    ),
    "markShipped": Row(
        _sale_in(SaleState.PAID),
        lambda w, s: (w.market.functions.markShipped(s.sale, SHIPMENT_HASH), 0),
        _state_is(SaleState.SHIPPED),
    ),
    "confirmDelivery": Row(
        _sale_in(SaleState.SHIPPED),
        lambda w, s: (w.market.functions.confirmDelivery(s.sale), 0),
        _settled_by_caller(SaleState.COMPLETED),
    ),
    "finalize": Row(
        _sale_in(SaleState.SHIPPED, past_deadline=True),
        lambda w, s: (w.market.functions.finalize(s.sale), 0),
        _settled_by_caller(SaleState.COMPLETED),
    ),
    "cancelUnshipped": Row(
        _sale_in(SaleState.PAID, past_deadline=True),
        lambda w, s: (w.market.functions.cancelUnshipped(s.sale), 0),
        _settled_by_caller(SaleState.REFUNDED),
    ),
    "openDispute": Row(
        _sale_in(SaleState.SHIPPED),
        lambda w, s: (
            w.market.functions.openDispute(s.sale, DisputeReason.OTHER, EVIDENCE_HASH, ""),
            0,
        ),
        _state_is(SaleState.DISPUTED),
    ),
    "submitEvidence": Row(
        _sale_in(SaleState.DISPUTED),
        lambda w, s: (w.market.functions.submitEvidence(s.sale, EVIDENCE_HASH, "ipfs://x"), 0),
        lambda w, s, c, r: (
            w.event(r, "EvidenceSubmitted")["party"] == c.address or pytest.fail("party")
        ),
    ),
    "rule": Row(
        _sale_in(SaleState.DISPUTED),
        lambda w, s: (w.market.functions.rule(s.sale, Ruling.REFUND, 0, False, RULING_HASH), 0),
        _settled_by_caller(SaleState.REFUNDED),
    ),
    "executeDefault": Row(
        _sale_in(SaleState.DISPUTED, past_deadline=True),
        lambda w, s: (w.market.functions.executeDefault(s.sale), 0),
        _settled_by_caller(SaleState.REFUNDED),
    ),
    "withdraw": Row(
        _completed,
        lambda w, s: (w.market.functions.withdraw(), 0),
        lambda w, s, c, r: w.credits(c) == 0 or pytest.fail("credit left"),
    ),
    "passport.setMarket": Row(
        _unlisted,
        lambda w, s: (w.passport.functions.setMarket(NEW_MARKET), 0),
        lambda w, s, c, r: (
            (view(w.passport.functions.market()) == NEW_MARKET or pytest.fail("market"))
            and (
                # The replaced market may still settle what it holds (test_market_switch.py).
                view(w.passport.functions.isFormerMarket(w.market.address)) or pytest.fail("former")
            )
        ),
    ),
    "passport.lock": Row(
        _unlisted,
        lambda w, s: (w.passport.functions.lock(s.item), 0),
        lambda w, s, c, r: pytest.fail("no caller may lock"),
    ),
    "passport.unlock": Row(
        _sale_in(SaleState.PAID),
        lambda w, s: (w.passport.functions.unlock(s.item), 0),
        lambda w, s, c, r: pytest.fail("no caller may unlock"),
    ),
    "passport.marketTransfer": Row(
        _sale_in(SaleState.PAID),
        lambda w, s: (
            w.passport.functions.marketTransfer(
                w.seller.address, w.stranger.address, s.item, b"\x01" * 32
            ),
            0,
        ),
        lambda w, s, c, r: pytest.fail("no caller may move an escrowed item"),
    ),
    "passport.recordRuling": Row(
        _unlisted,
        lambda w, s: (
            w.passport.functions.recordRuling(s.item, Verdict.COUNTERFEIT, RULING_HASH),
            0,
        ),
        lambda w, s, c, r: pytest.fail("no caller may record a ruling"),
    ),
}


def _expected_args(refusal: Refused, scene: Scene, caller: LocalAccount) -> dict[str, object]:
    slots = {
        CALLER: caller.address,
        SALE: scene.sale,
        LISTING: scene.listing,
        ORDER: scene.order_hash,
        ITEM: scene.item,
    }
    return {name: slots.get(value, value) for name, value in refusal.args}  # type: ignore[call-overload]


def test_matrix_covers_every_state_changing_function(market: MarketWorld) -> None:
    abi_functions = {
        entry["name"]
        for entry in market.market.abi
        if entry["type"] == "function" and entry["stateMutability"] in ("nonpayable", "payable")
    }
    market_rows = {name for name in MATRIX if not name.startswith("passport.")}
    assert abi_functions == market_rows
    assert set(MATRIX) == set(ROWS)


@pytest.mark.parametrize("function", list(MATRIX))
def test_access(market: MarketWorld, function: str) -> None:
    w = market
    row = ROWS[function]
    scene = row.scene(w)
    tester = w.tester
    start = tester.take_snapshot()
    for actor, expected in zip(ACTORS, MATRIX[function], strict=True):
        tester.revert_to_snapshot(start)
        caller: LocalAccount = getattr(w.accounts, PEOPLE[actor])
        fn, value = row.call(w, scene)
        if expected is OK:
            receipt = w.send(fn, caller, value=value)
            row.effect(w, scene, caller, receipt)
            continue
        watch = {
            "sales": (scene.sale,) if scene.sale else (),
            "items": (scene.item,),
            "people": (caller,),
        }
        watched = w.snapshot(**watch)  # type: ignore[arg-type]
        try:
            w.refused(
                fn, caller, expected.error, value=value, **_expected_args(expected, scene, caller)
            )
        except AssertionError as exc:
            raise AssertionError(f"{function} by {actor}: {exc}") from exc
        assert w.snapshot(**watch) == watched  # type: ignore[arg-type]


# ------------------------------------------------------------------ beyond the matrix


def test_arbiter_cannot_rule_on_own_sale(market: MarketWorld) -> None:
    w = market
    sale_id = w.buy(buyer=w.arbiter)
    w.ship(sale_id)
    w.dispute(sale_id)
    fn = w.market.functions.rule(sale_id, Ruling.REFUND, 0, False, RULING_HASH)
    before = w.snapshot(sales=(sale_id,), items=(w.items.main,))
    w.refused(fn, w.arbiter, ArbiterIsParty, saleId=sale_id, arbiter=w.arbiter)
    assert w.snapshot(sales=(sale_id,), items=(w.items.main,)) == before


def test_suspended_arbiter_cannot_rule(market: MarketWorld) -> None:
    w = market
    sale_id = w.disputed_sale()
    reason = hash_document({"why": "conflict of interest"})
    w.send(w.passport.functions.suspend(w.arbiter.address, reason), w.admin)
    fn = w.market.functions.rule(sale_id, Ruling.RELEASE, 0, False, RULING_HASH)
    w.refused(fn, w.arbiter, AccountNotActive, account=w.arbiter, status=AccountStatus.SUSPENDED)
    w.send(w.passport.functions.reinstate(w.arbiter.address, reason), w.admin)
    w.send(fn, w.arbiter)


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.markShipped(7, SHIPMENT_HASH),
        lambda f: f.confirmDelivery(7),
        lambda f: f.finalize(7),
        lambda f: f.cancelUnshipped(7),
        lambda f: f.openDispute(7, DisputeReason.OTHER, EVIDENCE_HASH, ""),
        lambda f: f.submitEvidence(7, EVIDENCE_HASH, ""),
        lambda f: f.executeDefault(7),
    ],
    ids=[
        "markShipped",
        "confirmDelivery",
        "finalize",
        "cancelUnshipped",
        "openDispute",
        "submitEvidence",
        "executeDefault",
    ],
)
def test_unknown_sale(market: MarketWorld, call: Callable[[Any], ContractFunction]) -> None:
    w = market
    w.refused(call(w.market.functions), w.stranger, SaleNotFound, saleId=7)
    w.call_refused(w.market.functions.saleOf(7), SaleNotFound, saleId=7)
