"""Raw-ABI helpers for the contract tests: send a transaction, and assert an exact custom error.

Transactions are sent from eth-tester's unlocked dev accounts (the named `LocalAccount`s of
``tests/conftest.py`` are exactly those keys) with a fixed gas limit. The fixed limit skips gas
estimation, which both halves the cost of a transaction and lets a refused call be mined as a
real failed transaction (receipt status 0) instead of being stopped client-side, so the access
tests can check that a mined refusal leaves the contract's state alone.

eth-tester does not hand revert data back in a receipt, and web3's tester provider reports a
revert as ``TransactionFailed("execution reverted: b'...'")`` rather than a ``ContractCustomError``
with ``.data``; `revert_data` digs the bytes out of whichever form arrives.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from enum import IntEnum, IntFlag
from functools import cache
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_abi.grammar import TupleType
from eth_abi.grammar import parse as parse_abi_type
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address
from eth_utils.abi import get_abi_output_types
from hexbytes import HexBytes
from web3.contract.contract import Contract, ContractFunction
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD
from web3.types import EventData, TxReceipt

from ledger.artifacts import load_artifact
from ledger.errors import ContractError, ErrorDecoder

__all__ = [
    "GAS_LIMIT",
    "Reverted",
    "account_of",
    "events",
    "expect_revert",
    "item_of",
    "revert_data",
    "send",
    "view",
]

# Above anything these tests send (a two-item batch is ~150k), far below the 30M block limit.
GAS_LIMIT = 1_500_000

_TESTER_REVERT_PREFIX = "execution reverted: "


class Reverted(Exception):
    """A transaction was mined and reverted: its revert ``data`` and its ``receipt``."""

    def __init__(self, data: bytes, receipt: TxReceipt) -> None:
        super().__init__(f"transaction reverted with data 0x{data.hex()}")
        self.data = data
        self.receipt = receipt


def send(
    fn: ContractFunction, sender: LocalAccount | str, *, value: int = 0, gas: int = GAS_LIMIT
) -> TxReceipt:
    """Mine ``fn`` as a transaction from ``sender``; raise `Reverted` if it fails on chain."""
    w3 = fn.w3
    address = sender if isinstance(sender, str) else sender.address
    tx: dict[str, Any] = {"from": address, "gas": gas, "value": value}
    receipt = w3.eth.get_transaction_receipt(fn.transact(tx))  # type: ignore[arg-type]
    if receipt["status"] == 1:
        return receipt
    # eth-tester mines one transaction per block, so replaying it as a call on the parent block
    # runs it on exactly the state it failed on, and yields the revert data the receipt lacks.
    try:
        fn.call(tx, block_identifier=receipt["blockNumber"] - 1)  # type: ignore[arg-type]
    except Exception as exc:
        data = revert_data(exc)
        if data is None:
            raise
        raise Reverted(data, receipt) from None
    raise AssertionError("the transaction failed on chain but its replay as a call succeeded")


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert data carried by ``exc``, or None when it carries none."""
    if isinstance(exc, Reverted):
        return exc.data
    if isinstance(exc, ContractLogicError):
        data = exc.data
        if isinstance(data, Mapping):
            data = data.get("data")
        return bytes(HexBytes(data)) if isinstance(data, str | bytes) else None
    if type(exc).__name__ == "TransactionFailed" and exc.args:
        first = exc.args[0]
        if isinstance(first, bytes):
            return first
        if isinstance(first, str):
            # eth-tester formats undecodable revert bytes with repr() (web3's tester provider adds a
            # prefix); anything else is an Error(string) reason already decoded, raw bytes gone.
            literal = first.removeprefix(_TESTER_REVERT_PREFIX)
            if literal.startswith(("b'", 'b"')):
                value = ast.literal_eval(literal)
                return value if isinstance(value, bytes) else None
    return None


@cache
def _decoder() -> ErrorDecoder:
    return ErrorDecoder([load_artifact("ItemPassport")["abi"]])


def expect_revert(
    call: Callable[[], object], error: type[ContractError] | str, /, **expected_args: object
) -> ContractError:
    """Run ``call`` (a transaction or an eth_call) and assert it reverts with exactly ``error``.

    ``error`` is the `ledger.errors` class of the Solidity error, or its name for library errors
    that have no class there (OpenZeppelin's ``AccessControlEnforcedDefaultAdminRules``...).
    ``expected_args`` must name *every* argument of the error: the decoded arguments are compared
    as a whole, so a wrong item id, caller or status fails as surely as a wrong error.
    """
    try:
        call()
    except Exception as exc:
        data = revert_data(exc)
        if data is None:
            raise
    else:
        name = error if isinstance(error, str) else error.__name__
        pytest.fail(f"expected a revert with {name}, but the call succeeded")
    decoded = _decoder().decode(data)
    assert isinstance(decoded, ContractError), f"revert data 0x{data.hex()}: {decoded}"
    if isinstance(error, str):
        assert decoded.error_name == error, f"reverted with {decoded!r}, expected {error}"
    else:
        assert type(decoded) is error, f"reverted with {decoded!r}, expected {error.__name__}"
    expected = {key: _normalise(value) for key, value in expected_args.items()}
    assert decoded.arguments == expected, f"{decoded.error_name} arguments"
    return decoded


def _normalise(value: object) -> object:
    """Expected arguments in the form the decoder yields them (checksum str, bytes, int)."""
    if isinstance(value, LocalAccount):
        return value.address
    if isinstance(value, IntEnum | IntFlag):
        return int(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, str) and is_address(value):
        return to_checksum_address(value)
    return value


def events(contract: Contract, receipt: TxReceipt, name: str) -> list[EventData]:
    """The ``name`` events ``contract`` emitted in ``receipt``, in log order."""
    return list(contract.events[name]().process_receipt(receipt, errors=DISCARD))


def _struct_view(contract: Contract, function: str, *args: object) -> dict[str, Any]:
    """Call a view returning one struct and name its fields (web3 returns a bare tuple)."""
    fn = contract.functions[function](*args)
    (output,) = fn.abi["outputs"]
    value = view(fn)
    return dict(zip((c["name"] for c in output["components"]), value, strict=True))


def item_of(contract: Contract, item_id: bytes) -> dict[str, Any]:
    """``itemOf(item_id)`` as a dict keyed by the Solidity field names."""
    return _struct_view(contract, "itemOf", item_id)


def account_of(contract: Contract, account: LocalAccount | str) -> dict[str, Any]:
    """``accountOf(account)`` as a dict keyed by the Solidity field names."""
    address = account if isinstance(account, str) else account.address
    return _struct_view(contract, "accountOf", address)


def view(fn: ContractFunction) -> Any:
    """Call a view function, returning what web3's ``fn.call()`` would (checksummed addresses).

    Goes straight to eth-tester rather than through web3's request stack: the access matrix reads
    a score of views after every refused call, and web3's middleware is 40% of a call's cost.
    Reverts surface as eth-tester's ``TransactionFailed`` carrying the raw data (`revert_data`).
    """
    tester = fn.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    global _reader
    if _reader is None:  # eth-tester charges a call's gas to `from`: any funded account will do
        _reader = tester.get_accounts()[0]
    raw = tester.call(
        {"from": _reader, "to": fn.address, "data": fn._encode_transaction_data(), "gas": 10**7}
    )
    types = get_abi_output_types(fn.abi)
    values = [
        _as_web3(parse_abi_type(t), v)
        for t, v in zip(types, abi_decode(types, HexBytes(raw)), strict=True)
    ]
    return values[0] if len(values) == 1 else values


_reader: str | None = None


def _as_web3(abi_type: Any, value: Any) -> Any:
    """A decoded value as web3 returns it: lists for arrays, tuples for structs, checksummed."""
    if abi_type.is_array:
        return [_as_web3(abi_type.item_type, item) for item in value]
    if isinstance(abi_type, TupleType):
        return tuple(_as_web3(t, v) for t, v in zip(abi_type.components, value, strict=True))
    if abi_type.base == "address":
        return to_checksum_address(value)
    return value
