"""Language by script, and the split of an appended translation off the main text."""
from __future__ import annotations

import re

from mediamon.text import HAN, HANGUL, KANA

CJK_LANGS = frozenset({"zh", "ja", "ko"})
# Language by script: (language, its characters as a regex class, share of the letters needed), in
# the order they are tried: kana first, as Japanese text is mostly Han characters.
_SCRIPTS = (("ja", KANA, 0.05), ("ko", HANGUL, 0.2), ("zh", HAN, 0.2), ("ru", "\u0400-\u04ff", 0.3))
_ANY_SCRIPT_CHAR = re.compile("[" + "".join(characters for _, characters, _ in _SCRIPTS) + "]")
_ENGLISH_FUNCTION_WORDS = frozenset(
    "the of and to in a is that for on with as was by at it from be are this an has have will its".split()
)


def detect_lang(text: str) -> str | None:
    """Language of ``text`` by script: zh, ja (kana), ko (hangul), ru (Cyrillic), en (Latin with
    English function words), else None."""
    sample = text[:3000]
    letters = sum(map(str.isalpha, sample))
    if not letters:
        return None
    # One scan spares a Latin-script sample the four counts, all zero.
    if _ANY_SCRIPT_CHAR.search(sample):
        for lang, characters, share in _SCRIPTS:
            # Runs, not characters: findall then builds one string per run instead of per character.
            if sum(map(len, re.findall(f"[{characters}]+", sample))) > share * letters:
                return lang
    words = re.findall(r"[a-z]+", sample.lower())
    function_words = sum(1 for word in words if word in _ENGLISH_FUNCTION_WORDS)
    return "en" if words and function_words >= 0.15 * len(words) else None


# A marker line is the marker alone, or the marker, a colon and the translation's first words.
_TRANSLATION_MARKER = re.compile(
    r"^(?:英文翻译内容|英文翻译|英文版|英译|English translation|English version|Translation)\s*(?:$|[:：]\s*(.*)$)",
    re.I,
)


def _is_latin_script(line: str) -> bool:
    letters = [char for char in line if char.isalpha()]
    return bool(letters) and sum(1 for char in letters if char.isascii()) >= 0.9 * len(letters)


def split_translation(lines: list[str]) -> tuple[list[str], list[str]]:
    """Split an appended translation off the main text: at a marker line (``英文翻译内容:``), or
    where a trailing run of lines switches to another language than the opening lines'. Returns
    ``(main lines, translation lines)``."""
    for index, line in enumerate(lines):
        if index and (match := _TRANSLATION_MARKER.match(line)):
            rest = [match.group(1)] if match.group(1) else []
            return lines[:index], rest + lines[index + 1:]
    main_lang = detect_lang("\n".join(lines[:5]))
    if main_lang != "zh":
        return lines, []
    # Walk back over the trailing lines that are written in Latin script.
    start = len(lines)
    while start > 1 and _is_latin_script(lines[start - 1]):
        start -= 1
    tail = lines[start:]
    if len(tail) >= 2 and sum(map(len, tail)) >= 200:
        return lines[:start], tail
    return lines, []
