"""The event indexer against a real anvil: reorgs at depths 1..5 and kill -9 crash recovery.

Reorgs are made two ways: ``evm_snapshot``/``evm_revert`` followed by a different branch (which
may be shorter or longer than the old one), and ``anvil_reorg`` (the same height, replaced
blocks). After each, the index must be byte-for-byte what a fresh rebuild gives
(`Indexer.fingerprint`).

The crash test runs the indexer as its own process (``python -m ledger.indexer --follow``) while
a writer keeps adding events, kills it with SIGKILL 20+ times at random moments of real work
(each kill waits for the index to move, then a random delay), and after every kill checks the
file: intact, and holding exactly the chain's logs up to its checkpoint (no gap, no duplicate).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3

from ledger.chain import dev_accounts
from ledger.client import NewItem, ProvenanceClient
from ledger.deploy import Deployment, deploy
from ledger.hashing import item_id
from ledger.index_store import IndexReader
from ledger.indexer import Indexer, contracts_of
from ledger.node import AnvilNode
from ledger.types import ItemStatus, Role
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.anvil

KILLS = 20


@dataclass
class Chain:
    w3: Web3
    url: str
    deployment: Deployment
    admin: LocalAccount
    merchant: LocalAccount
    holder: LocalAccount
    buyer: LocalAccount

    def client(self, account: LocalAccount | None) -> ProvenanceClient:
        # A fresh client per branch: its nonce counter must come from the chain after a revert.
        return ProvenanceClient(w3=self.w3, deployment=self.deployment, account=account)

    def rpc(self, method: str, *params: Any) -> Any:
        response = self.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        assert "error" not in response, response
        return response["result"]


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    with AnvilNode() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 30}))
        admin, merchant, holder, buyer = dev_accounts(w3)[:4]
        deployment = deploy(w3=w3, admin=admin)
        ProvenanceClient(w3=w3, deployment=deployment, account=admin).vet(
            account=merchant.address, roles=Role.MERCHANT, credentials={"k": 1}, name="Merchant"
        )
        yield Chain(w3, node.rpc_url, deployment, admin, merchant, holder, buyer)


@pytest.fixture
def fresh_chain(chain: Chain) -> Iterator[Chain]:
    """The module's chain, put back as it was after the test."""
    snapshot = chain.rpc("evm_snapshot")
    yield chain
    assert chain.rpc("evm_revert", snapshot) is True


def make_indexer(chain: Chain, path: Path, **options: Any) -> Indexer:
    return Indexer(
        w3=chain.w3,
        contracts=contracts_of(chain.deployment),
        db_path=path,
        start_block=chain.deployment.block_number,
        **options,
    )


def rebuilt_fingerprint(chain: Chain, path: Path) -> str:
    with make_indexer(chain, path) as fresh:
        fresh.poll_once()
        return fresh.fingerprint()


# ---------------------------------------------------------------------- reorgs


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_snapshot_revert_reorg_equals_a_rebuild(
    depth: int, fresh_chain: Chain, tmp_path: Path
) -> None:
    chain = fresh_chain
    merchant = chain.client(chain.merchant)
    item = merchant.register(
        brand="Anvil", serial="X", metadata={}, owner=chain.holder.address
    ).item_id
    with make_indexer(chain, tmp_path / "index.db") as indexer:
        indexer.poll_once()
        fork = chain.rpc("evm_snapshot")
        chain.client(chain.holder).transfer(item_id=item, to=chain.buyer.address, sale_ref="old")
        old = chain.client(chain.merchant)
        for n in range(depth - 1):
            old.register(brand="Anvil", serial=f"OLD-{n}", metadata={"n": n})
            if n % 2:
                indexer.poll_once()  # some polls in the middle of the old branch too
        indexer.poll_once()
        assert chain.rpc("evm_revert", fork) is True

        new_length = depth - 1 if depth % 2 else depth + 1
        if new_length:
            chain.client(chain.holder).flag(item_id=item, status=ItemStatus.LOST, report={"new": 1})
        new = chain.client(chain.merchant)
        for n in range(new_length - 1):
            new.register(brand="Anvil", serial=f"NEW-{n}", metadata={"n": n})
        indexer.poll_once()
        assert indexer.indexed_block == chain.w3.eth.block_number
        assert indexer.fingerprint() == rebuilt_fingerprint(chain, tmp_path / "fresh.db")
    with IndexReader(tmp_path / "index.db") as reader:
        row = reader.item(item)
        assert row is not None and row["owner"] == chain.holder.address
        assert row["status"] == ("lost" if new_length else "active")
        assert reader.item(item_id(brand="Anvil", serial="OLD-0")) is None
        assert reader.history(item) == [e.to_json() for e in chain.client(None).history(item)]


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_anvil_reorg_equals_a_rebuild(depth: int, fresh_chain: Chain, tmp_path: Path) -> None:
    chain = fresh_chain
    merchant = chain.client(chain.merchant)
    ids = []
    for n in range(depth):
        ids.append(merchant.register(brand="Anvil", serial=f"R-{n}", metadata={"n": n}).item_id)
    with make_indexer(chain, tmp_path / "index.db") as indexer:
        indexer.poll_once()
        head = chain.w3.eth.block_number
        # Replace the last `depth` blocks (all those registrations) with one other transaction.
        call = merchant.passport.functions.register(
            item_id(brand="Anvil", serial=f"REORG-{depth}"), b"\x01" * 32, "", chain.holder.address
        )
        request = {
            "from": chain.merchant.address,
            "to": chain.deployment.passport,
            "data": call._encode_transaction_data(),
            "gas": 300_000,
        }
        chain.rpc("anvil_reorg", depth, [[request, 0]])
        assert chain.w3.eth.block_number == head
        indexer.poll_once()
        assert indexer.fingerprint() == rebuilt_fingerprint(chain, tmp_path / "fresh.db")
    with IndexReader(tmp_path / "index.db") as reader:
        assert all(reader.item(i) is None for i in ids)
        assert reader.item(item_id(brand="Anvil", serial=f"REORG-{depth}")) is not None


# ---------------------------------------------------------------------- kill -9


class Writer(threading.Thread):
    """Keeps registering small batches and selling items until stopped."""

    def __init__(self, chain: Chain) -> None:
        super().__init__(daemon=True)
        self.chain = chain
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.batches = 0

    def run(self) -> None:
        merchant = self.chain.client(self.chain.merchant)
        holder = self.chain.client(self.chain.holder)
        n = 0
        try:
            while not self.stop.is_set():
                result = merchant.register_batch(
                    items=[
                        NewItem(brand="Crash", serial=f"C-{n}-{k}", metadata={"k": k})
                        for k in range(8)
                    ],
                    owner=self.chain.holder.address,
                )
                holder.transfer(
                    item_id=result.registered[0].item_id, to=self.chain.buyer.address,
                    sale_ref={"n": n},
                )  # fmt: skip
                n += 1
                self.batches = n
                time.sleep(0.05)
        except BaseException as exc:  # surfaced by the test
            self.error = exc


def indexer_args(chain: Chain, db: Path, *extra: str) -> list[str]:
    return [
        "--rpc", chain.url, "--db", str(db),
        "--contracts", json.dumps(contracts_of(chain.deployment)),
        "--start-block", str(chain.deployment.block_number),
        "--chunk", "3", "--interval", "0.05", *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def forkserver() -> Any:
    """Processes forked from a server that has already imported ``ledger.indexer``.

    Importing web3 costs a second or more of CPU per process; forking from a warm, single-
    threaded server makes each of the many restarts start at once, and each is still a separate
    process killed with SIGKILL.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ledger.indexer"])
    return context


def read_checkpoint(db: Path) -> int | None:
    if not db.exists():
        return None
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT block_number FROM checkpoint").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError:  # tables not created yet
        return None
    return int(row[0]) if row is not None else None


class ChainLogs:
    """The deployment's logs as the node reports them, fetched incrementally (raw JSON-RPC)."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.fetched = chain.deployment.block_number - 1
        self.logs: list[tuple[str, int, int]] = []
        self.registered: set[tuple[str, int, int]] = set()
        self.registered_topic = HexBytes(
            chain.client(None).passport.events.ItemRegistered.topic
        ).to_0x_hex()

    def upto(self, block: int) -> list[tuple[str, int, int]]:
        if block > self.fetched:
            found = self.chain.rpc(
                "eth_getLogs",
                {
                    "address": list(contracts_of(self.chain.deployment).values()),
                    "fromBlock": hex(self.fetched + 1),
                    "toBlock": hex(block),
                },
            )
            for entry in found:
                key = (entry["transactionHash"], int(entry["logIndex"], 16),
                       int(entry["blockNumber"], 16))  # fmt: skip
                self.logs.append(key)
                if entry["topics"][0] == self.registered_topic:
                    self.registered.add(key)
            self.fetched = block
        return sorted(entry for entry in self.logs if entry[2] <= block)


def assert_exactly_the_chain(chain: Chain, logs: ChainLogs, db: Path) -> int:
    """The file is intact and holds every log up to its checkpoint, once. Returns the checkpoint."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        conn.execute("BEGIN")  # one snapshot for the three reads
        checkpoint = conn.execute("SELECT block_number, block_hash FROM checkpoint").fetchone()
        rows = conn.execute("SELECT tx_hash, log_index, block_number FROM events").fetchall()
        items = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        conn.execute("COMMIT")
    finally:
        conn.close()
    if checkpoint is None:
        assert rows == []
        return chain.deployment.block_number - 1
    number, block_hash = checkpoint
    assert chain.w3.eth.get_block(number)["hash"].to_0x_hex() == block_hash
    expected = logs.upto(number)
    assert len(rows) == len(set(rows)), "duplicate events"
    assert sorted(rows) == expected, "the index differs from the chain up to its checkpoint"
    registrations = sum(1 for entry in expected if entry in logs.registered)
    assert items == registrations, "the derived rows did not commit with their events"
    return int(number)


def test_kill_9_at_random_points_never_loses_or_repeats_an_event(
    fresh_chain: Chain, tmp_path: Path, forkserver: Any
) -> None:
    chain = fresh_chain
    db = tmp_path / "index.db"
    logs = ChainLogs(chain)
    rng = random.Random(int(os.environ.get("INDEXER_CRASH_SEED", "7")))
    writer = Writer(chain)
    writer.start()
    positions: list[int] = []
    try:
        for _ in range(KILLS):
            before = read_checkpoint(db)
            process = forkserver.Process(
                target=indexer_main, args=(indexer_args(chain, db, "--follow"),)
            )
            process.start()
            deadline = time.monotonic() + 30
            # Wait until this process is doing real work (the checkpoint moved), then strike at
            # a random moment of it: between chunks, inside a fetch, inside a commit.
            while read_checkpoint(db) == before:
                assert process.is_alive(), f"the indexer exited with {process.exitcode}"
                assert time.monotonic() < deadline, "the indexer made no progress"
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.2))
            process.kill()
            process.join(timeout=10)
            assert process.exitcode == -signal.SIGKILL
            positions.append(assert_exactly_the_chain(chain, logs, db))
            assert writer.error is None, writer.error
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None, writer.error
    assert positions == sorted(positions) and len(set(positions)) == KILLS

    # A clean run of the real command line catches up to the head and exits; the result is a
    # rebuild's twin.
    finisher = subprocess.run(
        [sys.executable, "-m", "ledger.indexer", *indexer_args(chain, db)],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert finisher.returncode == 0, finisher.stderr.decode()
    summary = json.loads(finisher.stdout)
    assert summary["indexed_block"] == chain.w3.eth.block_number
    assert_exactly_the_chain(chain, logs, db)
    assert summary["fingerprint"] == rebuilt_fingerprint(chain, tmp_path / "fresh.db")
    assert summary["events"] > 20 * KILLS


def indexer_main(argv: list[str]) -> None:
    """The child's body: the module's own entry point, as ``python -m ledger.indexer`` runs it."""
    from ledger.indexer import main

    sys.exit(main(argv))
