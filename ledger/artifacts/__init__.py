"""Compiled contract artifacts, shipped in the wheel as package data.

Why this exists: a pip-installed ``ledger`` must be able to deploy its contracts without Node or
solc, so ``python -m ledger.compiler`` writes ``<ContractName>.json`` files next to this module
and they are read back through :mod:`importlib.resources`, which also works from a wheel or zip.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

__all__ = ["ArtifactNotFoundError", "available_artifacts", "load_artifact"]

# Contract names are Solidity identifiers; refusing anything else keeps names from being paths.
_NAME_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


class ArtifactNotFoundError(LookupError):
    """No artifact of that name ships with this installation of ``ledger``."""


def available_artifacts() -> list[str]:
    """Names of the contracts whose artifacts ship with this installation, sorted."""
    return sorted(
        entry.name.removesuffix(".json")
        for entry in resources.files(__name__).iterdir()
        if entry.name.endswith(".json") and entry.is_file()
    )


def load_artifact(name: str) -> dict[str, Any]:
    """The artifact of contract ``name``: ``abi``, ``bytecode`` (0x-hex), ``deployedBytecode``..."""
    if not _NAME_RE.fullmatch(name):
        raise ArtifactNotFoundError(f"{name!r} is not a contract name")
    resource = resources.files(__name__) / f"{name}.json"
    if not resource.is_file():
        known = ", ".join(available_artifacts()) or "none"
        raise ArtifactNotFoundError(
            f"no artifact for contract {name!r} (available: {known}); run `make compile`"
        )
    artifact: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return artifact
