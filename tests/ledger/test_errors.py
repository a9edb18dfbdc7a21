"""Reverts become precise exceptions: one class per Solidity error, with its arguments."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError

from ledger import errors
from ledger.artifacts import available_artifacts, load_artifact
from ledger.errors import ErrorDecoder
from ledger.tx import revert_data, translate_error

ITEM = bytes.fromhex("5b19af401f4ccf36a460837ed85f49b1c0d69fe1f220ef97353106d2df281052")
ACCOUNT = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
GROUPS = (errors.AccessDenied, errors.NotFound, errors.Conflict, errors.InvalidArgument)


def _abi_errors() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, entry)
        for name in available_artifacts()
        for entry in load_artifact(name)["abi"]
        if entry.get("type") == "error"
    ]


def _case_id(value: object) -> str:
    return str(value["name"]) if isinstance(value, dict) else str(value)


def _revert(signature: str, types: list[str], values: list[Any]) -> bytes:
    return function_signature_to_4byte_selector(signature) + abi_encode(types, values)


@pytest.fixture(scope="module")
def decoder() -> ErrorDecoder:
    return ErrorDecoder(load_artifact(name)["abi"] for name in available_artifacts())


def test_artifacts_declare_errors() -> None:
    assert {"ItemPassport", "ReferenceERC721"} <= set(available_artifacts())
    assert len(_abi_errors()) > 30


@pytest.mark.parametrize(("artifact", "entry"), _abi_errors(), ids=_case_id)
def test_every_abi_error_has_its_own_class_in_a_group(artifact: str, entry: dict[str, Any]) -> None:
    cls = errors.contract_error_class(entry["name"])
    assert cls is not errors.ContractError, f"{artifact}: no class for {entry['name']}"
    assert cls.__name__ == entry["name"]
    assert issubclass(cls, GROUPS)
    assert entry["name"] in errors.__all__


@pytest.mark.parametrize(("artifact", "entry"), _abi_errors(), ids=_case_id)
def test_every_abi_error_decodes_to_its_class_with_its_arguments(
    artifact: str, entry: dict[str, Any], decoder: ErrorDecoder
) -> None:
    samples = {"address": ACCOUNT, "bytes32": ITEM, "bool": True, "string": "x"}
    types = [i["type"] for i in entry["inputs"]]
    values = [samples.get(t, 1) for t in types]
    data = _revert(f"{entry['name']}({','.join(types)})", types, values)
    error = decoder.decode(data)
    assert type(error) is errors.contract_error_class(entry["name"])
    assert isinstance(error, errors.ContractError)
    assert error.error_name == entry["name"]
    assert list(error.arguments) == [i["name"] for i in entry["inputs"]]
    assert str(error)  # a sentence, never empty


def test_decoded_error_exposes_arguments_as_attributes(decoder: ErrorDecoder) -> None:
    error = decoder.decode(_revert("ItemAlreadyRegistered(bytes32)", ["bytes32"], [ITEM]))
    assert isinstance(error, errors.ItemAlreadyRegistered)
    assert isinstance(error, errors.Conflict)
    assert error.itemId == ITEM
    assert error.code == "item_already_registered"
    assert str(error) == f"item 0x{ITEM.hex()} is already registered"


def test_enum_arguments_read_as_words_in_the_message_but_stay_numbers(
    decoder: ErrorDecoder,
) -> None:
    error = decoder.decode(_revert("ItemIsFlagged(bytes32,uint8)", ["bytes32", "uint8"], [ITEM, 2]))
    assert isinstance(error, errors.ItemIsFlagged)
    assert "stolen" in str(error)
    assert error.status == 2
    lacks = decoder.decode(
        _revert("AccountLacksRole(address,uint8)", ["address", "uint8"], [ACCOUNT, 9])
    )
    assert "merchant or brand" in str(lacks)
    assert lacks.account == ACCOUNT


def test_unknown_or_missing_revert_data_is_a_transaction_error(decoder: ErrorDecoder) -> None:
    assert isinstance(decoder.decode(b""), errors.TransactionError)
    assert isinstance(decoder.decode(b"\xde\xad\xbe\xef"), errors.TransactionError)
    panic = decoder.decode(_revert("Panic(uint256)", ["uint256"], [0x11]))
    assert isinstance(panic, errors.TransactionError)
    assert "0x11" in str(panic)


def test_truncated_revert_data_is_reported_not_raised(decoder: ErrorDecoder) -> None:
    data = _revert("ItemAlreadyRegistered(bytes32)", ["bytes32"], [ITEM])[:20]
    assert isinstance(decoder.decode(data), errors.TransactionError)


def test_revert_data_is_read_from_node_errors_and_eth_tester_failures() -> None:
    data = _revert("ItemIsRetired(bytes32)", ["bytes32"], [ITEM])
    assert revert_data(ContractCustomError("0x" + data.hex(), data="0x" + data.hex())) == data
    assert revert_data(ContractLogicError("reverted", data={"data": "0x" + data.hex()})) == data
    from eth_tester.exceptions import TransactionFailed

    assert revert_data(TransactionFailed(f"execution reverted: {data!r}")) == data
    assert revert_data(TransactionFailed("execution reverted: plain reason")) is None
    assert revert_data(ValueError("unrelated")) is None


def test_translate_maps_reverts_connections_and_leaves_the_rest(decoder: ErrorDecoder) -> None:
    data = _revert("ItemIsRetired(bytes32)", ["bytes32"], [ITEM])
    retired = translate_error(ContractCustomError("x", data="0x" + data.hex()), decoder)
    assert isinstance(retired, errors.ItemIsRetired)
    reason = _revert("Error(string)", ["string"], ["no way"])
    refused = translate_error(ContractLogicError("x", data="0x" + reason.hex()), decoder)
    assert isinstance(refused, errors.TransactionError)
    assert "no way" in str(refused)
    down = translate_error(requests.ConnectionError("refused"), decoder)
    assert isinstance(down, errors.ChainUnavailableError)
    assert translate_error(KeyError("bug"), decoder) is None


@pytest.mark.parametrize(
    "message",
    [
        "insufficient funds for gas * price + value: have 0 want 210000",  # geth, anvil
        "Insufficient funds for transfer",
    ],
)
def test_node_refusing_a_penniless_sender_is_insufficient_funds(
    message: str, decoder: ErrorDecoder
) -> None:
    error = translate_error(Web3RPCError(message, rpc_response={"error": {}}), decoder)
    assert isinstance(error, errors.InsufficientFunds)
    assert error.code == "insufficient_funds"
    assert message in str(error)
    other = translate_error(Web3RPCError("nonce too low", rpc_response={"error": {}}), decoder)
    assert type(other) is errors.TransactionError


def test_error_tree_groups_map_to_stable_codes() -> None:
    assert errors.InputError("x", field="owner").field == "owner"
    assert errors.InputError("x").code == "invalid_input"
    assert errors.ChainUnavailableError().code == "chain_unavailable"
    assert issubclass(errors.ItemNotRegistered, errors.NotFound)
    assert issubclass(errors.AccountNotActive, errors.AccessDenied)
    assert issubclass(errors.MissingHash, errors.InvalidArgument)
    assert all(issubclass(group, errors.LedgerError) for group in GROUPS)
