"""The ``provenance`` command line: vet accounts, register items, record their lives, read them.

Why this exists: operators of a resale platform need every contract action without writing
Python, and buyers need ``history`` and ``verify``. The CLI only parses arguments and renders;
the work is done by `ledger.client.ProvenanceClient` and `ledger.importer`.

Failures are printed as one red line (the `LedgerError` message; for an `InputError` the field
it names comes first) with exit code 1, never a traceback. ``verify`` exits 2 on a mismatch and
``import`` exits 2 when some rows were bad or failed, so scripts can tell "ran, answer is no"
from "could not run".

Global options come before the command (``provenance --chain embedded deploy``); each has an
environment variable (see `ledger.config`). The deployment record of a chain lives at
``<data-dir>/deployment-<chain id>.json``.

Tests and programs that embed the CLI may pass an open `ledger.chain.Connection` as Click's
``obj`` (``CliRunner().invoke(app, args, obj=connection)``): the command then runs on that chain,
which matters for the in-process ``embedded`` chain that otherwise starts afresh on every
invocation, and the connection is left open.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import is_address, to_checksum_address
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup
from web3 import Web3

from ledger import jsonsafe
from ledger.chain import Connection, connect
from ledger.client import ProvenanceClient, Registration, Verification
from ledger.config import (
    ACCOUNT_ENV_VAR,
    CHAIN_ENV_VAR,
    DATA_DIR_ENV_VAR,
    DEFAULT_CHAIN,
    DEFAULT_DATA_DIR,
    KEY_FILE_ENV_VAR,
    PRIVATE_KEY_ENV_VAR,
    Signer,
    deployment_path,
    resolve_signer,
)
from ledger.deploy import (
    DEFAULT_BASE_URI,
    Deployment,
    add_market,
    deploy,
    is_live,
    load_deployment,
    save_deployment,
)
from ledger.errors import ConfigurationError, InputError, LedgerError
from ledger.faucet import DEFAULT_TOP_UP_WEI
from ledger.hashing import hash_bytes, hash_document, item_id, parse_hash32
from ledger.history import HistoryEvent
from ledger.importer import (
    DEFAULT_BATCH_SIZE,
    FailedRow,
    ImportReport,
    SkippedRow,
    parse_item_record,
    read_items,
    register_items,
)
from ledger.keys import KEYSTORE_DIR, ApiKey, KeyManager, KeyStore
from ledger.market import MarketClient
from ledger.node import AnvilError
from ledger.signatures import relay_body, sign_permit, sign_transfer
from ledger.types import (
    Account,
    ConditionGrade,
    DisputeReason,
    Hash32,
    Item,
    ItemId,
    ItemStatus,
    Listing,
    RetirementKind,
    Role,
    Ruling,
    Sale,
    SaleState,
    ServiceKind,
    TxResult,
    Verdict,
    VoidReason,
    Wei,
)

__all__ = [
    "DEBUG_ENV_VAR",
    "EXIT_ERROR",
    "EXIT_MISMATCH",
    "app",
    "history_table",
    "import_report_tables",
    "main",
    "parse_duration",
    "parse_evidence",
    "parse_item_ref",
    "parse_price",
    "parse_roles",
]

DEBUG_ENV_VAR = "PROVENANCE_DEBUG"
EXIT_ERROR = 1
EXIT_MISMATCH = 2
"""``verify``: the document does not match; ``import``: some rows were bad or failed."""

_HEX32 = re.compile(r"^0[xX][0-9a-fA-F]{64}$")
# A single word ending in a file extension is taken to be a file name, so that a mistyped path
# is an error rather than silently hashed as text.
_LOOKS_LIKE_FILE = re.compile(r"^\S*[/\\]\S*$|^\S+\.[A-Za-z0-9]{1,5}$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


# --- console output --------------------------------------------------------------------------


def _out() -> Console:
    # Built per call: CliRunner swaps sys.stdout, and COLUMNS may change between invocations.
    return Console(highlight=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _field(label: str, value: object, *, console: Console | None = None) -> None:
    (console or _out()).print(f"[bold]{label:<16}[/]{escape(str(value))}", soft_wrap=True)


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _short(value: str, *, keep: int = 6) -> str:
    if value.startswith("0x") and len(value) > 2 * keep + 4:
        return f"{value[: keep + 2]}…{value[-keep + 2 :]}"
    return value


def _fail(message: str) -> NoReturn:
    _err().print(Text(f"error: {' '.join(message.split())}", style="red"))
    raise typer.Exit(EXIT_ERROR)


def _error_message(exc: BaseException) -> str:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, InputError) and exc.field and exc.field not in message:
        return f"{exc.field}: {message}"
    return message


class _LedgerGroup(TyperGroup):
    """Turns library errors into one red line and exit code 1, and closes the chain connection."""

    # ctx is Typer's vendored click Context, which Typer does not export under that name.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, BrokenPipeError):
            raise  # usage errors, --help, deliberate exits and `| head` keep Typer's handling
        except (LedgerError, AnvilError) as exc:
            _fail(_error_message(exc))
        except Exception as exc:  # a bug: still one line, unless asked for the traceback
            if os.environ.get(DEBUG_ENV_VAR):
                raise
            _fail(
                f"unexpected {type(exc).__name__}: {exc} "
                f"(set {DEBUG_ENV_VAR}=1 to see the traceback)"
            )
        finally:
            session = ctx.obj
            if isinstance(session, _Session):
                session.close()


# --- session: chain, signer, deployment, client, opened lazily ---------------------------------


@dataclass
class _Session:
    chain: str
    data_dir: Path
    key_file: Path | None
    account_index: int | None
    injected: Connection | None = None
    _connection: Connection | None = None
    _chain_id: int | None = None
    _signer: Signer | None = None
    _signer_resolved: bool = False
    _deployment: Deployment | None = None
    _clients: dict[bool, ProvenanceClient] = field(default_factory=dict)

    @property
    def connection(self) -> Connection:
        if self.injected is not None:
            return self.injected
        if self._connection is None:
            self._connection = connect(target=self.chain, data_dir=self.data_dir)
        return self._connection

    @property
    def w3(self) -> Web3:
        return self.connection.w3

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @property
    def record_path(self) -> Path:
        return deployment_path(data_dir=self.data_dir, chain_id=self.chain_id)

    def signer(self, *, required: bool = True) -> Signer | None:
        if not self._signer_resolved:
            self._signer = resolve_signer(
                w3=self.w3,
                key_file=self.key_file,
                account_index=self.account_index,
                ask_password=_ask_password if sys.stdin.isatty() else None,
            )
            self._signer_resolved = True
        if self._signer is None and required:
            raise ConfigurationError(
                "no signing account on this chain: use --key-file, --account N or "
                f"${PRIVATE_KEY_ENV_VAR}"
            )
        return self._signer

    def account(self) -> LocalAccount:
        signer = self.signer(required=True)
        assert signer is not None  # required=True raised otherwise
        return signer.account

    def deployment(self) -> Deployment:
        if self._deployment is None:
            path = self.record_path
            if not path.exists():
                raise ConfigurationError(
                    f"no deployment for chain {self.chain_id} at {path}: "
                    "run `provenance deploy` first"
                )
            recorded = load_deployment(path=path)
            if not is_live(w3=self.w3, deployment=recorded):
                raise ConfigurationError(
                    f"the deployment recorded at {path} is not on this chain (no contract at "
                    f"{recorded.passport}): run `provenance deploy` again"
                )
            self._deployment = recorded
        return self._deployment

    def client(self, *, signing: bool = True) -> ProvenanceClient:
        """A client signing as the resolved signer, or a read-only one (no key is looked up)."""
        if signing not in self._clients:
            self._clients[signing] = ProvenanceClient(
                w3=self.w3,
                deployment=self.deployment(),
                account=self.account() if signing else None,
            )
        return self._clients[signing]

    def market(self, *, signing: bool = True) -> MarketClient:
        """The resale market, signing as (and sharing the sender of) `client`."""
        return MarketClient.from_client(self.client(signing=signing))

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except LedgerError as exc:
                _err().print(Text(f"warning: {' '.join(str(exc).split())}", style="yellow"))


def _ask_password(prompt: str) -> str:
    password: str = typer.prompt(prompt, hide_input=True)
    return password


def _session(ctx: typer.Context) -> _Session:
    session = ctx.find_root().obj
    if not isinstance(session, _Session):
        raise ConfigurationError("the CLI session was not initialised")
    return session


# --- argument parsing ----------------------------------------------------------------------------


def parse_item_ref(value: str, *, field: str = "ITEM") -> ItemId:
    """An item id given as 0x + 64 hex digits."""
    text = value.strip()
    if not _HEX32.match(text):
        raise InputError(
            f"{value!r} is not an item id (0x + 64 hex digits); use --brand/--serial for a label",
            field=field,
        )
    return ItemId(bytes.fromhex(text[2:]))


def _resolve_item(ref: str | None, *, brand: str | None, serial: str | None) -> ItemId:
    if ref is not None:
        if brand is not None or serial is not None:
            raise InputError("give either ITEM or --brand/--serial, not both", field="ITEM")
        return parse_item_ref(ref)
    if brand is None or serial is None:
        raise InputError("give ITEM (0x id) or both --brand and --serial", field="ITEM")
    try:
        return item_id(brand=brand, serial=serial)
    except ValueError as exc:
        raise InputError(
            str(exc), field="--serial" if "serial" in str(exc) else "--brand"
        ) from None


def _parse_address(value: str, *, field: str) -> ChecksumAddress:
    text = value.strip()
    if not is_address(text):
        raise InputError(
            f"{value!r} is not an Ethereum address (0x + 40 hex digits, valid checksum)",
            field=field,
        )
    return to_checksum_address(text)


def parse_roles(value: str) -> Role:
    """``"merchant,brand"`` -> ``Role.MERCHANT | Role.BRAND``."""
    roles = Role(0)
    for name in (part.strip().lower() for part in value.split(",")):
        if not name:
            continue
        try:
            roles |= Role[name.upper()]
        except KeyError:
            known = ", ".join(r.name.lower() for r in Role if r.name)
            raise InputError(f"unknown role {name!r} (known: {known})", field="--roles") from None
    if not roles:
        raise InputError("name at least one role", field="--roles")
    return roles


def _read_json_file(path: Path, *, field: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", field=field) from None
    try:
        return jsonsafe.loads(text)
    except ValueError as exc:
        raise InputError(f"{path} is not valid JSON: {exc}", field=field) from None


def parse_evidence(
    value: str, *, field: str, allow_text: bool = True
) -> Hash32 | Mapping[str, Any] | str:
    """What a ``FILE|HEX|TEXT`` option stands for, in a form `ProvenanceClient` hashes.

    * ``0x`` + 64 hex digits: an existing hash, used as is;
    * an existing file: ``*.json`` is parsed and hashed as a document (RFC 8785), anything else
      (photos, PDFs) is hashed as raw bytes;
    * any other text (if ``allow_text``): passed on as text, which the client hashes (keccak256
      of its UTF-8 bytes). A single word that looks like a file name (``report.pdf``,
      ``scans/a``) but names no file is an error, so a typo is not silently hashed as text.
    """
    text = value.strip()
    if not text:
        raise InputError("must not be empty", field=field)
    if _HEX32.match(text):
        return parse_hash32(text, field=field)
    path = Path(text).expanduser()
    if path.is_file():
        if path.suffix.lower() == ".json":
            document = _read_json_file(path, field=field)
            return dict(document) if isinstance(document, dict) else hash_document(document)
        try:
            return hash_bytes(path.read_bytes())
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}", field=field) from None
    if _LOOKS_LIKE_FILE.match(text) and not _URL.match(text):
        raise InputError(f"no such file: {text}", field=field)
    if not allow_text:
        raise InputError(f"{value!r} is neither a file nor a 0x-prefixed 32-byte hash", field=field)
    return value


def _load_metadata(path: Path, *, field: str = "--metadata") -> dict[str, Any]:
    document = _read_json_file(path, field=field)
    if not isinstance(document, dict):
        raise InputError(f"{path} must hold a JSON object", field=field)
    return document


# --- choices -----------------------------------------------------------------------------------


class VerdictChoice(StrEnum):
    authentic = "authentic"
    counterfeit = "counterfeit"
    inconclusive = "inconclusive"


class GradeChoice(StrEnum):
    ungraded = "ungraded"
    new = "new"
    like_new = "like_new"
    excellent = "excellent"
    very_good = "very_good"
    good = "good"
    fair = "fair"
    poor = "poor"


class ServiceChoice(StrEnum):
    repair = "repair"
    refurbishment = "refurbishment"
    part_replacement = "part_replacement"
    other = "other"


class FlagChoice(StrEnum):
    lost = "lost"
    stolen = "stolen"


class RetirementChoice(StrEnum):
    recycled = "recycled"
    destroyed = "destroyed"
    dismantled = "dismantled"
    remanufactured = "remanufactured"


class FormatChoice(StrEnum):
    auto = "auto"
    csv = "csv"
    jsonl = "jsonl"


# --- rendering -----------------------------------------------------------------------------------


def _print_tx(tx: TxResult, *, what: str) -> None:
    _out().print(f"[green]✓[/] {escape(what)}", soft_wrap=True)
    _field("tx", tx.tx_hash)
    _field("block", tx.block_number)
    _field("gas used", tx.gas_used)


def _roles_text(roles: Role | int) -> str:
    return ",".join(r.name.lower() for r in Role if r.name and int(roles) & r) or "none"


def _time(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _details(data: Mapping[str, Any], *, actor: str | None, names: Mapping[str, str]) -> str:
    parts = []
    for key, value in data.items():
        if actor is not None and value == actor:
            continue  # already in the "by" column
        if isinstance(value, bytes):
            value = _hex(value)
        if isinstance(value, str) and value in names:
            value = names[value]
        elif isinstance(value, str) and value.startswith("0x"):
            value = _short(value)
        parts.append(f"{key}={value}")
    return "  ".join(parts)


def history_table(
    events: Sequence[HistoryEvent],
    *,
    title: str | None = None,
    names: Mapping[str, str] | None = None,
) -> Table:
    """A Rich table of an item's history; ``names`` maps addresses to labels shown instead."""
    labels = dict(names or {})
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("block", justify="right")
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("event", style="bold cyan", no_wrap=True)
    table.add_column("by", overflow="fold")
    table.add_column("details", overflow="fold")
    for number, event in enumerate(events, start=1):
        actor = event.actor or ""
        table.add_row(
            str(number),
            str(event.block_number),
            _time(event.timestamp),
            event.kind,
            escape(labels.get(actor, _short(actor))),
            escape(_details(event.data, actor=event.actor, names=labels)),
        )
    return table


def _item_table(item: Item, *, metadata_hash: Hash32 | None, registrant_name: str | None) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    registrant = item.registrant + (f" ({registrant_name})" if registrant_name else "")
    rows = [
        ("item id", _hex(item.item_id)),
        ("owner", item.owner),
        ("status", item.status.name.lower()),
        ("brand certified", "yes" if item.brand_certified else "no"),
        ("last verdict", item.last_verdict.name.lower()),
        ("registrant", registrant),
        ("metadata hash", _hex(metadata_hash) if metadata_hash is not None else "-"),
        ("transfers", str(item.transfer_nonce)),
    ]
    if item.flagged_by_admin:
        rows.append(("flagged by", "admin"))
    if item.locked:
        rows.append(("locked", "held by the resale market"))
    for label, value in rows:
        table.add_row(label, escape(value))
    return table


def _account_table(account: Account) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in (
        ("address", account.address),
        ("registry id", str(account.id)),
        ("name", account.name or "-"),
        ("roles", _roles_text(account.roles)),
        ("status", account.status.name.lower()),
        ("vetted at", _time(account.vetted_at) if account.vetted_at else "-"),
        ("updated at", _time(account.updated_at) if account.updated_at else "-"),
        ("credential hash", _hex(account.credential_hash)),
    ):
        table.add_row(label, escape(value))
    return table


def import_report_tables(report: ImportReport) -> list[Table]:
    """The summary table of an import, then one table per kind of problem row."""
    summary = Table(title="Import summary", title_justify="left")
    summary.add_column("outcome")
    summary.add_column("rows", justify="right")
    summary.add_row("[green]registered[/]", str(len(report.registered)))
    summary.add_row("skipped", str(len(report.skipped)))
    summary.add_row("[red]bad[/]" if report.bad_rows else "bad", str(len(report.bad_rows)))
    summary.add_row("[red]failed[/]" if report.failed else "failed", str(len(report.failed)))
    summary.add_row("[dim]total[/]", str(report.total_rows))
    summary.add_row("[dim]transactions[/]", str(len(report.transactions)))
    tables = [summary]
    if report.bad_rows:
        bad = Table(title="Bad rows", title_justify="left", title_style="red")
        bad.add_column("line", justify="right")
        bad.add_column("field")
        bad.add_column("reason", overflow="fold")
        for bad_row in sorted(report.bad_rows, key=lambda r: r.line):
            bad.add_row(str(bad_row.line), escape(bad_row.field or "-"), escape(bad_row.reason))
        tables.append(bad)
    if report.skipped:
        tables.append(_item_rows_table("Skipped", report.skipped))
    if report.failed:
        tables.append(_item_rows_table("Failed", report.failed, title_style="red"))
    return tables


def _item_rows_table(
    title: str, rows: Sequence[SkippedRow | FailedRow], *, title_style: str | None = None
) -> Table:
    table = Table(title=title, title_justify="left", title_style=title_style)
    table.add_column("line", justify="right")
    table.add_column("item id", overflow="fold")
    table.add_column("reason", overflow="fold")
    for row in sorted(rows, key=lambda r: r.line):
        table.add_row(str(row.line), _short(_hex(row.item_id)), escape(row.reason))
    return table


# --- the app -----------------------------------------------------------------------------------

app = typer.Typer(
    cls=_LedgerGroup,
    name="provenance",
    help="Provenance ledger for second-hand goods: vet merchants, register items, record "
    "their history.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
merchant_app = typer.Typer(
    help="Vet and manage merchants, authenticators, arbiters and brands (platform admin only).",
    no_args_is_help=True,
)
app.add_typer(merchant_app, name="merchant")
keys_app = typer.Typer(
    help="API keys of the HTTP gateway (the same keys as POST/GET/DELETE /keys).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")

ItemArg = Annotated[str, typer.Argument(metavar="ITEM", help="Item id: 0x + 64 hex digits.")]
OptionalItemArg = Annotated[
    str | None,
    typer.Argument(metavar="[ITEM]", help="Item id (0x + 64 hex digits), or use --brand/--serial."),
]
BrandOpt = Annotated[
    str | None, typer.Option("--brand", help="Brand on the label (with --serial).")
]
SerialOpt = Annotated[
    str | None, typer.Option("--serial", help="Serial on the label (with --brand).")
]
AddressOpt = Annotated[str, typer.Option("--address", help="The account's address.")]
ReasonOpt = Annotated[
    str,
    typer.Option(
        "--reason", help="Reasons for the decision: a JSON/other file, a 0x hash, or text."
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")
]


@app.callback()
def _main(
    ctx: typer.Context,
    chain: Annotated[
        str,
        typer.Option(
            "--chain",
            envvar=CHAIN_ENV_VAR,
            help="'anvil' (attach to a local node or start one), 'embedded' (in-process test "
            "chain) or an http(s):// JSON-RPC URL.",
        ),
    ] = DEFAULT_CHAIN,
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir",
            envvar=DATA_DIR_ENV_VAR,
            help="Where deployment records (and a started anvil's state) are kept.",
        ),
    ] = DEFAULT_DATA_DIR,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            envvar=KEY_FILE_ENV_VAR,
            help=f"Signing key: a V3 keystore JSON or a file holding a hex key. Without it, "
            f"--account N or ${PRIVATE_KEY_ENV_VAR} is used, else dev account 0 on local chains.",
        ),
    ] = None,
    account: Annotated[
        int | None,
        typer.Option(
            "--account",
            envvar=ACCOUNT_ENV_VAR,
            min=0,
            help="Sign with development account N of a local chain (0 is the deployer/admin).",
        ),
    ] = None,
) -> None:
    """Provenance ledger for second-hand goods."""
    injected = ctx.obj if isinstance(ctx.obj, Connection) else None
    ctx.obj = _Session(
        chain=chain.strip(),
        data_dir=data_dir,
        key_file=key_file,
        account_index=account,
        injected=injected,
    )


@app.command("deploy")
def deploy_command(
    ctx: typer.Context,
    base_uri: Annotated[
        str, typer.Option(help="Prefix of tokenURI (the item id is appended).")
    ] = DEFAULT_BASE_URI,
    admin_transfer_delay: Annotated[
        int, typer.Option(min=0, help="Seconds a handover of the admin role must wait.")
    ] = 0,
    force: Annotated[
        bool, typer.Option("--force", help="Deploy anew even if the recorded deployment is live.")
    ] = False,
) -> None:
    """Deploy the ItemPassport contract (the signer becomes admin) and record where it went."""
    session = _session(ctx)
    path = session.record_path
    if path.exists() and not force:
        recorded = load_deployment(path=path)
        if is_live(w3=session.w3, deployment=recorded):
            if recorded.market is None:  # recorded before the resale market existed
                recorded = add_market(w3=session.w3, deployment=recorded, admin=session.account())
                save_deployment(deployment=recorded, path=path)
                _out().print("[green]✓[/] Added the resale market to the recorded deployment")
                _print_deployment(recorded, path=path)
                return
            _out().print("[yellow]Already deployed on this chain[/] (use --force to deploy anew)")
            _print_deployment(recorded, path=path)
            return
        _out().print(f"[yellow]The record at {escape(str(path))} is stale; deploying anew[/]")
    deployment = deploy(
        w3=session.w3,
        admin=session.account(),
        base_uri=base_uri,
        admin_transfer_delay=admin_transfer_delay,
    )
    save_deployment(deployment=deployment, path=path)
    _out().print("[green]✓[/] Deployed ItemPassport and its ResaleMarket")
    _print_deployment(deployment, path=path)


def _print_deployment(deployment: Deployment, *, path: Path) -> None:
    _field("contract", deployment.passport)
    _field("market", deployment.market or "none")
    _field("chain id", deployment.chain_id)
    _field("admin", deployment.admin)
    _field("block", deployment.block_number)
    _field("tx", deployment.tx_hash)
    _field("record", path)


@app.command("info")
def info_command(ctx: typer.Context) -> None:
    """Show the chain, the deployment and the signing account in use."""
    session = _session(ctx)
    connection = session.connection
    signer = session.signer(required=False)  # first, so a bad key fails before any output
    _field("chain", connection.url or ("embedded" if connection.embedded else session.chain))
    _field("chain id", session.chain_id)
    _field("block", session.w3.eth.block_number)
    path = session.record_path
    if path.exists():
        deployment = session.deployment()
        _field("contract", deployment.passport)
        _field("market", deployment.market or "none (run `provenance deploy` to add it)")
        _field("admin", deployment.admin)
    else:
        _field("contract", f"not deployed (no {path})")
    if signer is None:
        _field("signer", "none (read-only)")
        return
    _field("signer", f"{signer.account.address} ({signer.source})")
    if path.exists():
        client = session.client(signing=False)
        if client.is_admin(signer.account.address):
            _field("signer role", "platform admin")
        else:
            record = client.account_record(signer.account.address)
            _field("signer role", f"{_roles_text(record.roles)} ({record.status.name.lower()})")


# --- merchant (vetting) --------------------------------------------------------------------------


def _vet_options(
    address: str, name: str, roles: str, credentials: Path
) -> tuple[ChecksumAddress, Role, Mapping[str, Any] | Hash32]:
    if not name.strip():
        raise InputError("the display name must not be empty", field="--name")
    evidence = parse_evidence(str(credentials), field="--credentials", allow_text=False)
    assert not isinstance(evidence, str)  # allow_text=False
    return _parse_address(address, field="--address"), parse_roles(roles), evidence


NameOpt = Annotated[str, typer.Option("--name", help="Public display name.")]
RolesOpt = Annotated[
    str, typer.Option("--roles", help="Comma-separated: merchant, authenticator, arbiter, brand.")
]
CredentialsOpt = Annotated[
    Path, typer.Option("--credentials", help="The vetting dossier (JSON file, hashed; never sent).")
]
OptionalReasonOpt = Annotated[
    str | None,
    typer.Option("--reason", help="Reasons for the decision: a file, a 0x hash, or text."),
]


def _vetting(
    ctx: typer.Context,
    *,
    verb: str,
    address: str,
    name: str,
    roles: str,
    credentials: Path,
    reason: str | None,
    done: str,
) -> None:
    """Vet or amend (``verb``) an account; ``done`` formats the line printed after."""
    account, role_mask, evidence = _vet_options(address, name, roles, credentials)
    client = _session(ctx).client()
    action: Callable[..., TxResult] = getattr(client, verb)
    tx = action(
        account=account,
        roles=role_mask,
        credentials=evidence,
        name=name.strip(),
        reason=parse_evidence(reason, field="--reason") if reason is not None else None,
    )
    _print_tx(
        tx, what=done.format(account=account, roles=_roles_text(role_mask), name=name.strip())
    )


@merchant_app.command("approve")
def merchant_approve(
    ctx: typer.Context,
    address: AddressOpt,
    name: NameOpt,
    credentials: CredentialsOpt,
    roles: RolesOpt = "merchant",
    reason: OptionalReasonOpt = None,
) -> None:
    """Vet an account for roles (or re-vet a suspended/revoked one with fresh credentials)."""
    _vetting(
        ctx,
        verb="vet",
        address=address,
        name=name,
        roles=roles,
        credentials=credentials,
        reason=reason,
        done="Vetted {account} as {roles} ({name})",
    )


@merchant_app.command("amend")
def merchant_amend(
    ctx: typer.Context,
    address: AddressOpt,
    name: NameOpt,
    credentials: CredentialsOpt,
    roles: RolesOpt = "merchant",
    reason: OptionalReasonOpt = None,
) -> None:
    """Change the roles, credentials or name of an active account."""
    _vetting(
        ctx,
        verb="amend",
        address=address,
        name=name,
        roles=roles,
        credentials=credentials,
        reason=reason,
        done="Amended {account}: {roles} ({name})",
    )


def _standing_change(ctx: typer.Context, *, verb: str, address: str, reason: str) -> None:
    account = _parse_address(address, field="--address")
    evidence = parse_evidence(reason, field="--reason")
    client = _session(ctx).client()
    action: Callable[..., TxResult] = getattr(client, verb)
    tx = action(account=account, reason=evidence)
    record = client.account_record(account)
    _print_tx(tx, what=f"{account} is now {record.status.name.lower()}")


@merchant_app.command("suspend")
def merchant_suspend(ctx: typer.Context, address: AddressOpt, reason: ReasonOpt) -> None:
    """Bar an active account at once (reinstate undoes it)."""
    _standing_change(ctx, verb="suspend", address=address, reason=reason)


@merchant_app.command("reinstate")
def merchant_reinstate(ctx: typer.Context, address: AddressOpt, reason: ReasonOpt) -> None:
    """Let a suspended account act again."""
    _standing_change(ctx, verb="reinstate", address=address, reason=reason)


@merchant_app.command("revoke")
def merchant_revoke(ctx: typer.Context, address: AddressOpt, reason: ReasonOpt) -> None:
    """Bar an account for good (only approve with fresh credentials undoes it)."""
    _standing_change(ctx, verb="revoke", address=address, reason=reason)


@merchant_app.command("show")
def merchant_show(ctx: typer.Context, address: AddressOpt, as_json: JsonOpt = False) -> None:
    """Show an account's vetting record."""
    account = _parse_address(address, field="--address")
    record = _session(ctx).client(signing=False).account_record(account)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "address": record.address,
                    "id": record.id,
                    "name": record.name,
                    "roles": _roles_text(record.roles).split(",") if record.roles else [],
                    "status": record.status.name.lower(),
                    "vetted_at": record.vetted_at,
                    "updated_at": record.updated_at,
                    "credential_hash": _hex(record.credential_hash),
                },
                indent=2,
            )
        )
        return
    _out().print(_account_table(record))


# --- items ---------------------------------------------------------------------------------------


@app.command("register")
def register_command(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.json",
            help="JSON object: brand, serial, metadata (object), optional owner, metadata_uri.",
        ),
    ],
    predecessor: Annotated[
        str | None,
        typer.Option("--predecessor", help="Retired item this one is made from (remanufacture)."),
    ] = None,
) -> None:
    """Register one item (signer: an active merchant or brand)."""
    document = _read_json_file(file, field="FILE")
    if not isinstance(document, dict):
        raise InputError(f"{file} must hold a JSON object", field="FILE")
    record = parse_item_record(document)
    session = _session(ctx)
    client = session.client()
    register: Callable[..., Registration] = (
        partial(
            client.register_successor,
            predecessor_id=parse_item_ref(predecessor, field="--predecessor"),
        )
        if predecessor is not None
        else client.register
    )
    registration = register(
        brand=record.brand,
        serial=record.serial,
        metadata=record.metadata,
        owner=record.owner,
        metadata_uri=record.metadata_uri,
    )
    _out().print("[green]✓[/] Registered", soft_wrap=True)
    _field("item id", _hex(registration.item_id))
    _field("metadata hash", _hex(registration.metadata_hash))
    _field("owner", record.owner or session.account().address)
    _field("tx", registration.tx.tx_hash)
    _field("block", registration.tx.block_number)


@app.command("update-metadata")
def update_metadata_command(
    ctx: typer.Context,
    item: ItemArg,
    metadata: Annotated[
        Path, typer.Option("--metadata", help="The new metadata document (JSON object).")
    ],
    uri: Annotated[str, typer.Option("--uri", help="Where the document can be fetched.")] = "",
) -> None:
    """Publish a new metadata document for an item (owner or registrant, merchant/brand)."""
    item_ref = parse_item_ref(item)
    document = _load_metadata(metadata)
    tx = (
        _session(ctx)
        .client()
        .update_metadata(item_id=item_ref, metadata=document, metadata_uri=uri)
    )
    _print_tx(tx, what=f"Published metadata {_hex(hash_document(document))}")


@app.command("transfer")
def transfer_command(
    ctx: typer.Context,
    item: ItemArg,
    to: Annotated[str, typer.Option("--to", help="The new owner's address.")],
    sale_ref: Annotated[
        str | None,
        typer.Option(
            "--sale-ref", help="The off-chain order this transfer settles: a file or a 0x hash."
        ),
    ] = None,
) -> None:
    """Transfer an item to a new owner (signer: its owner)."""
    item_ref = parse_item_ref(item)
    recipient = _parse_address(to, field="--to")
    reference = parse_evidence(sale_ref, field="--sale-ref", allow_text=False) if sale_ref else None
    tx = _session(ctx).client().transfer(item_id=item_ref, to=recipient, sale_ref=reference)
    _print_tx(tx, what=f"Transferred {_hex(item_ref)} to {recipient}")


SignExpiresOpt = Annotated[
    str, typer.Option("--expires", help="How long the signature works: 30m, 12h, 7d, 2w.")
]


@app.command("sign-transfer")
def sign_transfer_command(
    ctx: typer.Context,
    item: ItemArg,
    to: Annotated[str, typer.Option("--to", help="The new owner's address.")],
    sale_ref: Annotated[
        str | None,
        typer.Option("--sale-ref", help="The off-chain order it settles: a file or a 0x hash."),
    ] = None,
    expires: SignExpiresOpt = "1h",
) -> None:
    """Sign a transfer of your item for the gateway to relay (it pays the gas); prints the
    POST /relay body. Nothing is sent (signer: the item's owner)."""
    item_ref = parse_item_ref(item)
    recipient = _parse_address(to, field="--to")
    reference = parse_evidence(sale_ref, field="--sale-ref", allow_text=False) if sale_ref else None
    session = _session(ctx)
    owner = session.account()
    # Reads go through a read-only client: eth-tester refuses calls "from" an account holding
    # no ether, and owners who sign messages need none.
    reader = session.client(signing=False)
    deadline = reader.chain_time() + parse_duration(expires, field="--expires")
    transfer = reader.build_transfer(
        item_id=item_ref, to=recipient, deadline=deadline, sale_ref=reference, owner=owner.address
    )
    signature = sign_transfer(owner, domain=reader.domain(), transfer=transfer)
    typer.echo(json.dumps(relay_body(transfer, signature), indent=2))


@app.command("sign-permit")
def sign_permit_command(
    ctx: typer.Context,
    item: ItemArg,
    spender: Annotated[str, typer.Option("--spender", help="Who may then transfer the item.")],
    expires: SignExpiresOpt = "1h",
) -> None:
    """Sign an ERC-4494 permit for your item for the gateway to relay (it pays the gas); prints
    the POST /relay body. Nothing is sent (signer: the item's owner)."""
    item_ref = parse_item_ref(item)
    session = _session(ctx)
    owner = session.account()
    reader = session.client(signing=False)  # as in sign-transfer
    deadline = reader.chain_time() + parse_duration(expires, field="--expires")
    permit = reader.build_permit(
        item_id=item_ref, spender=_parse_address(spender, field="--spender"), deadline=deadline
    )
    signature = sign_permit(owner, domain=reader.domain(), permit=permit)
    typer.echo(json.dumps(relay_body(permit, signature), indent=2))


def _item_write(
    ctx: typer.Context, item: str, evidence: str, *, field: str
) -> tuple[ProvenanceClient, ItemId, Hash32 | Mapping[str, Any] | str]:
    """The signing client, item id and evidence of a write on one item; the input is parsed
    before the session opens, so a typo fails fast without touching the chain."""
    item_ref = parse_item_ref(item)
    proof = parse_evidence(evidence, field=field)
    return _session(ctx).client(), item_ref, proof


@app.command("flag")
def flag_command(
    ctx: typer.Context,
    item: ItemArg,
    status: Annotated[FlagChoice, typer.Option("--status", help="lost or stolen.")],
    report: Annotated[
        str, typer.Option("--report", help="The loss or theft report: a file, a 0x hash, or text.")
    ],
) -> None:
    """Report an item lost or stolen, which freezes it (signer: its owner or the admin)."""
    client, item_ref, evidence = _item_write(ctx, item, report, field="--report")
    tx = client.flag(item_id=item_ref, status=ItemStatus[status.name.upper()], report=evidence)
    _print_tx(tx, what=f"Flagged {_hex(item_ref)} as {status.value}")


@app.command("clear-flag")
def clear_flag_command(
    ctx: typer.Context,
    item: ItemArg,
    clearance: Annotated[
        str, typer.Option("--clearance", help="Why the flag is lifted: a file, a 0x hash, or text.")
    ],
) -> None:
    """Clear a lost or stolen flag (the admin, or the owner who raised it)."""
    client, item_ref, evidence = _item_write(ctx, item, clearance, field="--clearance")
    tx = client.clear_flag(item_id=item_ref, clearance=evidence)
    _print_tx(tx, what=f"Cleared the flag on {_hex(item_ref)}")


@app.command("attest")
def attest_command(
    ctx: typer.Context,
    item: ItemArg,
    verdict: Annotated[VerdictChoice, typer.Option("--verdict")],
    evidence: Annotated[
        str, typer.Option("--evidence", help="Inspection report: a file, a 0x hash, or text.")
    ],
    grade: Annotated[GradeChoice, typer.Option("--grade")] = GradeChoice.ungraded,
) -> None:
    """Record an authentication (signer: an active authenticator)."""
    client, item_ref, proof = _item_write(ctx, item, evidence, field="--evidence")
    tx = client.authenticate(
        item_id=item_ref,
        verdict=Verdict[verdict.name.upper()],
        grade=ConditionGrade[grade.name.upper()],
        evidence=proof,
    )
    _print_tx(tx, what=f"Recorded {verdict.value} ({grade.value}) for {_hex(item_ref)}")


@app.command("service")
def service_command(
    ctx: typer.Context,
    item: ItemArg,
    kind: Annotated[ServiceChoice, typer.Option("--kind")],
    evidence: Annotated[
        str, typer.Option("--evidence", help="Service record: a file, a 0x hash, or text.")
    ],
) -> None:
    """Record a repair, refurbishment or part replacement (signer: an active merchant or brand)."""
    client, item_ref, proof = _item_write(ctx, item, evidence, field="--evidence")
    kind_value = ServiceKind[kind.name.upper()]
    tx = client.record_service(item_id=item_ref, kind=kind_value, evidence=proof)
    _print_tx(tx, what=f"Recorded {kind.value} of {_hex(item_ref)}")


@app.command("retire")
def retire_command(
    ctx: typer.Context,
    item: ItemArg,
    kind: Annotated[RetirementChoice, typer.Option("--kind")],
    evidence: Annotated[
        str,
        typer.Option("--evidence", help="Proof of the end of life: a file, a 0x hash, or text."),
    ],
) -> None:
    """End an item's life; its passport never moves again (signer: its owner or the admin)."""
    client, item_ref, proof = _item_write(ctx, item, evidence, field="--evidence")
    tx = client.retire(item_id=item_ref, kind=RetirementKind[kind.name.upper()], evidence=proof)
    _print_tx(tx, what=f"Retired {_hex(item_ref)} ({kind.value})")


@app.command("show")
def show_command(
    ctx: typer.Context,
    item: OptionalItemArg = None,
    brand: BrandOpt = None,
    serial: SerialOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show an item's current state."""
    item_ref = _resolve_item(item, brand=brand, serial=serial)
    client = _session(ctx).client(signing=False)
    state = client.item(item_ref)
    metadata_hash = client.current_metadata_hash(item_ref)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "item_id": _hex(state.item_id),
                    "owner": state.owner,
                    "status": state.status.name.lower(),
                    "brand_certified": state.brand_certified,
                    "flagged_by_admin": state.flagged_by_admin,
                    "locked": state.locked,
                    "last_verdict": state.last_verdict.name.lower(),
                    "registrant": state.registrant,
                    "registrant_id": state.registrant_id,
                    "transfer_nonce": state.transfer_nonce,
                    "metadata_hash": _hex(metadata_hash) if metadata_hash is not None else None,
                },
                indent=2,
            )
        )
        return
    name = client.account_record(state.registrant).name
    _out().print(_item_table(state, metadata_hash=metadata_hash, registrant_name=name))


@app.command("history")
def history_command(
    ctx: typer.Context,
    item: OptionalItemArg = None,
    brand: BrandOpt = None,
    serial: SerialOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show an item's whole history, rebuilt from the contract's event logs."""
    item_ref = _resolve_item(item, brand=brand, serial=serial)
    client = _session(ctx).client(signing=False)
    client.item(item_ref)  # raises ItemNotRegistered with a clear message for unknown ids
    events = client.history(item_ref)
    if as_json:
        typer.echo(json.dumps([event.to_json() for event in events], indent=2))
        return
    names: dict[str, str] = {}
    for actor in {event.actor for event in events if event.actor}:
        vetted_name = client.account_record(actor).name  # vetted accounts show by name
        if vetted_name:
            names[actor] = f"{vetted_name} ({_short(actor)})"
    _out().print(history_table(events, title=f"History of {_hex(item_ref)}", names=names))


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    metadata: Annotated[
        Path, typer.Option("--metadata", help="The metadata document to check (JSON object).")
    ],
    item: OptionalItemArg = None,
    brand: BrandOpt = None,
    serial: SerialOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a metadata document against the item's current hash: exit 0 on match, 2 on mismatch."""
    item_ref = _resolve_item(item, brand=brand, serial=serial)
    document = _load_metadata(metadata)
    result = _session(ctx).client(signing=False).verify(item_id=item_ref, metadata=document)
    _print_verification(result, as_json=as_json)
    if not result.matches:
        raise typer.Exit(EXIT_MISMATCH)


def _print_verification(result: Verification, *, as_json: bool) -> None:
    registered = _hex(result.registered_hash) if result.registered_hash is not None else None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "item_id": _hex(result.item_id),
                    "matches": result.matches,
                    "given_hash": _hex(result.given_hash),
                    "registered_hash": registered,
                    "owner": result.item.owner,
                    "status": result.item.status.name.lower(),
                },
                indent=2,
            )
        )
        return
    if result.matches:
        _out().print("[bold green]✓ match[/]: the document is the item's current metadata")
    else:
        _out().print("[bold red]✗ mismatch[/]: the document is not the item's current metadata")
    _field("item id", _hex(result.item_id))
    _field("given hash", _hex(result.given_hash))
    _field("registered hash", registered or "-")
    _field("owner", result.item.owner)
    _field("status", result.item.status.name.lower())


# --- API keys and the gateway ------------------------------------------------------------------


class KeyRoleChoice(StrEnum):
    admin = "admin"
    merchant = "merchant"
    brand = "brand"
    authenticator = "authenticator"
    arbiter = "arbiter"


@app.command("index")
def index_command(
    ctx: typer.Context,
    rebuild: Annotated[
        bool,
        typer.Option("--rebuild", help="Rebuild from the chain aside, then swap in atomically."),
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep following the chain until Ctrl-C.")
    ] = False,
) -> None:
    """Index the contracts' events into <data dir>/index.db (catch up, or --rebuild)."""
    from ledger.indexer import run_indexer_cli  # keeps `provenance --help` quick

    session = _session(ctx)
    run_indexer_cli(
        w3=session.w3,
        deployment=session.deployment(),
        data_dir=session.data_dir,
        rebuild=rebuild,
        follow=follow,
    )


@app.command("evidence")
def evidence_command(
    ctx: typer.Context,
    item: ItemArg,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the bundle to this file (default: stdout)."),
    ] = None,
) -> None:
    """Export an item's evidence bundle (its raw event logs, with proofs of where they sit)."""
    from ledger.evidence import bundle_json, export_bundle

    session = _session(ctx)
    bundle = export_bundle(
        w3=session.w3, deployment=session.deployment(), item_id=parse_item_ref(item), out=out
    )
    if out is None:
        typer.echo(bundle_json(bundle), nl=False)
    else:
        _err().print(f"evidence bundle written to {out}")


@app.command("verify-bundle")
def verify_bundle_command(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The evidence bundle (JSON) to check.")
    ],
    rpc: Annotated[
        str,
        typer.Option(
            "--rpc", help="The node to check against: an http(s):// URL, anvil or embedded."
        ),
    ],
) -> None:
    """Check every entry of an evidence bundle against a node: exit 0 if all hold, else 1."""
    from ledger.evidence import verify_bundle_file

    result = verify_bundle_file(file, rpc)
    table = Table(title=f"Evidence bundle for {result.item_id}")
    for column in ("#", "event", "transaction", "log", "status", "details"):
        table.add_column(column)
    for entry in result.entries:
        details = entry.message or "; ".join(str(m) for m in entry.mismatches)
        table.add_row(
            str(entry.index),
            entry.event,
            _short(entry.transaction_hash),
            str(entry.log_index),
            Text(str(entry.status.value), style="green" if entry.ok else "red"),
            escape(details),
        )
    _out().print(table)
    for problem in result.problems:
        _err().print(Text(f"problem: {problem}", style="red"))
    failed = [entry.index for entry in result.entries if not entry.ok]
    if failed:
        _err().print(Text(f"failed entries: {', '.join(map(str, failed))}", style="red"))
    if not result.ok:
        raise typer.Exit(1)


def _platform_admin(session: _Session) -> LocalAccount:
    """The signer, checked to be the admin of the recorded deployment (as the gateway does)."""
    signer = session.signer(required=True)
    assert signer is not None  # required=True raised otherwise
    deployment = session.deployment()
    if not session.client(signing=False).is_admin(signer.account.address):
        raise ConfigurationError(
            f"the signing key ({signer.source}, {signer.account.address}) is not the admin of "
            f"the passport contract {deployment.passport}: API keys are managed by the admin"
        )
    return signer.account


def _key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "role": key.role.value,
        "name": key.name,
        "address": key.address,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
        "active": key.active,
    }


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    role: Annotated[KeyRoleChoice, typer.Option("--role", help="What the key may do.")],
    name: Annotated[str, typer.Option("--name", help="Who the key is for (a label).")],
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="Account the key signs as: a development account of a local chain or one in "
            "<data-dir>/keystore/. Omitted: a new account is created (and funded on local "
            "chains). Admin keys always map to the platform admin.",
        ),
    ] = None,
    fund_wei: Annotated[
        int,
        typer.Option(
            "--fund-wei",
            envvar="PROVENANCE_FAUCET_WEI",
            min=1,
            help="Gas money for the key's account on local chains (from the faucet account).",
        ),
    ] = DEFAULT_TOP_UP_WEI,
    work_factor: Annotated[
        int | None,
        typer.Option(
            "--keystore-work-factor",
            envvar="PROVENANCE_KEYSTORE_WORK_FACTOR",
            min=2,
            hidden=True,
            help="scrypt work factor for a new keystore (tests only).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue an API key (signer: the platform admin). The secret is printed this once."""
    session = _session(ctx)
    admin = _platform_admin(session)
    manager = KeyManager.open(
        w3=session.w3,
        data_dir=session.data_dir,
        admin=admin,
        work_factor=work_factor,
        faucet_wei=fund_wei,
    )
    try:
        provisioned = manager.create(role=role.value, name=name, address=address)
    finally:
        manager.close()
    key = provisioned.key
    if as_json:
        typer.echo(
            json.dumps(
                {
                    **_key_json(key),
                    "api_key": provisioned.secret,
                    "account_created": provisioned.account_created,
                    "funded_wei": provisioned.funded_wei,
                    "funding_tx_hash": provisioned.funding_tx_hash,
                },
                indent=2,
            )
        )
        return
    _out().print(f"[green]✓[/] Issued {key.role.value} key {key.id} ({escape(key.name)})")
    _field("key id", key.id)
    account: str = key.address
    if provisioned.account_created:
        account += f" (new account, keystore in {session.data_dir / KEYSTORE_DIR})"
    _field("account", account)
    if provisioned.funding_tx_hash:
        _field("funded", f"{provisioned.funded_wei} wei (tx {provisioned.funding_tx_hash})")
    _field("API key", provisioned.secret)
    _out().print(
        "[yellow]Shown once: only its hash is stored.[/] Send it as 'Authorization: Bearer <key>'."
    )


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    active_only: Annotated[
        bool, typer.Option("--active-only", help="Leave out revoked keys.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List API keys (never their secrets); needs only the data directory, not the chain."""
    store = KeyStore.open(_session(ctx).data_dir)
    try:
        keys = store.list(include_revoked=not active_only)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps([_key_json(k) for k in keys], indent=2))
        return
    table = Table(title="API keys", title_justify="left")
    table.add_column("id", no_wrap=True)
    table.add_column("role")
    table.add_column("name", overflow="fold")
    table.add_column("account", no_wrap=True)
    table.add_column("created (UTC)", no_wrap=True)
    table.add_column("status")
    for key in keys:
        status = (
            "[green]active[/]" if key.active else f"[red]revoked[/] {_time(key.revoked_at or 0)}"
        )
        table.add_row(
            key.id, key.role.value, escape(key.name), key.address, _time(key.created_at), status
        )
    _out().print(table)


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="The key's id (key_...).")],
) -> None:
    """Revoke an API key: the gateway refuses it from its next request on."""
    store = KeyStore.open(_session(ctx).data_dir)
    try:
        key = store.revoke(key_id.strip())
    finally:
        store.close()
    _out().print(f"[green]✓[/] Revoked {key.id} ({key.role.value}, {escape(key.name)})")
    _field("revoked at", _time(key.revoked_at or 0))


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Listen address (default $PROVENANCE_HOST or 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", min=1, max=65535, help="Listen port (default $PROVENANCE_PORT or 8000)."
        ),
    ] = None,
) -> None:
    """Serve the HTTP gateway on this chain until Ctrl-C or SIGTERM (deploys once if needed).

    With the default --chain anvil, a node is attached to or started (its state kept in the
    data directory) and stopped again on exit. Other gateway settings are the PROVENANCE_*
    variables (see docs/API.md).
    """
    # Imported here: the gateway's dependencies (FastAPI, uvicorn) are not needed elsewhere.
    from pydantic import ValidationError

    from api.main import admin_key_hint, docs_url, serve
    from api.settings import Settings

    session = _session(ctx)
    overrides: dict[str, Any] = {"chain": session.chain, "data_dir": session.data_dir}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise InputError(f"invalid gateway setting: {exc}", field="settings") from None
    connection = session.connection
    signer = session.signer(required=True)
    where = connection.url or ("embedded" if connection.embedded else session.chain)

    def ready() -> None:
        _field("gateway", settings.base_url)
        _field("API docs", docs_url(settings))
        _field("admin API key", admin_key_hint(settings))
        _field("chain", where)
        _out().print("[bold green]Ready.[/] Press Ctrl-C to stop.")

    with _terminate_as_interrupt():
        serve(settings, connection=connection, signer=signer, on_ready=ready)
    started_node = connection.node is not None and session.injected is None
    session.close()
    if started_node:
        _out().print(f"Stopped; the anvil started here saved its state in {session.data_dir}")
    else:
        _out().print("Stopped.")


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, like Ctrl-C, so both take the clean way out.

    uvicorn handles both signals while it serves and raises them again afterwards; without
    this, a re-raised SIGTERM would kill the process before the node is stopped.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- import --------------------------------------------------------------------------------------


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    progress = Progress(
        TextColumn("registering"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err(),
        transient=True,
    )
    task = progress.add_task("import", total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    with progress:
        yield update


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A CSV or JSON Lines file of items.")
    ],
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Items per registerBatch transaction.")
    ] = DEFAULT_BATCH_SIZE,
    file_format: Annotated[
        FormatChoice, typer.Option("--format", help="Input format (auto: by suffix, else content).")
    ] = FormatChoice.auto,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Register items from a CSV or JSON Lines file; safe to re-run (existing ones are skipped).

    Exit code 0 when every row landed or was already there, 2 when some rows were bad or failed,
    1 when the import could not run or stopped early.
    """
    parsed = read_items(path=file, format=file_format.value)
    session = _session(ctx)
    client = session.client()
    with _progress(enabled=not as_json) as on_progress:
        report = register_items(
            client=client,
            parsed=parsed,
            batch_size=batch_size,
            default_owner=session.account().address,
            on_progress=on_progress,
        )
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        _field("imported", f"{report.source} ({report.format})")
        for table in import_report_tables(report):
            _out().print(table)
    if report.aborted is not None:
        _fail(f"the import stopped: {report.aborted}")
    if not report.ok:
        raise typer.Exit(EXIT_MISMATCH)


# --- resale market -------------------------------------------------------------------------------
#
# The market's commands follow a sale's life: the seller lists, the buyer buys (the price goes
# into escrow), the seller ships, the buyer confirms (or disputes), an arbiter rules, everyone paid
# withdraws. Dispute evidence is `dispute-evidence`: `evidence` is kept for evidence bundles of an
# item's history.

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_PRICE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]*)\s*$")
_PRICE_UNITS = {"wei": 0, "gwei": 9, "eth": 18, "ether": 18}


def parse_price(value: str, *, field: str = "--price") -> Wei:
    """Wei from ``"1500000000000000000"`` (a bare integer is wei), ``"1.5eth"``, ``"1.5 ETH"``,
    ``"2 gwei"`` or ``"100wei"``. A decimal needs a unit, and must come to whole wei."""
    match = _PRICE.match(value)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in ("", *_PRICE_UNITS):
        raise InputError(
            f"{value!r} is not a price: give wei (1000000000000000000) or a number with a unit "
            "(1.5eth, 2 gwei)",
            field=field,
        )
    amount = Decimal(match.group(1))
    if not unit and amount != amount.to_integral_value():
        raise InputError(f"{value!r}: a decimal price needs a unit (eth, gwei)", field=field)
    wei = amount.scaleb(_PRICE_UNITS.get(unit, 0))
    if wei != wei.to_integral_value() or wei <= 0:
        raise InputError(f"{value!r} is not a positive whole number of wei", field=field)
    return Wei(int(wei))


def parse_duration(value: str, *, field: str) -> int:
    """Seconds from ``"30m"``, ``"12h"``, ``"7d"`` or ``"2w"``."""
    match = _DURATION.match(value)
    if match is None or int(match.group(1)) == 0:
        raise InputError(
            f"{value!r} is not a duration: a positive number and a unit (30m, 12h, 7d, 2w)",
            field=field,
        )
    return int(match.group(1)) * _DURATION_SECONDS[match.group(2).lower()]


def _ether(wei: int) -> str:
    text = format(Decimal(wei).scaleb(-18).normalize(), "f")
    return f"{text} ETH ({wei} wei)"


def _sale_json(sale: Sale) -> dict[str, Any]:
    return {
        "sale_id": sale.sale_id,
        "item_id": _hex(sale.item_id),
        "seller": sale.seller,
        "buyer": sale.buyer,
        "price_wei": str(sale.price),
        "fee_bps": sale.fee_bps,
        "state": sale.state.name.lower(),
        "dispute_reason": sale.dispute_reason.name.lower(),
        "deadline": sale.deadline,
    }


def _listing_json(listing: Listing) -> dict[str, Any]:
    return {
        "listing_id": listing.listing_id,
        "item_id": _hex(listing.item_id),
        "seller": listing.seller,
        "price_wei": str(listing.price),
        "expiry": listing.expiry,
        "item_nonce": listing.item_nonce,
        "status": listing.status.name.lower(),
    }


_DEADLINE_LABELS = {
    SaleState.PAID: "ship by",
    SaleState.SHIPPED: "confirm or dispute by",
    SaleState.DISPUTED: "ruling due by",
}


def _print_sale(sale: Sale) -> None:
    _field("sale id", sale.sale_id)
    _field("item id", _hex(sale.item_id))
    _field("state", sale.state.name.lower())
    _field("price", _ether(sale.price))
    _field("fee", f"{sale.fee_bps / 100:g}%")
    _field("seller", sale.seller)
    _field("buyer", sale.buyer)
    if sale.dispute_reason != DisputeReason.NONE:
        _field("dispute reason", sale.dispute_reason.name.lower())
    label = _DEADLINE_LABELS.get(sale.state)
    if label is not None:
        _field(label, f"{_time(sale.deadline)} UTC")


class DisputeReasonChoice(StrEnum):
    not_received = "not_received"
    not_as_described = "not_as_described"
    counterfeit = "counterfeit"
    other = "other"


class RulingChoice(StrEnum):
    refund = "refund"
    release = "release"
    partial = "partial"


SaleIdArg = Annotated[int, typer.Argument(metavar="SALE_ID", min=1, help="The sale's id.")]
ListingIdArg = Annotated[int, typer.Argument(metavar="LISTING_ID", min=1, help="The listing's id.")]
EvidenceOpt = Annotated[
    str,
    typer.Option(
        "--evidence", help="Statement, photos, reports: a JSON/other file, a 0x hash, or text."
    ),
]
UriOpt = Annotated[str, typer.Option("--uri", help="Where the evidence can be fetched (optional).")]


@app.command("list")
def list_command(
    ctx: typer.Context,
    item: ItemArg,
    price: Annotated[
        str, typer.Option("--price", help="Wei (an integer), or with a unit: 1.5eth, 2gwei.")
    ],
    expires: Annotated[
        str, typer.Option("--expires", help="How long it can be bought: 30m, 12h, 7d, 2w.")
    ] = "30d",
    as_json: JsonOpt = False,
) -> None:
    """List an item you own on the resale market (signer: its owner)."""
    item_ref = parse_item_ref(item)
    wei = parse_price(price)
    seconds = parse_duration(expires, field="--expires")
    market = _session(ctx).market()
    expiry = market.chain_time() + seconds
    listing = market.list_item(item_id=item_ref, price=wei, expiry=expiry)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "listing_id": listing.listing_id,
                    "item_id": _hex(item_ref),
                    "price_wei": str(wei),
                    "expiry": expiry,
                    "tx_hash": listing.tx.tx_hash,
                },
                indent=2,
            )
        )
        return
    _print_tx(listing.tx, what=f"Listed {_hex(item_ref)}")
    _field("listing id", listing.listing_id)
    _field("price", _ether(wei))
    _field("expires", f"{_time(expiry)} UTC")


@app.command("cancel-listing")
def cancel_listing_command(ctx: typer.Context, listing_id: ListingIdArg) -> None:
    """Withdraw one of your open listings (signer: its seller)."""
    tx = _session(ctx).market().cancel_listing(listing_id=listing_id)
    _print_tx(tx, what=f"Cancelled listing {listing_id}")


@app.command("listing")
def listing_command(ctx: typer.Context, listing_id: ListingIdArg, as_json: JsonOpt = False) -> None:
    """Show a listing, and whether it can be bought now."""
    market = _session(ctx).market(signing=False)
    listing = market.listing(listing_id)
    void = market.listing_void_reason(listing_id)
    if as_json:
        typer.echo(json.dumps({**_listing_json(listing), "void_reason": void.name.lower()}))
        return
    _field("listing id", listing.listing_id)
    _field("item id", _hex(listing.item_id))
    _field("seller", listing.seller)
    _field("price", _ether(listing.price))
    _field("expires", f"{_time(listing.expiry)} UTC")
    _field("status", listing.status.name.lower())
    _field("can be bought", "yes" if void == VoidReason.NONE else f"no ({void.name.lower()})")


@app.command("buy")
def buy_command(ctx: typer.Context, listing_id: ListingIdArg, as_json: JsonOpt = False) -> None:
    """Buy a listing, paying exactly its price into escrow (signer: the buyer)."""
    market = _session(ctx).market()
    purchase = market.buy(listing_id=listing_id)
    sale = market.sale(purchase.sale_id)
    if as_json:
        typer.echo(json.dumps({**_sale_json(sale), "tx_hash": purchase.tx.tx_hash}, indent=2))
        return
    _print_tx(purchase.tx, what=f"Bought listing {listing_id}; the price is held in escrow")
    _print_sale(sale)


@app.command("sale")
def sale_command(ctx: typer.Context, sale_id: SaleIdArg, as_json: JsonOpt = False) -> None:
    """Show a sale: its state, the money in escrow and the current deadline."""
    sale = _session(ctx).market(signing=False).sale(sale_id)
    if as_json:
        typer.echo(json.dumps(_sale_json(sale), indent=2))
        return
    _print_sale(sale)


@app.command("ship")
def ship_command(
    ctx: typer.Context,
    sale_id: SaleIdArg,
    ref: Annotated[
        str,
        typer.Option("--ref", help="Carrier and tracking reference: text, a file, or a 0x hash."),
    ],
) -> None:
    """Report a sale shipped, before the shipping deadline (signer: the seller)."""
    reference = parse_evidence(ref, field="--ref")
    market = _session(ctx).market()
    tx = market.mark_shipped(sale_id=sale_id, shipment_ref=reference)
    _print_tx(tx, what=f"Marked sale {sale_id} shipped")
    _field("confirm or dispute by", f"{_time(market.sale(sale_id).deadline)} UTC")


@app.command("confirm")
def confirm_command(ctx: typer.Context, sale_id: SaleIdArg) -> None:
    """Confirm delivery: the item is yours, the seller is paid (signer: the buyer)."""
    tx = _session(ctx).market().confirm_delivery(sale_id=sale_id)
    _print_tx(tx, what=f"Confirmed delivery of sale {sale_id}")


@app.command("finalize")
def finalize_command(ctx: typer.Context, sale_id: SaleIdArg) -> None:
    """Settle a shipped sale for the seller once the buyer let the delivery window pass (anyone)."""
    tx = _session(ctx).market().finalize(sale_id=sale_id)
    _print_tx(tx, what=f"Finalized sale {sale_id}")


@app.command("cancel-sale")
def cancel_sale_command(ctx: typer.Context, sale_id: SaleIdArg) -> None:
    """Unwind a sale never shipped, refunding the buyer (the seller any time; the buyer after the
    shipping deadline)."""
    tx = _session(ctx).market().cancel_unshipped(sale_id=sale_id)
    _print_tx(tx, what=f"Cancelled unshipped sale {sale_id}; the buyer is refunded")


@app.command("dispute")
def dispute_command(
    ctx: typer.Context,
    sale_id: SaleIdArg,
    reason: Annotated[DisputeReasonChoice, typer.Option("--reason", help="What went wrong.")],
    evidence: EvidenceOpt,
    uri: UriOpt = "",
) -> None:
    """Dispute a shipped sale before the delivery deadline (signer: the buyer)."""
    proof = parse_evidence(evidence, field="--evidence")
    market = _session(ctx).market()
    tx = market.open_dispute(
        sale_id=sale_id, reason=DisputeReason[reason.name.upper()], evidence=proof, uri=uri
    )
    _print_tx(tx, what=f"Opened a dispute on sale {sale_id} ({reason.value})")
    _field("ruling due by", f"{_time(market.sale(sale_id).deadline)} UTC")


@app.command("dispute-evidence")
def dispute_evidence_command(
    ctx: typer.Context, sale_id: SaleIdArg, evidence: EvidenceOpt, uri: UriOpt = ""
) -> None:
    """Add evidence to an open dispute, until the ruling deadline (signer: buyer or seller)."""
    proof = parse_evidence(evidence, field="--evidence")
    tx = _session(ctx).market().submit_evidence(sale_id=sale_id, evidence=proof, uri=uri)
    _print_tx(tx, what=f"Submitted evidence for sale {sale_id}")


@app.command("rule")
def rule_command(
    ctx: typer.Context,
    sale_id: SaleIdArg,
    ruling: Annotated[
        RulingChoice,
        typer.Option(
            "--ruling",
            help="refund (item stays with the seller), release (the seller is paid), partial "
            "(the buyer keeps the item and gets --buyer-share-bps of the price back).",
        ),
    ],
    evidence: Annotated[
        str,
        typer.Option("--evidence", help="The reasoned decision: a file, a 0x hash, or text."),
    ],
    buyer_share_bps: Annotated[
        int,
        typer.Option(
            "--buyer-share-bps", min=0, max=9_999, help="For partial: 1..9999 (2500 = 25%)."
        ),
    ] = 0,
    counterfeit: Annotated[
        bool,
        typer.Option(
            "--counterfeit",
            help="The item is counterfeit: recorded on its passport (not with release).",
        ),
    ] = False,
) -> None:
    """Rule on a disputed sale before the ruling deadline (signer: an active arbiter, not a
    party)."""
    decision = parse_evidence(evidence, field="--evidence")
    chosen = {
        RulingChoice.refund: Ruling.REFUND,
        RulingChoice.release: Ruling.RELEASE,
        RulingChoice.partial: Ruling.PARTIAL_REFUND,
    }[ruling]
    market = _session(ctx).market()
    tx = market.rule(
        sale_id=sale_id,
        ruling=chosen,
        buyer_share_bps=buyer_share_bps,
        counterfeit=counterfeit,
        ruling_evidence=decision,
    )
    _print_tx(tx, what=f"Ruled {chosen.name.lower()} on sale {sale_id}")
    _field("sale state", market.sale(sale_id).state.name.lower())


@app.command("default-refund")
def default_refund_command(ctx: typer.Context, sale_id: SaleIdArg) -> None:
    """Settle a dispute no arbiter ruled on in time with a full refund (signer: buyer or seller)."""
    tx = _session(ctx).market().execute_default(sale_id=sale_id)
    _print_tx(tx, what=f"Sale {sale_id} refunded by default (no ruling in time)")


@app.command("credits")
def credits_command(
    ctx: typer.Context,
    address: Annotated[
        str | None, typer.Option("--address", help="Whose credit (default: the signer).")
    ] = None,
) -> None:
    """Show what an account can withdraw from the market."""
    session = _session(ctx)
    account = (
        _parse_address(address, field="--address")
        if address is not None
        else session.account().address
    )
    _field("account", account)
    _field("credit", _ether(session.market(signing=False).credits(account)))


@app.command("withdraw")
def withdraw_command(ctx: typer.Context) -> None:
    """Withdraw your whole credit from the market (sale proceeds, refunds, fees)."""
    withdrawal = _session(ctx).market().withdraw()
    _print_tx(withdrawal.tx, what=f"Withdrew {_ether(withdrawal.amount)}")


def main() -> None:
    """Entry point for ``python -m ledger.cli``."""
    app()


if __name__ == "__main__":
    main()
