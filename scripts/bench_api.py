#!/usr/bin/env python3
"""Throughput and latency of the HTTP gateway under concurrent registrations.

Starts a throw-away anvil node and the gateway (uvicorn, in this process), creates and vets
``--merchants`` merchant keys, then sends ``--requests`` ``POST /items`` from ``--threads``
client threads, round-robin over the merchants, and prints throughput and latency percentiles.

    .venv/bin/python scripts/bench_api.py --requests 400 --threads 16 --merchants 4

Every request must come back 201; the run fails otherwise (a lost or doubled nonce would show
up here as an error).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.main import create_app
from api.settings import Settings
from ledger.node import AnvilNode


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


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


def run(*, requests: int, threads: int, merchants: int) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp, AnvilNode() as node:
        data_dir = Path(tmp)
        settings = Settings(chain=node.rpc_url, data_dir=data_dir, keystore_work_factor=2**10)
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                print("the gateway failed to start", file=sys.stderr)
                return 1
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        try:
            admin = {"Authorization": f"Bearer {(data_dir / 'admin.key').read_text().strip()}"}
            with httpx.Client(base_url=url, timeout=120) as http:
                keys = [_merchant(http, admin, n) for n in range(merchants)]
            run_id = uuid.uuid4().hex[:8]
            local = threading.local()

            def register(n: int) -> tuple[int, float]:
                if not hasattr(local, "client"):
                    local.client = httpx.Client(base_url=url, timeout=120)
                key = keys[n % len(keys)]
                serial = f"B-{run_id}-{n}"
                started = time.perf_counter()
                response = local.client.post(
                    "/items",
                    json={"brand": "Bench", "serial": serial, "metadata": {"serial": serial}},
                    headers={"Authorization": f"Bearer {key['api_key']}"},
                )
                return response.status_code, time.perf_counter() - started

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=threads) as pool:
                results = list(pool.map(register, range(requests)))
            elapsed = time.perf_counter() - started
        finally:
            server.should_exit = True
            thread.join(timeout=60)
    failures = sum(1 for status, _ in results if status != 201)
    latencies = [seconds * 1000 for _, seconds in results]
    print(f"{requests} POST /items, {threads} threads, {merchants} merchant accounts (anvil)")
    print(f"  throughput  {requests / elapsed:8.1f} req/s   ({elapsed:.1f} s)")
    print(
        f"  latency ms  p50 {statistics.median(latencies):.0f}  p90 "
        f"{_percentile(latencies, 0.9):.0f}  p99 {_percentile(latencies, 0.99):.0f}  "
        f"max {max(latencies):.0f}"
    )
    print(f"  failures    {failures}")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--merchants", type=int, default=2)
    args = parser.parse_args(argv)
    return run(requests=args.requests, threads=args.threads, merchants=args.merchants)


if __name__ == "__main__":
    raise SystemExit(main())
