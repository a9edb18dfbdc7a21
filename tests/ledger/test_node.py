"""Tests of ``ledger.node`` against a real anvil.

The point of ``AnvilNode`` is a chain that survives restarts, so the central test restarts one and
looks for what it wrote before. They need the anvil binary that ``make install`` brings from npm.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from web3 import Web3

from ledger.node import (
    ANVIL_ENV_VAR,
    AnvilError,
    AnvilNode,
    AnvilNotFoundError,
    attach_or_start,
    find_anvil,
    rpc_chain_id,
)

pytestmark = pytest.mark.anvil

ONE_ETHER = 10**18


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "chain" / "state.json"  # parent missing on purpose: anvil won't create it
    with AnvilNode(state_path=state) as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        sender, recipient = w3.eth.accounts[:2]
        before = w3.eth.get_balance(recipient)
        tx = w3.eth.send_transaction({"from": sender, "to": recipient, "value": ONE_ETHER})
        receipt = w3.eth.wait_for_transaction_receipt(tx)
        height = w3.eth.block_number
        assert height >= 1
    assert not node.running
    assert state.is_file()

    with AnvilNode(state_path=state) as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        assert w3.eth.block_number == height
        assert w3.eth.get_balance(recipient) == before + ONE_ETHER
        assert w3.eth.get_transaction_count(sender) == 1
        assert w3.eth.get_transaction_receipt(tx)["blockNumber"] == receipt["blockNumber"]


def test_without_state_a_restart_starts_from_genesis() -> None:
    with AnvilNode(chain_id=1337) as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        assert w3.eth.chain_id == 1337
        assert len(w3.eth.accounts) == 10
        sender, recipient = w3.eth.accounts[:2]
        tx = w3.eth.send_transaction({"from": sender, "to": recipient, "value": 1})
        # Automine answers the send before the block is visible to every reader, so wait for it.
        w3.eth.wait_for_transaction_receipt(tx)
        assert w3.eth.block_number == 1
    with AnvilNode() as node:
        assert Web3(Web3.HTTPProvider(node.rpc_url)).eth.block_number == 0


def test_attach_or_start_attaches_to_a_running_node_and_leaves_it_running() -> None:
    with AnvilNode() as owner:
        attached = attach_or_start(url=owner.rpc_url)
        assert not attached.owned
        assert attached.rpc_url == owner.rpc_url
        attached.stop()
        assert rpc_chain_id(owner.rpc_url) == 31337


def test_attach_or_start_starts_a_node_when_nothing_answers(tmp_path: Path) -> None:
    with AnvilNode() as probe:
        url = probe.rpc_url  # a port that was free a moment ago and is free again after this
    node = attach_or_start(url=url, state_path=tmp_path / "state.json")
    try:
        assert node.owned
        assert rpc_chain_id(url) == 31337
    finally:
        node.stop()
    assert rpc_chain_id(url) is None
    assert (tmp_path / "state.json").is_file()


def test_interval_mining_produces_blocks_without_transactions() -> None:
    with AnvilNode(block_time=0.2) as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        start = w3.eth.block_number
        time.sleep(1.0)
        assert w3.eth.block_number >= start + 2


def test_a_start_up_failure_shows_anvils_own_error(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"block": ')  # what a crash in the middle of a dump could leave
    with pytest.raises(AnvilError, match="failed to parse json file"):
        AnvilNode(state_path=state, startup_timeout=10).start()


def test_find_anvil_honours_the_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = find_anvil()
    assert os.access(real, os.X_OK)
    monkeypatch.setenv(ANVIL_ENV_VAR, str(real))
    assert find_anvil() == real
    monkeypatch.setenv(ANVIL_ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(AnvilNotFoundError, match=ANVIL_ENV_VAR):
        find_anvil()
