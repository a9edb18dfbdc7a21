"""Bulk registration of items from a CSV or JSON Lines file: how a marketplace takes in stock.

Why this exists: stock lists arrive as spreadsheets exported by people, so some rows are always
wrong. An import must register every good row, name each bad row by its line number with the
reason, and be safe to run again after an interruption or a fix: items already on chain are
reported as skipped, never as failures (the pre-check is `ProvenanceClient.register_batch`'s).

Formats (chosen by the file suffix, else by the first character: ``{`` means JSON Lines):

CSV
    A header row, then one item per row. Columns: ``brand``, ``serial`` (required); ``metadata``
    (a JSON object, as text) and/or ``metadata_<key>`` columns (each adds ``<key>`` to the metadata
    with the cell's text as value; empty cells are left out); optional ``metadata_uri`` (not a
    metadata key) and ``owner``. Unknown columns make the whole file invalid, since a misspelt
    ``owner`` column would otherwise be silently ignored.
JSON Lines
    One JSON object per line: ``brand``, ``serial``, ``metadata`` (an object), optional
    ``owner``, ``metadata_uri``. Blank lines are skipped.

JSON (a JSON Lines line, a CSV ``metadata`` cell) nested deeper than
`ledger.jsonsafe.MAX_JSON_DEPTH` levels makes its row bad without being parsed: under web3's
raised recursion limit, parsing it could crash the whole import.

Every row needs a non-empty metadata object: its RFC 8785 hash is what buyers later verify. Rows
without an owner go to the signing account. Rows are grouped by owner because ``registerBatch``
takes one owner per transaction. The same item twice in one file is registered once; the repeat
is reported as skipped, or as a bad row if its metadata differs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from eth_typing import ChecksumAddress
from eth_utils import is_address, to_checksum_address

from ledger.client import BatchResult, NewItem, ProvenanceClient
from ledger.errors import (
    AccessDenied,
    ChainUnavailableError,
    ConfigurationError,
    InputError,
    LedgerError,
)
from ledger.hashing import hash_document, item_id, normalise_brand, normalise_serial
from ledger.jsonsafe import JSONTooDeepError
from ledger.jsonsafe import loads as json_loads
from ledger.types import Hash32, ItemId

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "BadRow",
    "FailedRow",
    "FileFormat",
    "ImportReport",
    "ItemRecord",
    "ParsedFile",
    "ProgressCallback",
    "RegisteredRow",
    "SkippedRow",
    "import_items",
    "parse_item_record",
    "parse_owner",
    "read_items",
    "register_items",
]

DEFAULT_BATCH_SIZE = 100

FileFormat = Literal["auto", "csv", "jsonl"]
ProgressCallback = Callable[[int, int], None]
"""Called as ``(rows_done, rows_total)`` before the first batch and after each one."""

_RECORD_FIELDS = ("brand", "serial", "metadata", "metadata_uri", "owner")
_METADATA_PREFIX = "metadata_"
_ZERO_ADDRESS = "0x" + "00" * 20
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")
# Errors that would repeat identically for every remaining batch: stop instead of failing each.
_FATAL_ERRORS = (AccessDenied, ChainUnavailableError, ConfigurationError)


@dataclass(frozen=True)
class ItemRecord:
    """One valid item from an input file (or a ``register`` document)."""

    line: int
    brand: str
    serial: str
    metadata: dict[str, Any]
    metadata_uri: str
    owner: ChecksumAddress | None
    item_id: ItemId
    metadata_hash: Hash32

    def new_item(self) -> NewItem:
        return NewItem(
            brand=self.brand,
            serial=self.serial,
            metadata=self.metadata,
            metadata_uri=self.metadata_uri,
        )


@dataclass(frozen=True)
class BadRow:
    """A row that cannot be registered as written; ``field`` names the culprit when there is one."""

    line: int
    reason: str
    field: str | None = None


@dataclass(frozen=True)
class SkippedRow:
    """A valid row that needed no transaction: already on chain, or repeated in the file."""

    line: int
    item_id: ItemId
    reason: str


@dataclass(frozen=True)
class RegisteredRow:
    line: int
    item_id: ItemId
    metadata_hash: Hash32
    owner: ChecksumAddress | None
    tx_hash: str
    block_number: int


@dataclass(frozen=True)
class FailedRow:
    """A valid row whose batch transaction failed (or was never sent after a fatal error)."""

    line: int
    item_id: ItemId
    reason: str


@dataclass(frozen=True)
class ParsedFile:
    """The outcome of reading a file: rows to register, rows repeated in it, and bad rows."""

    path: Path
    format: Literal["csv", "jsonl"]
    rows: list[ItemRecord]
    duplicates: list[SkippedRow]
    bad_rows: list[BadRow]

    @property
    def total_rows(self) -> int:
        return len(self.rows) + len(self.duplicates) + len(self.bad_rows)


@dataclass(frozen=True)
class ImportReport:
    """What an import did, row by row. ``ok`` is True when nothing was bad or failed."""

    source: str
    format: str
    total_rows: int
    registered: list[RegisteredRow] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)
    failed: list[FailedRow] = field(default_factory=list)
    transactions: list[str] = field(default_factory=list)
    aborted: str | None = None
    """Why the import stopped early (an error that every further batch would hit), or None."""

    @property
    def ok(self) -> bool:
        return not self.bad_rows and not self.failed and self.aborted is None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: hashes and ids as 0x-hex, rows sorted by line."""

        def rows(items: Sequence[Any]) -> list[dict[str, Any]]:
            out = []
            for item in sorted(items, key=lambda r: r.line):
                data = asdict(item)
                out.append(
                    {k: "0x" + v.hex() if isinstance(v, bytes) else v for k, v in data.items()}
                )
            return out

        return {
            "source": self.source,
            "format": self.format,
            "ok": self.ok,
            "total_rows": self.total_rows,
            "registered": rows(self.registered),
            "skipped": rows(self.skipped),
            "bad_rows": rows(self.bad_rows),
            "failed": rows(self.failed),
            "transactions": list(self.transactions),
            "aborted": self.aborted,
        }


def parse_item_record(record: Mapping[str, Any], *, line: int = 0) -> ItemRecord:
    """Validate one item document; raises `InputError` naming the offending field.

    Accepts ``brand``, ``serial``, ``metadata`` (non-empty JSON object) and optional ``owner``
    and ``metadata_uri``; any other key is an error.
    """
    unknown = sorted(set(record) - set(_RECORD_FIELDS))
    if unknown:
        raise InputError(
            f"unknown field {unknown[0]!r} (expected {', '.join(_RECORD_FIELDS)})", field=unknown[0]
        )
    brand = _required_text(record, "brand")
    serial = _required_text(record, "serial")
    try:
        normalise_brand(brand)
    except ValueError as exc:
        raise InputError(str(exc), field="brand") from None
    try:
        normalise_serial(serial)
    except ValueError as exc:
        raise InputError(str(exc), field="serial") from None

    metadata = record.get("metadata")
    if metadata is None:
        raise InputError("metadata is missing", field="metadata")
    if not isinstance(metadata, Mapping):
        raise InputError(
            f"metadata must be a JSON object, not {_json_type(metadata)}", field="metadata"
        )
    if not metadata:
        raise InputError("metadata is empty", field="metadata")
    metadata = dict(metadata)
    try:
        metadata_hash = hash_document(metadata)
    except Exception as exc:  # rfc8785 rejects e.g. integers beyond 2**53 with its own errors
        raise InputError(
            f"metadata cannot be canonicalised (RFC 8785): {exc}", field="metadata"
        ) from None

    uri = record.get("metadata_uri")
    if uri is None:
        uri = ""
    if not isinstance(uri, str):
        raise InputError(
            f"metadata_uri must be a string, not {_json_type(uri)}", field="metadata_uri"
        )

    return ItemRecord(
        line=line,
        brand=brand,
        serial=serial,
        metadata=metadata,
        metadata_uri=uri.strip(),
        owner=parse_owner(record.get("owner")),
        item_id=item_id(brand=brand, serial=serial),
        metadata_hash=metadata_hash,
    )


def parse_owner(value: Any) -> ChecksumAddress | None:
    """An optional owner address: None or empty means "the signing account"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InputError(f"owner must be an address string, not {_json_type(value)}", field="owner")
    text = value.strip()
    if not is_address(text):
        raise InputError(
            f"owner {text!r} is not an Ethereum address (0x + 40 hex digits, valid checksum)",
            field="owner",
        )
    if text.lower() == _ZERO_ADDRESS:
        raise InputError("owner cannot be the zero address", field="owner")
    return to_checksum_address(text)


def _required_text(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(f"{name} is missing", field=name)
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string, not {_json_type(value)}", field=name)
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    if value is None:
        return "null"
    return "a string"


# --- reading files -----------------------------------------------------------------------------


def read_items(*, path: Path, format: FileFormat = "auto") -> ParsedFile:
    """Read and validate ``path``; bad rows are collected, never raised.

    Raises `InputError` (field ``FILE``) only when the file as a whole is unusable: unreadable,
    not UTF-8, or a CSV header without ``brand``/``serial``/metadata columns or with unknown ones.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets like to add a BOM
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", field="FILE") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}", field="FILE"
        ) from None
    kind = _detect_format(path=path, text=text) if format == "auto" else format
    records = _csv_records(text) if kind == "csv" else _jsonl_records(text)

    rows: list[ItemRecord] = []
    duplicates: list[SkippedRow] = []
    bad_rows: list[BadRow] = []
    first_seen: dict[ItemId, ItemRecord] = {}
    for line, record in records:
        if isinstance(record, BadRow):
            bad_rows.append(record)
            continue
        try:
            parsed = parse_item_record(record, line=line)
        except InputError as exc:
            bad_rows.append(BadRow(line=line, reason=str(exc), field=exc.field))
            continue
        earlier = first_seen.get(parsed.item_id)
        if earlier is None:
            first_seen[parsed.item_id] = parsed
            rows.append(parsed)
        elif earlier.metadata_hash == parsed.metadata_hash and earlier.owner == parsed.owner:
            duplicates.append(
                SkippedRow(
                    line=line, item_id=parsed.item_id, reason=f"duplicate of line {earlier.line}"
                )
            )
        else:
            bad_rows.append(
                BadRow(
                    line=line,
                    reason=f"same item as line {earlier.line} but with different metadata or owner",
                    field="serial",
                )
            )
    return ParsedFile(path=path, format=kind, rows=rows, duplicates=duplicates, bad_rows=bad_rows)


def _detect_format(*, path: Path, text: str) -> Literal["csv", "jsonl"]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in _JSONL_SUFFIXES:
        return "jsonl"
    first = text.lstrip()[:1]
    if first == "[":
        raise InputError(
            f"{path} holds a JSON array; write one JSON object per line (JSON Lines)", field="FILE"
        )
    return "jsonl" if first == "{" else "csv"


Record = tuple[int, "Mapping[str, Any] | BadRow"]


def _jsonl_records(text: str) -> Iterator[Record]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json_loads(raw)
        except JSONTooDeepError as exc:
            yield line, BadRow(line=line, reason=str(exc))
            continue
        except ValueError as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            yield line, BadRow(line=line, reason=f"invalid JSON: {reason}")
            continue
        if not isinstance(value, dict):
            yield line, BadRow(line=line, reason=f"expected a JSON object, got {_json_type(value)}")
            continue
        yield line, value


def _csv_records(text: str) -> Iterator[Record]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    columns: list[tuple[str, str]] = []  # (record field or "meta", key)
    last_line = 0  # reader.line_num after the previous record: a quoted cell may span lines
    while True:
        start = last_line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The rest of the file cannot be split into rows reliably after a quoting error.
            yield (
                start,
                BadRow(line=start, reason=f"malformed CSV: {exc}; rows after it were not read"),
            )
            return
        last_line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = [cell.strip() for cell in cells]
            columns = _csv_columns(header)
            continue
        if len(cells) > len(header):
            yield (
                start,
                BadRow(
                    line=start, reason=f"row has {len(cells)} cells, the header has {len(header)}"
                ),
            )
            continue
        yield start, _csv_record(start, columns, cells)


def _csv_columns(header: list[str]) -> list[tuple[str, str]]:
    columns: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name in header:
        lowered = name.lower()
        if lowered in seen:
            raise InputError(f"CSV header names column {name!r} twice", field="FILE")
        seen.add(lowered)
        if lowered in _RECORD_FIELDS:
            columns.append((lowered, lowered))
        elif lowered.startswith(_METADATA_PREFIX) and len(name) > len(_METADATA_PREFIX):
            columns.append(("meta", name[len(_METADATA_PREFIX) :]))
        else:
            raise InputError(
                f"unknown CSV column {name!r}: use brand, serial, metadata, metadata_<key>, "
                "metadata_uri, owner",
                field="FILE",
            )
    for required in ("brand", "serial"):
        if required not in seen:
            raise InputError(f"the CSV header lacks a {required!r} column", field="FILE")
    if not any(kind in ("metadata", "meta") for kind, _ in columns):
        raise InputError(
            "the CSV header needs a 'metadata' column (JSON) or metadata_<key> columns",
            field="FILE",
        )
    return columns


def _csv_record(
    line: int, columns: list[tuple[str, str]], cells: list[str]
) -> Mapping[str, Any] | BadRow:
    record: dict[str, Any] = {}
    extra: dict[str, str] = {}
    for (kind, key), cell in zip(columns, cells, strict=False):
        if kind == "meta":
            if cell.strip():
                extra[key] = cell
        elif kind == "metadata":
            if cell.strip():
                try:
                    record["metadata"] = json_loads(cell)
                except JSONTooDeepError as exc:
                    return BadRow(line=line, reason=f"metadata is {exc}", field="metadata")
                except ValueError as exc:
                    reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                    return BadRow(
                        line=line, reason=f"metadata is not valid JSON: {reason}", field="metadata"
                    )
        elif cell.strip():
            record[kind] = cell
    if extra:
        base = record.get("metadata", {})
        if not isinstance(base, dict):
            return BadRow(
                line=line,
                reason=f"metadata must be a JSON object, not {_json_type(base)}",
                field="metadata",
            )
        clash = sorted(set(base) & set(extra))
        if clash:
            return BadRow(
                line=line,
                reason=f"metadata key {clash[0]!r} is given both in 'metadata' and "
                f"'metadata_{clash[0]}'",
                field="metadata",
            )
        record["metadata"] = {**base, **extra}
    return record


# --- registering -------------------------------------------------------------------------------


def register_items(
    *,
    client: ProvenanceClient,
    parsed: ParsedFile,
    batch_size: int = DEFAULT_BATCH_SIZE,
    default_owner: ChecksumAddress | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Register ``parsed.rows`` in batches of at most ``batch_size``, one owner per batch.

    ``default_owner`` is the owner of rows without one (the signing account); it only serves to
    put those rows in the same batches as rows naming that account explicitly.
    """
    if batch_size < 1:
        raise InputError("the batch size must be at least 1", field="--batch-size")
    report = ImportReport(
        source=str(parsed.path),
        format=parsed.format,
        total_rows=parsed.total_rows,
        skipped=list(parsed.duplicates),
        bad_rows=list(parsed.bad_rows),
    )
    total = len(parsed.rows)
    done = 0
    if on_progress is not None:
        on_progress(done, total)
    batches = list(_batches(parsed.rows, batch_size=batch_size, default_owner=default_owner))
    for index, (owner, rows) in enumerate(batches):
        by_id = {row.item_id: row for row in rows}
        try:
            result = client.register_batch(
                items=[row.new_item() for row in rows], owner=owner, chunk_size=batch_size
            )
        except LedgerError as exc:
            # The client attaches what it did before the error (a `BatchResult`) as `partial`.
            partial: BatchResult | None = getattr(exc, "partial", None)
            handled = _record(report, partial, by_id=by_id, owner=owner) if partial else set()
            if isinstance(exc, _FATAL_ERRORS):
                # Every later batch would hit the same error: stop, and say what was not sent.
                unsent = [row for row in rows if row.item_id not in handled]
                unsent += [row for _, later in batches[index + 1 :] for row in later]
                report.failed.extend(
                    FailedRow(line=row.line, item_id=row.item_id, reason=f"not sent: {exc}")
                    for row in unsent
                )
                return replace(report, aborted=str(exc))
            # A conflict or bad argument in this batch only; the next batches may well succeed.
            report.failed.extend(
                FailedRow(line=row.line, item_id=row.item_id, reason=str(exc))
                for row in rows
                if row.item_id not in handled
            )
        else:
            _record(report, result, by_id=by_id, owner=owner)
        done += len(rows)
        if on_progress is not None:
            on_progress(done, total)
    return report


def _record(
    report: ImportReport,
    result: BatchResult,
    *,
    by_id: Mapping[ItemId, ItemRecord],
    owner: ChecksumAddress | None,
) -> set[ItemId]:
    """Add ``result`` to ``report``; returns the ids it accounted for."""
    handled: set[ItemId] = set()
    for registration in result.registered:
        row = by_id[registration.item_id]
        handled.add(row.item_id)
        report.registered.append(
            RegisteredRow(
                line=row.line,
                item_id=row.item_id,
                metadata_hash=registration.metadata_hash,
                owner=owner,
                tx_hash=registration.tx.tx_hash,
                block_number=registration.tx.block_number,
            )
        )
        if registration.tx.tx_hash not in report.transactions:
            report.transactions.append(registration.tx.tx_hash)
    for skipped_id, reason in result.skipped:
        row = by_id[ItemId(bytes(skipped_id))]
        handled.add(row.item_id)
        report.skipped.append(SkippedRow(line=row.line, item_id=row.item_id, reason=reason))
    return handled


def _batches(
    rows: Sequence[ItemRecord], *, batch_size: int, default_owner: ChecksumAddress | None
) -> Iterator[tuple[ChecksumAddress | None, list[ItemRecord]]]:
    groups: dict[ChecksumAddress | None, list[ItemRecord]] = {}
    for row in rows:  # dicts keep insertion order: owners come in order of first appearance
        groups.setdefault(row.owner or default_owner, []).append(row)
    for owner, group in groups.items():
        for start in range(0, len(group), batch_size):
            yield owner, group[start : start + batch_size]


def import_items(
    *,
    client: ProvenanceClient,
    path: Path,
    batch_size: int = DEFAULT_BATCH_SIZE,
    format: FileFormat = "auto",
    default_owner: ChecksumAddress | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Read ``path`` and register its good rows: `read_items` followed by `register_items`."""
    parsed = read_items(path=path, format=format)
    return register_items(
        client=client,
        parsed=parsed,
        batch_size=batch_size,
        default_owner=default_owner,
        on_progress=on_progress,
    )
