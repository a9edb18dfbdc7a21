"""Relaying transactions that item owners sign themselves.

Why this exists: an owner (a consumer holding their own key) flags, clears or transfers an item by
signing a transaction locally; the gateway only forwards it. Forwarding blindly would let anyone
use the gateway as a free RPC proxy and would turn every contract refusal into "reverted" after
the gas is spent, so `Relayer` first checks that the transaction targets our contract(s) on this
chain, that its nonce, fee and balance can work, and simulates it: a refusal comes back as the
contract's own error class (see `ledger.errors`) and nothing is sent.

Relaying is idempotent: a transaction that is already known (same hash) is not sent again; its
outcome is returned.

`MessageRelayer` is the other way an owner acts without holding ETH: they sign an EIP-712
message (``transferBySig`` or an ERC-4494 ``permit``, see `ledger.signatures`) and a sponsor's
account submits it and pays the gas. The replay protections are the contract's (item nonce,
deadline, chain id and contract in the domain, no high-s twins); the sponsor's client simulates
first, so a bad, expired or used signature comes back as the contract's own error and costs the
sponsor nothing. Relaying the same message twice is refused the second time (its nonce is used).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

import rlp
from eth_account import Account as EthAccount
from eth_account.typed_transactions import TypedTransaction
from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TimeExhausted, TransactionNotFound
from web3.types import TxParams, TxReceipt, Wei

from ledger.client import ProvenanceClient, parse_item_id
from ledger.errors import (
    ConfigurationError,
    Conflict,
    ErrorDecoder,
    InputError,
    InsufficientFunds,
    LedgerError,
    RateLimited,
    TransactionError,
)
from ledger.signatures import PermitMessage, TransferMessage, parse_signature
from ledger.tx import translate_error, tx_result
from ledger.types import ItemId, TxResult

__all__ = [
    "FeeTooLow",
    "GasLimitTooLow",
    "InsufficientFunds",
    "MalformedTransaction",
    "MessageKind",
    "MessageRelayer",
    "NonceTooHigh",
    "NonceTooLow",
    "NotOurContract",
    "RawTransaction",
    "RelayedMessage",
    "Relayer",
    "SponsorBudget",
    "SponsorLimitReached",
    "UnsupportedTransactionType",
    "WrongChain",
    "decode_raw_transaction",
]

R = TypeVar("R")
_FIELD = "raw_transaction"
_SUPPORTED_TYPES = (0, 1, 2)
MAX_RAW_TRANSACTION_BYTES = 128 * 1024  # the txpool limit of geth and anvil


class MalformedTransaction(InputError):
    code = "malformed_transaction"

    def __init__(self, message: str) -> None:
        super().__init__(message, field=_FIELD)


class UnsupportedTransactionType(InputError):
    code = "unsupported_transaction_type"

    def __init__(self, kind: int) -> None:
        super().__init__(
            f"transaction type {kind} cannot be relayed (legacy, 1 and 2 can)", field=_FIELD
        )


class WrongChain(InputError):
    code = "wrong_chain"

    def __init__(self, got: int | None, expected: int) -> None:
        what = "is not replay-protected (no chain id)" if got is None else f"is for chain {got}"
        super().__init__(
            f"the transaction {what}; this gateway relays to chain {expected}", field=_FIELD
        )


class NotOurContract(InputError):
    code = "not_our_contract"

    def __init__(self, to: str | None) -> None:
        target = "creates a contract" if to is None else f"is addressed to {to}"
        super().__init__(
            f"the transaction {target}; only calls to the provenance contracts are relayed",
            field=_FIELD,
        )


class GasLimitTooLow(InputError):
    code = "gas_limit_too_low"

    def __init__(self, gas: int, needed: int) -> None:
        super().__init__(f"the gas limit {gas} is below the {needed} the call needs", field=_FIELD)


class FeeTooLow(InputError):
    code = "fee_too_low"

    def __init__(self, fee: int, base_fee: int) -> None:
        super().__init__(
            f"the max fee per gas {fee} is below the current base fee {base_fee}", field=_FIELD
        )


class NonceTooLow(Conflict):
    code = "nonce_too_low"
    template = "nonce {nonce} of {sender} is already used; the next one is {expected}"

    def __init__(self, *, sender: str, nonce: int, expected: int) -> None:
        super().__init__("NonceTooLow", {"sender": sender, "nonce": nonce, "expected": expected})


class NonceTooHigh(Conflict):
    code = "nonce_too_high"
    template = "nonce {nonce} of {sender} leaves a gap; the next one is {expected}"

    def __init__(self, *, sender: str, nonce: int, expected: int) -> None:
        super().__init__("NonceTooHigh", {"sender": sender, "nonce": nonce, "expected": expected})


@dataclass(frozen=True)
class RawTransaction:
    """The fields of a signed transaction that relaying cares about."""

    raw: bytes
    tx_hash: str
    type: int
    sender: ChecksumAddress
    to: ChecksumAddress | None
    nonce: int
    chain_id: int | None
    gas: int
    max_fee_per_gas: int
    """``gasPrice`` for legacy and type-1 transactions."""
    value: int
    data: bytes


def _as_int(value: Any) -> int:
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    return int(value)


def _as_address(value: Any) -> ChecksumAddress | None:
    raw = bytes(HexBytes(value)) if value else b""
    if not raw:
        return None
    if len(raw) != 20:
        raise MalformedTransaction("the transaction's recipient is not a 20-byte address")
    return to_checksum_address(raw)


def decode_raw_transaction(raw: bytes | str) -> RawTransaction:
    """Decode and recover the sender of a signed transaction; `MalformedTransaction` if bad."""
    try:
        data = bytes(HexBytes(raw))
    except (ValueError, TypeError):
        raise MalformedTransaction("the transaction must be 0x-prefixed hex") from None
    if not data:
        raise MalformedTransaction("the transaction is empty")
    if len(data) > MAX_RAW_TRANSACTION_BYTES:
        raise MalformedTransaction(f"the transaction exceeds {MAX_RAW_TRANSACTION_BYTES} bytes")
    kind = data[0] if data[0] <= 0x7F else 0
    if kind not in _SUPPORTED_TYPES:
        raise UnsupportedTransactionType(kind)
    try:
        if kind == 0:
            fields = rlp.decode(data)
            if not isinstance(fields, list) or len(fields) != 9:
                raise ValueError("a legacy transaction has 9 fields")
            nonce, gas_price, gas, to, value, payload, v = fields[:7]
            v_int = _as_int(v)
            chain_id = (v_int - 35) // 2 if v_int >= 35 else None
            max_fee = _as_int(gas_price)
        else:
            decoded = TypedTransaction.from_bytes(HexBytes(data)).as_dict()
            nonce, gas, to = decoded["nonce"], decoded["gas"], decoded["to"]
            value, payload, chain_id = decoded["value"], decoded["data"], int(decoded["chainId"])
            max_fee = _as_int(decoded.get("maxFeePerGas", decoded.get("gasPrice", 0)))
        sender = EthAccount.recover_transaction(data)
        return RawTransaction(
            raw=data,
            tx_hash="0x" + keccak(data).hex(),
            type=kind,
            sender=to_checksum_address(sender),
            to=_as_address(to),
            nonce=_as_int(nonce),
            chain_id=chain_id,
            gas=_as_int(gas),
            max_fee_per_gas=max_fee,
            value=_as_int(value),
            data=bytes(HexBytes(payload)),
        )
    except LedgerError:
        raise
    except Exception as exc:  # rlp, signature and field errors come in many classes
        raise MalformedTransaction(f"cannot decode the signed transaction: {exc}") from None


class Relayer:
    """Checks, simulates, sends and waits for transactions signed by others."""

    def __init__(
        self,
        *,
        w3: Web3,
        decoder: ErrorDecoder,
        targets: Collection[str],
        receipt_timeout: float = 120.0,
        poll_latency: float = 0.1,
    ) -> None:
        self._w3 = w3
        self._decoder = decoder
        self._targets = {to_checksum_address(t) for t in targets}
        self._receipt_timeout = receipt_timeout
        self._poll_latency = poll_latency
        self._chain_id: int | None = None

    def _rpc(self, action: Callable[..., R], *args: Any) -> R:
        try:
            return action(*args)
        except LedgerError:
            raise
        except Exception as exc:
            error = translate_error(exc, self._decoder)
            if error is None:
                raise
            raise error from exc

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self._rpc(lambda: self._w3.eth.chain_id))
        return self._chain_id

    def inspect(self, raw: bytes | str) -> RawTransaction:
        """Decode ``raw`` and check it is for this chain and for our contracts."""
        tx = decode_raw_transaction(raw)
        if tx.chain_id != self.chain_id:
            raise WrongChain(tx.chain_id, self.chain_id)
        if tx.to is None or tx.to not in self._targets:
            raise NotOurContract(tx.to)
        return tx

    def check(self, tx: RawTransaction) -> None:
        """Raise the error the transaction would meet: nonce, fee, funds, or a contract refusal."""
        eth = self._w3.eth
        mined_count = int(self._rpc(eth.get_transaction_count, tx.sender, "latest"))
        if tx.nonce < mined_count:
            raise NonceTooLow(sender=tx.sender, nonce=tx.nonce, expected=mined_count)
        pending_count = int(self._rpc(eth.get_transaction_count, tx.sender, "pending"))
        if tx.nonce > pending_count:
            raise NonceTooHigh(sender=tx.sender, nonce=tx.nonce, expected=pending_count)
        base_fee = self._rpc(eth.get_block, "latest").get("baseFeePerGas")
        if base_fee is not None and tx.max_fee_per_gas < int(base_fee):
            raise FeeTooLow(tx.max_fee_per_gas, int(base_fee))
        balance = int(self._rpc(eth.get_balance, tx.sender))
        cost = tx.gas * tx.max_fee_per_gas + tx.value
        if balance < cost:
            raise InsufficientFunds(sender=tx.sender, balance=balance, cost=cost)
        params = self._call_params(tx)
        self._rpc(eth.call, params, "latest")  # raises the decoded contract error
        needed = int(self._rpc(eth.estimate_gas, params))
        if tx.gas < needed:
            raise GasLimitTooLow(tx.gas, needed)

    @staticmethod
    def _call_params(tx: RawTransaction) -> TxParams:
        return {
            "from": tx.sender,
            "to": cast(ChecksumAddress, tx.to),
            "data": HexBytes(tx.data),
            "value": Wei(tx.value),
        }

    def _known_receipt(self, tx_hash: str) -> TxReceipt | bool | None:
        """The receipt if mined, True if pending, None if the node does not know the hash."""
        eth = self._w3.eth
        try:
            try:
                return eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                pass
            try:
                eth.get_transaction(HexBytes(tx_hash))
            except TransactionNotFound:
                return None
            return True
        except Exception as exc:
            error = translate_error(exc, self._decoder)
            if error is None:
                raise
            raise error from exc

    def relay(self, raw: bytes | str) -> TxResult:
        """Check, send and wait for ``raw``; return its result or raise why it failed."""
        tx = self.inspect(raw)
        known = self._known_receipt(tx.tx_hash)
        if known is None:
            self.check(tx)
            self._rpc(self._w3.eth.send_raw_transaction, HexBytes(tx.raw))
            receipt = self._wait(tx)
        elif known is True:
            receipt = self._wait(tx)
        else:
            receipt = cast(TxReceipt, known)
        if receipt["status"] != 1:
            raise self._explain_failure(tx, receipt)
        return tx_result(receipt)

    def _wait(self, tx: RawTransaction) -> TxReceipt:
        try:
            return self._rpc(
                lambda: self._w3.eth.wait_for_transaction_receipt(
                    HexBytes(tx.tx_hash),
                    timeout=self._receipt_timeout,
                    poll_latency=self._poll_latency,
                )
            )
        except TimeExhausted:
            raise TransactionError(
                f"transaction {tx.tx_hash} was not mined within {self._receipt_timeout:g}s; "
                "it may still be mined later",
                tx_hash=tx.tx_hash,
            ) from None

    def _explain_failure(self, tx: RawTransaction, receipt: TxReceipt) -> LedgerError:
        block = int(receipt["blockNumber"])
        params: TxParams = {**self._call_params(tx), "gas": tx.gas}
        for at in (block, block - 1):
            if at < 0:
                continue
            try:
                self._w3.eth.call(params, at)
            except Exception as exc:
                error = translate_error(exc, self._decoder)
                if error is None:
                    raise
                return error
        return TransactionError(f"transaction {tx.tx_hash} reverted on chain", tx_hash=tx.tx_hash)


# ---------------------------------------------------------------------- owner-signed messages

MessageKind = Literal["transfer", "permit"]


class SponsorLimitReached(RateLimited):
    code = "sponsor_limit_reached"


class SponsorBudget:
    """How many signed messages the sponsor pays for: at most ``per_signer`` for one signer and
    ``total`` for everyone within any ``window`` seconds (a sliding window, in memory).

    Why: every message needs a valid owner signature, but nothing stops an owner from signing
    permits in a loop, or a chain of owners from passing an item around, on the sponsor's gas.
    A slot is taken before sending and handed back if nothing was sent, so concurrent requests
    cannot overshoot and a refused message (a forged one naming someone else's address, say)
    costs nobody their budget.
    """

    def __init__(
        self,
        *,
        per_signer: int,
        total: int,
        window: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_signer < 1 or total < 1 or window <= 0:
            raise ConfigurationError("sponsor limits must be positive")
        self.per_signer = per_signer
        self.total = total
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._all: deque[float] = deque()
        self._by_signer: dict[str, deque[float]] = {}

    def take(self, signer: str) -> float:
        """Take a slot for ``signer`` (`SponsorLimitReached` if none is free); returns its
        ticket for `give_back`."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            mine = self._by_signer.get(signer)
            if mine is not None and len(mine) >= self.per_signer:
                raise self._refusal(f"{signer} has used its {self.per_signer}", mine[0], now)
            if len(self._all) >= self.total:
                raise self._refusal(f"all signers have used the {self.total}", self._all[0], now)
            self._all.append(now)
            self._by_signer.setdefault(signer, deque()).append(now)
            return now

    def give_back(self, signer: str, ticket: float) -> None:
        """Return a slot taken with `take` whose message was not sent."""
        with self._lock:
            for slots in (self._all, self._by_signer.get(signer)):
                if slots is not None and ticket in slots:
                    slots.remove(ticket)
            if not self._by_signer.get(signer, True):
                del self._by_signer[signer]

    def _expire(self, now: float) -> None:
        horizon = now - self.window
        while self._all and self._all[0] <= horizon:
            self._all.popleft()
        # Bounded work: only signers with slots are kept, and each slot expires once.
        for signer in [s for s, slots in self._by_signer.items() if slots[0] <= horizon]:
            slots = self._by_signer[signer]
            while slots and slots[0] <= horizon:
                slots.popleft()
            if not slots:
                del self._by_signer[signer]

    def _refusal(self, who: str, oldest: float, now: float) -> SponsorLimitReached:
        retry_after = max(1, int(oldest + self.window - now + 0.999))
        return SponsorLimitReached(
            f"{who} sponsored messages per {int(self.window)} s; try again in {retry_after} s, "
            "or relay a raw transaction you pay for yourself",
            retry_after=retry_after,
        )


@dataclass(frozen=True)
class RelayedMessage:
    """A signed message submitted on its signer's behalf, and who paid for it."""

    kind: MessageKind
    item_id: ItemId
    signer: ChecksumAddress
    """Whose signature authorised it: ``from`` of a transfer, the item's owner for a permit."""
    sponsor: ChecksumAddress
    """The account that sent the transaction and paid its gas."""
    to: ChecksumAddress
    """The contract called (the passport)."""
    tx: TxResult


class MessageRelayer:
    """Submits owner-signed ``transferBySig`` and ``permit`` messages from ``sponsor``'s account.

    Nothing is checked here that the contract checks itself: the sponsor's client simulates
    each submission, so refusals are the contract's errors (`InvalidSignature` for a wrong
    signer, another chain or contract, a used nonce or a high-s twin; `SignatureExpired`;
    `ItemNotRegistered`, `ItemIsFlagged`...) and nothing is sent for them. Only the signature's
    shape is checked first (`InputError` on ``signature``), since the contract cannot name it.
    """

    def __init__(self, *, sponsor: ProvenanceClient, budget: SponsorBudget | None = None) -> None:
        if sponsor.address is None:
            raise ConfigurationError("a message sponsor needs an account to pay the gas with")
        self._sponsor = sponsor
        self._address: ChecksumAddress = sponsor.address
        self._budget = budget

    @property
    def sponsor(self) -> ChecksumAddress:
        return self._address

    def relay(
        self, message: TransferMessage | PermitMessage, signature: bytes | str
    ) -> RelayedMessage:
        """Submit ``message`` with ``signature``, whichever kind it is."""
        if isinstance(message, TransferMessage):
            return self.transfer(transfer=message, signature=signature)
        return self.permit(permit=message, signature=signature)

    def transfer(self, *, transfer: TransferMessage, signature: bytes | str) -> RelayedMessage:
        """Move the item from ``transfer.from_`` to ``transfer.to`` (`transfer_by_sig`)."""
        raw = parse_signature(signature)
        signer = to_checksum_address(transfer.from_)
        tx = self._within_budget(
            signer, lambda: self._sponsor.transfer_by_sig(transfer=transfer, signature=raw)
        )
        return self._relayed("transfer", transfer.item_id, signer, tx)

    def permit(self, *, permit: PermitMessage, signature: bytes | str) -> RelayedMessage:
        """Approve ``permit.spender`` for the item (ERC-4494 `permit`)."""
        raw = parse_signature(signature)
        item = parse_item_id(permit.item_id)
        # The contract checks the signature against the owner at submission; read who that is
        # first (a permit never moves the item). An unknown item fails here as it would there.
        owner = self._sponsor.item(item).owner
        tx = self._within_budget(owner, lambda: self._sponsor.permit(permit=permit, signature=raw))
        return self._relayed("permit", item, owner, tx)

    def _within_budget(self, signer: ChecksumAddress, send: Callable[[], TxResult]) -> TxResult:
        if self._budget is None:
            return send()
        ticket = self._budget.take(signer)
        try:
            return send()
        except LedgerError as exc:
            # Refused before sending (the simulation failed): nothing was paid for. A failure
            # after sending (not mined) keeps the slot, since the gas may have been spent.
            if not isinstance(exc, TransactionError):
                self._budget.give_back(signer, ticket)
            raise

    def _relayed(
        self, kind: MessageKind, item_id: ItemId, signer: ChecksumAddress, tx: TxResult
    ) -> RelayedMessage:
        return RelayedMessage(
            kind=kind,
            item_id=ItemId(bytes(item_id)),
            signer=signer,
            sponsor=self._address,
            to=self._sponsor.deployment.passport,
            tx=tx,
        )
