#!/usr/bin/env python3
"""Deploy ItemPassport to a chain and write its record to ``<data-dir>/deployment-<chain id>.json``.

Usage::

    .venv/bin/python scripts/deploy.py                                  # local anvil, dev account 0
    .venv/bin/python scripts/deploy.py --chain https://rpc.example --key-file admin.json \\
        --base-uri https://ledger.example/items/ --admin-transfer-delay 86400

The signing account becomes the platform admin; it is chosen as by the ``provenance`` CLI
(``--key-file``, ``--account N``, ``$PROVENANCE_PRIVATE_KEY``, else dev account 0 on local
chains; see `ledger.config`). A live recorded deployment is reused unless ``--force`` is given.
Same as ``provenance deploy``, kept as a script for deployment pipelines.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.text import Text

from ledger.chain import connect
from ledger.config import (
    ACCOUNT_ENV_VAR,
    CHAIN_ENV_VAR,
    DATA_DIR_ENV_VAR,
    DEFAULT_CHAIN,
    DEFAULT_DATA_DIR,
    KEY_FILE_ENV_VAR,
    PRIVATE_KEY_ENV_VAR,
    deployment_path,
    resolve_signer,
)
from ledger.deploy import (
    DEFAULT_BASE_URI,
    deploy,
    is_live,
    load_deployment,
    save_deployment,
)
from ledger.errors import ConfigurationError, LedgerError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Deploy ItemPassport and record the deployment.")
    parser.add_argument(
        "--chain",
        default=os.environ.get(CHAIN_ENV_VAR, DEFAULT_CHAIN),
        help="anvil (default), embedded or an http(s):// JSON-RPC URL",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get(DATA_DIR_ENV_VAR) or DEFAULT_DATA_DIR),
    )
    key = parser.add_mutually_exclusive_group()
    key.add_argument(
        "--key-file",
        type=Path,
        default=os.environ.get(KEY_FILE_ENV_VAR) or None,  # argparse applies `type` to it
        help="keystore JSON or hex key file of the admin",
    )
    key.add_argument(
        "--account",
        type=int,
        default=os.environ.get(ACCOUNT_ENV_VAR) or None,
        help="development account N of a local chain",
    )
    parser.add_argument("--base-uri", default=DEFAULT_BASE_URI)
    parser.add_argument("--admin-transfer-delay", type=int, default=0, metavar="SECONDS")
    parser.add_argument("--force", action="store_true", help="deploy even if a live one exists")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console()
    try:
        with connect(target=args.chain, data_dir=args.data_dir) as connection:
            w3 = connection.w3
            path = deployment_path(data_dir=args.data_dir, chain_id=int(w3.eth.chain_id))
            if path.exists() and not args.force:
                recorded = load_deployment(path=path)
                if is_live(w3=w3, deployment=recorded):
                    console.print(
                        f"Already deployed at {recorded.passport} (chain {recorded.chain_id}); "
                        f"record {path}. Use --force to deploy anew."
                    )
                    return 0
            signer = resolve_signer(
                w3=w3,
                key_file=args.key_file,
                account_index=args.account,
                ask_password=getpass.getpass if sys.stdin.isatty() else None,
            )
            if signer is None:
                raise ConfigurationError(
                    f"no signing account: use --key-file, --account N or ${PRIVATE_KEY_ENV_VAR}"
                )
            deployment = deploy(
                w3=w3,
                admin=signer.account,
                base_uri=args.base_uri,
                admin_transfer_delay=args.admin_transfer_delay,
            )
            save_deployment(deployment=deployment, path=path)
    except LedgerError as exc:
        Console(stderr=True).print(Text(f"error: {' '.join(str(exc).split())}", style="red"))
        return 1
    console.print(f"Deployed ItemPassport at {deployment.passport}")
    console.print(f"  chain id  {deployment.chain_id}")
    console.print(f"  admin     {deployment.admin} ({signer.source})")
    console.print(f"  block     {deployment.block_number}")
    console.print(f"  tx        {deployment.tx_hash}")
    console.print(f"  record    {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
