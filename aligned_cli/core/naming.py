"""Names aligned gives its own objects in a user's database.

Shared by the compiler, which writes SQL reading them, and the adapters, which
create them: both sides must spell each name the same way.
"""

from __future__ import annotations

import hashlib

STAGING_SCHEMA = "aligned_staging"
# The column of a stream sink naming the stream message each row came from.
STREAM_ID_COLUMN = "_stream_id"
# PostgreSQL keeps the first NAMEDATALEN - 1 bytes of an identifier and silently
# drops the rest, so two long names could otherwise become one table.
MAX_IDENTIFIER_BYTES = 63
_HASH_CHARS = 8


def staging_table(project: str, source: str) -> str:
    """The table (in `STAGING_SCHEMA`) holding a staged file source: `<project>__<source>`.

    Namespaced by project because projects share a database: two projects each with
    a source `trips` must not load over each other. Names longer than an identifier
    may be, or whose project holds `__` (so that `a__b` + `c` and `a` + `b__c` stay
    apart), are cut and end in `_<hash of project and source>`.
    """
    name = f"{project}__{source}"
    if len(name.encode()) <= MAX_IDENTIFIER_BYTES and "__" not in project:
        return name
    digest = hashlib.sha256(f"{project}\0{source}".encode()).hexdigest()[:_HASH_CHARS]
    room = MAX_IDENTIFIER_BYTES - len(digest) - 1
    # Cut on a character boundary: a partial UTF-8 sequence is dropped whole.
    head = name.encode()[:room].decode(errors="ignore")
    return f"{head}_{digest}"


def source_view_name(source_name: str) -> str:
    """The temporary view a file source is read through on Spark."""
    return f"aligned_source__{source_name}"
