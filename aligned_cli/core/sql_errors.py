"""sqlglot's parse errors in words a user reads.

Shared by the YAML `expression:` parser and custom tests (compile) and `transform_sql`
(dsl), so a broken expression reads the same whichever way it was written.
"""

from __future__ import annotations

from sqlglot.errors import ParseError, TokenError


def parse_message(error: ParseError | TokenError) -> str:
    """sqlglot's description and position in words a user reads, not its internals
    ("Required keyword: 'this' missing for <class Where>" means the SQL stops early)."""
    details = getattr(error, "errors", None) or []
    if details:
        first = details[0]
        text = str(first.get("description") or "syntax error")
        if text.startswith("Required keyword") or "missing for <class" in text:
            text = "the SQL is incomplete"
        near = str(first.get("highlight") or "").strip()
        if near:
            text += f" near '{near}'"
        if first.get("line") is not None and first.get("col") is not None:
            text += f" (line {first['line']}, column {first['col']})"
        elif first.get("col") is not None:
            text += f" at column {first['col']}"
        return text
    if isinstance(error, TokenError):
        # sqlglot's tokenizer stops at an unclosed quote or comment ("Error tokenizing 'x").
        return "the SQL cannot be read: is a quote or a comment left open?"
    return str(error).strip().splitlines()[0] if str(error).strip() else "syntax error"
