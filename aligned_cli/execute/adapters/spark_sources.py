"""File sources on Spark: one temporary view per source, named as compiled SQL reads it.

Parquet files are read in place by Spark. CSV files are parsed by DuckDB (the same
sniffing and types a DuckDB or PostgreSQL run sees) and written once to a parquet
file under the target folder, re-written only when the CSV files change. Either
way the source's `mapping` is applied in the view, as `SparkDialect.staged_file` says.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from aligned_cli.core.ir import Source
from aligned_cli.core.naming import source_view_name
from aligned_cli.errors import ProjectError
from aligned_cli.execute.adapters.file_io import read_source_file, write_arrow_file
from aligned_cli.execute.adapters.files import expand_source_files, files_sha256, is_url

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

STAGING_FOLDER = "spark_staging"


def register_source(
    spark: SparkSession, project_root: Path, staging: Path, source: Source, *, force: bool
) -> bool:
    """(Re)create the source's temporary view; True when its CSV was (re)converted."""
    if source.kind != "file" or source.file is None:
        return False
    if is_url(source.file):
        raise ProjectError(
            f"source '{source.name}' reads a URL, which the Spark adapter cannot read yet",
            location=source.location,
            hint="copy the files next to the project, or read them with a `query` source",
        )
    files = expand_source_files(project_root, source)
    converted = False
    if source.file_format == "csv":
        parquet = _csv_as_parquet(project_root, staging, source, files, force=force)
        converted = parquet is not None
        frame = spark.read.parquet(str(staging / f"{source.name}.parquet"))
    else:
        frame = spark.read.parquet(*(str(f) for f in files))
        renames = {raw: new for raw, new in source.mapping.items() if raw != new}
        for raw in renames:
            if raw not in frame.columns:
                raise ProjectError(
                    f"source '{source.name}': mapping names column '{raw}', "
                    f"which '{source.file}' does not have",
                    location=source.location,
                )
        if renames:
            frame = frame.withColumnsRenamed(renames)
    frame.createOrReplaceTempView(source_view_name(source.name))
    return converted


def _csv_as_parquet(
    project_root: Path, staging: Path, source: Source, files: list[Path], *, force: bool
) -> Path | None:
    """Convert the CSV files to `<staging>/<source>.parquet` unless unchanged (None)."""
    staging.mkdir(parents=True, exist_ok=True)
    target = staging / f"{source.name}.parquet"
    stamp = staging / f"{source.name}.sha256"
    salt = json.dumps({"mapping": source.mapping, "v": 1}, sort_keys=True)
    digest = files_sha256(project_root, files, salt)
    if not force and target.exists() and stamp.exists() and stamp.read_text() == digest:
        return None
    tmp = target.with_name(f".{target.name}.tmp")
    with read_source_file(project_root, source) as reader:
        write_arrow_file(reader, tmp, "parquet")
    tmp.replace(target)  # atomic: Spark never sees half a file
    stamp.write_text(digest)
    return target
