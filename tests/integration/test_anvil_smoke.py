"""Smoke tests against a real anvil node: the library, the CLI and ``make run``'s script.

They need the anvil binary that ``make install`` brings from npm (or ``$PROVENANCE_ANVIL``).
Every node here listens on a free port, so they run beside a developer's own anvil and in
parallel with each other.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ledger.chain import connect, dev_accounts
from ledger.cli import app
from ledger.client import ProvenanceClient
from ledger.config import deployment_path
from ledger.deploy import deploy, save_deployment
from ledger.hashing import hash_document
from ledger.node import AnvilNode
from ledger.types import Role

pytestmark = pytest.mark.anvil

CLEAN_ENV: dict[str, str | None] = {
    name: None
    for name in (
        "PROVENANCE_CHAIN",
        "PROVENANCE_DATA_DIR",
        "PROVENANCE_KEY_FILE",
        "PROVENANCE_PRIVATE_KEY",
        "PROVENANCE_ACCOUNT",
    )
}
METADATA = {"model": "Speedmaster", "reference": "311.30.42.30.01.005", "year": 2018}


def test_deploy_vet_register_transfer_and_read_the_history_on_a_real_anvil(
    tmp_path: Path,
) -> None:
    with AnvilNode() as node, connect(target=node.rpc_url) as connection:
        w3 = connection.w3
        admin, merchant, _, buyer = dev_accounts(w3)[:4]
        deployment = deploy(w3=w3, admin=admin)
        ProvenanceClient(w3=w3, deployment=deployment, account=admin).vet(
            account=merchant.address,
            roles=Role.MERCHANT,
            credentials={"company": "Smoke Resale"},
            name="Smoke Resale",
        )
        seller = ProvenanceClient(w3=w3, deployment=deployment, account=merchant)
        registration = seller.register(brand="Omega", serial="SMOKE-0001", metadata=METADATA)
        transfer = seller.transfer(item_id=registration.item_id, to=buyer.address)

        history = ProvenanceClient(w3=w3, deployment=deployment).history(registration.item_id)
        assert [event.kind for event in history] == ["registered", "transferred"]
        registered, transferred = history
        assert registered.tx_hash == registration.tx.tx_hash
        assert registered.actor == merchant.address
        assert registered.data["metadata_hash"] == "0x" + hash_document(METADATA).hex()
        assert transferred.tx_hash == transfer.tx_hash
        assert (transferred.data["from"], transferred.data["to"]) == (
            merchant.address,
            buyer.address,
        )
        assert registered.block_number < transferred.block_number
        assert 0 < registered.timestamp <= transferred.timestamp

        # The CLI reads the same history from the node by URL, through the deployment record.
        save_deployment(
            deployment=deployment,
            path=deployment_path(data_dir=tmp_path, chain_id=deployment.chain_id),
        )
        item = "0x" + registration.item_id.hex()
        base = ["--chain", node.rpc_url, "--data-dir", str(tmp_path)]
        result = CliRunner().invoke(app, [*base, "history", item, "--json"], env=CLEAN_ENV)
        assert result.exit_code == 0, result.output
        assert [e["kind"] for e in json.loads(result.stdout)] == ["registered", "transferred"]
        metadata_file = tmp_path / "metadata.json"
        metadata_file.write_text(json.dumps(METADATA), encoding="utf-8")
        verified = CliRunner().invoke(
            app, [*base, "verify", item, "--metadata", str(metadata_file)], env=CLEAN_ENV
        )
        assert verified.exit_code == 0, verified.output


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Run:
    """scripts/run.py as a subprocess, its output collected by a thread."""

    def __init__(self, *, repo_root: Path, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, str(repo_root / "scripts" / "run.py")],
            cwd=repo_root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, marker: str, *, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(marker in line for line in self.lines):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                pytest.fail(f"no {marker!r} within {timeout}s:\n{self.output}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"run.py exited before {marker!r}:\n{self.output}")
            self.lines.append(line)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)
        return code

    @property
    def output(self) -> str:
        return "".join(self.lines)


@pytest.mark.slow
def test_make_run_deploys_and_seeds_once_then_reuses_both_after_a_restart(
    repo_root: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if k not in CLEAN_ENV},
        "PROVENANCE_ANVIL_URL": f"http://127.0.0.1:{_free_port()}",
        "PROVENANCE_DATA_DIR": str(data_dir),
        "PROVENANCE_PORT": str(port),
        "PROVENANCE_KEYSTORE_WORK_FACTOR": "1024",
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
    }
    env.pop("PROVENANCE_ADMIN_API_KEY", None)
    env.pop("PROVENANCE_HOST", None)

    first = _Run(repo_root=repo_root, env=env)
    first.wait_for("Ready.")
    # The gateway answers on the same chain and deployment, and the admin key it wrote works.
    health = httpx.get(f"{base}/health", timeout=30)
    assert health.status_code == 200, health.text
    admin = {"Authorization": f"Bearer {(data_dir / 'admin.key').read_text().strip()}"}
    with httpx.Client(base_url=base, timeout=60) as http:
        key = http.post("/keys", json={"role": "merchant", "name": "Run Resale"}, headers=admin)
        assert key.status_code == 201, key.text
        merchant = key.json()
        vetted = http.post(
            "/merchants",
            json={"address": merchant["address"], "name": "Run Resale", "credentials": {"n": 1}},
            headers=admin,
        )
        assert vetted.status_code == 201, vetted.text
        item = http.post(
            "/items",
            json={"brand": "Maison Run", "serial": "RUN-1", "metadata": {"v": 1}},
            headers={"Authorization": f"Bearer {merchant['api_key']}"},
        )
        assert item.status_code == 201, item.text
    assert first.stop() == 0, first.output
    assert "deployed now" in first.output
    assert "registered the demo item" in first.output
    assert "sold the demo item to the buyer" in first.output
    assert "✓ verified" in first.output
    for kind in ("registered", "authenticated", "transferred"):
        assert kind in first.output
    assert f"{base}/docs" in first.output
    assert str(data_dir / "admin.key") in first.output
    assert admin["Authorization"].split()[1] not in first.output  # the path, never the key
    assert "state saved" in first.output
    assert (data_dir / "anvil-state.json").is_file()
    (record,) = data_dir.glob("deployment-*.json")
    contract = json.loads(record.read_text())["passport"]
    assert contract in first.output
    assert health.json()["contracts"]["passport"] == contract

    second = _Run(repo_root=repo_root, env=env)
    second.wait_for("Ready.")
    with httpx.Client(base_url=base, timeout=60) as http:
        assert http.get("/health").json()["contracts"]["passport"] == contract
        again = http.get(f"/items/{item.json()['item_id']}")
        assert again.status_code == 200 and again.json()["owner"] == merchant["address"]
        more = http.post(
            "/items",
            json={"brand": "Maison Run", "serial": "RUN-2", "metadata": {"v": 2}},
            headers={"Authorization": f"Bearer {merchant['api_key']}"},
        )
        assert more.status_code == 201, more.text  # the key and its keystore account survived
    assert second.stop() == 0, second.output
    assert "reused" in second.output
    assert contract in second.output
    assert "already seeded, nothing to do" in second.output
    assert "✓ verified" in second.output
