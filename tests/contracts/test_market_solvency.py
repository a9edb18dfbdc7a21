"""Escrow solvency under random use: a Hypothesis state machine drives the market on eth-tester.

Each step is one weighted action: list and buy, buy an old listing, ship, confirm, finalize,
cancel, dispute, add evidence, rule (every ruling, with and without a counterfeit finding), take
the default, withdraw, change the fee, let time pass, or push an open sale down its normal path.
A Python model predicts whether each step must succeed (sale state, caller, deadlines)
and what it credits; the chain must agree. After every step:

    market balance == escrow of the open sales + every account's unwithdrawn credit

read from the chain, and every credit equals the model's. Size: ``max_examples`` x
``stateful_step_count`` is 300 steps (about 350 transactions), half a minute of CPU on eth-tester.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from web3.contract.contract import ContractFunction

from ledger.hashing import hash_document
from tests.contracts.conftest_market import (
    DAY,
    DELIVERY_WINDOW,
    ETHER,
    EVIDENCE_HASH,
    RULING_HASH,
    RULING_WINDOW,
    SHIPMENT_HASH,
    SHIPPING_WINDOW,
    DisputeReason,
    MarketWorld,
    Ruling,
    SaleState,
    VoidReason,
    market,
)
from tests.contracts.helpers import GAS_LIMIT, view

__all__ = ["market"]  # the fixture, imported so pytest finds it

OPEN = (SaleState.PAID, SaleState.SHIPPED, SaleState.DISPUTED)
PRICES = (1, 10**15, 333_333_333_333_333_333, ETHER, 7 * ETHER)
WAITS = (60, 3600, DAY, 2 * DAY, 4 * DAY, 8 * DAY, 15 * DAY)
# Actions, repeated by weight: the normal path (advance) and new sales most, refusal probes less.
PLAN = (
    *["list_and_buy"] * 4,
    "buy",
    *["ship", "confirm", "dispute", "rule", "withdraw"] * 2,
    "finalize",
    "cancel_unshipped",
    "evidence",
    "execute_default",
    *["advance"] * 5,
    "set_fee",
    *["wait"] * 3,
)
SETTINGS = settings(
    max_examples=5,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same walk on every run: CI must not flake
    database=None,
)


@dataclass
class ModelSale:
    seller: str
    buyer: str
    price: int
    fee_bps: int
    state: SaleState
    deadline: int


@pytest.mark.slow
def test_escrow_stays_solvent(market: MarketWorld) -> None:
    w = market
    acc = w.accounts
    # Eight more items, half for merchant and half for a private seller (stranger).
    for n, item in enumerate(w.items.fresh):
        w.register(item, acc.merchant if n % 2 else acc.stranger)
    items = [w.items.main, w.items.spare, w.items.extra, *w.items.fresh]
    # Everyone who can hold credit: sellers, buyers (who resell), the treasury.
    traders: list[LocalAccount] = [acc.merchant, acc.stranger, acc.owner, acc.brand]
    everyone: list[LocalAccount] = [*traders, acc.spare, acc.authenticator, acc.admin]
    by_address = {a.address: a for a in everyone}
    start = w.tester.take_snapshot()
    steps = {"ok": 0, "refused": 0, "rules": 0}

    class Market(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            w.tester.revert_to_snapshot(start)
            self.sales: dict[int, ModelSale] = {}
            self.listings: list[int] = [w.main_listing]
            self.credits: dict[str, int] = {a.address: 0 for a in everyone}

        # ---------------------------------------------------------- helpers

        def attempt(self, fn: ContractFunction, sender: str, value: int = 0) -> bool:
            tx: dict[str, Any] = {"from": sender, "gas": GAS_LIMIT, "value": value}
            receipt = w.w3.eth.get_transaction_receipt(fn.transact(tx))  # type: ignore[arg-type]
            ok = receipt["status"] == 1
            steps["ok" if ok else "refused"] += 1
            return ok

        def expect(self, fn: ContractFunction, sender: str, allowed: bool, value: int = 0) -> bool:
            ok = self.attempt(fn, sender, value)
            assert ok == allowed, f"{fn.fn_name} from {sender}: model says {allowed}"
            return ok

        def pick_sale(self, index: int) -> tuple[int, ModelSale] | None:
            """Mostly a sale still in escrow; one pick in four among all of them (refusals)."""
            open_ids = sorted(i for i, sale in self.sales.items() if sale.state in OPEN)
            pool = open_ids if open_ids and index % 4 else sorted(self.sales)
            if not pool:
                return None
            sale_id = pool[index // 4 % len(pool)]
            return sale_id, self.sales[sale_id]

        def settle(self, sale: ModelSale, state: SaleState, buyer_amount: int) -> None:
            to_seller = sale.price - buyer_amount
            fee = to_seller * sale.fee_bps // 10_000
            self.credits[sale.seller] += to_seller - fee
            self.credits[sale.buyer] += buyer_amount
            self.credits[acc.spare.address] += fee
            sale.state = state

        # ---------------------------------------------------------- listings and purchases

        def list_item(self, item: bytes, price: int) -> None:
            owner: str = w.item(item)["owner"]
            if owner not in by_address:
                return
            fn = w.market.functions.list(item, price, w.next_timestamp() + 10 * DAY)
            if self.attempt(fn, owner):
                self.listings.append(w.listing_count())

        def list_and_buy(self, item: bytes, price: int, buyer: LocalAccount) -> None:
            owner = w.item(item)["owner"]
            self.list_item(item, price)
            if buyer.address == owner:  # a refusal the buy rule already probes; sell instead
                buyer = traders[(traders.index(buyer) + 1) % len(traders)]
            self.buy(len(self.listings) - 1, buyer)

        def buy(self, index: int, buyer: LocalAccount) -> None:
            listing_id = self.listings[index % len(self.listings)]
            listing = w.listing(listing_id)
            reason = w.now_view(w.market.functions.listingVoidReason(listing_id))
            allowed = reason == VoidReason.NONE and listing["seller"] != buyer.address
            fn = w.market.functions.buy(listing_id)
            fee_bps = int(view(w.market.functions.feeBps()))
            now = w.next_timestamp()
            if self.expect(fn, buyer.address, allowed, value=listing["price"]):
                sale_id = int(view(w.market.functions.saleCount()))
                self.sales[sale_id] = ModelSale(
                    seller=listing["seller"],
                    buyer=buyer.address,
                    price=listing["price"],
                    fee_bps=fee_bps,
                    state=SaleState.PAID,
                    deadline=now + SHIPPING_WINDOW,
                )

        # ---------------------------------------------------------- fulfilment

        def ship(self, index: int) -> None:
            if (picked := self.pick_sale(index)) is None:
                return
            sale_id, sale = picked
            now = w.next_timestamp()
            allowed = sale.state == SaleState.PAID and now <= sale.deadline
            fn = w.market.functions.markShipped(sale_id, SHIPMENT_HASH)
            if self.expect(fn, sale.seller, allowed):
                sale.state, sale.deadline = SaleState.SHIPPED, now + DELIVERY_WINDOW

        def confirm(self, index: int) -> None:
            if (picked := self.pick_sale(index)) is None:
                return
            sale_id, sale = picked
            fn = w.market.functions.confirmDelivery(sale_id)
            if self.expect(fn, sale.buyer, sale.state in OPEN):
                self.settle(sale, SaleState.COMPLETED, 0)

        def finalize(self, index: int, caller: LocalAccount) -> None:
            if (picked := self.pick_sale(index)) is None:
                return
            sale_id, sale = picked
            now = w.next_timestamp()
            allowed = sale.state == SaleState.SHIPPED and now > sale.deadline
            if self.expect(w.market.functions.finalize(sale_id), caller.address, allowed):
                self.settle(sale, SaleState.COMPLETED, 0)

        def cancel_unshipped(self, index: int, by_seller: bool) -> None:
            if (picked := self.pick_sale(index)) is None:
                return
            sale_id, sale = picked
            now = w.next_timestamp()
            allowed = sale.state == SaleState.PAID and (by_seller or now > sale.deadline)
            sender = sale.seller if by_seller else sale.buyer
            if self.expect(w.market.functions.cancelUnshipped(sale_id), sender, allowed):
                self.settle(sale, SaleState.REFUNDED, sale.price)

        # ---------------------------------------------------------- disputes

        def dispute(self, index: int, reason: DisputeReason) -> None:
            if (picked := self.pick_sale(index)) is None:
                return
            sale_id, sale = picked
            now = w.next_timestamp()
            allowed = sale.state == SaleState.SHIPPED and now <= sale.deadline
            fn = w.market.functions.openDispute(sale_id, reason, EVIDENCE_HASH, "")
            if self.expect(fn, sale.buyer, allowed):
                sale.state, sale.deadline = SaleState.DISPUTED, now + RULING_WINDOW

        def evidence(self, index: int, by_seller: bool) -> None:
            if (picked := self.pick_sale(index)) is None:
                return
            sale_id, sale = picked
            allowed = sale.state == SaleState.DISPUTED and w.next_timestamp() <= sale.deadline
            fn = w.market.functions.submitEvidence(sale_id, hash_document({"n": index}), "")
            self.expect(fn, sale.seller if by_seller else sale.buyer, allowed)

        def rule_dispute(self, index: int, ruling: Ruling, share: int, counterfeit: bool) -> None:
            if (picked := self.pick_sale(index)) is None:
                return
            sale_id, sale = picked
            share = share if ruling == Ruling.PARTIAL_REFUND else 0
            counterfeit = counterfeit and ruling != Ruling.RELEASE
            allowed = sale.state == SaleState.DISPUTED and w.next_timestamp() <= sale.deadline
            fn = w.market.functions.rule(sale_id, ruling, share, counterfeit, RULING_HASH)
            if self.expect(fn, acc.arbiter.address, allowed):
                if ruling == Ruling.REFUND:
                    self.settle(sale, SaleState.REFUNDED, sale.price)
                elif ruling == Ruling.RELEASE:
                    self.settle(sale, SaleState.COMPLETED, 0)
                else:
                    refund = sale.price * share // 10_000
                    self.settle(sale, SaleState.PARTIALLY_REFUNDED, refund)

        def execute_default(self, index: int, by_seller: bool) -> None:
            if (picked := self.pick_sale(index)) is None:
                return
            sale_id, sale = picked
            allowed = sale.state == SaleState.DISPUTED and w.next_timestamp() > sale.deadline
            sender = sale.seller if by_seller else sale.buyer
            if self.expect(w.market.functions.executeDefault(sale_id), sender, allowed):
                self.settle(sale, SaleState.REFUNDED, sale.price)

        def advance(self, index: int, choice: int, share: int) -> None:
            """Take an open sale one to three steps down its normal path (deep states need it)."""
            for _ in range(1 + choice % 3):
                if (picked := self.pick_sale(index | 1)) is None:
                    return
                _, sale = picked
                if sale.state == SaleState.PAID:
                    self.ship(index | 1)
                elif sale.state == SaleState.SHIPPED and choice == 4:
                    self.wait(sale.deadline + 1 - w.next_timestamp())  # the buyer stays silent
                    self.finalize(index | 1, by_address[sale.seller])
                elif sale.state == SaleState.DISPUTED and choice == 5:
                    self.wait(sale.deadline + 1 - w.next_timestamp())  # no arbiter rules
                    self.execute_default(index | 1, bool(share % 2))
                elif sale.state == SaleState.SHIPPED:
                    if choice % 2:
                        self.dispute(index | 1, DisputeReason(choice % 4 + 1))
                    else:
                        self.confirm(index | 1)
                elif sale.state == SaleState.DISPUTED:
                    self.evidence(index | 1, bool(choice % 2))
                    ruling = (Ruling.REFUND, Ruling.RELEASE, Ruling.PARTIAL_REFUND)[share % 3]
                    self.rule_dispute(index | 1, ruling, share, share % 2 == 0)

        # ---------------------------------------------------------- money, fee, time

        def withdraw(self, index: int, account: LocalAccount) -> None:
            # Mostly someone with a credit; sometimes anyone (a refusal when there is none).
            creditors = [a for a in everyone if self.credits[a.address]]
            if creditors and index % 4:
                account = creditors[index % len(creditors)]
            allowed = self.credits[account.address] > 0
            if self.expect(w.market.functions.withdraw(), account.address, allowed):
                self.credits[account.address] = 0

        def set_fee(self, fee: int) -> None:
            self.expect(w.market.functions.setFee(fee), acc.admin.address, True)

        def wait(self, seconds: int) -> None:
            w.at(w.next_timestamp() + max(seconds, 0))

        # ---------------------------------------------------------- the one rule

        # A single weighted rule rather than one rule per action: Hypothesis' swarm testing
        # switches whole rules off per example, which starves the deep states (a ruling needs a
        # purchase, a shipment and a dispute first) in a short run.
        @rule(
            action=st.sampled_from(PLAN),
            index=st.integers(0, 100),
            choice=st.integers(0, 5),
            share=st.integers(1, 9_999),
            item=st.sampled_from(items),
            price=st.sampled_from(PRICES),
            trader=st.sampled_from(traders),
            anyone=st.sampled_from(everyone),
            seconds=st.sampled_from(WAITS),
            fee=st.integers(0, 1_000),
        )
        def act(
            self,
            action: str,
            index: int,
            choice: int,
            share: int,
            item: bytes,
            price: int,
            trader: LocalAccount,
            anyone: LocalAccount,
            seconds: int,
            fee: int,
        ) -> None:
            flag = bool(choice % 2)
            rulings = (Ruling.REFUND, Ruling.RELEASE, Ruling.PARTIAL_REFUND)
            if action == "list_and_buy":
                self.list_and_buy(item, price, trader)
            elif action == "buy":
                self.buy(index, trader)
            elif action == "ship":
                self.ship(index)
            elif action == "confirm":
                self.confirm(index)
            elif action == "finalize":
                self.finalize(index, anyone)
            elif action == "cancel_unshipped":
                self.cancel_unshipped(index, flag)
            elif action == "dispute":
                self.dispute(index, DisputeReason(choice % 4 + 1))
            elif action == "evidence":
                self.evidence(index, flag)
            elif action == "rule":
                self.rule_dispute(index, rulings[choice % 3], share, choice >= 3)
            elif action == "execute_default":
                self.execute_default(index, flag)
            elif action == "advance":
                self.advance(index, choice, share)
            elif action == "withdraw":
                self.withdraw(index, anyone)
            elif action == "set_fee":
                self.set_fee(fee)
            elif action == "wait":
                self.wait(seconds)
            else:  # pragma: no cover - PLAN and this dispatch are edited together
                raise AssertionError(action)

        # ---------------------------------------------------------- the invariant

        @invariant()
        def solvent(self) -> None:
            steps["rules"] += 1
            escrow = 0
            for sale_id, sale in self.sales.items():
                if sale.state in OPEN:
                    on_chain = w.sale(sale_id)
                    assert on_chain["state"] == sale.state
                    escrow += on_chain["price"]
            credited = 0
            for account in everyone:
                credit = w.credits(account)
                assert credit == self.credits[account.address], account.address
                credited += credit
            assert w.balance(w.market) == escrow + credited

    run_state_machine_as_test(Market, settings=SETTINGS)
    # The walk must have exercised both sides of the rules, not only refusals.
    print(f"solvency walk: {steps}")
    assert steps["ok"] > 50, steps
    assert steps["refused"] > 10, steps
