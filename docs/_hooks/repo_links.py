"""MkDocs hook: links from a page to repository files outside ``docs/`` point to the repository.

The pages are also read on the repository host, where a link such as
``[examples/etl.py](../examples/etl.py)`` works as written. On the built site that file is not
part of the documentation, so the link is rewritten to the file's address in the repository
(``repo_url``): ``.../blob/main/examples/etl.py``, or ``.../tree/main/examples/`` for a folder.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

LINK = re.compile(r"\]\((?P<target>\.\./[^)\s#]*)(?P<anchor>#[^)\s]*)?\)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Rewrite the links of ``page`` that leave the docs folder."""
    repo = (config.get("repo_url") or "").rstrip("/")
    if not repo:
        return markdown
    folder = posixpath.dirname(page.file.src_uri)

    def rewrite(match: re.Match[str]) -> str:
        target = match["target"]
        resolved = posixpath.normpath(posixpath.join("docs", folder, target))
        if resolved.startswith("docs/") or resolved.startswith(".."):
            return match[0]
        kind = "tree" if target.endswith("/") else "blob"
        suffix = "/" if target.endswith("/") else ""
        return f"]({repo}/{kind}/main/{resolved}{suffix}{match['anchor'] or ''})"

    return LINK.sub(rewrite, markdown)
