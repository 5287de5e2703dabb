"""Decoding: raw page bytes -> text, with a charset that really decodes them (Chinese pages often lie)."""
from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.I)
# Pages declare the narrow legacy charset but use characters of its superset (and browsers decode
# them with the superset too, as the WHATWG encoding standard prescribes).
_SUPERSETS = {
    "gb2312": "gb18030", "gbk": "gb18030", "hz": "gb18030",
    "big5": "big5hkscs", "cp950": "big5hkscs",
    "latin_1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252",
    "shift_jis": "cp932", "euc_kr": "cp949",
}
_MULTIBYTE_CJK = {"gb18030", "big5hkscs", "cp932", "cp949", "euc_jp", "iso2022_jp"}


def _codec_name(label: str | None) -> str | None:
    """Python codec name for a charset label, widened to its superset; None if unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in ("x-gbk", "gb_2312-80", "x-euc-cn", "euc-cn"):
        label = "gbk"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def _decode_cleanly(body: bytes, codec: str, tolerance: float) -> str | None:
    """``body`` decoded with ``codec`` if at most ``tolerance`` of the characters are undecodable.

    A small tolerance keeps pages with a few corrupt bytes or a body truncated mid-character.
    """
    try:
        return body.decode(codec)
    except UnicodeDecodeError:
        text = body.decode(codec, "replace")
    except LookupError:
        return None
    bad = text.count("\ufffd")
    return text if bad <= max(2, tolerance * len(text)) else None


# UTF-8 with a few undecodable bytes is still UTF-8 when its valid multi-byte characters outweigh
# them this much (counted as the bytes they save: len(body) - len(text)). A UTF-8 page with a
# corrupt byte or a cut-off last character has thousands; a Latin-1 page, whose every accented
# letter is an undecodable byte, has next to none, however few accents it has (a page with a few
# dozen among 100 kB of markup fits the tolerance).
_UTF8_BYTES_SAVED_PER_ERROR = 10
_HIGH_BYTES = bytes(range(0x80, 0x100))
# A non-ASCII byte with ASCII on both sides.
_ISOLATED_HIGH_BYTE = re.compile(rb"(?<![\x80-\xff])[\x80-\xff](?![\x80-\xff])")


def _outweighed_errors(body: bytes, text: str) -> bool:
    """Whether ``text``, ``body`` decoded as UTF-8, has no undecodable characters or few next to
    its valid multi-byte ones (:data:`_UTF8_BYTES_SAVED_PER_ERROR`)."""
    errors = text.count("\ufffd")
    return not errors or len(body) - len(text) >= _UTF8_BYTES_SAVED_PER_ERROR * errors


def _utf8_text(body: bytes, tolerance: float) -> str | None:
    """``body`` decoded as UTF-8 if at most ``tolerance`` of it is undecodable, unless those
    undecodable bytes are the lone accents of a Latin-1 text (:func:`_is_single_byte_latin`) that
    valid multi-byte characters do not outweigh. An English UTF-8 page with three curly quotes and
    a stray byte stays UTF-8: its non-ASCII bytes are mostly in runs."""
    text = _decode_cleanly(body, "utf-8", tolerance)
    if text is None or _outweighed_errors(body, text) or not _is_single_byte_latin(body):
        return text
    return None


def _is_utf8_with_multibyte(body: bytes, tolerance: float) -> bool:
    """Whether ``body`` is UTF-8 with non-ASCII content, whatever the page declares: legacy CJK
    bytes almost never form valid UTF-8 sequences. Against a declaration, undecodable bytes count
    against it whatever their pattern."""
    if body.isascii():
        return False
    text = _decode_cleanly(body, "utf-8", tolerance)
    return text is not None and _outweighed_errors(body, text)


def _is_single_byte_latin(body: bytes) -> bool:
    """Whether the non-ASCII bytes are mostly alone between ASCII ones: the accented letters of a
    Latin-script text in a single-byte charset (für, approuvé). CJK legacy charsets and UTF-8
    write every non-ASCII character as a run of two or more such bytes."""
    high = len(body) - len(body.translate(None, _HIGH_BYTES))
    return 2 * len(_ISOLATED_HIGH_BYTE.findall(body)) > high


def decode_html(body: bytes, declared_charset: str | None = None, tolerance: float = 0.001) -> tuple[str, str]:
    """Decode raw page bytes, trusting declarations only when they decode cleanly.

    A byte-order mark decides outright (it cannot be there by accident; WHATWG puts it first too).
    Otherwise the candidates are, in order: the HTTP header charset ``declared_charset``, the first
    ``<meta charset>`` / ``http-equiv`` declaration, then detection. A legacy declaration is
    widened to its superset (gb2312/gbk -> gb18030, big5 -> big5hkscs) and a UTF-16 one without a
    BOM read as UTF-8. A candidate is taken only if at most ``tolerance`` of the decoded characters
    are replacement characters, and a legacy candidate loses to UTF-8 when the bytes are valid
    UTF-8 with non-ASCII content and undecodable bytes only where valid multi-byte characters far
    outnumber them: a Latin-1 page's accents must not make it "UTF-8". Declared or not, UTF-8 is
    not taken for a page whose undecodable bytes are the lone accents of a Latin-1 text
    (:func:`_utf8_text`). Detection tries UTF-8; then cp1252 (WHATWG's fallback) when
    the non-ASCII bytes stand alone between ASCII ones, as the accents of a Latin-script text do;
    then charset_normalizer's guess when it is a multi-byte CJK codec, then gb18030 (this is a
    Chinese-news pipeline), then the guess whatever it is, then UTF-8 with replacement characters.

    Returns ``(text, codec name)``; never raises.
    """
    if not body:
        return "", "utf-8"
    for mark, bom_codec in _BOMS:
        if body.startswith(mark):
            return body[len(mark):].decode(bom_codec, "replace"), bom_codec
    meta = _META_CHARSET.search(body[:4096]) or _META_CHARSET.search(body[:65536])
    meta_label = meta.group(1).decode("ascii", "replace") if meta else None
    for codec in map(_codec_name, (declared_charset, meta_label)):
        if codec is None:
            continue
        if codec.startswith("utf-16"):
            codec = "utf-8"
        if codec != "utf-8" and _is_utf8_with_multibyte(body, tolerance):
            return body.decode("utf-8", "replace"), "utf-8"
        text = _utf8_text(body, tolerance) if codec == "utf-8" else _decode_cleanly(body, codec, tolerance)
        if text is not None:
            return text, codec
    text = _utf8_text(body, tolerance)
    if text is not None:
        return text, "utf-8"
    if _is_single_byte_latin(body):
        # gb18030 would pair each accented letter with the ASCII letter after it, and
        # charset_normalizer guesses among Latin charsets from a few accents at random.
        return body.decode("cp1252", "replace"), "cp1252"
    guess = from_bytes(body).best()
    guessed = _codec_name(guess.encoding) if guess else None
    candidates = (guessed if guessed in _MULTIBYTE_CJK else None, "gb18030", guessed)
    for codec in dict.fromkeys(codec for codec in candidates if codec):
        text = _decode_cleanly(body, codec, tolerance)
        if text is not None:
            return text, codec
    return body.decode("utf-8", "replace"), "utf-8"
