"""Compile ``contracts/**/*.sol`` into the JSON artifacts shipped in ``ledger/artifacts/``.

Why this exists: a pip-installed ``ledger`` must deploy contracts without Node or solc, so the
bytecode is committed as JSON package data. Committed build output goes stale silently, so the
same pipeline also answers "do the committed artifacts still match the sources?" (``--check``),
and a test runs that check on every ``make test``.

Determinism matters more than speed here: source unit names are repository-relative and the
metadata hash is disabled, so the bytecode does not depend on where the checkout lives, and a
native ``solc`` and the solc-js shim of the same release produce byte-identical artifacts.

Usage::

    python -m ledger.compiler            # (re)write ledger/artifacts/*.json
    python -m ledger.compiler --check    # exit 1 and name the stale artifacts
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import solcx
from solcx.exceptions import SolcError

__all__ = [
    "ARTIFACTS_DIR",
    "CONTRACTS_DIR",
    "EVM_VERSION",
    "OPTIMIZER_RUNS",
    "OUTPUT_SELECTION",
    "PROJECT_ROOT",
    "REMAPPINGS",
    "SOLC_SHIM",
    "CompilationError",
    "CompilerError",
    "CompilerNotFoundError",
    "ContractNameCollisionError",
    "build_standard_input",
    "check_artifacts",
    "compile_contracts",
    "find_solc",
    "main",
    "pinned_solc_version",
    "render_artifact",
    "solc_version",
    "source_files",
    "write_artifacts",
]

OPTIMIZER_RUNS = 200
EVM_VERSION = "cancun"
# Remapped imports become source units like ``node_modules/@openzeppelin/...``: relative to the
# project root, so they resolve against ``--base-path`` and never embed an absolute path.
REMAPPINGS: tuple[str, ...] = (
    "@openzeppelin/=node_modules/@openzeppelin/",
    "solady/=node_modules/solady/",
)
OUTPUT_SELECTION: tuple[str, ...] = (
    "abi",
    "evm.bytecode.object",
    "evm.deployedBytecode.object",
    "evm.methodIdentifiers",
)

CONTRACTS_DIR = Path("contracts")
ARTIFACTS_DIR = Path("ledger") / "artifacts"
SOLC_SHIM = Path("scripts") / "solc-shim.js"
# The checkout this module lives in; in an editable install that is the repository root.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

_VERSION_RE = re.compile(r"Version:\s*(\d+\.\d+\.\d+)(?:\+commit\.([0-9a-fA-F]+))?")
_SOLC_TIMEOUT_SECONDS = 30


class CompilerError(Exception):
    """Base class for everything this module raises on purpose."""


class CompilerNotFoundError(CompilerError):
    """Neither a native solc of the pinned release nor a working solc-js shim was found."""


class CompilationError(CompilerError):
    """solc reported errors; ``messages`` holds solc's formatted error messages."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages)
        body = "\n\n".join(self.messages) if self.messages else "(solc gave no message)"
        super().__init__(f"solc reported {len(self.messages)} error(s):\n\n{body}")


class ContractNameCollisionError(CompilerError):
    """Two deployable contracts share a name, so their artifacts would overwrite each other."""


def pinned_solc_version(*, root: Path = PROJECT_ROOT) -> str:
    """The solc release pinned as the ``solc`` dependency in ``package.json`` (e.g. ``0.8.30``)."""
    package_json = root / "package.json"
    try:
        data = json.loads(package_json.read_text(encoding="utf-8"))
        spec = str(data["dependencies"]["solc"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CompilerNotFoundError(
            f"cannot read the pinned solc version from {package_json}: {exc}"
        ) from exc
    match = re.search(r"\d+\.\d+\.\d+", spec)
    if match is None:
        raise CompilerNotFoundError(f"package.json pins solc as {spec!r}, not an exact release")
    return match.group(0)


def solc_version(*, solc_binary: Path) -> str:
    """``<release>+commit.<hash>`` as reported by ``solc_binary --version``.

    Native solc appends a platform suffix (``.Linux.g++``) that solc-js does not; it is dropped
    so that both spellings of the same compiler record the same version in the artifacts.
    """
    try:
        result = subprocess.run(
            [str(solc_binary), "--version"],
            capture_output=True,
            text=True,
            timeout=_SOLC_TIMEOUT_SECONDS,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise CompilerNotFoundError(f"`{solc_binary} --version` failed: {exc}") from exc
    match = _VERSION_RE.search(result.stdout)
    if match is None:
        raise CompilerNotFoundError(
            f"`{solc_binary} --version` printed no version: {result.stdout!r}"
        )
    release, commit = match.groups()
    return f"{release}+commit.{commit}" if commit else release


def _release(version: str) -> str:
    return version.split("+", 1)[0]


def find_solc(*, root: Path = PROJECT_ROOT) -> Path:
    """The compiler to use: a native ``solc`` of the pinned release, else the solc-js shim.

    Native solc is an order of magnitude faster, but only an exact release match is accepted
    because a different release would produce different bytecode than the committed artifacts.
    """
    pinned = pinned_solc_version(root=root)
    native = shutil.which("solc")
    if native is not None:
        try:
            if _release(solc_version(solc_binary=Path(native))) == pinned:
                return Path(native)
        except CompilerNotFoundError:
            pass  # a broken solc on PATH must not prevent falling back to the shim
    shim = (root / SOLC_SHIM).resolve()
    if not shim.is_file():
        raise CompilerNotFoundError(
            f"no native solc {pinned} on PATH and no shim at {shim}; run `make install`"
        )
    if shutil.which("node") is None:
        raise CompilerNotFoundError(
            f"no native solc {pinned} on PATH and `node` (needed by {shim}) is not installed"
        )
    found = solc_version(solc_binary=shim)
    if _release(found) != pinned:
        raise CompilerNotFoundError(
            f"{shim} runs solc {found} but package.json pins {pinned}; run `npm ci`"
        )
    return shim


def source_files(*, root: Path) -> list[Path]:
    """Every ``contracts/**/*.sol`` under ``root``, sorted, as paths relative to ``root``."""
    contracts = root / CONTRACTS_DIR
    if not contracts.is_dir():
        return []
    return sorted(path.relative_to(root) for path in contracts.rglob("*.sol") if path.is_file())


def build_standard_input(*, root: Path, sources: Sequence[Path]) -> dict[str, Any]:
    """The solc standard-JSON input for ``sources`` (paths relative to ``root``)."""
    # Contents are inlined so only imports touch the file system; unit names stay relative.
    units = {
        source.as_posix(): {"content": (root / source).read_text(encoding="utf-8")}
        for source in sources
    }
    return {
        "language": "Solidity",
        "sources": units,
        "settings": {
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "evmVersion": EVM_VERSION,
            "viaIR": False,
            # "none" drops the IPFS hash of the metadata (which embeds every source path and
            # the full compiler build) while keeping the CBOR tail with the solc version.
            "metadata": {"bytecodeHash": "none"},
            "remappings": list(REMAPPINGS),
            # Only our own units: OpenZeppelin's contracts would otherwise bloat the output.
            # The per-file AST is only read to tell libraries apart from contracts.
            "outputSelection": {name: {"*": list(OUTPUT_SELECTION), "": ["ast"]} for name in units},
        },
    }


def _messages(errors: Sequence[Mapping[str, Any]], *, severity: str) -> list[str]:
    return [
        str(error.get("formattedMessage") or error.get("message") or error)
        for error in errors
        if error.get("severity") == severity
    ]


def _run_solc(*, root: Path, standard_input: dict[str, Any], solc_binary: Path) -> dict[str, Any]:
    allow_paths = [root.resolve()]
    node_modules = root / "node_modules"
    if node_modules.exists():
        # node_modules may be a symlink (as in the tests); native solc checks the real path.
        allow_paths.append(node_modules.resolve())
    try:
        output: dict[str, Any] = solcx.compile_standard(
            standard_input,
            base_path=root.resolve(),
            allow_paths=allow_paths,
            solc_binary=solc_binary,
        )
    except SolcError as exc:
        # solcx annotates error_dict as a dict, but passes solc's list of error objects.
        reported = cast("list[Mapping[str, Any]]", exc.error_dict or [])
        errors = _messages(reported, severity="error")
        if not errors:
            # solc itself failed (crash, bad flag): its stderr is the only explanation.
            errors = [str(exc)]
        raise CompilationError(errors) from exc
    # solcx only raises when solc says "error"; a JSONError can also hide in here.
    errors = _messages(output.get("errors", []), severity="error")
    if errors:
        raise CompilationError(errors)
    return output


def _hex(obj: str, *, contract: str) -> str:
    if "__$" in obj:
        raise CompilationError(
            [
                f"{contract} links against an external library; artifacts must be deployable "
                "as-is, so make the library functions internal"
            ]
        )
    return "0x" + obj


def _contract_kinds(output: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    kinds: dict[tuple[str, str], str] = {}
    for source_name, source in output.get("sources", {}).items():
        for node in source.get("ast", {}).get("nodes", []):
            if node.get("nodeType") == "ContractDefinition":
                kinds[(source_name, node["name"])] = node.get("contractKind", "contract")
    return kinds


def _is_deployable(*, kind: str, abi: Sequence[Mapping[str, Any]], bytecode: str) -> bool:
    if not bytecode:
        return False  # interfaces and abstract contracts
    # solc emits a call-protection stub even for a library of internal functions only; those
    # functions are inlined into their callers, so there is nothing worth deploying.
    return kind != "library" or any(entry.get("type") == "function" for entry in abi)


def compile_contracts(
    *,
    root: Path,
    solc_binary: Path | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Compile every ``contracts/**/*.sol`` under ``root``; return artifacts keyed by name.

    Only deployable contracts get an artifact: interfaces, abstract contracts and libraries
    without external functions (whose code is inlined into callers) are skipped. Nothing is
    written.
    ``on_warning`` receives each solc warning; errors raise :class:`CompilationError`.
    """
    sources = source_files(root=root)
    if not sources:
        return {}
    binary = solc_binary if solc_binary is not None else find_solc(root=root)
    version = solc_version(solc_binary=binary)
    output = _run_solc(
        root=root,
        standard_input=build_standard_input(root=root, sources=sources),
        solc_binary=binary,
    )
    if on_warning is not None:
        for message in _messages(output.get("errors", []), severity="warning"):
            on_warning(message)

    kinds = _contract_kinds(output)
    artifacts: dict[str, dict[str, Any]] = {}
    for source_name in sorted(output.get("contracts", {})):
        for name, contract in sorted(output["contracts"][source_name].items()):
            evm = contract.get("evm", {})
            bytecode = evm.get("bytecode", {}).get("object", "")
            abi = contract.get("abi", [])
            kind = kinds.get((source_name, name), "contract")
            if not _is_deployable(kind=kind, abi=abi, bytecode=bytecode):
                continue
            if name in artifacts:
                raise ContractNameCollisionError(
                    f"contract {name!r} is defined in both {artifacts[name]['sourceName']} and "
                    f"{source_name}; artifacts are keyed by contract name, so rename one"
                )
            artifacts[name] = {
                "contractName": name,
                "sourceName": source_name,
                "abi": abi,
                "bytecode": _hex(bytecode, contract=name),
                "deployedBytecode": _hex(
                    evm.get("deployedBytecode", {}).get("object", ""), contract=name
                ),
                "methodIdentifiers": evm.get("methodIdentifiers", {}),
                "compiler": {
                    "version": version,
                    "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
                    "evmVersion": EVM_VERSION,
                    "viaIR": False,
                },
            }
    return artifacts


def render_artifact(artifact: Mapping[str, Any]) -> str:
    """The exact text an artifact file holds; byte-stable so that ``--check`` can diff it."""
    return json.dumps(artifact, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _artifact_files(*, root: Path) -> dict[str, Path]:
    directory = root / ARTIFACTS_DIR
    if not directory.is_dir():
        return {}
    return {path.stem: path for path in sorted(directory.glob("*.json"))}


def write_artifacts(*, root: Path, artifacts: Mapping[str, Mapping[str, Any]]) -> list[Path]:
    """Make ``ledger/artifacts/*.json`` under ``root`` equal ``artifacts``; return changed paths.

    Unchanged files are left untouched (mtimes stay put) and artifacts of contracts that no
    longer exist are deleted, so the directory always mirrors exactly one compile.
    """
    directory = root / ARTIFACTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    changed: list[Path] = []
    for name, path in _artifact_files(root=root).items():
        if name not in artifacts:
            path.unlink()
            changed.append(path)
    for name in sorted(artifacts):
        path = directory / f"{name}.json"
        text = render_artifact(artifacts[name])
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def check_artifacts(*, root: Path, solc_binary: Path | None = None) -> list[str]:
    """Differences between the committed artifacts and a fresh compile; empty when in sync.

    Each entry reads ``<Name>.json: missing`` (should exist), ``extra`` (no such contract) or
    ``differs`` (stale content).
    """
    fresh = compile_contracts(root=root, solc_binary=solc_binary)
    existing = _artifact_files(root=root)
    problems: list[str] = []
    for name in sorted(set(fresh) | set(existing)):
        if name not in existing:
            problems.append(f"{name}.json: missing")
        elif name not in fresh:
            problems.append(f"{name}.json: extra")
        elif existing[name].read_text(encoding="utf-8") != render_artifact(fresh[name]):
            problems.append(f"{name}.json: differs")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m ledger.compiler",
        description="Compile contracts/ into ledger/artifacts/*.json.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list the artifacts that differ from a fresh compile",
    )
    parser.add_argument("--verbose", action="store_true", help="print solc warnings to stderr")
    parser.add_argument(
        "--root", type=Path, default=PROJECT_ROOT, help="project root (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    root: Path = args.root

    def warn(message: str) -> None:
        print(message, file=sys.stderr)

    try:
        if args.check:
            problems = check_artifacts(root=root)
            for problem in problems:
                print(problem)
            if problems:
                print("artifacts are stale: run `make compile`", file=sys.stderr)
                return 1
            print("artifacts are up to date")
            return 0
        artifacts = compile_contracts(root=root, on_warning=warn if args.verbose else None)
        changed = write_artifacts(root=root, artifacts=artifacts)
    except CompilerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"wrote {path.relative_to(root)}" if path.exists() else f"removed {path.name}")
    print(f"{len(artifacts)} artifact(s), {len(changed)} changed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
