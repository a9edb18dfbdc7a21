"""``provenance evidence`` then ``provenance verify-bundle --rpc URL`` against a real anvil
(the embedded chain cannot be reached by URL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3

from ledger.chain import Connection, dev_accounts
from ledger.cli import app
from ledger.client import ProvenanceClient
from ledger.config import deployment_path
from ledger.deploy import deploy, save_deployment
from ledger.node import AnvilNode
from ledger.types import Role

pytestmark = pytest.mark.anvil

ENV: dict[str, str | None] = {
    "PROVENANCE_CHAIN": None,
    "PROVENANCE_DATA_DIR": None,
    "PROVENANCE_KEY_FILE": None,
    "PROVENANCE_PRIVATE_KEY": None,
    "PROVENANCE_ACCOUNT": None,
    "COLUMNS": "200",
}


@pytest.fixture(scope="module")
def node() -> Iterator[tuple[Web3, str]]:
    with AnvilNode() as anvil:
        yield Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 30})), anvil.rpc_url


def test_export_then_verify_bundle_over_rpc(node: tuple[Web3, str], tmp_path: Path) -> None:
    w3, url = node
    admin, merchant = dev_accounts(w3)[:2]
    deployment = deploy(w3=w3, admin=admin)
    ProvenanceClient(w3=w3, deployment=deployment, account=admin).vet(
        account=merchant.address, roles=Role.MERCHANT, credentials={"k": 1}, name="Merchant"
    )
    registration = ProvenanceClient(w3=w3, deployment=deployment, account=merchant).register(
        brand="Maison Test", serial="CLI-1", metadata={"model": "x"}
    )
    data_dir = tmp_path / "data"
    save_deployment(
        deployment=deployment,
        path=deployment_path(data_dir=data_dir, chain_id=deployment.chain_id),
    )
    out = tmp_path / "bundle.json"
    item = "0x" + bytes(registration.item_id).hex()
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["--data-dir", str(data_dir), "evidence", item, "--out", str(out)],
        obj=Connection(w3=w3),
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["verify-bundle", str(out), "--rpc", url], env=ENV)
    assert result.exit_code == 0, result.output

    bundle = json.loads(out.read_text())
    topic = bundle["events"][0]["topics"][-1]
    bundle["events"][0]["topics"][-1] = topic[:-1] + ("0" if topic[-1] != "0" else "1")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bundle))
    result = runner.invoke(app, ["verify-bundle", str(bad), "--rpc", url], env=ENV)
    assert result.exit_code == 1, result.output
    assert "failed entries: 0" in result.output
