"""Gas money for new accounts on local development chains.

Why this exists: an account created for an API key starts with no ether, so its first write
would fail for want of gas. On a local chain (eth-tester, anvil) the gateway tops it up from a
development account it reserves for that purpose; on a real chain funding is the operator's job.
The faucet has its own account (not the admin's) and its own `TransactionSender`, so top-ups
never race the admin's nonces.
"""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from web3 import Web3

from ledger.client import parse_address
from ledger.errors import ErrorDecoder, LedgerError
from ledger.tx import TransactionSender, translate_error, tx_result
from ledger.types import TxResult

__all__ = ["DEFAULT_TOP_UP_WEI", "Faucet"]

DEFAULT_TOP_UP_WEI = 10**18


class Faucet:
    def __init__(
        self, *, w3: Web3, account: LocalAccount, amount: int = DEFAULT_TOP_UP_WEI
    ) -> None:
        if amount <= 0:
            raise ValueError("amount must be positive")
        self._w3 = w3
        self.amount = amount
        self._sender = TransactionSender(w3=w3, account=account, decoder=ErrorDecoder([]))

    @property
    def address(self) -> ChecksumAddress:
        return self._sender.address

    def top_up(self, address: str) -> tuple[int, TxResult | None]:
        """Bring ``address`` up to `amount` wei if it holds less than half of it.

        Returns ``(wei sent, transaction)``; ``(0, None)`` when it had enough.
        """
        account = parse_address(address, field="address")
        try:
            balance = int(self._w3.eth.get_balance(account))
        except LedgerError:
            raise
        except Exception as exc:
            error = translate_error(exc, ErrorDecoder([]))
            if error is None:
                raise
            raise error from exc
        if balance * 2 >= self.amount:
            return 0, None
        value = self.amount - balance
        receipt = self._sender.transact(to=account, data=HexStr("0x"), value=value)
        return value, tx_result(receipt)
