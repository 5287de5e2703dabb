"""Errors a user can act on. Their messages are the whole story: no traceback is needed.

``MediamonError`` is the base; callers catch the specific class they can handle, so for example a
missing named query (a bug, :class:`UnknownQuery`) is never reported as a bad source id.
"""
from __future__ import annotations

from pathlib import Path


class MediamonError(Exception):
    """Base of the errors mediamon raises on purpose."""


class ConfigError(MediamonError, ValueError):
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


class SettingsError(MediamonError, ValueError):
    """Settings whose values cannot work together (for example dedupe thresholds out of order)."""


class UnknownSource(MediamonError, LookupError):
    """No source with this id in the database."""

    def __init__(self, source_id: str):
        self.source_id = source_id
        super().__init__(f"unknown source {source_id!r}")


class UnknownQuery(MediamonError, LookupError):
    """No named query ``file.name`` in ``sql/queries``: a bug, not a user error."""
