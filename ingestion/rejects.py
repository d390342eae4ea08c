"""A landing's rejected records, spooled until the file's COPY lets go of the connection."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable

import psycopg
from psycopg import sql

from lendflow.records import Lineage, Reject


class RejectSpool:
    """A file's rejected records on their way to raw.rejected_rows, in a temporary file past 8 MiB.

    They cannot go to the database while the file's COPY holds the connection, and a file
    of nothing but bad lines must not fill memory: they wait here, as CSV, in constant memory.
    """

    _COLUMNS = "source_file, file_sha256, line_number, raw_text, reason, batch_id"

    def __init__(self, lineage: Lineage, max_memory: int = 8 << 20) -> None:
        self._lineage = lineage
        # Closed by __exit__ (the spool outlives the COPY that fills it).
        self._spool = tempfile.SpooledTemporaryFile(max_size=max_memory, mode="w+", encoding="utf-8", newline="")  # noqa: SIM115
        # Every field quoted: an empty raw text stays the empty string, not NULL.
        self._writer = csv.writer(self._spool, quoting=csv.QUOTE_ALL, lineterminator="\n")
        self.count = 0

    def add(self, rejects: Iterable[Reject]) -> None:
        lineage = self._lineage
        for reject in rejects:
            self._writer.writerow(
                (lineage.source_file, lineage.file_sha256, reject.line_number, reject.raw_text, reject.reason,
                 lineage.batch_id)
            )  # fmt: skip
            self.count += 1

    def store(self, conn: psycopg.Connection) -> None:
        """Copy every spooled reject into raw.rejected_rows (in the caller's transaction)."""
        if not self.count:
            return
        self._spool.seek(0)
        statement = sql.SQL("copy raw.rejected_rows ({}) from stdin with (format csv)").format(sql.SQL(self._COLUMNS))
        with conn.cursor() as cursor, cursor.copy(statement) as copy:
            for block in iter(lambda: self._spool.read(1 << 20), ""):
                copy.write(block)

    def __enter__(self) -> RejectSpool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._spool.close()
