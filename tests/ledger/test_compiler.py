"""Tests of the compile pipeline (``ledger.compiler``) and the shipped artifacts.

The pipeline matters because the committed ``ledger/artifacts/*.json`` are what a pip-installed
ledger deploys: they must reproduce from ``contracts/`` exactly, and be loadable without Node.
Throwaway projects under ``tmp_path`` exercise the compiler independently of the real contracts.
"""

from __future__ import annotations

import json
import os
import stat
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ledger import compiler
from ledger.artifacts import ArtifactNotFoundError, available_artifacts, load_artifact

SPDX = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\n"

TINY_TOKEN = SPDX + textwrap.dedent(
    """
    import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
    import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

    interface ITiny {
        function mint(address to, uint256 id) external;
    }

    library InternalMath {
        function twice(uint256 x) internal pure returns (uint256) {
            return x * 2;
        }
    }

    library ExternalMath {
        function thrice(uint256 x) external pure returns (uint256) {
            return x * 3;
        }
    }

    abstract contract Base {
        function hook() internal virtual;
    }

    contract TinyToken is ITiny, ERC721, Ownable, Base {
        constructor() ERC721("Tiny", "TNY") Ownable(msg.sender) {}

        function mint(address to, uint256 id) external onlyOwner {
            _mint(to, InternalMath.twice(id));
        }

        function hook() internal override {}
    }
    """
)


def make_project(root: Path, repo_root: Path, sources: dict[str, str]) -> Path:
    """A minimal project at ``root`` that borrows the repository's node_modules."""
    (root / "node_modules").symlink_to(repo_root / "node_modules", target_is_directory=True)
    (root / "package.json").write_text((repo_root / "package.json").read_text())
    for name, text in sources.items():
        path = root / "contracts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture(scope="module")
def solc(repo_root: Path) -> Path:
    return compiler.find_solc(root=repo_root)


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    return make_project(root, repo_root, {"token/TinyToken.sol": TINY_TOKEN})


@pytest.fixture(scope="module")
def tiny_artifacts(tiny_project: Path, solc: Path) -> dict[str, dict[str, Any]]:
    return compiler.compile_contracts(root=tiny_project, solc_binary=solc)


def test_committed_artifacts_match_a_fresh_compile(repo_root: Path) -> None:
    if not compiler.source_files(root=repo_root):
        pytest.skip("contracts/ has no Solidity sources yet")
    assert compiler.check_artifacts(root=repo_root) == [], "run `make compile` and commit"


def test_compile_contracts_builds_a_contract_importing_openzeppelin(
    tiny_artifacts: dict[str, dict[str, Any]],
) -> None:
    token = tiny_artifacts["TinyToken"]
    assert token["contractName"] == "TinyToken"
    assert token["sourceName"] == "contracts/token/TinyToken.sol"
    assert token["bytecode"].startswith("0x") and len(token["bytecode"]) > 1000
    assert token["deployedBytecode"].startswith("0x")
    bytes.fromhex(token["bytecode"][2:])  # fully linked: plain hex, no placeholders
    names = {entry.get("name") for entry in token["abi"]}
    assert {"transferFrom", "mint", "owner"} <= names
    assert "transferFrom(address,address,uint256)" in token["methodIdentifiers"]
    assert token["compiler"] == {
        "version": token["compiler"]["version"],
        "optimizer": {"enabled": True, "runs": compiler.OPTIMIZER_RUNS},
        "evmVersion": "cancun",
        "viaIR": False,
    }
    assert token["compiler"]["version"].startswith(compiler.pinned_solc_version() + "+commit.")


def test_only_deployable_contracts_get_artifacts(
    tiny_artifacts: dict[str, dict[str, Any]],
) -> None:
    # Interface, abstract contract and internal-only library are skipped; OpenZeppelin's own
    # contracts are not ours to ship.
    assert sorted(tiny_artifacts) == ["ExternalMath", "TinyToken"]


def test_bytecode_does_not_depend_on_where_the_project_lives(
    tmp_path: Path, repo_root: Path, solc: Path, tiny_artifacts: dict[str, dict[str, Any]]
) -> None:
    elsewhere = make_project(tmp_path, repo_root, {"token/TinyToken.sol": TINY_TOKEN})
    again = compiler.compile_contracts(root=elsewhere, solc_binary=solc)
    assert compiler.render_artifact(again["TinyToken"]) == compiler.render_artifact(
        tiny_artifacts["TinyToken"]
    )


def test_write_then_check_reports_missing_extra_and_differing_files(
    tiny_project: Path, solc: Path, tiny_artifacts: dict[str, dict[str, Any]]
) -> None:
    written = compiler.write_artifacts(root=tiny_project, artifacts=tiny_artifacts)
    directory = tiny_project / compiler.ARTIFACTS_DIR
    assert sorted(path.name for path in written) == ["ExternalMath.json", "TinyToken.json"]
    text = (directory / "TinyToken.json").read_text()
    assert text.endswith("}\n") and json.loads(text) == tiny_artifacts["TinyToken"]
    assert compiler.write_artifacts(root=tiny_project, artifacts=tiny_artifacts) == []
    assert compiler.check_artifacts(root=tiny_project, solc_binary=solc) == []

    (directory / "ExternalMath.json").unlink()
    (directory / "Gone.json").write_text("{}\n")
    (directory / "TinyToken.json").write_text(text.replace('"runs": 200', '"runs": 1'))
    assert compiler.check_artifacts(root=tiny_project, solc_binary=solc) == [
        "ExternalMath.json: missing",
        "Gone.json: extra",
        "TinyToken.json: differs",
    ]

    compiler.write_artifacts(root=tiny_project, artifacts=tiny_artifacts)
    assert sorted(path.name for path in directory.glob("*.json")) == [
        "ExternalMath.json",
        "TinyToken.json",
    ]
    assert (directory / "TinyToken.json").read_text() == text


def test_main_check_exits_1_and_names_stale_artifacts(
    tmp_path: Path, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shim = tmp_path / "scripts" / "solc-shim.js"
    shim.parent.mkdir()
    shim.symlink_to(repo_root / compiler.SOLC_SHIM)
    project = make_project(tmp_path, repo_root, {"A.sol": SPDX + "contract A {}\n"})

    assert compiler.main(["--check", "--root", str(project)]) == 1
    assert "A.json: missing" in capsys.readouterr().out
    assert compiler.main(["--root", str(project)]) == 0
    assert compiler.main(["--check", "--root", str(project)]) == 0


def test_compile_errors_list_solcs_messages(tmp_path: Path, repo_root: Path, solc: Path) -> None:
    project = make_project(
        tmp_path, repo_root, {"Broken.sol": SPDX + "contract Broken { uint x = ; }\n"}
    )
    with pytest.raises(compiler.CompilationError) as info:
        compiler.compile_contracts(root=project, solc_binary=solc)
    assert len(info.value.messages) == 1
    assert "ParserError" in info.value.messages[0]
    assert "Broken.sol" in str(info.value)


def test_warnings_go_to_the_callback_only(tmp_path: Path, repo_root: Path, solc: Path) -> None:
    noisy = SPDX + "contract Noisy { function f() external view returns (uint256) { return 1; } }\n"
    project = make_project(tmp_path, repo_root, {"Noisy.sol": noisy})
    warnings: list[str] = []
    artifacts = compiler.compile_contracts(
        root=project, solc_binary=solc, on_warning=warnings.append
    )
    assert list(artifacts) == ["Noisy"]
    assert any("can be restricted to pure" in warning for warning in warnings)


def test_duplicate_contract_names_are_refused(tmp_path: Path, repo_root: Path, solc: Path) -> None:
    project = make_project(
        tmp_path,
        repo_root,
        {"one/Same.sol": SPDX + "contract Same {}\n", "two/Same.sol": SPDX + "contract Same {}\n"},
    )
    with pytest.raises(compiler.ContractNameCollisionError, match=r"contracts/one/Same\.sol"):
        compiler.compile_contracts(root=project, solc_binary=solc)


def test_no_sources_means_no_artifacts_and_no_compiler_needed(tmp_path: Path) -> None:
    assert compiler.compile_contracts(root=tmp_path) == {}
    assert compiler.check_artifacts(root=tmp_path) == []


def write_fake_solc(directory: Path, version: str, shim: Path) -> None:
    directory.mkdir()
    fake = directory / "solc"
    fake.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "Version: {version}"; exit 0; fi\n'
        f'exec "{shim}" "$@"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)


def test_find_solc_prefers_a_native_solc_of_the_pinned_release(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shim = repo_root / compiler.SOLC_SHIM
    pinned = compiler.pinned_solc_version(root=repo_root)
    write_fake_solc(tmp_path / "right", f"{pinned}+commit.73712a01.Linux.g++", shim)
    write_fake_solc(tmp_path / "wrong", "0.8.19+commit.7dd6d404.Linux.g++", shim)
    path = os.environ["PATH"]

    monkeypatch.setenv("PATH", f"{tmp_path / 'right'}{os.pathsep}{path}")
    assert compiler.find_solc(root=repo_root) == tmp_path / "right" / "solc"
    assert compiler.solc_version(solc_binary=tmp_path / "right" / "solc") == (
        f"{pinned}+commit.73712a01"
    )

    monkeypatch.setenv("PATH", f"{tmp_path / 'wrong'}{os.pathsep}{path}")
    assert compiler.find_solc(root=repo_root) == shim.resolve()


def test_load_artifact_reads_the_shipped_json() -> None:
    for name in available_artifacts():
        artifact = load_artifact(name)
        assert artifact["contractName"] == name
        assert artifact["bytecode"].startswith("0x")
    with pytest.raises(ArtifactNotFoundError, match="no artifact"):
        load_artifact("NoSuchContract")
    with pytest.raises(ArtifactNotFoundError, match="not a contract name"):
        load_artifact("../compiler")
