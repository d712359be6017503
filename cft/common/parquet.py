"""Rows to a parquet file of a fixed schema, in row groups, with one line where a row does not fit the schema."""

from __future__ import annotations

from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq

from cft.common.errors import CftError

BATCH_ROWS = 8192  # parquet row group


def write_parquet(f: IO[bytes], rows: list[dict], schema: pa.Schema, what: str, batch_rows: int = BATCH_ROWS) -> None:
    """``rows`` to ``f`` (a file of no rows still has the schema); ``what`` names the rows in an error."""
    try:
        with pq.ParquetWriter(f, schema) as writer:
            for start in range(0, max(len(rows), 1), batch_rows):
                writer.write_table(pa.Table.from_pylist(rows[start:start + batch_rows], schema=schema))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise CftError(f"{what}: cannot be stored in parquet ({e})") from None
