"""Gas of the market's round trips, held under ceilings so a regression shows up in review.

The ceilings are the measured figures (solc 0.8.30, optimizer 200 runs, cancun) plus about 10%,
rounded: they are a tripwire, not a target. ``pytest -s`` prints the figures.
"""

from __future__ import annotations

from web3.types import TxReceipt

from tests.contracts.conftest_market import (
    DAY,
    EVIDENCE_HASH,
    PRICE,
    RULING_HASH,
    DisputeReason,
    MarketWorld,
    Ruling,
    as_tuple,
    market,
    permit_types,
    transfer_types,
)

__all__ = ["market"]  # the fixture, imported so pytest finds it

CEILINGS = {
    "list": 125_000,
    "buy (on-chain listing)": 148_000,
    "buyOrder (signed order)": 176_000,
    "markShipped": 41_000,
    "confirmDelivery": 146_000,  # first credits of seller and treasury: two fresh slots
    "openDispute": 50_000,
    "submitEvidence": 43_000,
    "rule Refund + counterfeit": 95_000,
    "rule PartialRefund": 106_000,
    "finalize": 109_000,
    "withdraw": 36_000,
    "permit": 68_000,
    "transferBySig": 73_000,
}


def test_round_trip_gas(market: MarketWorld) -> None:
    w = market
    gas: dict[str, int] = {}

    def record(name: str, receipt: TxReceipt) -> None:
        gas[name] = int(receipt["gasUsed"])

    fn = w.market.functions
    record("list", w.send(fn.list(w.items.spare, PRICE, w.next_timestamp() + DAY), w.seller))
    listing = w.listing_count()
    record("buy (on-chain listing)", w.send(fn.buy(listing), w.buyer, value=PRICE))
    first = int(fn.saleCount().call())
    record("markShipped", w.ship(first))
    record("confirmDelivery", w.send(fn.confirmDelivery(first), w.buyer))

    order = w.order(w.items.extra)
    buy_order = fn.buyOrder(as_tuple(order), w.sign_order(order))
    record("buyOrder (signed order)", w.send(buy_order, w.buyer, value=PRICE))
    second = int(fn.saleCount().call())
    w.ship(second)
    record("openDispute", w.dispute(second, DisputeReason.COUNTERFEIT))
    record("submitEvidence", w.send(fn.submitEvidence(second, EVIDENCE_HASH, "ipfs://x"), w.seller))
    refund = fn.rule(second, Ruling.REFUND, 0, True, RULING_HASH)
    record("rule Refund + counterfeit", w.send(refund, w.arbiter))

    third = w.disputed_sale()
    partial = fn.rule(third, Ruling.PARTIAL_REFUND, 2_500, False, RULING_HASH)
    record("rule PartialRefund", w.send(partial, w.arbiter))

    relisted = w.list(w.items.main, w.buyer)
    fourth = w.buy(relisted, w.stranger)
    w.ship(fourth)
    w.at(w.sale(fourth)["deadline"] + 1)
    record("finalize", w.send(fn.finalize(fourth), w.stranger))
    record("withdraw", w.send(fn.withdraw(), w.seller))

    token = int.from_bytes(w.items.spare)
    deadline = w.next_timestamp() + DAY
    owner = w.buyer  # spare was sold to the buyer above
    permit = {
        "spender": w.stranger.address,
        "tokenId": token,
        "nonce": w.item_nonce(w.items.spare),
        "deadline": deadline,
    }
    sig = w.sign_passport(permit_types(), permit, owner)
    permit_fn = w.passport.functions.permit(w.stranger.address, token, deadline, sig)
    record("permit", w.send(permit_fn, w.stranger))
    transfer = {
        "from": owner.address,
        "to": w.accounts.brand.address,
        "itemId": w.items.spare,
        "saleRef": RULING_HASH,
        "nonce": w.item_nonce(w.items.spare),
        "deadline": deadline,
    }
    sig = w.sign_passport(transfer_types(), transfer, owner)
    by_sig = w.passport.functions.transferBySig(
        owner.address, w.accounts.brand.address, w.items.spare, RULING_HASH, deadline, sig
    )
    record("transferBySig", w.send(by_sig, w.stranger))

    width = max(map(len, gas))
    print()
    for name, used in gas.items():
        print(f"  {name:<{width}}  {used:>8,}  (ceiling {CEILINGS[name]:,})")
    over = {name: used for name, used in gas.items() if used > CEILINGS[name]}
    assert not over, f"over the ceiling: {over}"
    assert set(gas) == set(CEILINGS)
