"""The resale market through `MarketClient` on a real anvil node, deadlines reached with
``evm_increaseTime``.

A real node reports reverts as JSON-RPC error data (eth-tester raises its own exception), so this
also checks that the market's refusals decode to the same error classes there. Needs the anvil
binary that ``make install`` brings from npm (or ``$PROVENANCE_ANVIL``); the node listens on a
free port.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from ledger import errors
from ledger.chain import connect, dev_accounts
from ledger.client import ProvenanceClient
from ledger.deploy import DEFAULT_DELIVERY_WINDOW, DEFAULT_FEE_BPS, DEFAULT_RULING_WINDOW, deploy
from ledger.market import MarketClient
from ledger.node import AnvilNode
from ledger.types import DisputeReason, Role, Ruling, SaleState, Wei

pytestmark = pytest.mark.anvil

PRICE = Wei(2 * 10**18)
DAY = 86_400


def _increase_time(w3: Web3, seconds: int) -> None:
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def test_a_sale_and_a_dispute_nobody_rules_on_settle_on_a_real_anvil() -> None:
    with AnvilNode() as node, connect(target=node.rpc_url) as connection:
        w3 = connection.w3
        admin, merchant, arbiter, buyer = dev_accounts(w3)[:4]
        deployment = deploy(w3=w3, admin=admin)
        platform = ProvenanceClient(w3=w3, deployment=deployment, account=admin)
        platform.vet(account=merchant.address, roles=Role.MERCHANT, credentials={"k": 1}, name="M")
        platform.vet(account=arbiter.address, roles=Role.ARBITER, credentials={"k": 2}, name="A")
        passport = ProvenanceClient(w3=w3, deployment=deployment, account=merchant)
        seller = MarketClient.from_client(passport)
        shopper = MarketClient(w3=w3, deployment=deployment, account=buyer)
        judge = MarketClient(w3=w3, deployment=deployment, account=arbiter)

        # A happy sale from a signed order, the buyer silent: finalized after the window.
        first = passport.register(brand="Omega", serial="MKT-ANVIL-1", metadata={}).item_id
        order = seller.build_order(item_id=first, price=PRICE, expiry=seller.chain_time() + DAY)
        sold = shopper.buy_order(order=order, signature=seller.sign_order(order))
        seller.mark_shipped(sale_id=sold.sale_id, shipment_ref="UPS 1Z999")
        with pytest.raises(errors.DeadlineNotReached):
            shopper.finalize(sale_id=sold.sale_id)
        _increase_time(w3, DEFAULT_DELIVERY_WINDOW + 1)
        shopper.finalize(sale_id=sold.sale_id)
        assert seller.sale(sold.sale_id).state == SaleState.COMPLETED
        assert passport.item(first).owner == buyer.address

        # A disputed sale that no arbiter rules on in time: the default refund.
        second = passport.register(brand="Omega", serial="MKT-ANVIL-2", metadata={}).item_id
        listing = seller.list_item(item_id=second, price=PRICE, expiry=seller.chain_time() + DAY)
        sale = shopper.buy(listing_id=listing.listing_id)
        seller.mark_shipped(sale_id=sale.sale_id, shipment_ref="UPS 1Z998")
        shopper.open_dispute(
            sale_id=sale.sale_id,
            reason=DisputeReason.NOT_RECEIVED,
            evidence={"statement": "never arrived"},
            uri="ipfs://claim",
        )
        seller.submit_evidence(sale_id=sale.sale_id, evidence={"proof": "signed receipt"})
        _increase_time(w3, DEFAULT_RULING_WINDOW + 1)
        with pytest.raises(errors.DeadlinePassed):
            judge.rule(sale_id=sale.sale_id, ruling=Ruling.RELEASE, ruling_evidence={"r": 1})
        shopper.execute_default(sale_id=sale.sale_id)

        assert shopper.sale(sale.sale_id).state == SaleState.REFUNDED
        assert passport.item(second).owner == merchant.address
        assert shopper.credits() == PRICE
        proceeds = PRICE - PRICE * DEFAULT_FEE_BPS // 10_000
        assert seller.credits() == proceeds
        assert seller.withdraw().amount == proceeds
        assert shopper.withdraw().amount == PRICE
        assert w3.eth.get_balance(deployment.market) == PRICE * DEFAULT_FEE_BPS // 10_000  # type: ignore[arg-type]
        kinds = [event.kind for event in passport.history(second)]
        assert kinds[:2] == ["registered", "listed"]
        assert {"dispute_opened", "evidence_submitted", "sale_settled"} <= set(kinds)
        assert "dispute_ruled" not in kinds
