"""MkDocs hook: pages listed in ``OPTIONAL`` may be missing without breaking the build.

Every other nav entry and link must name an existing page (``mkdocs build --strict`` fails
otherwise). The pages below are listed in the nav, and linked from other pages, ahead of being
written: while one is missing, its nav entry is dropped and links to it become plain text, and
as soon as it exists both appear.
"""

from __future__ import annotations

import os
import posixpath
import re
from typing import Any

OPTIONAL = frozenset({"testing.md", "notebooks.md"})
LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>[^)\s#]+\.md)(?P<anchor>#[^)\s]*)?\)")


def _missing(docs_dir: str) -> set[str]:
    return {page for page in OPTIONAL if not os.path.exists(os.path.join(docs_dir, page))}


def _prune(entries: list[Any], missing: set[str]) -> list[Any]:
    kept: list[Any] = []
    for entry in entries:
        target = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(target, list):
            children = _prune(target, missing)
            if children:
                kept.append({next(iter(entry)): children})
        elif target not in missing:
            kept.append(entry)
    return kept


def on_config(config: Any) -> Any:
    """Drop the nav entries of optional pages that do not exist."""
    missing = _missing(config["docs_dir"])
    if config.get("nav") and missing:
        config["nav"] = _prune(config["nav"], missing)
    return config


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Turn links to optional pages that do not exist into their text."""
    missing = _missing(config["docs_dir"])
    if not missing:
        return markdown
    folder = posixpath.dirname(page.file.src_uri)

    def unlink(match: re.Match[str]) -> str:
        target = posixpath.normpath(posixpath.join(folder, match["target"]))
        return match["text"] if target in missing else match[0]

    return LINK.sub(unlink, markdown)
