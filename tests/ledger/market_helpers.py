"""A resale market for the library tests (trust report, evidence bundles).

Not a conftest: the market's own fixtures (``tests/contracts/conftest_market.py``) build a whole
world per session; these tests need only a market named by the shared ``deployment``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from ledger.artifacts import load_artifact
from ledger.deploy import Deployment
from tests.conftest import DevAccounts

__all__ = ["DAY", "PRICE", "Market", "deploy_market"]

DAY = 86_400
PRICE = 10**18
_GAS = 1_500_000
_DEPLOY_GAS = 10_000_000


@dataclass
class Market:
    """The deployed market and the passport that names it."""

    contract: Contract
    passport: Contract

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def send(self, fn: Any, sender: LocalAccount, *, value: int = 0) -> TxReceipt:
        """Mine ``fn`` from an eth-tester dev account; the test fails if it reverts."""
        w3 = self.contract.w3
        tx_hash = fn.transact({"from": sender.address, "gas": _GAS, "value": value})
        receipt = w3.eth.get_transaction_receipt(tx_hash)
        assert receipt["status"] == 1, f"{fn.fn_name} reverted"
        return receipt


def deploy_market(w3: Web3, deployment: Deployment, accounts: DevAccounts) -> Market:
    """Deploy a `ResaleMarket` (fee 2.5%, delivery 14 days, shipping 3, ruling 7; treasury:
    ``spare``) and have the admin name it as the passport's market."""
    artifact = load_artifact("ResaleMarket")
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx_hash = factory.constructor(
        deployment.passport, accounts.spare.address, 250, 14 * DAY, 3 * DAY, 7 * DAY
    ).transact({"from": accounts.admin.address, "gas": _DEPLOY_GAS})
    address = w3.eth.get_transaction_receipt(tx_hash)["contractAddress"]
    assert address is not None
    passport = w3.eth.contract(
        address=deployment.passport, abi=load_artifact("ItemPassport")["abi"]
    )
    market = Market(w3.eth.contract(address=address, abi=artifact["abi"]), passport)
    market.send(passport.functions.setMarket(address), accounts.admin)
    return market
