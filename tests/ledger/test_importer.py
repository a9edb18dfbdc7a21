"""Bulk import: file parsing (line numbers, reasons) and ``provenance import`` on a real chain.

The CLI tests run ``provenance import`` through CliRunner on the shared in-process test chain
(tests/conftest.py: the deployed snapshot, merchant vetted, owner and stranger not), handed to
the CLI as Click's ``obj`` (see `ledger.cli`), and check the outcome on chain with a client.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner, Result
from web3 import Web3

from ledger.chain import Connection
from ledger.cli import EXIT_ERROR, EXIT_MISMATCH, app
from ledger.client import ProvenanceClient
from ledger.config import deployment_path
from ledger.deploy import Deployment, save_deployment
from ledger.errors import InputError
from ledger.hashing import hash_document, item_id
from ledger.importer import read_items
from ledger.jsonsafe import MAX_JSON_DEPTH
from ledger.types import ItemId
from tests.conftest import DevAccounts

CLEAN_ENV: dict[str, str | None] = {
    "PROVENANCE_CHAIN": None,
    "PROVENANCE_DATA_DIR": None,
    "PROVENANCE_KEY_FILE": None,
    "PROVENANCE_KEY_PASSWORD": None,
    "PROVENANCE_PRIVATE_KEY": None,
    "PROVENANCE_ACCOUNT": None,
    "PROVENANCE_DEBUG": None,
    "COLUMNS": "200",
}


# --- parsing, no chain needed ------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_rows_are_numbered_by_physical_line_even_after_a_multiline_cell(tmp_path: Path) -> None:
    source = write(
        tmp_path / "items.csv",
        "brand,serial,metadata\n"
        'Fendi,F-1,"{""model"": ""Peekaboo"",\n""note"": ""two lines""}"\n'
        "\n"
        'Celine,,"{""model"": ""Luggage""}"\n',
    )
    parsed = read_items(path=source)
    assert [(row.line, row.serial) for row in parsed.rows] == [(2, "F-1")]
    assert parsed.rows[0].metadata == {"model": "Peekaboo", "note": "two lines"}
    assert [(bad.line, bad.field) for bad in parsed.bad_rows] == [(5, "serial")]


def test_metadata_columns_make_the_document_and_metadata_uri_stays_out_of_it(
    tmp_path: Path,
) -> None:
    source = write(
        tmp_path / "items.csv",
        "\ufeffBrand,Serial,metadata_model,metadata_colour,metadata_uri,owner\r\n"
        "Hermès,H-1,Birkin 30,,ipfs://h1,\r\n",
    )
    (row,) = read_items(path=source).rows
    assert row.metadata == {"model": "Birkin 30"}  # empty cells are left out
    assert row.metadata_uri == "ipfs://h1"
    assert row.owner is None
    assert row.metadata_hash == hash_document({"model": "Birkin 30"})
    assert row.item_id == item_id(brand="hermès", serial="h 1")


@pytest.mark.parametrize(
    ("header", "complaint"),
    [
        ("brand,serial,metadata,onwer", "onwer"),
        ("brand,metadata", "serial"),
        ("brand,serial", "metadata"),
        ("brand,serial,metadata,Serial", "twice"),
    ],
)
def test_a_csv_header_that_cannot_be_trusted_rejects_the_whole_file(
    tmp_path: Path, header: str, complaint: str
) -> None:
    source = write(tmp_path / "items.csv", header + "\nA,B,{}\n")
    with pytest.raises(InputError, match=complaint) as raised:
        read_items(path=source)
    assert raised.value.field == "FILE"


def test_jsonl_bad_lines_are_reported_with_their_reason_and_the_rest_parse(tmp_path: Path) -> None:
    source = write(
        tmp_path / "items.txt",  # no telling suffix: sniffed as JSON Lines from the first "{"
        '{"brand": "A", "serial": "1", "metadata": {"m": 1}}\n'
        "{nope\n"
        '["an", "array"]\n'
        '{"brand": "A", "serial": "2", "metadata": {}}\n'
        '{"brand": "A", "serial": "3", "metadata": {"n": 9007199254740993}}\n'
        '{"brand": "A", "serial": "4", "metadata": {"m": 1}, "colour": "red"}\n'
        '{"brand": "A", "serial": "5", "metadata": "text"}\n',
    )
    parsed = read_items(path=source)
    assert parsed.format == "jsonl"
    assert [row.line for row in parsed.rows] == [1]
    reasons = {bad.line: bad.reason for bad in parsed.bad_rows}
    assert "invalid JSON" in reasons[2]
    assert "JSON object" in reasons[3]
    assert "metadata is empty" in reasons[4]
    assert "canonicalised" in reasons[5]
    assert "colour" in reasons[6]
    assert "JSON object" in reasons[7]


def test_the_same_item_twice_is_skipped_if_identical_and_bad_if_it_differs(tmp_path: Path) -> None:
    source = write(
        tmp_path / "items.jsonl",
        '{"brand": "Dior", "serial": "D-1", "metadata": {"m": 1}}\n'
        '{"brand": " dior ", "serial": "d 1", "metadata": {"m": 1}}\n'
        '{"brand": "DIOR", "serial": "D1", "metadata": {"m": 2}}\n',
    )
    parsed = read_items(path=source)
    assert [row.line for row in parsed.rows] == [1]
    assert [(s.line, s.reason) for s in parsed.duplicates] == [(2, "duplicate of line 1")]
    assert [(b.line, b.field) for b in parsed.bad_rows] == [(3, "serial")]
    assert "line 1" in parsed.bad_rows[0].reason


def test_a_csv_metadata_cell_nested_too_deep_is_a_bad_row_and_the_next_row_parses(
    tmp_path: Path,
) -> None:
    # 50k levels: under the csv module's 128 KiB cell limit, far past what the JSON parser
    # survives under web3's raised recursion limit.
    deep = "[" * 50_000 + "]" * 50_000
    source = write(
        tmp_path / "items.csv",
        f'brand,serial,metadata\nA,1,"{deep}"\nA,2,{csv_cell({"m": 1})}\n',
    )
    parsed = read_items(path=source)
    assert [row.line for row in parsed.rows] == [3]
    (bad,) = parsed.bad_rows
    assert (bad.line, bad.field) == (2, "metadata")
    assert bad.reason == f"metadata is JSON nested deeper than {MAX_JSON_DEPTH} levels (the limit)"


def test_a_json_array_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    source = write(tmp_path / "items.json", '[{"brand": "A"}]')
    with pytest.raises(InputError, match="JSON Lines"):
        read_items(path=source)


# --- the CLI on a real chain -------------------------------------------------------------------


@dataclass
class Cli:
    """Runs ``provenance`` on the shared test chain (handed over as Click's ``obj``)."""

    w3: Web3
    data_dir: Path
    dev_keys: list[LocalAccount]

    def __call__(
        self,
        *args: str,
        signer: LocalAccount,
        env: Mapping[str, str | None] | None = None,
    ) -> Result:
        argv = ["--data-dir", str(self.data_dir), "--account", str(self.dev_keys.index(signer))]
        return CliRunner().invoke(
            app, [*argv, *args], obj=Connection(w3=self.w3), env={**CLEAN_ENV, **(env or {})}
        )

    def import_json(self, path: Path, *extra: str, signer: LocalAccount) -> tuple[int, Any]:
        result = self("import", str(path), "--json", *extra, signer=signer)
        return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def cli(w3: Web3, deployment: Deployment, dev_keys: list[LocalAccount], tmp_path: Path) -> Cli:
    data_dir = tmp_path / "data"
    save_deployment(
        deployment=deployment,
        path=deployment_path(data_dir=data_dir, chain_id=deployment.chain_id),
    )
    return Cli(w3=w3, data_dir=data_dir, dev_keys=dev_keys)


def by_line(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {row["line"]: row for row in rows}


def csv_cell(value: Any) -> str:
    return '"' + json.dumps(value).replace('"', '""') + '"'


def test_cli_import_of_a_csv_lands_good_rows_lists_bad_ones_and_reruns_idempotently(
    cli: Cli, reader: ProvenanceClient, accounts: DevAccounts, tmp_path: Path
) -> None:
    buyer, merchant = accounts.owner.address, accounts.merchant.address
    source = write(
        tmp_path / "stock.csv",
        "brand,serial,metadata,metadata_uri,owner\n"  # line 1
        f"Hermès,CSV-001,{csv_cell({'model': 'Birkin'})},ipfs://a,\n"  # 2 good, signer owns
        f"Chanel,CSV-002,{csv_cell({'model': '2.55'})},,{buyer}\n"  # 3 good
        'Gucci,CSV-003,"{bad json",,\n'  # 4 bad JSON
        f"Prada,,{csv_cell({'model': 'x'})},,\n"  # 5 no serial
        f"Dior,CSV-005,{csv_cell({'model': 'y'})},,0x1234\n"  # 6 bad owner address
        f" hermès ,csv 001,{csv_cell({'model': 'Birkin'})},ipfs://a,\n"  # 7 duplicate of 2
        'Fendi,CSV-006,"{""model"": ""Peekaboo"",\n'  # 8-9: one row over two lines
        '""note"": ""two lines""}",,' + buyer + "\n"
        f"Celine,CSV-007,{csv_cell({'model': 'Luggage'})},,{buyer.lower()}\n",  # 10 good
    )

    code, report = cli.import_json(source, signer=accounts.merchant)
    assert code == EXIT_MISMATCH  # finished, but some rows were bad
    bad = by_line(report["bad_rows"])
    assert sorted(bad) == [4, 5, 6]
    assert "not valid JSON" in bad[4]["reason"]
    assert bad[5]["field"] == "serial" and "missing" in bad[5]["reason"]
    assert bad[6]["field"] == "owner" and "0x1234" in bad[6]["reason"]
    assert sorted(by_line(report["registered"])) == [2, 3, 8, 10]
    assert [(s["line"], s["reason"]) for s in report["skipped"]] == [(7, "duplicate of line 2")]
    assert report["failed"] == [] and report["aborted"] is None

    expected = {
        ("Hermès", "CSV-001"): (merchant, {"model": "Birkin"}),
        ("Chanel", "CSV-002"): (buyer, {"model": "2.55"}),
        ("Fendi", "CSV-006"): (buyer, {"model": "Peekaboo", "note": "two lines"}),
        ("Celine", "CSV-007"): (buyer, {"model": "Luggage"}),
    }
    for (brand, serial), (owner, metadata) in expected.items():
        landed = item_id(brand=brand, serial=serial)
        assert reader.item(landed).owner == owner
        assert reader.current_metadata_hash(landed) == hash_document(metadata)
    for brand, serial in (("Gucci", "CSV-003"), ("Dior", "CSV-005")):
        assert reader.are_registered([item_id(brand=brand, serial=serial)]) == [False]

    # One owner per batch: the signer's row and the buyer's rows went in separate transactions.
    owners_by_tx: dict[str, set[str]] = defaultdict(set)
    for row in report["registered"]:
        owners_by_tx[row["tx_hash"]].add(row["owner"])
    assert sorted(len(owners) for owners in owners_by_tx.values()) == [1, 1]
    assert len(report["transactions"]) == 2

    human = cli("import", str(source), signer=accounts.merchant)
    assert human.exit_code == EXIT_MISMATCH
    assert "Bad rows" in human.output and "not valid JSON" in human.output
    assert "Traceback" not in human.output

    code, rerun = cli.import_json(source, signer=accounts.merchant)
    assert code == EXIT_MISMATCH  # the bad rows are still bad...
    assert rerun["registered"] == [] and rerun["failed"] == [] and rerun["transactions"] == []
    skipped = by_line(rerun["skipped"])
    assert sorted(skipped) == [2, 3, 7, 8, 10]  # ...and every good row is reported as skipped
    assert {skipped[n]["reason"] for n in (2, 3, 8, 10)} == {"already registered"}
    assert sorted(by_line(rerun["bad_rows"])) == [4, 5, 6]


def test_cli_import_of_jsonl_lands_good_rows_lists_bad_ones_and_reruns_idempotently(
    cli: Cli, reader: ProvenanceClient, accounts: DevAccounts, tmp_path: Path
) -> None:
    buyer = accounts.owner.address
    lines = [
        {"brand": "Louis Vuitton", "serial": "JL-001", "metadata": {"model": "Speedy"}},
        {
            "brand": "Louis Vuitton",
            "serial": "JL-002",
            "metadata": {"model": "Neverfull", "year": 2021},
            "owner": buyer,
            "metadata_uri": "ipfs://jl2",
        },
        "{not json",
        "",
        {"brand": "Balenciaga", "metadata": {"model": "City"}},
        {"brand": "Loewe", "serial": "JL-006", "metadata": {"m": 1}, "owner": "0xZZ"},
        {"brand": "louis vuitton", "serial": "jl 001", "metadata": {"model": "Speedy"}},
    ]
    source = write(
        tmp_path / "stock.jsonl",
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
    )

    code, report = cli.import_json(source, signer=accounts.merchant)
    assert code == EXIT_MISMATCH
    bad = by_line(report["bad_rows"])
    assert sorted(bad) == [3, 5, 6]
    assert "invalid JSON" in bad[3]["reason"]
    assert bad[5]["field"] == "serial"
    assert bad[6]["field"] == "owner"
    assert sorted(by_line(report["registered"])) == [1, 2]
    assert [(s["line"], s["reason"]) for s in report["skipped"]] == [(7, "duplicate of line 1")]

    assert reader.item(item_id(brand="Louis Vuitton", serial="JL-001")).owner == (
        accounts.merchant.address
    )
    jl2 = item_id(brand="Louis Vuitton", serial="JL-002")
    assert reader.item(jl2).owner == buyer
    uris = [e.data["metadata_uri"] for e in reader.history(jl2) if e.kind == "metadata_updated"]
    assert uris == ["ipfs://jl2"]

    code, rerun = cli.import_json(source, signer=accounts.merchant)
    assert code == EXIT_MISMATCH
    assert rerun["registered"] == [] and rerun["failed"] == []
    assert sorted(by_line(rerun["skipped"])) == [1, 2, 7]


def test_cli_import_reports_too_deeply_nested_lines_as_bad_and_lands_the_others(
    cli: Cli, reader: ProvenanceClient, accounts: DevAccounts, tmp_path: Path
) -> None:
    bomb = "[" * 200_000 + "]" * 200_000  # would crash the stdlib parser (see ledger.jsonsafe)
    deep_metadata = '{"brand": "Goyard", "serial": "DEEP-2", "metadata": {"m": ' + bomb + "}}"
    lines = [
        json.dumps({"brand": "Goyard", "serial": "DEEP-1", "metadata": {"model": "Saint Louis"}}),
        bomb,
        deep_metadata,
        json.dumps({"brand": "Goyard", "serial": "DEEP-4", "metadata": {"model": "Artois"}}),
    ]
    source = write(tmp_path / "stock.jsonl", "\n".join(lines) + "\n")

    code, report = cli.import_json(source, signer=accounts.merchant)

    assert code == EXIT_MISMATCH
    bad = by_line(report["bad_rows"])
    assert sorted(bad) == [2, 3]
    limit = f"JSON nested deeper than {MAX_JSON_DEPTH} levels (the limit)"
    assert [bad[n]["reason"] for n in (2, 3)] == [limit, limit]
    assert sorted(by_line(report["registered"])) == [1, 4]
    assert reader.are_registered(
        [item_id(brand="Goyard", serial=serial) for serial in ("DEEP-1", "DEEP-2", "DEEP-4")]
    ) == [True, False, True]

    human = cli("import", str(source), signer=accounts.merchant)
    assert human.exit_code == EXIT_MISMATCH
    assert "nested deeper" in human.output and "Traceback" not in human.output


def test_an_interrupted_import_resumes_skipping_what_already_landed(
    cli: Cli, reader: ProvenanceClient, accounts: DevAccounts, tmp_path: Path
) -> None:
    rows = [
        json.dumps({"brand": "Resume", "serial": f"R-{n}", "metadata": {"n": n}}) for n in range(5)
    ]
    first_part = write(tmp_path / "part.jsonl", "\n".join(rows[:2]) + "\n")
    whole = write(tmp_path / "whole.jsonl", "\n".join(rows) + "\n")

    code, first = cli.import_json(first_part, signer=accounts.merchant)
    assert code == 0 and len(first["registered"]) == 2

    code, resumed = cli.import_json(whole, "--batch-size", "2", signer=accounts.merchant)
    assert code == 0, resumed
    assert [(s["line"], s["reason"]) for s in resumed["skipped"]] == [
        (1, "already registered"),
        (2, "already registered"),
    ]
    assert sorted(by_line(resumed["registered"])) == [3, 4, 5]
    assert len(resumed["transactions"]) == 2  # batches of at most 2
    ids = [item_id(brand="Resume", serial=f"R-{n}") for n in range(5)]
    assert reader.are_registered(ids) == [True] * 5


def test_an_import_by_an_unvetted_account_stops_with_one_error_and_reports_rows_not_sent(
    cli: Cli, reader: ProvenanceClient, accounts: DevAccounts, tmp_path: Path
) -> None:
    source = write(
        tmp_path / "stranger.jsonl",
        '{"brand": "Nope", "serial": "N-1", "metadata": {"m": 1}}\n'
        '{"brand": "Nope", "serial": "N-2", "metadata": {"m": 2}}\n',
    )
    result = cli("import", str(source), "--json", signer=accounts.stranger)
    assert result.exit_code == EXIT_ERROR
    report = json.loads(result.stdout)
    assert "not vetted" in report["aborted"]
    assert [row["line"] for row in report["failed"]] == [1, 2]
    assert result.stderr.strip().startswith("error: the import stopped")
    assert accounts.stranger.address in result.stderr
    assert "Traceback" not in result.output
    assert reader.are_registered([ItemId(item_id(brand="Nope", serial="N-1"))]) == [False]


def test_an_unusable_file_is_one_error_line_naming_it(cli: Cli, accounts: DevAccounts) -> None:
    result = cli("import", "/nonexistent/stock.csv", signer=accounts.merchant)
    assert result.exit_code == EXIT_ERROR
    assert result.output.strip().splitlines() == [
        "error: FILE: cannot read /nonexistent/stock.csv: No such file or directory"
    ]
