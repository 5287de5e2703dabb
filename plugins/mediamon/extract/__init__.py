"""The extract stage: raw page bytes -> main text and metadata.

:func:`extract` runs these steps for one page (each in the module named):

1. decode (``decode``): a charset that really decodes the bytes (Chinese pages often lie);
2. parse (``parse``): lxml parses the text once; the tree feeds trafilatura and the metadata readers;
3. metadata (``metadata``): title, site name, canonical URL, meta tags, JSON-LD, breadcrumbs;
4. layout rewrites (``parse``): layout tables, WeChat-style blocks and text loose between paragraphs
   made readable to trafilatura;
5. main text (``parse``): trafilatura with settings suited to CJK (sizes count characters);
6. line cleanup (``clean``): the Chinese page chrome trafilatura keeps (来源/责任编辑/声明 lines,
   related links, "阅读下一篇" ...) dropped, and the metadata those lines carry harvested; when the
   text gives reason to doubt it, trafilatura's other mode makes a second candidate, cleaned
   alike, and the evidence of the two chooses, or adds the second's paragraphs missing inside
   the first (``candidates``);
7. translation split (``lang``): an appended translation (``英文翻译内容:`` ...) kept apart;
8. dates and authors (``dates``, ``metadata``, ``clean``);
9. verdict: ``failure_reason`` when no article was found.

``extract`` never raises on bad input: a page without an article comes back with an empty ``text``
and a machine-readable ``failure_reason``.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from mediamon import safe
from mediamon.extract.candidates import Comparison, compare, doubtful, evidence, with_interior_prose
from mediamon.extract.clean import clean_lines, harvest_names_from_page
from mediamon.extract.dates import SHANGHAI, date_candidates, parse_date, published_at
from mediamon.extract.decode import decode_html
from mediamon.extract.lang import CJK_LANGS, detect_lang, split_translation
from mediamon.extract.metadata import (
    META_AUTHOR_KEYS,
    clean_title,
    first_attribute,
    first_text,
    linked_data,
    machine_dates,
    metadata_elements,
    page_fields,
    page_meta,
    plausible_author,
)
from mediamon.extract.parse import (
    drop_code,
    favors_precision,
    html_lang,
    main_text,
    paragraphs_from_inline_blocks,
    paragraphs_from_loose_text,
    parse_html,
    unwrap_layout_tables,
    visible_text,
)
from mediamon.outcomes import DateSource, ExtractReason, MainTextCandidate
from mediamon.settings import ExtractSettings

__all__ = [
    "SHANGHAI", "Extraction", "clean_lines", "clean_title", "decode_html", "detect_lang", "drop_code",
    "extract", "page_fields", "paragraphs_from_inline_blocks", "parse_date", "split_translation",
    "unwrap_layout_tables",
]

LOGGER = logging.getLogger(__name__)


@dataclass
class Extraction:
    """What the extract stage learnt about one page.

    ``text`` is the main text (paragraphs separated by newlines) in language ``lang``; an appended
    translation is kept apart in ``translation`` / ``translation_lang``. ``published_at`` is
    timezone-aware (naive Chinese dates are read as Asia/Shanghai), ``published_at_source`` says
    where it came from. ``failure_reason`` is None when
    an article was found, else one of ``empty_body``, ``not_html``, ``no_main_text``, ``too_short``,
    ``error``.
    """

    title: str | None = None
    text: str = ""
    lang: str | None = None
    published_at: datetime | None = None
    # Where published_at came from (meta, json_ld, ..., feed; none when it is None).
    published_at_source: DateSource = DateSource.NONE
    author: str | None = None
    editor: str | None = None
    site_name: str | None = None
    source_attribution: str | None = None
    original_title: str | None = None
    translation: str | None = None
    translation_lang: str | None = None
    canonical_url: str | None = None
    encoding: str | None = None
    # The page's <title>, meta keywords and breadcrumb trail (:func:`page_fields`).
    page_fields: dict[str, str] = field(default_factory=dict)
    extractor_version: str = ExtractSettings.version
    failure_reason: str | None = None
    # Which main-text candidate was kept: "first" (trafilatura in the page's mode) or "second" (the
    # other mode, made when the first was doubtful); ``candidate_comparison`` is the evidence and
    # ``other_candidate`` the text not kept, when a second candidate was made
    # (:mod:`mediamon.extract.candidates`).
    main_text_candidate: MainTextCandidate = MainTextCandidate.FIRST
    candidate_comparison: Comparison | None = None
    other_candidate: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (``published_at`` as ISO 8601)."""
        data = asdict(self)
        data["published_at"] = self.published_at.isoformat() if self.published_at else None
        return data


def extract(
    body: bytes | str,
    url: str | None = None,
    declared_charset: str | None = None,
    settings: ExtractSettings | None = None,
    *,
    listed_at: datetime | None = None,
    fetched_at: datetime | None = None,
) -> Extraction:
    """Extract the main text and metadata of one page.

    Args:
        body: the raw response body (bytes, decoded here) or already decoded text.
        url: the page URL; helps trafilatura and dates without a year.
        declared_charset: the charset of the HTTP Content-Type header, if any.
        settings: tunables; defaults to :class:`ExtractSettings`.
        listed_at: the date the feed item or sitemap entry gave the URL: the publication time
            when the page itself has none.
        fetched_at: when the page was fetched (default: now); a later publication date is wrong.

    Returns:
        An :class:`Extraction`. Never raises on bad input: failures are reported in
        ``failure_reason`` with whatever metadata could be read.
    """
    settings = settings or ExtractSettings()
    result = Extraction(extractor_version=settings.version)
    try:
        _extract_into(result, body, url, declared_charset, settings, listed_at, fetched_at)
    except Exception:  # a broken page must not stop a batch; the reason is recorded on the row
        LOGGER.exception("extraction failed for %s", url)
        result.text, result.failure_reason = "", ExtractReason.ERROR
    _make_safe(result)
    return result


def _make_safe(result: Extraction) -> None:
    """Clean every string of ``result`` (NUL, lone surrogates) and drop a date Postgres cannot
    store: whatever the page held, the row can be written."""
    for name, value in vars(result).items():
        if isinstance(value, str):
            setattr(result, name, safe.clean_text(value))
    result.page_fields = {safe.clean_text(k): safe.clean_text(v) for k, v in result.page_fields.items()}
    result.published_at = safe.safe_datetime(result.published_at)


def declared_canonical(href: str | None, url: str | None) -> str | None:
    """The page's rel=canonical as an absolute URL, or None when it is missing or unusable
    (malformed, too long: :func:`safe.url_problem`); a bad canonical never costs the article."""
    href = (href or "").strip()
    if not href:
        return None
    try:
        canonical = safe.strip_userinfo(urljoin(url or "", href))
    except ValueError:
        return None
    return None if safe.url_problem(canonical) else canonical


def _extract_into(result: Extraction, body: bytes | str, url: str | None, declared_charset: str | None,
                  settings: ExtractSettings, listed_at: datetime | None, fetched_at: datetime | None) -> None:
    # 1. Decode.
    if isinstance(body, bytes):
        if not body.strip():
            result.failure_reason = ExtractReason.EMPTY_BODY
            return
        text, result.encoding = decode_html(body, declared_charset, settings.decode_error_tolerance)
        # Without a replacement character, the UTF-8 text is exactly the body's bytes.
        utf8_body = body if result.encoding == "utf-8" and "\ufffd" not in text else None
    else:
        text, utf8_body = body, None
    if not text.strip():
        result.failure_reason = ExtractReason.EMPTY_BODY
        return

    # 2. Parse.
    tree = parse_html(text, utf8_body)
    if tree is None:
        result.failure_reason = ExtractReason.NOT_HTML
        return

    # 3. Metadata, before the layout rewrites below rename elements.
    elements = metadata_elements(tree)
    meta = page_meta(elements["meta"])
    linked = linked_data(elements["script"])
    headline = meta.get("og:title") or linked.get("headline") or first_text(elements["h1"])
    page_title = first_text(elements["title"])
    result.title = clean_title(page_title or headline, headline)
    result.page_fields = page_fields(tree, meta, page_title)
    result.site_name = meta.get("og:site_name") or meta.get("application-name")
    canonical_links = [link for link in elements["link"] if link.get("rel") == "canonical"]
    result.canonical_url = declared_canonical(first_attribute(canonical_links, "href"), url)
    page_text = visible_text(tree)
    cjk = detect_lang(page_text) in CJK_LANGS

    # 4. Layout rewrites.
    if settings.unwrap_layout_tables:
        unwrap_layout_tables(tree, settings.max_data_cell_chars)
    paragraphs_from_inline_blocks(tree, settings.inline_block_tags)
    drop_code(tree)  # after the readers above, which see the page as served
    paragraphs_from_loose_text(tree)  # after drop_code, which leaves a dropped script's tail loose

    # 5-6. Main text and line cleanup; a second candidate, in the other mode, when the first is doubtful.
    lines, harvest = clean_lines(main_text(tree, url, settings, cjk), settings)
    precision_first = favors_precision(settings, cjk)
    if settings.second_candidate == "always" or (
            settings.second_candidate == "when_doubtful"
            and doubtful(evidence(lines, len(page_text), settings), precision_first, settings)):
        second = clean_lines(main_text(tree, url, settings, cjk, favor_precision=not precision_first, fast=True),
                             settings)
        result.candidate_comparison = compare(lines, second[0], settings)
        if result.candidate_comparison.second_chosen:
            result.other_candidate = "\n".join(lines)
            lines, harvest = second
            result.main_text_candidate = MainTextCandidate.SECOND
        else:
            result.other_candidate = "\n".join(second[0])
            lines = with_interior_prose(lines, second[0], settings)

    # 7. Translation split.
    main_lines, translation_lines = split_translation(lines)
    result.text = "\n".join(main_lines)
    result.lang = detect_lang(result.text) or html_lang(tree)
    if translation_lines:
        result.translation = "\n".join(translation_lines)
        result.translation_lang = detect_lang(result.translation)

    # 8. Dates and authors.
    harvest_names_from_page(page_text, harvest)
    declared_authors = (linked.get("author"), *(meta.get(key) for key in META_AUTHOR_KEYS))
    result.author = harvest.author or next(filter(None, map(plausible_author, declared_authors)), None)
    result.editor = harvest.editor
    result.source_attribution = harvest.source_attribution
    result.original_title = harvest.original_title
    result.published_at, result.published_at_source = published_at(
        date_candidates(machine_dates(elements["time"], meta, linked), harvest.header_lines, main_lines,
                        page_text, url, listed_at, headlines=(first_text(elements["h1"]), headline, result.title)),
        fetched_at,
    )

    # 9. Verdict.
    if not result.text:
        result.failure_reason = ExtractReason.NO_MAIN_TEXT
    elif len(result.text) < settings.min_text_chars:
        result.failure_reason = ExtractReason.TOO_SHORT
