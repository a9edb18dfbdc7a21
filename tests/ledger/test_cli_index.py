"""``provenance index``, ``provenance evidence`` and ``provenance verify-bundle``.

The embedded chain cannot be reached by URL from a new connection, so ``verify-bundle`` is
pointed at the shared test chain by standing in for `ledger.chain.connect` (which
`ledger.evidence.verify_bundle_file` calls); tests/integration runs it against a real anvil.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

import ledger.chain
from ledger.client import Registration
from tests.ledger.test_cli import Cli, cli  # noqa: F401  (the fixture)


@pytest.fixture
def chain_by_url(monkeypatch: pytest.MonkeyPatch, w3: Web3) -> None:
    """`ledger.chain.connect(target=...)` reaches the test chain, whatever the target."""

    @contextlib.contextmanager
    def connect(*, target: str, **_: Any) -> Iterator[Any]:
        assert target == "http://test-node"

        class _Conn:
            pass

        conn = _Conn()
        conn.w3 = w3  # type: ignore[attr-defined]
        yield conn

    monkeypatch.setattr(ledger.chain, "connect", connect)


def test_index_catches_up_and_rebuilds(cli: Cli, registered: Registration) -> None:  # noqa: F811
    first = cli.ok("index")
    assert "indexed" in first.output
    db = cli.data_dir / "index.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        (count,) = conn.execute("SELECT count(*) FROM items").fetchone()
    assert count >= 1
    rebuilt = cli.ok("index", "--rebuild")
    assert "rebuilt" in rebuilt.output


def test_evidence_to_stdout_and_file_then_verify(
    cli: Cli,  # noqa: F811
    registered: Registration,
    tmp_path: Path,
    chain_by_url: None,
) -> None:
    item = "0x" + bytes(registered.item_id).hex()
    printed = json.loads(cli.ok("evidence", item).stdout)
    out = tmp_path / "bundle.json"
    cli.ok("evidence", item, "--out", str(out))
    written = json.loads(out.read_text())
    # Two exports a moment apart differ only in when they were made.
    assert {k: v for k, v in written.items() if k != "generated_at"} == {
        k: v for k, v in printed.items() if k != "generated_at"
    }
    assert "generated_at" in written
    assert written["events"]

    result = cli("verify-bundle", str(out), "--rpc", "http://test-node")
    assert result.exit_code == 0, result.output
    assert "ok" in result.output

    tampered = json.loads(out.read_text())
    entry = tampered["events"][0]
    topic = entry["topics"][-1]
    entry["topics"][-1] = topic[:-1] + ("0" if topic[-1] != "0" else "1")
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered))
    result = cli("verify-bundle", str(bad), "--rpc", "http://test-node")
    assert result.exit_code == 1, result.output
    assert "failed entries: 0" in result.output


def test_evidence_of_a_malformed_item_is_one_error(cli: Cli) -> None:  # noqa: F811
    result = cli("evidence", "0x1234")
    assert result.exit_code != 0
    assert "Traceback" not in result.output
