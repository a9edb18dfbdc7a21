"""Sending transactions that either succeed or fail with a precise `LedgerError`.

Why this exists: web3's ``transact()`` leaves every hard part to the caller. A refused call should
cost nothing and say why, so each call is simulated (``eth_call``) first and a revert is decoded
into the contract's own error class *without* sending; a nonce must never be reused or skipped
even when several threads share an account, so nonces come from a local counter under a lock
and are resynchronised from the chain whenever a send fails; and a transaction that still fails
on chain (a race with another sender) is replayed to recover its reason.

Reverts reach Python in different shapes depending on the node (JSON-RPC error data on anvil and
real nodes, a ``TransactionFailed`` exception carrying a bytes repr on eth-tester);
`revert_data` and `translate_error` hide that.
"""

from __future__ import annotations

import ast
import logging
import math
import threading
from typing import Any, cast

from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    RequestTimedOut,
    TimeExhausted,
    Web3RPCError,
)
from web3.types import BlockIdentifier, TxParams, TxReceipt, Wei

from ledger.errors import (
    ChainUnavailableError,
    ErrorDecoder,
    LedgerError,
    TransactionError,
)
from ledger.types import TxResult

__all__ = [
    "TransactionSender",
    "call_view",
    "revert_data",
    "translate_error",
    "tx_result",
]

log = logging.getLogger(__name__)

_ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string), from require(cond, "reason")
# Node messages meaning "that nonce is taken or wrong" (geth/anvil/reth, and eth-tester's
# "Invalid transaction nonce"); "underpriced" is a replacement of someone else's pending tx.
_NONCE_ERRORS = (
    "nonce too low",
    "nonce too high",
    "invalid nonce",
    "transaction nonce",
    "already known",
    "underpriced",
)
_DEFAULT_RECEIPT_TIMEOUT = 120.0


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert data carried by ``exc``, or None if it carries none (or is no revert)."""
    if isinstance(exc, ContractLogicError):
        data: Any = exc.data
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            try:
                return bytes.fromhex(data[2:])
            except ValueError:
                return None
        return None
    if type(exc).__module__.startswith("eth_tester") and type(exc).__name__ == "TransactionFailed":
        # eth-tester (via web3's provider) raises TransactionFailed("execution reverted: b'...'"):
        # the revert data as a Python bytes literal, or a decoded Error(string) reason.
        message = str(exc.args[0]) if exc.args else ""
        message = message.removeprefix("execution reverted: ")
        if message[:2] in ("b'", 'b"'):
            try:
                value = ast.literal_eval(message)
            except (ValueError, SyntaxError):
                return None
            return value if isinstance(value, bytes) else None
        return None
    return None


def _is_revert(exc: BaseException) -> bool:
    return isinstance(exc, ContractLogicError) or (
        type(exc).__module__.startswith("eth_tester") and type(exc).__name__ == "TransactionFailed"
    )


def _is_connection_error(exc: BaseException) -> bool:
    # requests' exceptions derive from OSError; web3 wraps some transport failures itself.
    return isinstance(exc, OSError | ProviderConnectionError | RequestTimedOut)


def translate_error(exc: BaseException, decoder: ErrorDecoder) -> LedgerError | None:
    """The `LedgerError` for an exception raised by web3, or None if it is not a chain failure."""
    if isinstance(exc, LedgerError):
        return exc
    if _is_revert(exc):
        data = revert_data(exc)
        if data is not None:
            if data[:4] == _ERROR_STRING_SELECTOR:
                try:
                    (reason,) = abi_decode(["string"], data[4:])
                except Exception:  # malformed reason: report the revert, not a decoding crash
                    reason = "(unreadable reason)"
                return TransactionError(f"the contract refused the call: {reason}")
            return decoder.decode(data)
        message = str(exc.args[0]) if exc.args else "execution reverted"
        return TransactionError(f"the contract refused the call: {message}")
    if _is_connection_error(exc):
        return ChainUnavailableError(f"the chain node does not answer: {exc}")
    if isinstance(exc, Web3RPCError):
        return TransactionError(f"the node rejected the request: {exc.message}")
    return None


def call_view(
    call: ContractFunction,
    *,
    decoder: ErrorDecoder,
    sender: str | None = None,
    block_identifier: BlockIdentifier = "latest",
) -> Any:
    """``call.call()``, with reverts and connection failures raised as `LedgerError`s."""
    params: TxParams = {}
    if sender is not None:
        params["from"] = cast(ChecksumAddress, sender)
    try:
        return call.call(params, block_identifier=block_identifier)
    except Exception as exc:
        error = translate_error(exc, decoder)
        if error is None:
            raise
        raise error from exc


def tx_result(receipt: TxReceipt) -> TxResult:
    return TxResult(
        tx_hash=HexBytes(receipt["transactionHash"]).to_0x_hex(),
        block_number=int(receipt["blockNumber"]),
        gas_used=int(receipt["gasUsed"]),
    )


def _encode_call(call: ContractFunction) -> HexStr:
    # web3 exposes no public "calldata of this bound call"; this classmethod has been stable
    # since web3 v4 and is what build_transaction() itself uses.
    return cast(HexStr, call._encode_transaction_data())


class TransactionSender:
    """Signs and sends transactions for one account; safe to share between threads.

    Use one sender per account per process: the local nonce counter is what keeps concurrent
    sends from colliding (another process sending from the same account is survived by the
    resynchronisation, at the cost of a failed send).
    """

    def __init__(
        self,
        *,
        w3: Web3,
        account: LocalAccount,
        decoder: ErrorDecoder,
        gas_margin: float = 1.2,
        receipt_timeout: float = _DEFAULT_RECEIPT_TIMEOUT,
        poll_latency: float = 0.1,
    ) -> None:
        if gas_margin < 1.0:
            raise ValueError("gas_margin must be at least 1.0")
        self._w3 = w3
        self._account = account
        self._decoder = decoder
        self._gas_margin = gas_margin
        self._receipt_timeout = receipt_timeout
        self._poll_latency = poll_latency
        self._lock = threading.Lock()
        self._next_nonce: int | None = None  # None: read it from the chain before the next send
        self._chain_id: int | None = None

    @property
    def address(self) -> ChecksumAddress:
        return self._account.address

    @property
    def decoder(self) -> ErrorDecoder:
        return self._decoder

    def __repr__(self) -> str:  # never show the key
        return f"<TransactionSender {self.address}>"

    # ------------------------------------------------------------------ public

    def send(self, call: ContractFunction, *, value: int = 0) -> TxResult:
        """Simulate, sign, send and wait for ``call``; raise the decoded error if it reverts."""
        return tx_result(self.transact(to=call.address, data=_encode_call(call), value=value))

    def transact(self, *, to: ChecksumAddress | None, data: HexStr, value: int = 0) -> TxReceipt:
        """Like `send`, for raw calldata; ``to=None`` deploys ``data`` as init code."""
        try:
            return self._transact(to=to, data=data, value=value)
        except LedgerError:
            raise
        except Exception as exc:
            error = translate_error(exc, self._decoder)
            if error is None:
                raise
            raise error from exc

    # ------------------------------------------------------------------ steps

    def _transact(self, *, to: ChecksumAddress | None, data: HexStr, value: int) -> TxReceipt:
        params: TxParams = {"from": self.address, "data": data, "value": Wei(value)}
        if to is not None:
            params["to"] = to
        self._simulate(params)
        latest = self._w3.eth.get_block("latest")
        gas = self._gas_limit(params, block_gas_limit=int(latest["gasLimit"]))
        fees = self._fees(latest.get("baseFeePerGas"))
        tx_hash = self._sign_and_send({**params, **fees, "gas": gas})
        try:
            receipt = self._w3.eth.wait_for_transaction_receipt(
                HexStr(tx_hash), timeout=self._receipt_timeout, poll_latency=self._poll_latency
            )
        except TimeExhausted:
            raise TransactionError(
                f"transaction {tx_hash} was not mined within {self._receipt_timeout:g}s; "
                "it may still be mined later",
                tx_hash=tx_hash,
            ) from None
        except Exception as exc:
            if not _is_connection_error(exc):
                raise
            # The transaction was handed over: say which one, so it can be looked up later.
            error = ChainUnavailableError(
                f"the node stopped answering while transaction {tx_hash} was pending: {exc}"
            )
            setattr(error, "tx_hash", tx_hash)  # noqa: B010 - not declared, hence setattr
            raise error from exc
        if receipt["status"] != 1:
            raise self._explain_failure(params, receipt, tx_hash=tx_hash, gas=gas)
        return receipt

    def _simulate(self, params: TxParams) -> None:
        try:
            self._w3.eth.call(params, "latest")
        except Exception as exc:
            error = translate_error(exc, self._decoder)
            if error is None:
                raise
            raise error from exc

    def _gas_limit(self, params: TxParams, *, block_gas_limit: int) -> int:
        estimate = self._w3.eth.estimate_gas(params)
        # The margin covers state drifting between estimate and inclusion; never ask for more
        # than a block holds, or the node refuses the transaction outright.
        return min(math.ceil(estimate * self._gas_margin), block_gas_limit)

    def _fees(self, base_fee: Any) -> dict[str, int]:
        if base_fee is None:  # a pre-London chain
            return {"gasPrice": int(self._w3.eth.gas_price)}
        priority = int(self._w3.eth.max_priority_fee)
        # Twice the base fee survives six full blocks of base-fee increases.
        return {"maxFeePerGas": 2 * int(base_fee) + priority, "maxPriorityFeePerGas": priority}

    def _sign_and_send(self, fields: dict[str, Any]) -> str:
        # The lock spans nonce allocation and submission so that nonces reach the node in order
        # (eth-tester refuses a gap; real nodes would park the later one); waiting for the
        # receipt happens outside it.
        with self._lock:
            if self._chain_id is None:
                self._chain_id = int(self._w3.eth.chain_id)
            for attempt in (1, 2):
                nonce = self._take_nonce()
                unsigned = {k: v for k, v in fields.items() if k != "from"}
                unsigned.update(nonce=nonce, chainId=self._chain_id)
                signed = self._account.sign_transaction(unsigned)
                try:
                    tx_hash = self._w3.eth.send_raw_transaction(signed.raw_transaction)
                except Exception as exc:
                    # Whatever happened, the chain is the truth for the next nonce: the node
                    # may or may not have taken this one.
                    self._next_nonce = None
                    if attempt == 1 and _is_nonce_error(exc):
                        log.info("nonce %d for %s was stale; resynchronised", nonce, self.address)
                        continue
                    error = translate_error(exc, self._decoder)
                    if error is not None:
                        raise error from exc
                    raise TransactionError(f"the node refused the transaction: {exc}") from exc
                self._next_nonce = nonce + 1
                hex_hash = HexBytes(tx_hash).to_0x_hex()
                log.debug("sent %s from %s with nonce %d", hex_hash, self.address, nonce)
                return hex_hash
        raise AssertionError("unreachable")

    def _take_nonce(self) -> int:
        if self._next_nonce is None:
            self._next_nonce = int(self._w3.eth.get_transaction_count(self.address, "pending"))
        return self._next_nonce

    def _explain_failure(
        self, params: TxParams, receipt: TxReceipt, *, tx_hash: str, gas: int
    ) -> LedgerError:
        # Replaying against the state the transaction met (the end of its block: whatever beat
        # it there is included) recovers the revert reason nodes do not put in receipts.
        block = int(receipt["blockNumber"])
        replay: TxParams = {**params, "gas": gas}
        for at in (block, block - 1):
            if at < 0:
                continue
            try:
                self._w3.eth.call(replay, at)
            except Exception as exc:
                error = translate_error(exc, self._decoder)
                if error is None:
                    raise
                if isinstance(error, TransactionError) and error.tx_hash is None:
                    error.tx_hash = tx_hash
                elif not isinstance(error, TransactionError):
                    # Not a declared attribute of ContractError, hence setattr (for mypy).
                    setattr(error, "tx_hash", tx_hash)  # noqa: B010
                return error
        if int(receipt["gasUsed"]) >= gas:
            return TransactionError(f"transaction {tx_hash} ran out of gas", tx_hash=tx_hash)
        return TransactionError(
            f"transaction {tx_hash} reverted on chain, but replaying it succeeds", tx_hash=tx_hash
        )


def _is_nonce_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _NONCE_ERRORS)
