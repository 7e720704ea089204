"""Execution: engine adapters (DuckDB, PostgreSQL) and the DAG runner built on them."""
