"""The one vocabulary of outcomes: URL states, fetch, document and extract reasons, date sources.

Every value is a ``StrEnum``, so it is stored (``urls.status``, ``urls.reason``,
``discovery_documents.last_status``, ``pages.extract_status``/``extract_reason``) and compared as
the same plain string it always was. ``docs/operations.md`` lists every reason; a test checks that
list against these enums, so a new reason is added here and there together.
"""
from __future__ import annotations

from enum import StrEnum


class UrlStatus(StrEnum):
    """``urls.status``."""

    PENDING = "pending"  # not fetched yet, or failed temporarily and will be retried
    FETCHED = "fetched"
    FAILED = "failed"  # will not be retried
    BLOCKED = "blocked"  # refused by policy


class FetchReason(StrEnum):
    """Why a URL (or a feed document) could not be fetched: ``urls.reason``.

    An HTTP error status is stored as ``http_<status>`` (:func:`http_reason`), outside the enum.
    """

    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    DNS_ERROR = "dns_error"
    ROBOTS_DISALLOWED = "robots_disallowed"
    ROBOTS_UNAVAILABLE = "robots_unavailable"
    BLOCKED_ADDRESS = "blocked_address"
    BAD_URL = "bad_url"
    CONTENT_TYPE = "content_type"
    TOO_LARGE = "too_large"
    CONTENT_ENCODING = "content_encoding"
    BAD_ENCODING = "bad_encoding"
    BINARY_BODY = "binary_body"
    EMPTY_BODY = "empty_body"
    REDIRECT_LOOP = "redirect_loop"
    TOO_MANY_REDIRECTS = "too_many_redirects"

    @property
    def blocked(self) -> bool:
        """Refused by policy (address, robots, content type, URL form) rather than failed."""
        return self in _BLOCKING


_BLOCKING = frozenset({FetchReason.BLOCKED_ADDRESS, FetchReason.ROBOTS_DISALLOWED, FetchReason.CONTENT_TYPE,
                       FetchReason.BAD_URL})
HTTP_REASON_PREFIX = "http_"


def http_reason(status: int) -> str:
    """The reason stored for an HTTP error status, e.g. ``http_404``."""
    return f"{HTTP_REASON_PREFIX}{status}"


ERROR_REASON_PREFIX = "error:"


def error_reason(exc: BaseException) -> str:
    """The reason recorded against one URL, document or page when handling it raised an exception
    that no check foresaw: ``error:<exception type>``, e.g. ``error:ValueError``. The item counts
    as attempted and the batch goes on; the type says where to look in the log."""
    return f"{ERROR_REASON_PREFIX}{type(exc).__name__}"


def is_blocked(reason: str) -> bool:
    """Whether a permanent fetch failure with this reason leaves its URL ``blocked``."""
    return reason in FetchReason.__members__.values() and FetchReason(reason).blocked


class DocumentStatus(StrEnum):
    """``discovery_documents.last_status`` when the document answered; else its fetch reason."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"  # HTTP 304 to a conditional GET
    UNCHANGED = "unchanged"  # same body hash as last time
    UNPARSEABLE = "unparseable"  # not a feed, sitemap or page we can read


class ExtractStatus(StrEnum):
    """``pages.extract_status``."""

    ARTICLE = "article"
    NO_ARTICLE = "no_article"


class ExtractReason(StrEnum):
    """Why a page gave no article: ``pages.extract_reason``."""

    ERROR = "error"  # the extractor raised; the page is recorded, the batch goes on
    EMPTY_BODY = "empty_body"
    NOT_HTML = "not_html"
    NO_MAIN_TEXT = "no_main_text"
    TOO_SHORT = "too_short"
    DUPLICATE_CANONICAL_URL = "duplicate_canonical_url"  # another page's article has this canonical URL
    ARCHIVE_UNREADABLE = "archive_unreadable"  # the page's WARC record is gone or damaged


class DateSource(StrEnum):
    """Where an article's publication time came from: ``articles.published_at_source``."""

    META = "meta"  # a <meta> tag (article:published_time, pubdate, ...)
    JSON_LD = "json_ld"  # datePublished of the page's JSON-LD article object
    TIME_ELEMENT = "time_element"  # the first <time datetime=...>
    LABELLED = "labelled"  # a date line of the article header, or a date labelled 发布时间/日期/Published
    DATELINE = "dateline"  # the wire dateline opening the text ("新华社北京3月15日电")
    PAGE_TEXT = "page_text"  # the first full date with a time of day in the page's text, unlabelled
    URL = "url"  # the date in the URL path (with a day)
    FEED = "feed"  # the date the feed item or sitemap entry listed for the URL
    NONE = "none"  # no date that passed the checks: published_at is NULL


class MainTextCandidate(StrEnum):
    """Which main-text candidate the extract stage kept (``Extraction.main_text_candidate``)."""

    FIRST = "first"  # trafilatura in the mode of the page's script
    SECOND = "second"  # trafilatura's other mode, made when the first was doubtful, won on evidence


class SourceState(StrEnum):
    """``analyst.source_health.state``: what an operator looks at first (010_operators.sql)."""

    OK = "ok"
    OFF_IN_CONFIG = "off_in_config"  # enabled: false in the sources YAML
    DISABLED = "disabled"  # auto-disabled by its failure score
    BACKING_OFF = "backing_off"  # failed lately; the next attempt waits
    SILENT = "silent"  # answers, but no new URL for much longer than its usual gap


class AlertKind(StrEnum):
    """``alerts.kind``, and the failed-task alert, which is sent at once and never stored."""

    NEW_PAIR = "new_pair"
    NEW_AGREEMENT = "new_agreement"
    SOURCE_SILENT = "source_silent"
    SOURCE_DISABLED = "source_disabled"
    RUN_FAILED = "run_failed"
