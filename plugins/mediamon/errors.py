"""Errors a user can act on. Their messages are the whole story: no traceback is needed."""
from __future__ import annotations

from pathlib import Path


class ConfigError(ValueError):
    """A configuration file is wrong. The message names the file, the line and the field.

    ``item`` says which entry is wrong, for example ``"source 'demo-news-rss'"``.
    """

    def __init__(self, path: str | Path, message: str, *, line: int | None = None,
                 item: str | None = None, field: str | None = None):
        self.path, self.line, self.item, self.field = str(path), line, item, field
        where = self.path + (f":{line}" if line else "")
        what = ", ".join(part for part in (
            item,
            f"field {field!r}" if field else None) if part)
        super().__init__(f"{where}: {what + ': ' if what else ''}{message}")
