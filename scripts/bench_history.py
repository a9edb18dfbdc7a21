"""Benchmark the event index: catch-up speed, history-read latency and memory, against logs.

Prints one JSON object. Two parts:

* **index** (always): a synthetic chain of ``--events`` passport events over ``--items`` items
  (registrations, sales, metadata updates, inspections, services, flags) is fed, chunk by chunk,
  through `Indexer.ingest`, the same function the poller calls with a node's logs, so the ABI
  decoding, the SQLite writes, the derived rows and the checkpoint are all the real code path;
  only ``eth_getLogs`` is skipped. Then random item histories are read through `IndexReader`:
  ``history`` (JSON rows), and ``item_state`` / ``item_history`` (the `ledger.types` objects
  that ``GET /items/{id}`` and ``GET /items/{id}/history`` serve).
  Targets: catch-up >= 10,000 events/s, history p99 <= 10 ms, peak RSS <= 300 MB.
* **api** (unless ``--no-api``): ``GET /items/{id}`` and ``/items/{id}/history`` through the
  gateway on the embedded chain, served from the index (each request catching it up first) and
  from the chain (index switched off).
* **node** (unless ``--no-anvil``): a real anvil holding ``--anvil-items`` batch-registered items
  and ``--anvil-transfers`` sales; the same history read done the direct way
  (`ledger.history.item_history`: three ``eth_getLogs`` filters plus block fetches), and the same
  chain indexed by the real poller (`Indexer.poll_once` over JSON-RPC) for comparison.

    .venv/bin/python scripts/bench_history.py                      # 1,000,000 events, 100,000 items
    .venv/bin/python scripts/bench_history.py --events 20000 --items 2000 --no-anvil
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from eth_utils import event_abi_to_log_topic, to_checksum_address
from web3 import Web3
from web3.types import Nonce, TxParams

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from ledger.artifacts import load_artifact  # noqa: E402
from ledger.index_store import BlockRef, IndexReader  # noqa: E402
from ledger.indexer import Indexer, RawLog  # noqa: E402

TARGETS = {"events_per_second": 10_000, "history_p99_ms": 10.0, "max_rss_mb": 300.0}
EVENTS_PER_BLOCK = 40
BLOCKS_PER_CHUNK = 500
"""Blocks per committed chunk: 20,000 events, what one 2,000-block poller chunk holds on a chain
with ten of our events per block. Bigger commits amortise the random index-page writes."""
SYNTHETIC_CHAIN_ID = 31337
PASSPORT = to_checksum_address("0x" + "5a" * 20)
ZERO_WORD = "0" * 64


def _topics() -> dict[str, str]:
    abi = load_artifact("ItemPassport")["abi"]
    return {
        entry["name"]: "0x" + event_abi_to_log_topic(entry).hex()
        for entry in abi
        if entry.get("type") == "event"
    }


def _word_int(value: int) -> str:
    return f"{value:064x}"


def _word_address(address: str) -> str:
    return "0" * 24 + address[2:].lower()


def _word_string(text: str) -> str:
    raw = text.encode()
    padded = raw.hex().ljust(((len(raw) + 31) // 32) * 64, "0")
    return _word_int(len(raw)) + padded


@dataclass
class _Synthetic:
    """A deterministic stream of passport logs; item states are tracked so events make sense."""

    events: int
    items: int
    seed: int = 1

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.topic = _topics()
        self.merchants = [self._address() for _ in range(20)]
        self.people = [self._address() for _ in range(2_000)]
        self.item_ids: list[str] = []
        self.owners: list[str] = []
        self.vetted = False

    def _address(self) -> str:
        return "0x" + self.rng.randbytes(20).hex()

    def _hash(self) -> str:
        return self.rng.randbytes(32).hex()

    def _tx(self) -> list[tuple[list[str], str]]:
        """One transaction's logs as (topics, data) pairs."""
        rng = self.rng
        if not self.vetted:  # the merchants are vetted first, as on a real chain
            self.vetted = True
            by = "0x" + _word_address(self._address())
            name = _word_string("Bench merchant")
            return [
                (
                    [self.topic["AccountVetted"], "0x" + _word_address(m), "0x" + _word_int(n), by],
                    _word_int(1) + self._hash() + _word_int(128) + self._hash() + name,
                )
                for n, m in enumerate(self.merchants, start=1)
            ]
        remaining_items = self.items - len(self.item_ids)
        # Registrations spread over the first ~60% of the stream, so later events have targets.
        if remaining_items > 0 and (
            not self.item_ids or rng.random() < remaining_items / max(1.0, self.budget * 0.3)
        ):
            item = self._hash()
            merchant = rng.choice(self.merchants)
            owner = rng.choice(self.people)
            self.item_ids.append(item)
            self.owners.append(owner)
            t = self.topic
            return [
                ([t["Transfer"], "0x" + ZERO_WORD, "0x" + _word_address(owner), "0x" + item], ""),
                (
                    [t["ItemRegistered"], "0x" + item, "0x" + _word_address(merchant)],
                    self._hash() + _word_int(int(rng.random() < 0.1)),
                ),
            ]
        n = rng.randrange(len(self.item_ids))
        item, owner = "0x" + self.item_ids[n], self.owners[n]
        t = self.topic
        roll = rng.random()
        if roll < 0.35:  # a sale with a reference
            buyer = rng.choice(self.people)
            self.owners[n] = buyer
            frm, to = "0x" + _word_address(owner), "0x" + _word_address(buyer)
            return [
                ([t["Transfer"], frm, to, item], ""),
                ([t["SaleRecorded"], item, frm, to], self._hash()),
            ]
        by = "0x" + _word_address(rng.choice(self.merchants))
        if roll < 0.5:
            uri = f"ipfs://bafy{self._hash()[:40]}"
            return [
                ([t["MetadataUpdated"], item, by], self._hash() + _word_int(64) + _word_string(uri))
            ]
        if roll < 0.7:
            return [
                (
                    [t["ItemAuthenticated"], item, by],
                    _word_int(rng.randrange(1, 4)) + _word_int(rng.randrange(8)) + self._hash(),
                )
            ]
        if roll < 0.85:
            return [([t["ItemServiced"], item, by], _word_int(rng.randrange(4)) + self._hash())]
        holder = "0x" + _word_address(owner)
        status = rng.randrange(1, 3)
        return [
            ([t["ItemFlagged"], item, holder], _word_int(status) + self._hash()),
            ([t["FlagCleared"], item, holder], _word_int(status) + self._hash()),
        ]

    def chunks(
        self, blocks_per_chunk: int = BLOCKS_PER_CHUNK
    ) -> Iterator[tuple[list[RawLog], dict[int, BlockRef], BlockRef]]:
        """Chunks of ``blocks_per_chunk`` blocks, as the poller would hand them to `ingest`."""
        self.budget = self.events
        emitted, number, parent = 0, 0, "0x" + ZERO_WORD
        timestamp = 1_700_000_000
        while emitted < self.events or len(self.item_ids) < self.items:
            logs: list[RawLog] = []
            blocks: dict[int, BlockRef] = {}
            for _ in range(blocks_per_chunk):
                number += 1
                timestamp += 12
                block = BlockRef(number, "0x" + self._hash(), timestamp, parent)
                parent = block.hash
                blocks[number] = block
                log_index = 0
                tx_index = 0
                while log_index < EVENTS_PER_BLOCK and (
                    emitted < self.events or len(self.item_ids) < self.items
                ):
                    tx_hash = "0x" + self._hash()
                    for topics, data in self._tx():
                        logs.append(
                            RawLog(
                                number,
                                block.hash,
                                tx_index,
                                tx_hash,
                                log_index,
                                PASSPORT,
                                tuple(topics),
                                "0x" + data,
                            )
                        )
                        log_index += 1
                        emitted += 1
                    tx_index += 1
                    self.budget = max(1, self.events - emitted)
                if emitted >= self.events and len(self.item_ids) >= self.items:
                    break
            yield logs, blocks, blocks[number]


def _percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _latencies(read: Any, ids: Sequence[Any]) -> dict[str, float]:
    """Wall-clock percentiles, and CPU-time ones (what the read costs on an idle machine)."""
    wall, cpu = [], []
    for item in ids:
        started, started_cpu = time.perf_counter(), time.thread_time()
        read(item)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return {
        "reads": len(wall),
        "p50_ms": round(statistics.median(wall), 3),
        "p99_ms": round(_percentile(wall, 0.99), 3),
        "max_ms": round(max(wall), 3),
        "cpu_p50_ms": round(statistics.median(cpu), 3),
        "cpu_p99_ms": round(_percentile(cpu, 0.99), 3),
    }


def bench_index(
    *,
    events: int,
    items: int,
    reads: int,
    workdir: Path,
    blocks_per_chunk: int = BLOCKS_PER_CHUNK,
) -> dict[str, Any]:
    db = workdir / "index.db"
    synthetic = _Synthetic(events=events, items=items)
    indexer = Indexer(
        w3=Web3(), contracts={"passport": PASSPORT}, db_path=db, chain_id=SYNTHETIC_CHAIN_ID,
        start_block=1,
    )  # fmt: skip
    ingest_seconds = ingest_cpu = 0.0
    stored = 0
    started = time.perf_counter()
    for logs, blocks, tip in synthetic.chunks(blocks_per_chunk):
        t0, c0 = time.perf_counter(), time.process_time()
        stored += indexer.ingest(logs, blocks=blocks, tip=tip)
        ingest_seconds += time.perf_counter() - t0
        ingest_cpu += time.process_time() - c0
    wall = time.perf_counter() - started
    counts = indexer.store.counts()
    indexer.close()
    rng = random.Random(2)
    sample = ["0x" + rng.choice(synthetic.item_ids) for _ in range(reads)]
    with IndexReader(db) as reader:
        reader.history(sample[0])  # open the connection outside the timing
        history = _latencies(reader.history, sample)
        lengths = [len(reader.history(i)) for i in sample[:200]]
        item_read = _latencies(reader.item, sample[: min(reads, 1000)])
        # What GET /items/{id} and /items/{id}/history serve: ledger.types objects.
        assert reader.item_state(sample[0]) is not None
        item_state_read = _latencies(reader.item_state, sample[: min(reads, 1000)])
        history_events_read = _latencies(reader.item_history, sample)
    return {
        "events": stored,
        "items": counts["items"],
        "blocks": indexer.indexed_block,
        "events_per_block": EVENTS_PER_BLOCK,
        "blocks_per_commit": blocks_per_chunk,
        "db_mb": round(sum(p.stat().st_size for p in workdir.glob("index.db*")) / 2**20, 1),
        "catch_up": {
            "ingest_seconds": round(ingest_seconds, 2),
            "events_per_second": round(stored / ingest_seconds),
            "ingest_cpu_seconds": round(ingest_cpu, 2),
            "events_per_cpu_second": round(stored / ingest_cpu),
            "wall_seconds_incl_synthesis": round(wall, 2),
        },
        "history_read": {**history, "mean_events_per_history": round(statistics.mean(lengths), 1)},
        "item_read": item_read,
        "item_state_read": item_state_read,
        "item_history_read": history_events_read,
        "max_rss_mb": round(_rss_mb(), 1),
    }


def bench_node(*, items: int, transfers: int, reads: int, workdir: Path) -> dict[str, Any]:
    from ledger.chain import dev_accounts
    from ledger.client import NewItem, ProvenanceClient
    from ledger.deploy import deploy
    from ledger.hashing import hash_document
    from ledger.history import item_history
    from ledger.node import AnvilNode
    from ledger.types import Role

    with AnvilNode() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 60}))
        keys = dev_accounts(w3)
        admin, merchant, holder, buyer = keys[0], keys[1], keys[2], keys[3]
        deployment = deploy(w3=w3, admin=admin)
        ProvenanceClient(w3=w3, deployment=deployment, account=admin).vet(
            account=merchant.address, roles=Role.MERCHANT, credentials={"b": 1}, name="Bench"
        )
        client = ProvenanceClient(w3=w3, deployment=deployment, account=merchant)
        started = time.perf_counter()
        result = client.register_batch(
            items=[
                NewItem(brand="Bench", serial=f"S-{n}", metadata={"n": n}) for n in range(items)
            ],
            owner=holder.address,
            chunk_size=250,
        )
        ids = [r.item_id for r in result.registered]
        # Sales sent back to back (signed here, nonces counted here), then one wait: the client
        # waits for each receipt, which would make filling the node the slowest part by far.
        nonce = w3.eth.get_transaction_count(holder.address)
        sent = []
        for n in range(min(transfers, len(ids))):
            params: TxParams = {
                "from": holder.address,
                "nonce": Nonce(nonce + n),
                "gas": 200_000,
                "chainId": int(w3.eth.chain_id),
            }
            unsigned = client.passport.functions.transferWithReference(
                holder.address, buyer.address, ids[n], hash_document({"order": n})
            ).build_transaction(params)
            signed = holder.sign_transaction(cast(Any, unsigned))
            sent.append(w3.eth.send_raw_transaction(signed.raw_transaction))
        for tx_hash in sent[-1:]:
            assert w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)["status"] == 1
        transfers = len(sent)
        fill_seconds = time.perf_counter() - started
        head = w3.eth.block_number
        rng = random.Random(3)
        sample = [rng.choice(ids) for _ in range(reads)]
        cache: dict[str, int] = {}
        direct = _latencies(
            lambda i: item_history(
                w3=w3, passport=client.passport, item_id=i, from_block=deployment.block_number
            ),
            sample,
        )
        cached = _latencies(
            lambda i: item_history(
                w3=w3, passport=client.passport, item_id=i, from_block=deployment.block_number,
                block_timestamps=cache,
            ),
            sample,
        )  # fmt: skip
        db = workdir / "node-index.db"
        with Indexer(
            w3=w3, contracts={"passport": deployment.passport}, db_path=db,
            start_block=deployment.block_number,
        ) as indexer:  # fmt: skip
            t0 = time.perf_counter()
            indexed = indexer.poll_once()
            poll_seconds = time.perf_counter() - t0
        with IndexReader(db) as reader:
            reader.history(sample[0])
            indexed_read = _latencies(reader.history, sample)
            same = all(
                reader.history(i) == [e.to_json() for e in client.history(i)] for i in sample[:20]
            )
    return {
        "anvil_items": len(ids),
        "anvil_transfers": transfers,
        "anvil_events": indexed,
        "anvil_blocks": head,
        "fill_seconds": round(fill_seconds, 1),
        "history_via_eth_getLogs": direct,
        "history_via_eth_getLogs_cached_timestamps": cached,
        "history_via_index": indexed_read,
        "poller_catch_up": {
            "events": indexed,
            "seconds": round(poll_seconds, 2),
            "events_per_second": round(indexed / poll_seconds) if poll_seconds else None,
        },
        "index_matches_getLogs_history": same,
    }


def bench_api(*, items: int, reads: int, workdir: Path) -> dict[str, Any]:
    """``GET /items/{id}`` and ``GET /items/{id}/history`` through the gateway on the embedded
    chain (eth-tester), served from the index and, with the index switched off, from the chain.
    Each index-served request includes its catch-up poll (the freshness check)."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings
    from ledger.chain import dev_accounts
    from ledger.client import ProvenanceClient
    from ledger.types import ConditionGrade, Role, ServiceKind, Verdict

    settings = Settings(chain="embedded", data_dir=workdir / "gateway", keystore_work_factor=2**10)
    with TestClient(create_app(settings)) as http:
        gateway = http.app.state.gateway  # type: ignore[attr-defined]
        w3, deployment = gateway.connection.w3, gateway.deployment
        admin, merchant, lab, holder = dev_accounts(w3)[:4]
        platform = ProvenanceClient(w3=w3, deployment=deployment, account=admin)
        platform.vet(account=merchant.address, roles=Role.MERCHANT, credentials={"m": 1}, name="M")
        platform.vet(account=lab.address, roles=Role.AUTHENTICATOR, credentials={"a": 1}, name="A")
        seller = ProvenanceClient(w3=w3, deployment=deployment, account=merchant)
        inspector = ProvenanceClient(w3=w3, deployment=deployment, account=lab)
        ids = []
        for n in range(items):
            item = seller.register(brand="Bench", serial=f"API-{n}", metadata={"n": n}).item_id
            inspector.authenticate(
                item_id=item,
                verdict=Verdict.AUTHENTIC,
                grade=ConditionGrade.GOOD,
                evidence={"n": n},
            )
            seller.record_service(item_id=item, kind=ServiceKind.REPAIR, evidence={"n": n})
            seller.transfer(item_id=item, to=holder.address, sale_ref={"n": n})
            ids.append("0x" + bytes(item).hex())
        rng = random.Random(4)
        sample = [rng.choice(ids) for _ in range(reads)]

        def get(path: str) -> None:
            response = http.get(path)
            assert response.status_code == 200, response.text

        results: dict[str, Any] = {"items": items, "blocks": int(w3.eth.block_number)}
        for source in ("index", "chain"):
            index_reader = gateway.index_reader
            if source == "chain":
                gateway.index_reader = None
            try:
                get(f"/items/{sample[0]}/history")  # warm up
                results[f"item_via_{source}"] = _latencies(lambda i: get(f"/items/{i}"), sample)
                results[f"history_via_{source}"] = _latencies(
                    lambda i: get(f"/items/{i}/history"), sample
                )
            finally:
                gateway.index_reader = index_reader
    return results


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        workdir = Path(tmp)
        index = bench_index(events=args.events, items=args.items, reads=args.reads, workdir=workdir)
        node = (
            None
            if args.no_anvil
            else bench_node(
                items=args.anvil_items,
                transfers=args.anvil_transfers,
                reads=args.anvil_reads,
                workdir=workdir,
            )
        )
        api = (
            None
            if args.no_api
            else bench_api(items=args.api_items, reads=args.api_reads, workdir=workdir)
        )
    report = {
        "synthetic_index": index,
        "node_comparison": node,
        "api_on_eth_tester": api,
        "targets": TARGETS,
        "meets_targets": {
            "events_per_second": index["catch_up"]["events_per_second"]
            >= TARGETS["events_per_second"],
            "history_p99_ms": index["history_read"]["p99_ms"] <= TARGETS["history_p99_ms"],
            "max_rss_mb": _rss_mb() <= TARGETS["max_rss_mb"],
        },
        "max_rss_mb": round(_rss_mb(), 1),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=2_000, help="history reads to time")
    parser.add_argument(
        "--chunk-blocks", type=int, default=BLOCKS_PER_CHUNK, help="synthetic blocks per commit"
    )
    parser.add_argument("--no-anvil", action="store_true", help="skip the node comparison")
    parser.add_argument("--anvil-items", type=int, default=5_000)
    parser.add_argument("--anvil-transfers", type=int, default=1_000)
    parser.add_argument("--anvil-reads", type=int, default=200)
    parser.add_argument("--no-api", action="store_true", help="skip the gateway comparison")
    parser.add_argument("--api-items", type=int, default=20)
    parser.add_argument("--api-reads", type=int, default=20)
    args = parser.parse_args(argv)
    if args.items < 1 or args.events < 2 * args.items:
        parser.error("--events must be at least twice --items (each registration is 2 events)")
    report = run(args)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
