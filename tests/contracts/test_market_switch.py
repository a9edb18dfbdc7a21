"""The admin names a new resale market while the old one holds sales in escrow.

The replaced ("former") market may still settle what it holds (`unlock`, `marketTransfer`,
`recordRuling`) but never `lock` anything new; the new market works as usual; naming the old one
again makes it current. Starting state: ``conftest_market.py`` (market A is the world's market;
merchant's item ``main`` listed in A at 1 ether; fee 2.5%).

The world's ``market`` attribute is never repointed here: the fixture restores it by address
after every test, and market B does not survive the snapshot revert.
"""

from __future__ import annotations

from typing import Any

import pytest
from web3.contract.contract import Contract

from ledger.errors import CannotList, NotMarket
from ledger.types import Verdict
from tests.contracts.conftest_market import (
    FEE_BPS,
    PRICE,
    RULING_HASH,
    MarketWorld,
    Ruling,
    SaleState,
    VoidReason,
    market,
)
from tests.contracts.helpers import view

__all__ = ["market"]  # the fixture, imported so pytest finds it

FEE = PRICE * FEE_BPS // 10_000
ZERO_ADDRESS = "0x" + "00" * 20


def _switch(w: MarketWorld, new_market: str) -> dict[str, Any]:
    previous = view(w.passport.functions.market())
    receipt = w.send(w.passport.functions.setMarket(new_market), w.admin)
    changed = w.event(receipt, "MarketChanged", w.passport)
    assert changed == {"previousMarket": previous, "market": new_market, "by": w.admin.address}
    return changed


def _is_former(w: MarketWorld, address: str) -> bool:
    return bool(view(w.passport.functions.isFormerMarket(address)))


def _buy_in(w: MarketWorld, target: Contract, item: bytes) -> int:
    """List ``item`` (merchant's) in ``target`` and buy it there; the new sale's id."""
    expiry = w.next_timestamp() + 30 * 86_400
    receipt = w.send(target.functions.list(item, PRICE, expiry), w.seller)
    listing = w.event(receipt, "Listed", target)["listingId"]
    receipt = w.send(target.functions.buy(listing), w.buyer, value=PRICE)
    return int(w.event(receipt, "Purchased", target)["saleId"])


@pytest.mark.parametrize("successor", ["new-market", "no-market"])
def test_replaced_market_still_settles_the_sales_it_holds(
    market: MarketWorld, successor: str
) -> None:
    w = market
    confirmed = w.shipped_sale()  # item main
    disputed = w.list(w.items.spare)
    disputed = w.buy(disputed)
    w.ship(disputed)
    w.dispute(disputed)

    new_market = w.deploy_market().address if successor == "new-market" else ZERO_ADDRESS
    _switch(w, new_market)
    assert view(w.passport.functions.market()) == new_market
    assert _is_former(w, w.market.address)
    assert not _is_former(w, new_market)

    # Confirmation: marketTransfer from a former market; the item reaches the buyer.
    receipt = w.send(w.market.functions.confirmDelivery(confirmed), w.buyer)
    assert w.event(receipt, "SaleRecorded", w.passport) == {
        "itemId": w.items.main,
        "from": w.seller.address,
        "to": w.buyer.address,
        "saleRef": confirmed.to_bytes(32),
    }
    assert w.event(receipt, "ItemUnlocked", w.passport)["market"] == w.market.address
    main = w.item(w.items.main)
    assert (main["owner"], main["locked"]) == (w.buyer.address, False)
    assert w.sale(confirmed)["state"] == SaleState.COMPLETED

    # Refund ruling with a counterfeit finding: recordRuling and unlock from a former market.
    fn = w.market.functions.rule(disputed, Ruling.REFUND, 0, True, RULING_HASH)
    receipt = w.send(fn, w.arbiter)
    assert w.event(receipt, "ItemAuthenticated", w.passport)["authenticator"] == w.market.address
    assert w.event(receipt, "ItemUnlocked", w.passport)["market"] == w.market.address
    spare = w.item(w.items.spare)
    assert (spare["owner"], spare["locked"], spare["lastVerdict"]) == (
        w.seller.address,
        False,
        Verdict.COUNTERFEIT,
    )
    assert w.sale(disputed)["state"] == SaleState.REFUNDED

    assert (w.credits(w.seller), w.credits(w.buyer), w.credits(w.treasury)) == (
        PRICE - FEE,
        PRICE,
        FEE,
    )
    assert w.balance(w.market) == 2 * PRICE  # every wei of both sales is still withdrawable
    w.send(w.market.functions.withdraw(), w.buyer)
    assert w.balance(w.market) == PRICE


def test_replaced_market_cannot_take_an_item_into_escrow(market: MarketWorld) -> None:
    w = market
    listing = w.list(w.items.spare)  # listed before the switch
    _switch(w, w.deploy_market().address)
    for listing_id in (w.main_listing, listing, w.list(w.items.extra)):
        before = w.snapshot(items=(w.items.main, w.items.spare, w.items.extra))
        fn = w.market.functions.buy(listing_id)
        w.refused(fn, w.buyer, NotMarket, value=PRICE, caller=w.market.address)
        assert w.snapshot(items=(w.items.main, w.items.spare, w.items.extra)) == before


def test_new_market_trades_as_usual_but_not_items_the_old_one_holds(market: MarketWorld) -> None:
    w = market
    held = w.buy()  # item main, in escrow at A
    b = w.deploy_market()
    _switch(w, b.address)

    sale_id = _buy_in(w, b, w.items.extra)
    assert w.item(w.items.extra)["locked"] is True
    receipt = w.send(b.functions.confirmDelivery(sale_id), w.buyer)
    assert w.event(receipt, "ItemUnlocked", w.passport)["market"] == b.address
    assert w.item(w.items.extra)["owner"] == w.buyer.address
    assert int(view(b.functions.credits(w.seller.address))) == PRICE - FEE

    # Item main is in A's escrow: B will not even list it (nor could the passport lock it).
    expiry = w.next_timestamp() + 30 * 86_400
    fn = b.functions.list(w.items.main, PRICE, expiry)
    w.refused(fn, w.seller, CannotList, itemId=w.items.main, reason=VoidReason.ITEM_LOCKED)
    assert w.sale(held)["state"] == SaleState.PAID
    w.send(w.market.functions.cancelUnshipped(held), w.seller)  # A still releases it
    assert w.item(w.items.main)["locked"] is False


def test_market_named_again_is_current_and_its_successor_former(market: MarketWorld) -> None:
    w = market
    a = w.market.address
    b = w.deploy_market()
    _switch(w, b.address)
    _switch(w, a)
    assert view(w.passport.functions.market()) == a
    assert not _is_former(w, a)
    assert _is_former(w, b.address)

    sale_id = w.buy()  # A locks again
    assert w.item(w.items.main)["locked"] is True
    w.send(w.market.functions.confirmDelivery(sale_id), w.buyer)
    assert w.item(w.items.main)["owner"] == w.buyer.address

    expiry = w.next_timestamp() + 30 * 86_400
    receipt = w.send(b.functions.list(w.items.extra, PRICE, expiry), w.seller)
    listing = w.event(receipt, "Listed", b)["listingId"]
    w.refused(b.functions.buy(listing), w.buyer, NotMarket, value=PRICE, caller=b.address)

    # Naming the current market again changes nothing.
    _switch(w, a)
    assert not _is_former(w, a)
    assert _is_former(w, b.address)


@pytest.mark.parametrize("hook", ["unlock", "marketTransfer", "recordRuling"])
def test_neither_current_nor_former_market_cannot_settle(market: MarketWorld, hook: str) -> None:
    w = market
    w.buy()  # item main, in escrow at A
    _switch(w, w.deploy_market().address)
    item = w.items.main
    fn = {
        "unlock": lambda: w.passport.functions.unlock(item),
        "marketTransfer": lambda: w.passport.functions.marketTransfer(
            w.seller.address, w.stranger.address, item, b"\x00" * 32
        ),
        "recordRuling": lambda: w.passport.functions.recordRuling(
            item, Verdict.COUNTERFEIT, RULING_HASH
        ),
    }[hook]()
    before = w.item(item)
    for caller in (w.stranger, w.admin, w.seller):
        w.refused(fn, caller, NotMarket, caller=caller.address)
    assert w.item(item) == before
