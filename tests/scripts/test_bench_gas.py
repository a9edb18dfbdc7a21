"""Checks that ``scripts/bench_gas.py`` measures every operation and reports it in the agreed shape.

Runs on eth-tester's in-process chain, so no anvil is needed. Only the shape and sanity of the
report are asserted, never the gas figures: those are the benchmark's output, not its contract.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from web3 import EthereumTesterProvider, Web3

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_gas.py"


@pytest.fixture(scope="module")
def bench_gas() -> ModuleType:
    """The script as a module (``scripts/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_gas", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve the module's string annotations through sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report(bench_gas: ModuleType) -> dict[str, Any]:
    result: dict[str, Any] = bench_gas.run_benchmark(
        Web3(EthereumTesterProvider()), chain_kind="embedded"
    )
    return result


def test_every_measurement_is_a_positive_integer(
    bench_gas: ModuleType, report: dict[str, Any]
) -> None:
    expected = {
        "register_single",
        "register_batch_100_per_item",
        "transfer",
        "flag_lost_stolen",
        "authenticate",
        "reference_mint",
        "reference_transfer",
    }
    assert {m.name for m in bench_gas.MEASUREMENTS} >= expected
    assert set(report["gas"]) == {m.name for m in bench_gas.MEASUREMENTS}
    for name, gas in report["gas"].items():
        assert type(gas) is int and gas > 0, name


def test_ratios_targets_and_verdicts_line_up(report: dict[str, Any]) -> None:
    names = {"register_single", "register_batch_100_per_item", "transfer"}
    assert set(report["ratios"]) == set(report["targets"]) == set(report["meets_targets"]) == names
    assert report["targets"] == {
        "register_single": 1.10,
        "register_batch_100_per_item": 0.42,
        "transfer": 1.05,
    }
    for name in names:
        assert report["ratios"][name] > 0
        assert isinstance(report["meets_targets"][name], bool)
    gas = report["gas"]
    assert report["ratios"]["transfer"] == round(gas["transfer"] / gas["reference_transfer"], 4)


def test_report_is_json_with_chain_and_compiler(report: dict[str, Any]) -> None:
    assert json.loads(json.dumps(report)) == report
    assert report["chain"]["kind"] == "embedded"
    assert report["chain"]["chain_id"] > 0
    assert report["solc"]["version"].startswith("0.8.")
    assert report["solc"]["optimizer"]["enabled"] is True
    assert report["timestamp"]


def test_a_missed_target_warns_and_fails_only_when_strict(
    bench_gas: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missed = {
        "gas": {"register_single": 2, "reference_mint": 1},
        "ratios": {"register_single": 2.0},
        "targets": {"register_single": 1.10},
        "meets_targets": {"register_single": False},
    }
    monkeypatch.setattr(bench_gas, "run_benchmark", lambda w3, *, chain_kind: missed)

    assert bench_gas.main(["--chain", "embedded"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == missed
    assert "WARNING: register_single" in err

    assert bench_gas.main(["--chain", "embedded", "--strict"]) == 1
