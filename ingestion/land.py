"""Land a raw batch file (CSV or Parquet) into PostgreSQL's raw.loans, untouched, at COPY speed.

Every value is kept as the text it arrived as (no trimming, no casting), with lineage
columns: each row carries its row number, and the file's source, checksum and batch come from
raw.loans' column defaults, which read settings of the landing's transaction once per COPY
(see lendflow/raw_tables.py): about a fifth of the server's work, compared with the same text
on every line. One transaction per file: a crash leaves nothing half-landed, and a file already landed
(same SHA-256) is skipped. The checksum takes a pass of its own before the COPY (~0.3 s for
350 MB): every row carries it, so the COPY cannot start without it. Lines that can't be read
as a record go to raw.rejected_rows with their raw text, line number and reason; rows read =
landed + rejected, which the server's row count of each COPY confirms.

The parts: lendflow.records and lendflow.csv_blocks (the record format and the CSV blocks,
shared with Spark staging and the producer), ingestion.csv_blocks (the byte-level CSV path to
COPY), ingestion.copy_chunks (what COPY is fed, and Parquet's chunks), ingestion.rejects (the
reject spool) and, here, the COPY transaction.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from ingestion.copy_chunks import CopySource, parquet_source
from ingestion.csv_blocks import (  # noqa: F401  (the CSV path's public names, importable from here)
    csv_source,
    numbered_lines,
    plain_lines,
    suspect_lines,
)
from ingestion.rejects import RejectSpool
from lendflow.csv_blocks import (  # noqa: F401  (the block reading's public names, importable from here)
    last_record_end,
    parse_block_fast,
    record_blocks,
    scan_block,
)
from lendflow.db import connect_dsn, masked_dsn
from lendflow.progress import row_progress
from lendflow.raw_columns import RAW_COLUMNS
from lendflow.raw_tables import LINEAGE_SETTINGS, ensure_raw_tables_exist
from lendflow.records import (  # noqa: F401  (the record format's public names, importable from here)
    OVERSIZE_REASON,
    VALUE_LIMIT,
    LandingError,
    LandingReport,
    Lineage,
    Record,
    Reject,
    file_sha256,
    header_order,
    parse_lines,
    read_csv,
    read_records,
)
from lendflow.settings import Settings

log = logging.getLogger(__name__)


def copy_source(path: Path, *, optimistic: bool = False) -> CopySource:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return csv_source(path, optimistic=optimistic)
    if suffix in (".parquet", ".pq"):
        return parquet_source(path)
    raise LandingError(f"{path}: unsupported file type {suffix!r}; expected .csv or .parquet")


# --- the edge: one transaction per file ---------------------------------------------------
def _copy_statement(columns: tuple[str, ...]) -> sql.Composed:
    # force_null: a quoted empty field ("") is NULL too, as the exact path (Python's csv
    # module cannot tell "" from an empty field) and most CSV writers mean it.
    return sql.SQL("copy raw.loans ({columns}) from stdin with (format csv, force_null ({raw}))").format(
        columns=sql.SQL(", ").join(sql.Identifier(name) for name in columns),
        raw=sql.SQL(", ").join(sql.Identifier(name) for name in RAW_COLUMNS),
    )


def land_file(path: Path, settings: Settings, *, progress: bool = True, role: str | None = "loader") -> LandingReport:
    """Land one file in one transaction; skip it if its checksum was landed before.

    role: the least-privilege role to land as (Settings.role_dsn: insert into raw, nothing
    more); None lands as the warehouse's owner.
    """
    path = Path(path)
    if not path.is_file():
        raise LandingError(f"{path}: no such file")
    if path.suffix.lower() not in (".csv", ".parquet", ".pq"):  # say so before hashing a big file
        raise LandingError(f"{path}: unsupported file type {path.suffix!r}; expected .csv or .parquet")
    dsn = settings.role_dsn(role) if role else settings.pg_dsn
    digest = file_sha256(path)
    lineage = Lineage(str(path.resolve()), digest, str(uuid.uuid4()))
    try:
        ensure_raw_tables_exist(settings, dsn)
        with connect_dsn(dsn) as conn:
            report = _land_in_transaction(conn, path, lineage, progress)
    except psycopg.OperationalError as error:
        raise LandingError(
            f"{path}: PostgreSQL at {masked_dsn(dsn)} failed during the landing ({error}). "
            "Nothing of this file was kept (one transaction per file); rerun once the database is back."
        ) from error
    except psycopg.errors.InsufficientPrivilege as error:
        raise LandingError(
            f"{path}: PostgreSQL refused the landing as {masked_dsn(dsn)}: {error}. Nothing of this file was"
            " kept. The loader role gets its grants when `lendflow up` sets up the database (or run"
            " `python -m lendflow.services.roles`); `--role owner` lands as the warehouse's owner instead."
        ) from error
    except psycopg.Error as error:
        raise LandingError(
            f"{path}: PostgreSQL refused the landing: {error}. Nothing of this file was kept."
        ) from error
    log.info(report.summary())
    return report


def _land_in_transaction(conn: psycopg.Connection, path: Path, lineage: Lineage, progress: bool) -> LandingReport:
    digest, source, batch_id = lineage.file_sha256, lineage.source_file, lineage.batch_id
    # The lock makes two concurrent landings of one file land it once.
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (digest,))
    if conn.execute("select 1 from raw.landed_files where file_sha256 = %s", (digest,)).fetchone():
        return LandingReport(source, digest, batch_id, 0, 0, 0, skipped=True)
    _set_lineage(conn, lineage)
    # First the optimistic pass: lines vetted here go to COPY as they are (suspect ones take the
    # exact path), and PostgreSQL's CSV parser has the last word. Should it refuse a record all
    # the same, the file is landed again with every block validated by Arrow or the exact path.
    conn.execute("savepoint optimistic")
    try:
        landed, rejects = _copy_file(conn, path, lineage, progress, optimistic=True)
    except psycopg.errors.DataError as error:
        log.info("%s: PostgreSQL refused a record (%s); validating every block", path.name, error.diag.message_primary)
        conn.execute("rollback to savepoint optimistic")
        landed, rejects = _copy_file(conn, path, lineage, progress, optimistic=False)
    with rejects:
        rejects.store(conn)
    report = LandingReport(source, digest, batch_id, landed + rejects.count, landed, rejects.count)
    conn.execute(
        "insert into raw.landed_files (file_sha256, source_file, batch_id, rows_read, rows_landed,"
        " rows_rejected) values (%s, %s, %s, %s, %s, %s)",
        (digest, source, batch_id, report.rows_read, report.rows_landed, report.rows_rejected),
    )
    return report


def _set_lineage(conn: psycopg.Connection, lineage: Lineage) -> None:
    """The file's lineage for raw.loans' column defaults (raw_tables.LINEAGE_SETTINGS), until the transaction ends."""
    values = {"_source_file": lineage.source_file, "_file_sha256": lineage.file_sha256, "_batch_id": lineage.batch_id}
    for column, value in values.items():
        conn.execute("select set_config(%s, %s, true)", (LINEAGE_SETTINGS[column], value))


def _copy_file(
    conn: psycopg.Connection, path: Path, lineage: Lineage, progress: bool, *, optimistic: bool
) -> tuple[int, RejectSpool]:
    landed = 0
    rejects = RejectSpool(lineage)
    source = copy_source(path, optimistic=optimistic)
    with conn.cursor() as cursor:
        with (
            # A writer thread sends while this one prepares the next block: both cores stay busy.
            cursor.copy(_copy_statement(source.columns), writer=QueuedLibpqWriter(cursor)) as copy,
            row_progress(f"landing {path.name}", enabled=progress) as advance,
        ):
            for chunk in source.chunks:
                copy.write(memoryview(chunk.data))
                landed += chunk.rows
                rejects.add(chunk.rejects)
                advance(chunk.rows + len(chunk.rejects))
        stored = cursor.rowcount
    # The server's count checks ours, on which rows read = landed + rejected rests.
    if stored != landed:
        raise LandingError(f"{path}: PostgreSQL stored {stored:,} rows where {landed:,} were sent; nothing was kept")
    return landed, rejects
