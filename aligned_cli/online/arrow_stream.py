"""Query results as a stream of Arrow record batches, whatever the engine.

The `Adapter` interface only offers `fetch_arrow` (the whole result in memory), so
this reaches for each engine's streaming reader where the adapter exposes its driver
connection, and falls back to `fetch_arrow` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from aligned_cli.execute.adapters import Adapter


@contextmanager
def stream_arrow(adapter: Adapter, sql: str, batch_rows: int) -> Iterator[Iterator[pa.RecordBatch]]:
    """Yield an iterator of batches of at most `batch_rows` rows; consume it inside."""
    if adapter.dialect == "duckdb":
        from aligned_cli.execute.adapters.duckdb import DuckDBAdapter, duckdb_error

        if isinstance(adapter, DuckDBAdapter):
            import duckdb

            try:
                reader = adapter.raw_connection.sql(sql).to_arrow_reader(batch_rows)
            except duckdb.Error as error:
                raise duckdb_error(error, adapter.target) from error
            yield iter(reader)
            return
    if adapter.dialect == "postgres":
        from aligned_cli.execute.adapters.pg_arrow import stream_query
        from aligned_cli.execute.adapters.postgres import PostgresAdapter

        if isinstance(adapter, PostgresAdapter):
            with stream_query(adapter.raw_connection, sql, batch_rows) as pg_reader:
                yield iter(pg_reader)
            return
    yield iter(adapter.fetch_arrow(sql).to_batches(batch_rows))
