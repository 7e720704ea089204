"""The Redis online store: key design, value codec, CAS writes, materialize, reads, worker.

Redis layout (one logical database; `{p}` is the project name, `{v}` a view name):

- `aligned:{p}:{v}:{k1}:{k2}...` — a hash per entity and view. Fields: every feature
  name -> a tagged value (see `codec.py`), plus `__ts` (the row's event timestamp in
  epoch microseconds, empty for a static view) and `__created` (created timestamp in
  epoch microseconds, or empty). Entity values are their canonical text with `%` and
  `:` percent-escaped, so the key is unambiguous. Where the view has a ttl, the key
  expires at `event_timestamp + ttl` (PEXPIREAT).
- `aligned:{p}:watermarks` — a hash: view name -> JSON `{"ts": micros, "checksum": ...}`,
  the greatest event timestamp `materialize` has written for that view definition.

Every write goes through one Lua compare-and-set script (`cas.py`), so an older row
never replaces a newer one, whoever writes (materialize, /push, worker).
"""
