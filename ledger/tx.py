"""Sending transactions that either succeed or fail with a precise `LedgerError`.

Why this exists: web3's ``transact()`` leaves every hard part to the caller. A refused call should
cost nothing and say why, so each call is simulated first and a revert is decoded into the
contract's own error class *without* sending; a nonce must never be reused or skipped even when
several threads share an account, so nonces come from a local counter under a lock and are
resynchronised from the chain whenever a send fails; and a transaction that still fails on chain
(a race with another sender) is replayed to recover its reason.

Round trips per write, since every one costs a few milliseconds: ``eth_estimateGas`` is the
simulation (it executes the call and reports a revert with the same data ``eth_call`` would),
fees and the block gas limit are read at most once per `FEE_MAX_AGE` seconds per chain
connection (a stale fee is survived: ``maxFeePerGas`` is twice the base fee, and a send refused
for too low a fee refreshes them and is retried once), the chain id is read once per sender, and
the receipt is polled at once and then with a short back-off. So a write is normally three
requests: estimate, send, receipt.

Reverts reach Python in different shapes depending on the node (JSON-RPC error data on anvil and
real nodes, a ``TransactionFailed`` exception carrying a bytes repr on eth-tester);
`revert_data` and `translate_error` hide that.
"""

from __future__ import annotations

import ast
import logging
import math
import re
import threading
import time
import weakref
from dataclasses import dataclass
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
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import BlockIdentifier, TxParams, TxReceipt, Wei

from ledger.errors import (
    ChainUnavailableError,
    ErrorDecoder,
    InsufficientFunds,
    LedgerError,
    TransactionError,
)
from ledger.types import TxResult

__all__ = [
    "FEE_MAX_AGE",
    "TransactionSender",
    "call_view",
    "revert_data",
    "translate_error",
    "tx_result",
]

log = logging.getLogger(__name__)

# How nodes say the sender cannot pay: geth and anvil ("insufficient funds for gas * price +
# value", "Insufficient funds for transfer"), eth-tester ("cannot afford txn gas", "does not have
# enough balance").
_INSUFFICIENT_FUNDS = re.compile(
    r"insufficient funds|cannot afford txn|not have enough balance", re.IGNORECASE
)
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
# Node messages meaning "the fee is below what the next block needs" (geth/anvil/reth, py-evm).
_FEE_ERRORS = ("base fee", "fee too low", "feecap", "fee cap", "gas price too low")
_DEFAULT_RECEIPT_TIMEOUT = 120.0
_FIRST_POLL_DELAY = 0.01
FEE_MAX_AGE = 1.0
"""Seconds a fee reading (base fee, priority fee, block gas limit) is reused for new writes."""


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
        if _INSUFFICIENT_FUNDS.search(exc.message):
            return InsufficientFunds(detail=exc.message)
        return TransactionError(f"the node rejected the request: {exc.message}")
    if _is_tester_rejection(exc):
        if _INSUFFICIENT_FUNDS.search(str(exc)):
            # Some of eth-tester's messages print the sender as raw bytes: not worth showing.
            return InsufficientFunds(detail=None if "b'" in str(exc) else str(exc).strip())
        return TransactionError(f"the node rejected the request: {exc}")
    return None


def _is_tester_rejection(exc: BaseException) -> bool:
    # eth-tester (py-evm) refuses what a JSON-RPC node reports as an error response (a sender
    # that cannot pay for gas, even in a call) with eth_utils' ValidationError.
    kind = type(exc)
    return kind.__name__ == "ValidationError" and kind.__module__.startswith("eth_utils")


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
        gas = self._gas_limit(params)
        tx_hash = self._sign_and_send(params, gas=gas)
        try:
            receipt = self._wait_for_receipt(tx_hash)
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

    def _estimate(self, params: TxParams) -> int:
        """``eth_estimateGas``, which is also the simulation: it runs the call, and a revert comes
        back with the same revert data as from ``eth_call``, decoded here before anything is sent.
        """
        try:
            return int(self._w3.eth.estimate_gas(params))
        except Exception as exc:
            error = translate_error(exc, self._decoder)
            if error is None:
                raise
            raise error from exc

    def _gas_limit(self, params: TxParams) -> int:
        estimate = self._estimate(params)
        # The margin covers state drifting between estimate and inclusion; never ask for more
        # than a block holds, or the node refuses the transaction outright.
        block_gas_limit = _chain_params(self._w3).block_gas_limit
        return min(math.ceil(estimate * self._gas_margin), block_gas_limit)

    def _fees(self, *, refresh: bool = False) -> dict[str, int]:
        chain = _chain_params(self._w3, refresh=refresh)
        if chain.base_fee is None:  # a pre-London chain
            return {"gasPrice": chain.priority_fee}
        # Twice the base fee survives six full blocks of base-fee increases.
        return {
            "maxFeePerGas": 2 * chain.base_fee + chain.priority_fee,
            "maxPriorityFeePerGas": chain.priority_fee,
        }

    def _wait_for_receipt(self, tx_hash: str) -> TxReceipt:
        # At once first (a local node mines on receipt), then back off up to poll_latency.
        deadline = time.monotonic() + self._receipt_timeout
        delay = min(_FIRST_POLL_DELAY, self._poll_latency)
        while True:
            try:
                return self._w3.eth.get_transaction_receipt(HexStr(tx_hash))
            except TransactionNotFound:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransactionError(
                    f"transaction {tx_hash} was not mined within {self._receipt_timeout:g}s; "
                    "it may still be mined later",
                    tx_hash=tx_hash,
                )
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, self._poll_latency)

    def _sign_and_send(self, params: TxParams, *, gas: int) -> str:
        # The lock spans nonce allocation and submission so that nonces reach the node in order
        # (eth-tester refuses a gap; real nodes would park the later one); waiting for the
        # receipt happens outside it.
        fees = self._fees()
        unsigned_base = {k: v for k, v in params.items() if k != "from"}
        with self._lock:
            if self._chain_id is None:
                self._chain_id = int(self._w3.eth.chain_id)
            retried: set[str] = set()
            while True:
                nonce = self._take_nonce()
                unsigned: dict[str, Any] = {
                    **unsigned_base,
                    **fees,
                    "gas": gas,
                    "nonce": nonce,
                    "chainId": self._chain_id,
                }
                signed = self._account.sign_transaction(unsigned)
                try:
                    tx_hash = self._w3.eth.send_raw_transaction(signed.raw_transaction)
                except Exception as exc:
                    # Whatever happened, the chain is the truth for the next nonce: the node
                    # may or may not have taken this one.
                    self._next_nonce = None
                    if "nonce" not in retried and _is_nonce_error(exc):
                        retried.add("nonce")
                        log.info("nonce %d for %s was stale; resynchronised", nonce, self.address)
                        continue
                    if "fee" not in retried and _is_fee_error(exc):
                        retried.add("fee")
                        log.info("the fee reading was stale; refreshed")
                        fees = self._fees(refresh=True)
                        continue
                    error = translate_error(exc, self._decoder)
                    if error is not None:
                        raise error from exc
                    raise TransactionError(f"the node refused the transaction: {exc}") from exc
                self._next_nonce = nonce + 1
                hex_hash = HexBytes(tx_hash).to_0x_hex()
                log.debug("sent %s from %s with nonce %d", hex_hash, self.address, nonce)
                return hex_hash

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


def _is_fee_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _FEE_ERRORS)


# ---------------------------------------------------------------------- fee readings


@dataclass(frozen=True)
class _ChainParams:
    read_at: float
    block_gas_limit: int
    base_fee: int | None
    """None on a pre-London chain; `priority_fee` is then the legacy gas price."""
    priority_fee: int


# One reading per Web3 object (so per chain connection), shared by all its senders.
_readings: weakref.WeakKeyDictionary[Web3, _ChainParams] = weakref.WeakKeyDictionary()
_readings_lock = threading.Lock()


def _chain_params(w3: Web3, *, refresh: bool = False) -> _ChainParams:
    """The latest block's gas limit and fees, read at most once per `FEE_MAX_AGE` seconds."""
    now = time.monotonic()
    with _readings_lock:
        cached = _readings.get(w3)
    if cached is not None and not refresh and now - cached.read_at < FEE_MAX_AGE:
        return cached
    latest = w3.eth.get_block("latest")
    base_fee = latest.get("baseFeePerGas")
    # Pre-London: the legacy gas price; otherwise the priority fee on top of the base fee.
    price = int(w3.eth.gas_price) if base_fee is None else int(w3.eth.max_priority_fee)
    reading = _ChainParams(
        read_at=now,
        block_gas_limit=int(latest["gasLimit"]),
        base_fee=None if base_fee is None else int(base_fee),
        priority_fee=price,
    )
    with _readings_lock:
        _readings[w3] = reading
    return reading
