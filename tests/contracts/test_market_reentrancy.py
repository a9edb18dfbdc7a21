"""A hostile contract account tries to re-enter the market while it is being paid.

`ReentrantReceiver` (contracts/test) acts as a seller or a buyer through ``execute``; when ETH
arrives (only `withdraw` ever sends any) it calls back into the market once, records whether
that worked, and swallows the failure so that its own payment still completes. Every market
entry point that moves money or settles a sale is ``nonReentrant``, so the call back must fail
with `ReentrancyGuardReentrantCall`; the receiver must get exactly its credit, and everyone
else's credit must be untouched. Each re-entered call is then made directly, outside the
payment, and succeeds: it was the guard, not the sale's state, that stopped it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from web3.contract.contract import Contract

from ledger.errors import ErrorDecoder, ReentrancyGuardReentrantCall, WithdrawalFailed
from tests.contracts.conftest_market import (
    EVIDENCE_HASH,
    FEE_BPS,
    PRICE,
    DisputeReason,
    MarketWorld,
    SaleState,
    abi,
    market,
)
from tests.contracts.helpers import view

__all__ = ["market"]  # the fixture, imported so pytest finds it

FEE = PRICE * FEE_BPS // 10_000


@dataclass
class Hostile:
    receiver: Contract
    world: MarketWorld

    def call_market(self, name: str, *args: Any, value: int = 0) -> Any:
        data = self.world.market.encode_abi(name, args=list(args))
        fn = self.receiver.functions.execute(self.world.market.address, value, data)
        return self.world.send(fn, self.world.stranger, value=value)

    def reenter(self, name: str, *args: Any) -> None:
        data = self.world.market.encode_abi(name, args=list(args))
        fn = self.receiver.functions.setReentry(self.world.market.address, data)
        self.world.send(fn, self.world.stranger)

    @property
    def address(self) -> str:
        return str(self.receiver.address)


def _hostile(w: MarketWorld) -> Hostile:
    receiver = w.deploy("ReentrantReceiver", sender=w.stranger)
    return Hostile(receiver=receiver, world=w)


def _reentry_error(hostile: Hostile) -> str:
    result = view(hostile.receiver.functions.lastReentryResult())
    decoded = ErrorDecoder([abi("ResaleMarket")]).decode(bytes(result))
    return type(decoded).__name__


def _others(w: MarketWorld) -> dict[str, int]:
    return {"seller": w.credits(w.seller), "treasury": w.credits(w.treasury)}


def test_reentrant_withdraw_gets_only_its_credit(market: MarketWorld) -> None:
    w = market
    hostile = _hostile(w)
    # The hostile contract sells an item; the honest merchant sells another.
    item = w.register(w.items.fresh[0], hostile.address)
    receipt = hostile.call_market("list", item, 2 * PRICE, w.next_timestamp() + 86_400)
    listing = w.event(receipt, "Listed")["listingId"]
    hostile_sale = w.buy(listing)
    w.send(w.market.functions.confirmDelivery(hostile_sale), w.buyer)
    honest_sale = w.buy()
    w.send(w.market.functions.confirmDelivery(honest_sale), w.buyer)

    credit = 2 * PRICE - 2 * FEE
    assert w.credits(hostile.address) == credit
    others = _others(w)
    assert others == {"seller": PRICE - FEE, "treasury": 3 * FEE}
    market_before = w.balance(w.market)

    hostile.reenter("withdraw")
    hostile.call_market("withdraw")

    assert w.balance(hostile.address) == credit
    assert view(hostile.receiver.functions.received()) == credit
    assert view(hostile.receiver.functions.reentryAttempts()) == 1
    assert view(hostile.receiver.functions.reentrySuccesses()) == 0
    assert _reentry_error(hostile) == ReentrancyGuardReentrantCall.__name__
    assert w.credits(hostile.address) == 0
    assert w.balance(w.market) == market_before - credit
    assert _others(w) == others
    # ...and the honest payouts still go through in full.
    for account, amount in ((w.seller, PRICE - FEE), (w.treasury, 3 * FEE)):
        receipt = w.send(w.market.functions.withdraw(), account)
        assert w.event(receipt, "Withdrawn")["amount"] == amount
    assert w.balance(w.market) == 0


def _paid(w: MarketWorld, hostile: Hostile, listing: int) -> int:
    receipt = hostile.call_market("buy", listing, value=PRICE)
    return int(w.event(receipt, "Purchased")["saleId"])


def _shipped(w: MarketWorld, hostile: Hostile, listing: int) -> int:
    sale_id = _paid(w, hostile, listing)
    w.ship(sale_id)
    return sale_id


def _past(w: MarketWorld, sale_id: int) -> None:
    w.at(w.sale(sale_id)["deadline"] + 1)


def _confirm(w: MarketWorld, hostile: Hostile, listing: int) -> tuple[int, tuple[Any, ...]]:
    sale_id = _shipped(w, hostile, listing)
    return sale_id, ("confirmDelivery", sale_id)


def _finalize(w: MarketWorld, hostile: Hostile, listing: int) -> tuple[int, tuple[Any, ...]]:
    sale_id = _shipped(w, hostile, listing)
    _past(w, sale_id)
    return sale_id, ("finalize", sale_id)


def _cancel(w: MarketWorld, hostile: Hostile, listing: int) -> tuple[int, tuple[Any, ...]]:
    sale_id = _paid(w, hostile, listing)
    _past(w, sale_id)
    return sale_id, ("cancelUnshipped", sale_id)


def _dispute(w: MarketWorld, hostile: Hostile, listing: int) -> tuple[int, tuple[Any, ...]]:
    sale_id = _shipped(w, hostile, listing)
    return sale_id, ("openDispute", sale_id, DisputeReason.NOT_RECEIVED, EVIDENCE_HASH, "")


def _default(w: MarketWorld, hostile: Hostile, listing: int) -> tuple[int, tuple[Any, ...]]:
    sale_id = _shipped(w, hostile, listing)
    hostile.call_market("openDispute", sale_id, DisputeReason.OTHER, EVIDENCE_HASH, "")
    _past(w, sale_id)
    return sale_id, ("executeDefault", sale_id)


SETTLE_PATHS: dict[str, Callable[[MarketWorld, Hostile, int], tuple[int, tuple[Any, ...]]]] = {
    "confirmDelivery": _confirm,
    "finalize": _finalize,
    "cancelUnshipped": _cancel,
    "openDispute": _dispute,
    "executeDefault": _default,
}


@pytest.mark.parametrize("path", list(SETTLE_PATHS))
def test_reentering_a_settle_path_during_withdraw_is_refused(
    market: MarketWorld, path: str
) -> None:
    w = market
    hostile = _hostile(w)
    # A credit to withdraw: the hostile buyer's first purchase is refunded by the seller.
    refunded = _paid(w, hostile, w.main_listing)
    w.send(w.market.functions.cancelUnshipped(refunded), w.seller)
    assert w.credits(hostile.address) == PRICE
    # An honest sale with money owed to others, which must not move.
    honest = w.buy(w.list(w.items.extra))
    w.send(w.market.functions.confirmDelivery(honest), w.buyer)
    others = _others(w)

    target_listing = w.list(w.items.spare)
    sale_id, call = SETTLE_PATHS[path](w, hostile, target_listing)
    before = w.sale(sale_id)
    hostile.reenter(*call)
    hostile.call_market("withdraw")

    assert view(hostile.receiver.functions.reentryAttempts()) == 1
    assert view(hostile.receiver.functions.reentrySuccesses()) == 0
    assert _reentry_error(hostile) == ReentrancyGuardReentrantCall.__name__
    assert w.balance(hostile.address) == PRICE
    assert w.credits(hostile.address) == 0
    assert w.sale(sale_id) == before
    assert _others(w) == others
    assert w.balance(w.market) == PRICE + sum(others.values())  # the open sale + others' credit

    # The same call, made directly, is fine: only the guard stopped it.
    hostile.call_market(*call)
    assert w.sale(sale_id)["state"] != before["state"]
    if w.sale(sale_id)["state"] in (SaleState.COMPLETED, SaleState.REFUNDED):
        assert w.balance(w.market) == PRICE + sum(others.values())  # now credited, not in escrow


def test_receiver_refusing_payment_keeps_its_credit(market: MarketWorld) -> None:
    w = market
    hostile = _hostile(w)
    refunded = _paid(w, hostile, w.main_listing)
    w.send(w.market.functions.cancelUnshipped(refunded), w.seller)
    w.send(hostile.receiver.functions.setRejectPayments(True), w.stranger)
    data = w.market.encode_abi("withdraw", args=[])
    fn = hostile.receiver.functions.execute(w.market.address, 0, data)
    w.refused(fn, w.stranger, WithdrawalFailed, account=hostile.address, amount=PRICE)
    assert w.credits(hostile.address) == PRICE
    assert w.balance(w.market) == PRICE
    w.send(hostile.receiver.functions.setRejectPayments(False), w.stranger)
    hostile.call_market("withdraw")
    assert w.balance(hostile.address) == PRICE
    assert w.balance(w.market) == 0
