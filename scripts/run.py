#!/usr/bin/env python3
"""``make run``: the whole local stack in one command, which remembers everything on restart.

1. Attach to the anvil answering at ``$PROVENANCE_ANVIL_URL`` (default http://127.0.0.1:8545),
   or start one whose state is kept in ``<data-dir>/anvil-state.json``.
2. Deploy ItemPassport once; the record ``<data-dir>/deployment-<chain id>.json`` makes later
   runs reuse it (it is redeployed only if the chain no longer has it).
3. Seed the demo once: vet a merchant and an authenticator, register a demo item, authenticate
   it, sell it to a buyer. Each step is skipped when already done (see scripts/seed.py).
4. Print the contract, the chain id and the demo item's history, checked against its metadata.
5. Serve the HTTP gateway (``api.main.serve``) on ``$PROVENANCE_HOST:$PROVENANCE_PORT``
   (default 127.0.0.1:8000) in this process, on the same node and deployment; the bootstrap
   admin API key is in ``<data-dir>/admin.key`` (or ``$PROVENANCE_ADMIN_API_KEY``).
6. On Ctrl-C or SIGTERM stop the gateway, then the anvil it started, so the state is saved.

``--data-dir`` (``$PROVENANCE_DATA_DIR``) defaults to ``.provenance/``; the other gateway settings
are the ``PROVENANCE_*`` variables of `api.settings.Settings`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

# scripts/ is not a package; running this file puts its directory on sys.path. The repository
# root goes there too, so the gateway (api/) imports even from an older editable install.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from seed import DEMO_BRAND, DEMO_SERIAL, demo_accounts, seed_demo

from api.main import admin_key_hint, docs_url, serve
from api.settings import Settings
from ledger.chain import ANVIL_STATE_FILE, Connection, connect
from ledger.cli import history_table
from ledger.client import ProvenanceClient
from ledger.config import DATA_DIR_ENV_VAR, DEFAULT_DATA_DIR, Signer, deployment_path
from ledger.deploy import load_or_deploy
from ledger.errors import LedgerError
from ledger.hashing import item_id

READY_MESSAGE = "Ready."


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (docker stop, systemd, CI) takes the same clean path as Ctrl-C.
    raise KeyboardInterrupt


def _show(console: Console, connection: Connection, settings: Settings) -> Signer:
    """Deploy once, seed once, print what there is; returns the admin for the gateway."""
    data_dir = settings.data_dir
    w3 = connection.w3
    chain_id = int(w3.eth.chain_id)
    accounts = demo_accounts(w3)
    record = deployment_path(data_dir=data_dir, chain_id=chain_id)
    deployment, fresh = load_or_deploy(
        w3=w3, path=record, admin=accounts.admin, base_uri=f"{settings.base_url}/items/"
    )
    seed = seed_demo(w3=w3, deployment=deployment, accounts=accounts)

    overview = Table.grid(padding=(0, 2))
    overview.add_column(style="bold")
    overview.add_column()
    if connection.node is not None:
        node = f"{connection.url} (started here; state in {data_dir / ANVIL_STATE_FILE})"
    else:
        node = f"{connection.url} (attached to a running node; left running on exit)"
    overview.add_row("RPC URL", node)
    overview.add_row("chain id", str(chain_id))
    overview.add_row(
        "ItemPassport",
        f"{deployment.passport} (vetting registry + item passports, one contract)",
    )
    overview.add_row(
        "deployment",
        f"{'deployed now' if fresh else 'reused'}: block {deployment.block_number}, "
        f"record {record}",
    )
    overview.add_row("admin", deployment.admin)
    console.print(overview)

    roles = Table(title="Demo accounts (anvil development keys)", title_justify="left")
    roles.add_column("role")
    roles.add_column("address")
    for label, account in (
        ("admin", accounts.admin),
        ("merchant", accounts.merchant),
        ("authenticator", accounts.authenticator),
        ("buyer", accounts.buyer),
    ):
        roles.add_row(label, account.address)
    console.print(roles)

    item = "0x" + seed.item_id.hex()
    done = "; ".join(seed.actions) if seed.actions else "already seeded, nothing to do"
    console.print(f"[bold]Demo item[/] {DEMO_BRAND} / {DEMO_SERIAL}: {item}")
    console.print(f"  seeding: {done}")

    client = ProvenanceClient(w3=w3, deployment=deployment)
    verification = client.verify(item_id=seed.item_id, metadata=seed.metadata)
    console.print(
        history_table(
            client.history(seed.item_id), title="Demo item history", names=accounts.names()
        )
    )
    if verification.matches:
        console.print("[green]✓ verified[/]: the demo metadata matches the hash on chain")
    else:
        console.print("[red]✗ the demo metadata does not match the hash on chain[/]")
    # The gateway signs as the account that deployed and seeded, whatever the environment says.
    return Signer(account=accounts.admin, source="development account 0 (make run)")


def _show_gateway(console: Console, settings: Settings) -> None:
    gateway = Table.grid(padding=(0, 2))
    gateway.add_column(style="bold")
    gateway.add_column()
    gateway.add_row("gateway", f"{settings.base_url} (starting …)")
    gateway.add_row("API docs", docs_url(settings))
    gateway.add_row(
        "admin API key", f"{admin_key_hint(settings)} (send 'Authorization: Bearer <key>')"
    )
    console.print(gateway)


def _ready_message(console: Console, settings: Settings, item: str) -> None:
    console.print(
        f"\n[bold green]{READY_MESSAGE}[/] API docs: {docs_url(settings)}\n"
        f"Try: curl {settings.base_url}/items/{item}/history\n"
        f"     .venv/bin/provenance history {item}\n"
        "Press Ctrl-C to stop."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the local provenance stack (make run).")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get(DATA_DIR_ENV_VAR) or DEFAULT_DATA_DIR),
        help="where the chain state, deployment record and gateway data live "
        "(default .provenance/)",
    )
    args = parser.parse_args(argv)
    console = Console()
    errors = Console(stderr=True)
    try:
        settings = Settings(data_dir=args.data_dir, chain="anvil")
    except ValidationError as exc:
        errors.print(Text(f"error: invalid PROVENANCE_* setting: {exc}", style="red"))
        return 2
    # Explicit for SIGINT too: a shell starting us in the background would have it ignored.
    # While uvicorn serves, it handles both itself and re-raises them here once it has stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)

    connection: Connection | None = None
    status = 0
    try:
        console.print(f"Connecting to anvil (data in {args.data_dir}) …")
        connection = connect(target="anvil", data_dir=args.data_dir)
        admin = _show(console, connection, settings)
        _show_gateway(console, settings)
        item = "0x" + item_id(brand=DEMO_BRAND, serial=DEMO_SERIAL).hex()
        serve(
            settings,
            connection=connection,
            signer=admin,
            on_ready=lambda: _ready_message(console, settings, item),
        )
        console.print("\nStopping …")
    except KeyboardInterrupt:
        console.print("\nStopping …")
    except LedgerError as exc:
        errors.print(Text(f"error: {' '.join(str(exc).split())}", style="red"), soft_wrap=True)
        status = 1
    finally:
        if connection is not None:
            started = connection.node is not None
            try:
                connection.close()
            except LedgerError as exc:
                errors.print(Text(f"warning: {exc}", style="yellow"), soft_wrap=True)
                status = status or 1
            else:
                if started:
                    console.print(
                        f"anvil stopped; state saved in {args.data_dir / ANVIL_STATE_FILE}"
                    )
    return status


if __name__ == "__main__":
    sys.exit(main())
