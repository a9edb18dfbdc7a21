"""When a listing (on-chain or signed) can be bought, and the exact error when it cannot.

A listing is void once the item moved (its nonce differs from the one recorded at listing), is
flagged or retired, is in escrow for another sale, was found counterfeit, or when its seller is
a Merchant who is no longer active. Buying a void listing reverts with `ListingVoid` /
`OrderVoid` naming the reason, and `listingVoidReason` / `orderVoidReason` say the same
without a transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ledger.errors import (
    BuyerIsSeller,
    CannotList,
    InvalidExpiry,
    InvalidPrice,
    ItemNotRegistered,
    ListingNotFound,
    ListingNotOpen,
    ListingVoid,
    OrderNotOpen,
    OrderVoid,
)
from ledger.hashing import hash_document
from ledger.types import ConditionGrade, ItemStatus, RetirementKind, Verdict
from tests.contracts.conftest_market import (
    DAY,
    PRICE,
    ListingStatus,
    MarketWorld,
    VoidReason,
    as_tuple,
    market,
    permit_types,
)
from tests.contracts.helpers import view

__all__ = ["market"]  # the fixture, imported so pytest finds it

REPORT = hash_document({"report": "police-123"})


def _expect_void(w: MarketWorld, listing_id: int, reason: VoidReason) -> None:
    assert w.now_view(w.market.functions.listingVoidReason(listing_id)) == reason
    before = w.snapshot(items=(w.listing(listing_id)["itemId"],))
    w.refused(
        w.market.functions.buy(listing_id),
        w.buyer,
        ListingVoid,
        value=w.listing(listing_id)["price"],
        listingId=listing_id,
        reason=reason,
    )
    assert w.snapshot(items=(w.listing(listing_id)["itemId"],)) == before


def _move_away_and_back(w: MarketWorld) -> None:
    token = int.from_bytes(w.items.main)
    fn = w.passport.functions
    w.send(fn.transferFrom(w.seller.address, w.stranger.address, token), w.seller)
    w.send(fn.transferFrom(w.stranger.address, w.seller.address, token), w.stranger)


def _move_away(w: MarketWorld) -> None:
    token = int.from_bytes(w.items.main)
    w.send(w.passport.functions.transferFrom(w.seller.address, w.stranger.address, token), w.seller)


def _permit(w: MarketWorld) -> None:
    token = int.from_bytes(w.items.main)
    deadline = w.next_timestamp() + DAY
    message = {
        "spender": w.stranger.address,
        "tokenId": token,
        "nonce": w.item_nonce(w.items.main),
        "deadline": deadline,
    }
    sig = w.sign_passport(permit_types(), message, w.seller)
    w.send(w.passport.functions.permit(w.stranger.address, token, deadline, sig), w.stranger)


def _flag(w: MarketWorld) -> None:
    w.send(w.passport.functions.flag(w.items.main, ItemStatus.STOLEN, REPORT), w.seller)


def _retire(w: MarketWorld) -> None:
    fn = w.passport.functions.retire(w.items.main, RetirementKind.DESTROYED, REPORT)
    w.send(fn, w.seller)


def _counterfeit(w: MarketWorld) -> None:
    fn = w.passport.functions.authenticate(
        w.items.main, Verdict.COUNTERFEIT, ConditionGrade.UNGRADED, REPORT
    )
    w.send(fn, w.accounts.authenticator)


def _suspend(w: MarketWorld) -> None:
    w.send(w.passport.functions.suspend(w.seller.address, REPORT), w.admin)


def _revoke(w: MarketWorld) -> None:
    w.send(w.passport.functions.revoke(w.seller.address, REPORT), w.admin)


def _locked_by_other_sale(w: MarketWorld) -> None:
    other = w.list(w.items.main, price=2 * PRICE)
    w.buy(other, w.stranger)


def _cancelled(w: MarketWorld) -> None:
    w.send(w.market.functions.cancelListing(w.main_listing), w.seller)


def _filled(w: MarketWorld) -> None:
    w.buy()


def _expired(w: MarketWorld) -> None:
    w.at(w.listing(w.main_listing)["expiry"] + 1)


VOIDING: dict[str, tuple[Callable[[MarketWorld], None], VoidReason]] = {
    "moved-away-and-back": (_move_away_and_back, VoidReason.ITEM_MOVED),
    "moved-away": (_move_away, VoidReason.ITEM_MOVED),
    "permit-used": (_permit, VoidReason.ITEM_MOVED),
    "flagged": (_flag, VoidReason.ITEM_FLAGGED),
    "retired": (_retire, VoidReason.ITEM_RETIRED),
    "counterfeit-verdict": (_counterfeit, VoidReason.COUNTERFEIT),
    "seller-suspended": (_suspend, VoidReason.SELLER_NOT_ACTIVE),
    "seller-revoked": (_revoke, VoidReason.SELLER_NOT_ACTIVE),
    "in-escrow-elsewhere": (_locked_by_other_sale, VoidReason.ITEM_LOCKED),
    "cancelled": (_cancelled, VoidReason.CANCELLED),
    "filled": (_filled, VoidReason.FILLED),
    "expired": (_expired, VoidReason.EXPIRED),
}


@pytest.mark.parametrize(("make_void", "reason"), list(VOIDING.values()), ids=list(VOIDING))
def test_void_listing_cannot_be_bought(
    market: MarketWorld, make_void: Callable[[MarketWorld], None], reason: VoidReason
) -> None:
    assert (
        market.now_view(market.market.functions.listingVoidReason(market.main_listing))
        == VoidReason.NONE
    )
    make_void(market)
    _expect_void(market, market.main_listing, reason)


@pytest.mark.parametrize(("make_void", "reason"), list(VOIDING.values()), ids=list(VOIDING))
def test_void_signed_order_cannot_be_bought(
    market: MarketWorld, make_void: Callable[[MarketWorld], None], reason: VoidReason
) -> None:
    w = market
    order = w.order(w.items.main, expiry=w.listing(w.main_listing)["expiry"])
    sig = w.sign_order(order)
    order_hash = view(w.market.functions.hashOrder(as_tuple(order)))
    make_void(w)
    if reason == VoidReason.CANCELLED:
        w.send(w.market.functions.cancelOrder(as_tuple(order)), w.seller)
    elif reason == VoidReason.FILLED:
        w.send(w.market.functions.cancelUnshipped(1), w.seller)  # item back on sale
        w.send(w.market.functions.buyOrder(as_tuple(order), sig), w.stranger, value=PRICE)
    assert w.now_view(w.market.functions.orderVoidReason(as_tuple(order))) == reason
    before = w.snapshot(items=(w.items.main,))
    w.refused(
        w.market.functions.buyOrder(as_tuple(order), sig),
        w.buyer,
        OrderVoid,
        value=PRICE,
        orderHash=order_hash,
        reason=reason,
    )
    assert w.snapshot(items=(w.items.main,)) == before


def test_listing_of_a_merchant_who_lost_standing_is_void_until_reinstated(
    market: MarketWorld,
) -> None:
    w = market
    _expect_void(w, w.suspended_listing, VoidReason.SELLER_NOT_ACTIVE)
    _expect_void(w, w.revoked_listing, VoidReason.SELLER_NOT_ACTIVE)
    suspended = w.accounts.suspended_merchant
    w.send(w.passport.functions.reinstate(suspended.address, REPORT), w.admin)
    assert w.now_view(w.market.functions.listingVoidReason(w.suspended_listing)) == VoidReason.NONE
    w.buy(w.suspended_listing)


def test_expiry_is_inclusive(market: MarketWorld) -> None:
    w = market
    w.at(w.listing(w.main_listing)["expiry"])
    w.buy()


def test_refunded_sale_leaves_other_listings_of_the_item_valid(market: MarketWorld) -> None:
    """A refund hands nothing over: the item never moved, so the seller's other offers stand."""
    w = market
    other = w.list(w.items.main, price=2 * PRICE)
    sale_id = w.buy()
    assert w.now_view(w.market.functions.listingVoidReason(other)) == VoidReason.ITEM_LOCKED
    w.send(w.market.functions.cancelUnshipped(sale_id), w.seller)
    assert w.now_view(w.market.functions.listingVoidReason(other)) == VoidReason.NONE
    assert w.now_view(w.market.functions.listingVoidReason(w.main_listing)) == VoidReason.FILLED


# ------------------------------------------------------------------ listing itself


def test_listing_records_the_item_nonce(market: MarketWorld) -> None:
    w = market
    expiry = w.next_timestamp() + 5 * DAY
    receipt = w.send(w.market.functions.list(w.items.spare, 3 * PRICE, expiry), w.seller)
    listing_id = w.event(receipt, "Listed")["listingId"]
    assert w.event(receipt, "Listed") == {
        "listingId": listing_id,
        "itemId": w.items.spare,
        "seller": w.seller.address,
        "price": 3 * PRICE,
        "expiry": expiry,
        "itemNonce": 0,
    }
    assert w.listing(listing_id) == {
        "itemId": w.items.spare,
        "seller": w.seller.address,
        "price": 3 * PRICE,
        "expiry": expiry,
        "itemNonce": 0,
        "status": ListingStatus.OPEN,
    }


LISTING_REFUSALS: dict[str, tuple[Callable[[MarketWorld], None], VoidReason]] = {
    "flagged": (_flag, VoidReason.ITEM_FLAGGED),
    "retired": (_retire, VoidReason.ITEM_RETIRED),
    "counterfeit": (_counterfeit, VoidReason.COUNTERFEIT),
    "seller-suspended": (_suspend, VoidReason.SELLER_NOT_ACTIVE),
    "in-escrow": (_filled, VoidReason.ITEM_LOCKED),
}


@pytest.mark.parametrize(
    ("prepare", "reason"), list(LISTING_REFUSALS.values()), ids=list(LISTING_REFUSALS)
)
def test_item_that_cannot_be_sold_cannot_be_listed(
    market: MarketWorld, prepare: Callable[[MarketWorld], None], reason: VoidReason
) -> None:
    w = market
    prepare(w)
    count = w.listing_count()
    fn = w.market.functions.list(w.items.main, PRICE, w.next_timestamp() + DAY)
    w.refused(fn, w.seller, CannotList, itemId=w.items.main, reason=reason)
    assert w.listing_count() == count


@pytest.mark.parametrize(
    ("price", "expiry_offset", "error", "args"),
    [
        (0, DAY, InvalidPrice, {"price": 0}),
        (2**96, DAY, InvalidPrice, {"price": 2**96}),
        (PRICE, 0, InvalidExpiry, None),
        (PRICE, -1, InvalidExpiry, None),
        (PRICE, 2**40, InvalidExpiry, None),
    ],
    ids=["zero-price", "price-over-96-bits", "expires-now", "expired", "expiry-over-40-bits"],
)
def test_listing_arguments_are_checked(
    market: MarketWorld,
    price: int,
    expiry_offset: int,
    error: Any,
    args: dict[str, int] | None,
) -> None:
    w = market
    expiry = w.next_timestamp() + expiry_offset if expiry_offset < 2**40 else 2**40
    fn = w.market.functions.list(w.items.spare, price, expiry)
    w.refused(fn, w.seller, error, **(args if args is not None else {"expiry": expiry}))


def test_unknown_item_and_listing(market: MarketWorld) -> None:
    w = market
    unknown = w.items.fresh[0]
    fn = w.market.functions.list(unknown, PRICE, w.next_timestamp() + DAY)
    w.refused(fn, w.seller, ItemNotRegistered, itemId=unknown)
    w.refused(w.market.functions.buy(99), w.buyer, ListingNotFound, value=PRICE, listingId=99)
    w.call_refused(w.market.functions.listingVoidReason(0), ListingNotFound, listingId=0)


def test_seller_cannot_buy_own_listing_or_order(market: MarketWorld) -> None:
    w = market
    w.refused(
        w.market.functions.buy(w.main_listing), w.seller, BuyerIsSeller, value=PRICE, buyer=w.seller
    )
    order = w.order(w.items.spare)
    fn = w.market.functions.buyOrder(as_tuple(order), w.sign_order(order))
    w.refused(fn, w.seller, BuyerIsSeller, value=PRICE, buyer=w.seller)


def test_cancelling_twice_is_refused(market: MarketWorld) -> None:
    w = market
    cancel = w.market.functions.cancelListing(w.main_listing)
    receipt = w.send(cancel, w.seller)
    assert w.event(receipt, "ListingCancelled") == {
        "listingId": w.main_listing,
        "itemId": w.items.main,
        "seller": w.seller.address,
    }
    w.refused(
        cancel, w.seller, ListingNotOpen, listingId=w.main_listing, status=ListingStatus.CANCELLED
    )
    order = w.order(w.items.spare)
    order_hash = view(w.market.functions.hashOrder(as_tuple(order)))
    receipt = w.send(w.market.functions.cancelOrder(as_tuple(order)), w.seller)
    assert w.event(receipt, "OrderCancelled") == {
        "orderHash": order_hash,
        "itemId": w.items.spare,
        "seller": w.seller.address,
    }
    assert view(w.market.functions.orderStatus(order_hash)) == ListingStatus.CANCELLED
    w.refused(
        w.market.functions.cancelOrder(as_tuple(order)),
        w.seller,
        OrderNotOpen,
        orderHash=order_hash,
        status=ListingStatus.CANCELLED,
    )


# ------------------------------------------------------------------ signed orders


def test_signed_order_is_bought_by_anyone(market: MarketWorld) -> None:
    w = market
    order = w.order(w.items.spare, price=2 * PRICE)
    order_hash = view(w.market.functions.hashOrder(as_tuple(order)))
    fn = w.market.functions.buyOrder(as_tuple(order), w.sign_order(order))
    receipt = w.send(fn, w.stranger, value=2 * PRICE)
    purchased = w.event(receipt, "Purchased")
    assert (purchased["listingId"], purchased["orderHash"]) == (0, order_hash)
    assert (purchased["buyer"], purchased["price"]) == (w.stranger.address, 2 * PRICE)
    assert view(w.market.functions.orderStatus(order_hash)) == ListingStatus.FILLED
    assert w.item(w.items.spare)["locked"] is True


def test_cancel_all_orders_bumps_the_counter(market: MarketWorld) -> None:
    w = market
    first = w.order(w.items.spare)
    second = w.order(w.items.extra)
    signatures = [w.sign_order(first), w.sign_order(second)]
    receipt = w.send(w.market.functions.cancelAllOrders(), w.seller)
    assert w.event(receipt, "OrdersInvalidated") == {"seller": w.seller.address, "counter": 1}
    assert view(w.market.functions.nonces(w.seller.address)) == 1
    for order, sig in zip((first, second), signatures, strict=True):
        order_hash = view(w.market.functions.hashOrder(as_tuple(order)))
        w.refused(
            w.market.functions.buyOrder(as_tuple(order), sig),
            w.buyer,
            OrderVoid,
            value=PRICE,
            orderHash=order_hash,
            reason=VoidReason.CANCELLED,
        )
    # Orders signed with the new counter are good.
    fresh = w.order(w.items.spare)
    assert fresh["counter"] == 1
    w.send(w.market.functions.buyOrder(as_tuple(fresh), w.sign_order(fresh)), w.buyer, value=PRICE)


def test_order_price_must_fit(market: MarketWorld) -> None:
    w = market
    for price in (0, 2**96):
        order = w.order(w.items.spare, price=price)
        fn = w.market.functions.buyOrder(as_tuple(order), w.sign_order(order))
        w.refused(fn, w.buyer, InvalidPrice, value=0, price=price)


def test_order_with_a_nonce_beyond_32_bits_is_void(market: MarketWorld) -> None:
    w = market
    order = w.order(w.items.spare, item_nonce=2**32)
    order_hash = view(w.market.functions.hashOrder(as_tuple(order)))
    fn = w.market.functions.buyOrder(as_tuple(order), w.sign_order(order))
    w.refused(
        fn, w.buyer, OrderVoid, value=PRICE, orderHash=order_hash, reason=VoidReason.ITEM_MOVED
    )
