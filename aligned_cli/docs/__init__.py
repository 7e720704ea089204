"""`aligned docs`: a static, offline catalog of the compiled project and its lineage graph.

The site is one `index.html` with the data embedded as JSON plus two vendored assets
(`app.js`, `style.css`) copied from `aligned_cli/docs/assets/`; nothing is fetched from
the network, so it works from a file share or an air-gapped laptop.
"""

from aligned_cli.docs.site import write_site

__all__ = ["write_site"]
