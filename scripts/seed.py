#!/usr/bin/env python3
"""Seed a local chain with demo data: vetted demo accounts and N demo items.

Usage (developers)::

    .venv/bin/python scripts/seed.py --count 50            # on anvil, state under .provenance/
    .venv/bin/python scripts/seed.py --chain http://127.0.0.1:8545 --count 10

Safe to run repeatedly: accounts already vetted and items already registered are skipped, so a
second run with the same ``--count`` registers nothing. Uses the chain's development accounts
(admin = 0, merchant = 1, authenticator = 2, owners = 3-5), so it refuses public chains.

Also home of `seed_demo`, the single demo item that ``make run`` (scripts/run.py) keeps.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table
from rich.text import Text
from web3 import Web3

from ledger.chain import connect, dev_accounts
from ledger.client import NewItem, ProvenanceClient
from ledger.config import (
    CHAIN_ENV_VAR,
    DATA_DIR_ENV_VAR,
    DEFAULT_CHAIN,
    DEFAULT_DATA_DIR,
    deployment_path,
)
from ledger.deploy import Deployment, load_or_deploy
from ledger.errors import LedgerError
from ledger.hashing import item_id
from ledger.types import (
    AccountStatus,
    ConditionGrade,
    ItemId,
    Role,
    Verdict,
)

__all__ = [
    "DEMO_BRAND",
    "DEMO_METADATA",
    "DEMO_SERIAL",
    "DemoAccounts",
    "DemoSeed",
    "demo_accounts",
    "ensure_vetted",
    "main",
    "seed_demo",
    "seed_items",
]

DEMO_BRAND = "Maison Démo"
DEMO_SERIAL = "MD-2019-0001"
DEMO_METADATA: dict[str, Any] = {
    "category": "bag",
    "model": "Weekender 45",
    "material": "coated canvas, vachetta leather",
    "colour": "tan",
    "year": 2019,
    "description": "Demo item seeded by `make run`.",
}
SEED_BRAND = "Demo Atelier"
_MODELS = ("Tote 30", "Satchel", "Card holder", "Belt 90", "Scarf 90x90", "Loafer 41")
_CONDITIONS = ("new", "like_new", "excellent", "very_good", "good")


@dataclass(frozen=True)
class DemoAccounts:
    """Who plays which part in the demo (development accounts of the local chain)."""

    admin: LocalAccount
    merchant: LocalAccount
    authenticator: LocalAccount
    buyer: LocalAccount
    owners: tuple[LocalAccount, ...]

    def names(self) -> dict[str, str]:
        """Address -> label, for tables."""
        labels = {
            self.admin.address: "admin",
            self.merchant.address: "merchant",
            self.authenticator.address: "authenticator",
            self.buyer.address: "buyer",
        }
        for n, owner in enumerate(self.owners, start=1):
            labels.setdefault(owner.address, f"owner {n}")
        return labels


def demo_accounts(w3: Web3) -> DemoAccounts:
    accounts = dev_accounts(w3)
    if len(accounts) < 6:
        raise SystemExit(f"the demo needs 6 development accounts, the chain has {len(accounts)}")
    return DemoAccounts(
        admin=accounts[0],
        merchant=accounts[1],
        authenticator=accounts[2],
        buyer=accounts[3],
        owners=tuple(accounts[3:6]),
    )


def ensure_vetted(*, admin: ProvenanceClient, account: str, roles: Role, name: str) -> bool:
    """Vet ``account`` for ``roles`` unless it already is active with them; True if it acted."""
    record = admin.account_record(account)
    credentials = {"demo": True, "name": name, "roles": sorted(r.name or "" for r in roles)}
    if record.status == AccountStatus.ACTIVE:
        if record.roles & roles == roles:
            return False
        admin.amend(
            account=account, roles=record.roles | roles, credentials=credentials, name=record.name
        )
        return True
    # New, suspended or revoked: `vet` (re-)admits it with fresh credentials.
    admin.vet(account=account, roles=roles, credentials=credentials, name=name, reason="demo seed")
    return True


@dataclass
class DemoSeed:
    """The demo item and what this run had to do to complete it (empty: all there already)."""

    item_id: ItemId
    metadata: dict[str, Any]
    actions: list[str] = field(default_factory=list)


def seed_demo(*, w3: Web3, deployment: Deployment, accounts: DemoAccounts) -> DemoSeed:
    """Vet the demo merchant and authenticator, register the demo item, authenticate it and sell
    it to the buyer; every step is skipped when already done, so reruns and half-done earlier
    runs (a crash between steps) both end in the same state."""
    admin = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.admin)
    merchant = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.merchant)
    authenticator = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.authenticator)
    seed = DemoSeed(item_id=item_id(brand=DEMO_BRAND, serial=DEMO_SERIAL), metadata=DEMO_METADATA)

    if ensure_vetted(
        admin=admin, account=accounts.merchant.address, roles=Role.MERCHANT, name="Demo Resale Co"
    ):
        seed.actions.append("vetted the demo merchant")
    if ensure_vetted(
        admin=admin,
        account=accounts.authenticator.address,
        roles=Role.AUTHENTICATOR,
        name="Demo Authentication Lab",
    ):
        seed.actions.append("vetted the demo authenticator")

    if not admin.are_registered([seed.item_id])[0]:
        merchant.register(brand=DEMO_BRAND, serial=DEMO_SERIAL, metadata=DEMO_METADATA)
        seed.actions.append("registered the demo item")
    kinds = {event.kind for event in admin.history(seed.item_id)}
    if "authenticated" not in kinds:
        authenticator.authenticate(
            item_id=seed.item_id,
            verdict=Verdict.AUTHENTIC,
            grade=ConditionGrade.LIKE_NEW,
            evidence={"lab": "Demo Authentication Lab", "report": "DEMO-AUTH-0001"},
        )
        seed.actions.append("authenticated the demo item")
    if "transferred" not in kinds and admin.item(seed.item_id).owner == accounts.merchant.address:
        merchant.transfer(
            item_id=seed.item_id,
            to=accounts.buyer.address,
            sale_ref={"order": "DEMO-ORDER-0001", "channel": "demo"},
        )
        seed.actions.append("sold the demo item to the buyer")
    return seed


def seed_items(
    *,
    w3: Web3,
    deployment: Deployment,
    accounts: DemoAccounts,
    count: int,
    batch_size: int = 100,
) -> tuple[int, int]:
    """Register ``count`` demo items (serials SEED-00001...), spread over the demo owners.

    Returns ``(registered, skipped)``; items from an earlier run are skipped.
    """
    admin = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.admin)
    ensure_vetted(
        admin=admin, account=accounts.merchant.address, roles=Role.MERCHANT, name="Demo Resale Co"
    )
    merchant = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.merchant)
    by_owner: dict[str, list[NewItem]] = {}
    for n in range(1, count + 1):
        owner = accounts.owners[n % len(accounts.owners)].address
        by_owner.setdefault(owner, []).append(
            NewItem(
                brand=SEED_BRAND,
                serial=f"SEED-{n:05d}",
                metadata={
                    "model": _MODELS[n % len(_MODELS)],
                    "condition": _CONDITIONS[n % len(_CONDITIONS)],
                    "seed": n,
                },
            )
        )
    registered = skipped = 0
    for owner, items in by_owner.items():
        result = merchant.register_batch(items=items, owner=owner, chunk_size=batch_size)
        registered += len(result.registered)
        skipped += len(result.skipped)
    return registered, skipped


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=20, help="how many demo items (default 20)")
    parser.add_argument(
        "--chain",
        default=os.environ.get(CHAIN_ENV_VAR, DEFAULT_CHAIN),
        help="anvil (default), embedded or an http(s):// URL",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get(DATA_DIR_ENV_VAR) or DEFAULT_DATA_DIR),
        help="where the deployment record and anvil state live (default .provenance/)",
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--no-demo", action="store_true", help="skip the single demo item")
    args = parser.parse_args(argv)
    if args.count < 0 or args.batch_size < 1:
        parser.error("--count must be >= 0 and --batch-size >= 1")

    console = Console()
    try:
        with connect(target=args.chain, data_dir=args.data_dir) as connection:
            w3 = connection.w3
            accounts = demo_accounts(w3)
            path = deployment_path(data_dir=args.data_dir, chain_id=int(w3.eth.chain_id))
            deployment, fresh = load_or_deploy(w3=w3, path=path, admin=accounts.admin)
            console.print(
                f"{'Deployed' if fresh else 'Using'} ItemPassport at {deployment.passport} "
                f"(chain {deployment.chain_id})"
            )
            if not args.no_demo:
                seed = seed_demo(w3=w3, deployment=deployment, accounts=accounts)
                console.print(
                    f"Demo item 0x{seed.item_id.hex()}: "
                    + ("; ".join(seed.actions) if seed.actions else "already seeded")
                )
            registered, skipped = seed_items(
                w3=w3,
                deployment=deployment,
                accounts=accounts,
                count=args.count,
                batch_size=args.batch_size,
            )
    except LedgerError as exc:
        Console(stderr=True).print(Text(f"error: {exc}", style="red"), soft_wrap=True)
        return 1
    table = Table(title=f"Seeded {SEED_BRAND} items", title_justify="left")
    table.add_column("registered", justify="right")
    table.add_column("already there", justify="right")
    table.add_row(str(registered), str(skipped))
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
