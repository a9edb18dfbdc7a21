#!/usr/bin/env python3
"""Write throughput of the HTTP gateway on anvil, against a plain web3.py loop, in one run.

Starts a throw-away anvil node and the gateway (uvicorn, in this process, sharing the node),
creates and vets ``--merchants`` merchant keys, then measures:

1. ``single``: ``--requests`` ``POST /items`` from ``--threads`` client threads, round-robin over
   the merchants (each merchant signs with its own account, so they send in parallel);
2. ``batch``: ``--batches`` ``POST /items/batch`` of ``--batch-size`` items, one client thread
   per merchant;
3. ``plain_web3_loop``: ``--plain`` registrations by a plain web3.py loop on the same node (build
   the transaction, sign it locally, send it, wait for its receipt, next), the way one would
   write it without this project.

Prints one JSON object: items/s and p50/p99 latency of each, and ``batch_vs_plain`` (batch
intake items/s over the plain loop's), which the target wants at least 10. Every request must
succeed (a lost or doubled nonce would show up as a failure); ``--strict`` also exits 1 when the
target is missed.

    .venv/bin/python scripts/bench_api.py                      # defaults below
    .venv/bin/python scripts/bench_api.py --requests 400 --threads 16 --merchants 4 --strict
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account.signers.local import LocalAccount
from web3 import Web3

from api.main import create_app
from api.settings import Settings
from ledger.chain import Connection, connect, dev_accounts
from ledger.client import ProvenanceClient
from ledger.deploy import load_deployment, passport_abi
from ledger.hashing import hash_document, item_id
from ledger.node import AnvilNode
from ledger.types import Role

TARGET_RATIO = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _latency(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "p50": round(_percentile(ms, 0.5), 1),
        "p99": round(_percentile(ms, 0.99), 1),
        "max": round(max(ms), 1),
    }


def _merchant(http: httpx.Client, admin: dict[str, str], n: int) -> dict[str, Any]:
    created = http.post("/keys", json={"role": "merchant", "name": f"bench {n}"}, headers=admin)
    created.raise_for_status()
    key: dict[str, Any] = created.json()
    vetted = http.post(
        "/merchants",
        json={"address": key["address"], "name": f"bench {n}", "credentials": {"bench": n}},
        headers=admin,
    )
    vetted.raise_for_status()
    return key


def _timed_pool(
    *, count: int, threads: int, url: str, call: Callable[[httpx.Client, int], httpx.Response]
) -> tuple[float, list[tuple[int, float, str]]]:
    """Run ``call(client, n)`` for n < count on ``threads`` threads, one client per thread."""
    local = threading.local()

    def one(n: int) -> tuple[int, float, str]:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=300)
        started = time.perf_counter()
        response = call(local.client, n)
        elapsed = time.perf_counter() - started
        return response.status_code, elapsed, "" if response.status_code < 300 else response.text

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(one, range(count)))
    return time.perf_counter() - started, results


def _failures(results: Sequence[tuple[int, float, str]], expected: int) -> list[str]:
    return [f"{status}: {text[:200]}" for status, _, text in results if status != expected]


def _plain_web3_loop(*, rpc_url: str, passport: str, account: LocalAccount, count: int) -> float:
    """items/s of register-and-wait, one at a time, with nothing but web3.py."""
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    contract = w3.eth.contract(address=Web3.to_checksum_address(passport), abi=passport_abi())
    run = uuid.uuid4().hex[:8]
    nonce = w3.eth.get_transaction_count(account.address)
    started = time.perf_counter()
    for n in range(count):
        serial = f"P-{run}-{n}"
        tx = contract.functions.register(
            item_id(brand="Bench", serial=serial),
            hash_document({"serial": serial}),
            "",
            account.address,
        ).build_transaction({"from": account.address, "nonce": nonce})
        signed = account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise RuntimeError(f"plain registration {n} reverted")
        nonce += 1
    return count / (time.perf_counter() - started)


def run(
    *,
    requests: int,
    threads: int,
    merchants: int,
    batches: int,
    batch_size: int,
    plain: int,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp, AnvilNode() as node:
        data_dir = Path(tmp)
        settings = Settings(
            chain=node.rpc_url, data_dir=data_dir, keystore_work_factor=2**10, port=_free_port()
        )
        connection: Connection = connect(target=node.rpc_url)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, connection=connection),
                host="127.0.0.1",
                port=settings.port,
                log_level="warning",
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the gateway failed to start")
            time.sleep(0.05)
        url = f"http://127.0.0.1:{settings.port}"
        try:
            admin = {"Authorization": f"Bearer {(data_dir / 'admin.key').read_text().strip()}"}
            with httpx.Client(base_url=url, timeout=300) as http:
                keys = [_merchant(http, admin, n) for n in range(merchants)]
            run_id = uuid.uuid4().hex[:8]

            def register(client: httpx.Client, n: int) -> httpx.Response:
                key = keys[n % len(keys)]
                serial = f"S-{run_id}-{n}"
                return client.post(
                    "/items",
                    json={"brand": "Bench", "serial": serial, "metadata": {"serial": serial}},
                    headers={"Authorization": f"Bearer {key['api_key']}"},
                )

            single_elapsed, single = _timed_pool(
                count=requests, threads=threads, url=url, call=register
            )

            def register_batch(client: httpx.Client, n: int) -> httpx.Response:
                key = keys[n % len(keys)]
                items = [
                    {"brand": "Bench", "serial": f"B-{run_id}-{n}-{i}", "metadata": {"i": i}}
                    for i in range(batch_size)
                ]
                return client.post(
                    "/items/batch",
                    json={"items": items},
                    headers={"Authorization": f"Bearer {key['api_key']}"},
                )

            batch_elapsed, batch = _timed_pool(
                count=batches, threads=len(keys), url=url, call=register_batch
            )

            # The plain loop signs as a development account vetted for it (not one the gateway
            # uses), on the same node, after the gateway's work is done.
            w3 = connection.w3
            deployment = load_deployment(path=next(data_dir.glob("deployment-*.json")))
            plain_account = dev_accounts(w3)[-2]
            ProvenanceClient(w3=w3, deployment=deployment, account=dev_accounts(w3)[0]).vet(
                account=plain_account.address,
                roles=Role.MERCHANT,
                credentials={"bench": "plain"},
                name="plain loop",
            )
            plain_rate = _plain_web3_loop(
                rpc_url=node.rpc_url,
                passport=deployment.passport,
                account=plain_account,
                count=plain,
            )
        finally:
            server.should_exit = True
            thread.join(timeout=60)
            connection.close()
    failures = _failures(single, 201) + _failures(batch, 201)
    batch_items = batches * batch_size
    batch_rate = batch_items / batch_elapsed
    ratio = batch_rate / plain_rate
    return {
        "chain": "anvil",
        "merchants": merchants,
        "single": {
            "requests": requests,
            "threads": threads,
            "items_per_s": round(requests / single_elapsed, 1),
            "latency_ms": _latency([s for _, s, _ in single]),
        },
        "batch": {
            "batches": batches,
            "batch_size": batch_size,
            "threads": len(keys),
            "items_per_s": round(batch_rate, 1),
            "latency_ms": _latency([s for _, s, _ in batch]),
        },
        "plain_web3_loop": {"items": plain, "items_per_s": round(plain_rate, 1)},
        "batch_vs_plain": round(ratio, 1),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
        "failures": failures[:5],
        "failure_count": len(failures),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="single POST /items")
    parser.add_argument("--threads", type=int, default=16, help="client threads for those")
    parser.add_argument("--merchants", type=int, default=4, help="merchant keys (accounts)")
    parser.add_argument("--batches", type=int, default=8, help="POST /items/batch requests")
    parser.add_argument("--batch-size", type=int, default=250, help="items per batch")
    parser.add_argument("--plain", type=int, default=100, help="plain web3.py registrations")
    parser.add_argument("--strict", action="store_true", help="exit 1 if the target is missed")
    args = parser.parse_args(argv)
    for name in ("requests", "threads", "merchants", "batches", "batch_size", "plain"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    result = run(
        requests=args.requests,
        threads=args.threads,
        merchants=args.merchants,
        batches=args.batches,
        batch_size=args.batch_size,
        plain=args.plain,
    )
    print(json.dumps(result, indent=2))
    if result["failure_count"]:
        return 1
    return 1 if args.strict and not result["meets_target"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
