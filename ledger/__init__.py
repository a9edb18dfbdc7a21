"""provenance-ledger: record the provenance of second-hand goods on Ethereum chains.

The public surface is what ``__all__`` lists; everything else lives in submodules for those who
need it (``ledger.tx``, ``ledger.history``, ``ledger.chain``...).

Names are imported lazily (PEP 562): ``import ledger.compiler`` or ``ledger.artifacts`` at build
time must not drag in web3 and its clients, yet ``from ledger import ProvenanceClient`` works.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger import errors
    from ledger.chain import Connection, connect, dev_accounts
    from ledger.client import (
        BatchResult,
        Evidence,
        NewItem,
        ProvenanceClient,
        Registration,
        Verification,
    )
    from ledger.deploy import Deployment, deploy, load_deployment, load_or_deploy, save_deployment
    from ledger.errors import (
        ChainUnavailableError,
        ConfigurationError,
        ContractError,
        InputError,
        LedgerError,
        TransactionError,
    )
    from ledger.hashing import hash_bytes, hash_document, item_id
    from ledger.history import HistoryEvent
    from ledger.market import MarketClient
    from ledger.types import (
        Account,
        AccountStatus,
        ConditionGrade,
        Hash32,
        Item,
        ItemId,
        ItemStatus,
        RetirementKind,
        Role,
        ServiceKind,
        TxResult,
        Verdict,
    )

__all__ = [
    "Account",
    "AccountStatus",
    "BatchResult",
    "ChainUnavailableError",
    "ConditionGrade",
    "ConfigurationError",
    "Connection",
    "ContractError",
    "Deployment",
    "Evidence",
    "Hash32",
    "HistoryEvent",
    "InputError",
    "Item",
    "ItemId",
    "ItemStatus",
    "LedgerError",
    "MarketClient",
    "NewItem",
    "ProvenanceClient",
    "Registration",
    "RetirementKind",
    "Role",
    "ServiceKind",
    "TransactionError",
    "TxResult",
    "Verdict",
    "Verification",
    "connect",
    "deploy",
    "dev_accounts",
    "errors",
    "hash_bytes",
    "hash_document",
    "item_id",
    "load_deployment",
    "load_or_deploy",
    "save_deployment",
]

_SOURCES = {
    "ledger.chain": ("Connection", "connect", "dev_accounts"),
    "ledger.client": (
        "BatchResult",
        "Evidence",
        "NewItem",
        "ProvenanceClient",
        "Registration",
        "Verification",
    ),
    "ledger.deploy": (
        "Deployment",
        "deploy",
        "load_deployment",
        "load_or_deploy",
        "save_deployment",
    ),
    "ledger.errors": (
        "ChainUnavailableError",
        "ConfigurationError",
        "ContractError",
        "InputError",
        "LedgerError",
        "TransactionError",
    ),
    "ledger.hashing": ("hash_bytes", "hash_document", "item_id"),
    "ledger.history": ("HistoryEvent",),
    "ledger.market": ("MarketClient",),
    "ledger.types": (
        "Account",
        "AccountStatus",
        "ConditionGrade",
        "Hash32",
        "Item",
        "ItemId",
        "ItemStatus",
        "RetirementKind",
        "Role",
        "ServiceKind",
        "TxResult",
        "Verdict",
    ),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}


def __getattr__(name: str) -> Any:
    if name == "errors":
        return importlib.import_module("ledger.errors")
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'ledger' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
