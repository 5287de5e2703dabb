"""Dedupe: recognise the same text at different URLs.

Exact duplicates share the hash of their normalized text. Near-duplicate stories build on the
same normalization.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_text(text: str) -> str:
    """NFKC, lower case, punctuation and whitespace removed: what two copies of one text share."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def text_sha256(text: str) -> str:
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()
