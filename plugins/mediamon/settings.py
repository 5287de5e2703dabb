"""One settings object for the whole pipeline.

Every tunable lives here, grouped by stage, so a reader finds each knob in one place and a test can
build a variant with :func:`dataclasses.replace`. Values come from defaults, overridden by
``MEDIAMON_*`` environment variables for the few that deployments change.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mediamon.errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _check(ok: bool, message: str) -> None:
    """Refuse settings that cannot work; the message names the fields and what they must satisfy."""
    if not ok:
        raise SettingsError(message)


@dataclass(frozen=True)
class DiscoverSettings:
    # Feed, sitemap and child-sitemap documents read per source and run: bounds a sitemap index
    # that lists thousands of children (they are read again, cheaply, on the next runs).
    max_sitemap_documents: int = 50

    def __post_init__(self) -> None:
        _check(self.max_sitemap_documents >= 1, "discover.max_sitemap_documents must be at least 1")


@dataclass(frozen=True)
class FetchSettings:
    user_agent: str = "mediamon/0.1 (+https://example.invalid/mediamon; news monitoring)"
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 15.0
    # Wall-clock cap for one response body: a server that drips bytes cannot hold a worker.
    total_timeout_s: float = 30.0
    max_retries: int = 3
    backoff_base_s: float = 0.5
    max_retry_after_s: float = 60.0
    max_redirects: int = 5
    max_body_bytes: int = 5 * 1024 * 1024
    min_host_delay_s: float = 1.0
    # Upper bound on a robots.txt Crawl-delay we honour between two requests to one host.
    max_crawl_delay_s: float = 30.0
    robots_cache_ttl_s: float = 3600.0
    # An unavailable robots.txt is remembered this long, so the host's other URLs fail fast.
    robots_failure_ttl_s: float = 300.0
    # A body whose first sniff_bytes hold a binary control byte is refused, whatever its type says.
    sniff_bytes: int = 512
    # A URL that failed temporarily this many times is given up ("failed", with its last reason).
    max_url_attempts: int = 5
    # URLs per fetch task, and per extract task (one host's URLs each). A task instance costs ~0.4 s
    # in `airflow dags test` and ~1 s on Celery whatever its size, so tasks should hold seconds of
    # work: 200 pages are ~15 s of extraction, and a worker extracting 500 peaks under 200 MB.
    batch_pages: int = 200
    accepted_content_types: tuple[str, ...] = (
        "text/html", "application/xhtml+xml", "application/xml", "text/xml",
        "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/x-rss+xml",
        "text/plain",
    )

    def __post_init__(self) -> None:
        _check(self.batch_pages >= 1, "fetch.batch_pages must be at least 1")
        _check(self.max_url_attempts >= 1, "fetch.max_url_attempts must be at least 1")
        _check(0 < self.connect_timeout_s and 0 < self.read_timeout_s <= self.total_timeout_s,
               "fetch timeouts must be positive, read_timeout_s <= total_timeout_s")


@dataclass(frozen=True)
class HealthSettings:
    # Failure score added per failed attempt: hard errors (404, bad XML, robots, refused address)
    # say more about a dead source than temporary ones (timeouts, 5xx, 429).
    hard_weight: float = 3.0
    temporary_weight: float = 1.0
    # A success multiplies the score by this, so a flapping source still accumulates.
    success_decay: float = 0.5
    # At this score the source is disabled until `mediamon sources enable ID`.
    disable_score: float = 12.0
    # The next attempt waits backoff_base_s * 2**(consecutive failures - 1), at most backoff_max_s.
    backoff_base_s: float = 900.0
    backoff_max_s: float = 86400.0


@dataclass(frozen=True)
class PaceSettings:
    """Each source's poll interval and silence (see mediamon/pace.py for the model)."""
    # Bounds of the poll interval. The ingest DAG runs every floor_s, so a busy source is
    # discovered on every run; a quiet one is still looked at once per ceiling_s.
    floor_s: float = 900.0
    ceiling_s: float = 86400.0
    # With no history a source is assumed to publish one URL per prior_gap_s (the old hourly poll);
    # the prior weighs as much as one observed gap.
    prior_gap_s: float = 3600.0
    # Each due time moves by up to this share of the interval, so sources drift apart.
    jitter: float = 0.1
    # Polls kept per source: the window the rate is learned from.
    history_days: int = 30
    # Silent: no new URL for silence_factor times the usual gap (P = e^-5, ~0.7 % under a steady
    # rate) and at least min_silence_s, learned from at least min_items_for_silence new URLs.
    silence_factor: float = 5.0
    min_silence_s: float = 6 * 3600.0
    min_items_for_silence: int = 3


@dataclass(frozen=True)
class ExtractSettings:
    # Stored with every article; mediamon_reprocess re-extracts pages of another version.
    version: str = "5"
    # trafilatura's sizes, counted in characters. Lowering them for CJK (50, 100) changed no dev-set
    # page (their articles are long), so trafilatura's defaults stay.
    min_extracted_size: int = 250
    min_output_size: int = 1
    # Chosen per page script, measured on the dev sets: precision mode lifts English pages but
    # empties old Chinese table-layout pages, whose layout tables trafilatura would render as rows.
    favor_precision: bool = True
    include_tables: bool = True
    cjk_favor_precision: bool = False
    cjk_include_tables: bool = False
    # Layout tables (nesting a table, or with a cell longer than max_data_cell_chars) become divs.
    unwrap_layout_tables: bool = True
    max_data_cell_chars: int = 200
    # Elements of these tags holding only inline markup are paragraphs (WeChat-style <section>).
    inline_block_tags: tuple[str, ...] = ("section",)
    # Share of undecodable characters a charset may leave and still count as the page's charset.
    decode_error_tolerance: float = 0.001
    # Lines up to this length may be dropped as chrome (source, byline, share, date lines).
    max_chrome_line_chars: int = 80
    # A related-links / comments heading cuts the rest of the text only past this share of it, and
    # only when the rest is not mostly prose; a bare disclaimer heading ("声明：")
    # only when at most max_disclaimer_share of the text follows it. Neither cut fires on a dev
    # page: the conditions keep a heading inside an article from cutting it in half.
    tail_cut_from: float = 0.3
    max_disclaimer_share: float = 0.3
    # A trailing run of at least min_link_list_lines lines, each at most max_link_line_chars long
    # and without sentence punctuation, is a list of headlines, not text.
    max_link_line_chars: int = 40
    min_link_list_lines: int = 3
    # A run of at least min_menu_run lines of at most max_menu_item_chars each is a menu.
    max_menu_item_chars: int = 10
    min_menu_run: int = 5
    # Below this many characters of main text the page is flagged "too_short".
    min_text_chars: int = 50
    # A second main-text candidate, trafilatura in the other mode (extract/candidates.py), is made
    # when the first is doubtful. After precision mode: short (< recheck_max_chars) and under
    # recheck_page_share of the page's visible text (trafilatura's own recall-retry thresholds), or
    # fewer than min_article_prose_lines prose lines. After balanced mode: at least
    # max_chrome_share of it chrome, or at least whole_page_share of the page. second_candidate
    # "always" makes one for every page (the evaluation's view of what the doubt test costs),
    # "never" for none. Doubtful: 19 of the 146 dev pages, 5 of the 20 gne-zh pages with truth, 8
    # of 80 bench pages; "always" adds 0.001 on cwce-zh and scrapinghub-aeb and 0.005 on gne-zh,
    # at 1.25x bare trafilatura's CPU time on the bench pages against 0.97x (never: 0.91x).
    second_candidate: str = "when_doubtful"
    recheck_max_chars: int = 3000
    recheck_page_share: float = 0.2
    min_article_prose_lines: int = 3
    max_chrome_share: float = 0.3
    whole_page_share: float = 0.9
    # A prose line is at least min_prose_line_chars long and ends like a sentence. The candidate
    # that adds at least min_added_prose_lines distinct prose lines, net alternative_gain times
    # the other's length, wins; else the shorter when the longer adds no such prose. Every gain
    # from 0.25 to 3 gives the same dev figures (leave-one-set-out too): 0.5 because a teaser that
    # is 60 % of its article must lose to it.
    min_prose_line_chars: int = 40
    min_added_prose_lines: int = 2
    alternative_gain: float = 0.5
    # Pages per batch when `mediamon_reprocess` re-extracts stored pages (one transaction each).
    reextract_batch_size: int = 500

    def __post_init__(self) -> None:
        _check(self.reextract_batch_size >= 1, "extract.reextract_batch_size must be at least 1")
        _check(0 <= self.tail_cut_from <= 1, "extract.tail_cut_from is a share of the text, 0 to 1")
        _check(0 <= self.max_disclaimer_share <= 1, "extract.max_disclaimer_share is a share of the text, 0 to 1")
        _check(0 <= self.recheck_page_share <= 1, "extract.recheck_page_share is a share of the page, 0 to 1")
        _check(self.recheck_max_chars >= 0, "extract.recheck_max_chars must not be negative")
        _check(self.second_candidate in ("when_doubtful", "always", "never"),
               "extract.second_candidate is 'when_doubtful', 'always' or 'never'")
        _check(0 <= self.max_chrome_share <= 1, "extract.max_chrome_share is a share of the text, 0 to 1")
        _check(self.whole_page_share >= 0, "extract.whole_page_share must not be negative")
        _check(self.min_article_prose_lines >= 0, "extract.min_article_prose_lines must not be negative")
        _check(self.min_prose_line_chars >= 1, "extract.min_prose_line_chars must be at least 1")
        _check(self.min_added_prose_lines >= 1, "extract.min_added_prose_lines must be at least 1")
        _check(self.alternative_gain >= 0, "extract.alternative_gain must not be negative")


@dataclass(frozen=True)
class DemoSiteSettings:
    host: str = "127.0.0.1"
    # Fixed ports for `make run` and `mediamon demo-site`, so a second run sees the same URLs and its
    # feeds answer 304; tests use port 0 instead.
    news_port: int = 8701
    repost_port: int = 8702


@dataclass(frozen=True)
class TopicSettings:
    # Level region pairs are lifted to for the network view: "prefecture" or "province".
    pair_level: str = "prefecture"
    # Text past this many characters is not classified: cooperation news states its parties early,
    # and the cap bounds the cost of a runaway page.
    max_text_chars: int = 20000
    # Articles classified per transaction.
    classify_batch_size: int = 500

    def __post_init__(self) -> None:
        _check(self.pair_level in ("prefecture", "province"), "topics.pair_level is 'prefecture' or 'province'")
        _check(self.classify_batch_size >= 1, "topics.classify_batch_size must be at least 1")


@dataclass(frozen=True)
class ReportSettings:
    # The topic reported on (an id from seeds/topics).
    topic_id: str = "regional_cooperation"
    # Rows in each ranked table: stories, regions, region pairs, sites.
    top_stories: int = 20
    top_regions: int = 15
    top_pairs: int = 20
    top_sites: int = 30
    trend_days: int = 30
    # A classification may commit after a report read the data although its relevant_since is
    # earlier; reports look back this far before the watermark for articles not yet reported.
    late_window_hours: int = 48
    # The mediamon_report DAG: a cron in `timezone`, and optionally a run on every ingest update.
    schedule_cron: str = "0 8 * * *"
    timezone: str = "Asia/Shanghai"
    on_ingest: bool = False
    # Comma-separated recipients; None sends no email (Airflow's SMTP connection `smtp_default`).
    email_to: str | None = None


@dataclass(frozen=True)
class DedupeSettings:
    """Near-duplicate stories: shingling, MinHash/LSH and the match rule (see docs/architecture.md).

    Measured on the dev set tests/fixtures/dedupe (83 pages, 13 stories) and gne-zh (60 real pages),
    as shingle containment between extracted texts (``mediamon eval dedupe`` for the end figures):
    - every repost vs its original: >= 0.93 (two reposts of one story: >= 0.42; they join through
      the original); other outlets' own reports of the same event: <= 0.18 with 5-character
      shingles (0.24 with 4, 0.33 with 3: 5 gives the widest gap); different articles on one site
      sharing a long template: 0.40-0.42; unrelated gne-zh pages: <= 0.06; thepaper_2/_4: 1.0.
      min_containment 0.6 sits in the middle of the gap; spun_min_containment 0.3 above every
      negative between sites; same_site_min_containment 0.9 above the template pairs.
    - LSH: with 24 bands of 3 rows, a pair is a candidate with probability 0.997 at Jaccard 0.6,
      0.48 at 0.3 and 0.02 at 0.1; the lead bands catch the low-Jaccard truncated copies.
      A lead window of 200 tokens left 4 of 280 true pairs without a common band
      (truncated copies of template-padded originals); 100 tokens, none. Unrelated pairs sharing a
      band: 3 of 3123 (dev), 0 of 1769 (gne-zh).
    - End figures (pairwise precision and recall) are 1.0 on both sets for any min_containment
      from 0.3 to 0.95 and shingles of 3 to 8 characters, so the gaps above chose the values.
    Changing any value here needs ``rebuild_stories`` (mediamon_reprocess).
    """
    # Shingle = this many consecutive tokens; a token is one CJK character, or one word elsewhere.
    cjk_shingle_tokens: int = 5
    word_shingle_tokens: int = 3
    # A text is shingled as CJK when at least this share of its tokens are CJK characters.
    cjk_token_share: float = 0.5
    # MinHash of the whole text, indexed as lsh_bands bands of lsh_rows values each.
    lsh_bands: int = 24
    lsh_rows: int = 3
    # A second MinHash of the first lead_tokens tokens: a truncated copy (点击阅读全文) shares the
    # original's lead, although it shares only a fraction of the whole text.
    lead_tokens: int = 100
    lead_lsh_bands: int = 12
    minhash_seed: int = 1
    # A candidate is the same story when this share of the shorter text's shingles is in the longer
    # and they share at least min_shared_shingles shingles (two near-empty pages never match).
    min_containment: float = 0.6
    min_shared_shingles: int = 30
    # Two articles of one site share its template (disclaimers, related links), and a site rarely
    # reposts its own story with changes: between them a match needs this containment.
    same_site_min_containment: float = 0.9
    # Explainable spam rules; keywords are matched in the page title, breadcrumb, meta keywords
    # and site name.
    spam_keywords: tuple[str, ...] = (
        "代孕", "代怀", "供卵", "博彩", "赌场", "百家乐", "六合彩", "时时彩", "私服", "外挂",
        "代开发票", "发票代开", "办证", "刷单", "裸聊", "约炮", "迷药", "枪支出售",
    )
    # A copy with at least this containment of an earlier article from another site, but below
    # min_containment, is a rewritten ("spun") copy.
    spun_min_containment: float = 0.3
    # Articles assigned per transaction (one advisory-lock hold).
    batch_size: int = 200
    # Articles fingerprinted per transaction.
    index_batch_size: int = 500
    # Shingles kept in memory for verifying candidates during one run; past it the cache starts
    # over, so a long rebuild cannot exhaust memory.
    shingle_cache_bytes: int = 64 * 2**20

    def __post_init__(self) -> None:
        positive = ("cjk_shingle_tokens", "word_shingle_tokens", "lsh_bands", "lsh_rows", "lead_tokens",
                    "lead_lsh_bands", "min_shared_shingles", "batch_size", "index_batch_size",
                    "shingle_cache_bytes")
        for name in positive:
            _check(getattr(self, name) >= 1, f"dedupe.{name} must be at least 1, got {getattr(self, name)}")
        _check(0 <= self.cjk_token_share <= 1, "dedupe.cjk_token_share is a share, 0 to 1")
        _check(0 < self.spun_min_containment < self.min_containment <= self.same_site_min_containment <= 1,
               "dedupe thresholds must satisfy 0 < spun_min_containment < min_containment"
               f" <= same_site_min_containment <= 1, got {self.spun_min_containment}, {self.min_containment},"
               f" {self.same_site_min_containment}")


@dataclass(frozen=True)
class ArchiveSettings:
    # The WARC archive root, an fsspec URL: None is <state_dir>/archive; s3://bucket/prefix in
    # docker-compose (MinIO). MEDIAMON_ARCHIVE_URL.
    url: str | None = None
    # Raw pages older than this many days are removed by mediamon_maintenance (None: kept for
    # ever); a source's `retention_days` in the source file overrides it.
    retention_days: int | None = None
    # A WARC file rolls at this size (and at each capture day, per source).
    max_file_bytes: int = 256 * 1024 * 1024
    # Group commit of a local archive: one fsync (~9 ms measured here) per this many records or
    # this many seconds, whichever comes first. Politely crawled hosts (1 s apart) get one fsync
    # per page anyway; a killed worker re-fetches at most one group's pages.
    sync_every_records: int = 20
    sync_every_s: float = 0.5

    def __post_init__(self) -> None:
        _check(self.retention_days is None or self.retention_days >= 1,
               "archive.retention_days (MEDIAMON_ARCHIVE_RETENTION_DAYS) must be a whole number of days >= 1")
        _check(self.max_file_bytes >= 1024 * 1024, "archive.max_file_bytes must be at least 1 MiB")
        _check(self.sync_every_records >= 1 and self.sync_every_s >= 0,
               "archive.sync_every_records must be at least 1 and archive.sync_every_s at least 0")


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    sources_file: Path = PROJECT_ROOT / "seeds" / "sources.yaml"
    topics_dir: Path = PROJECT_ROOT / "seeds" / "topics"
    state_dir: Path = PROJECT_ROOT / ".mediamon"
    reports_dir: Path = PROJECT_ROOT / ".mediamon" / "reports"
    discover: DiscoverSettings = field(default_factory=DiscoverSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    pace: PaceSettings = field(default_factory=PaceSettings)
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    demo_site: DemoSiteSettings = field(default_factory=DemoSiteSettings)
    topics: TopicSettings = field(default_factory=TopicSettings)
    dedupe: DedupeSettings = field(default_factory=DedupeSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)

    @property
    def archive_url(self) -> str:
        return self.archive.url or str(self.state_dir / "archive")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        base = cls()
        state_dir = Path(env.get("MEDIAMON_HOME", base.state_dir))
        return cls(
            database_url=env.get("MEDIAMON_DATABASE_URL") or None,
            sources_file=Path(env.get("MEDIAMON_SOURCES", base.sources_file)),
            topics_dir=Path(env.get("MEDIAMON_TOPICS", base.topics_dir)),
            state_dir=state_dir,
            reports_dir=Path(env.get("MEDIAMON_REPORTS_DIR", state_dir / "reports")),
            archive=ArchiveSettings(url=env.get("MEDIAMON_ARCHIVE_URL") or None,
                                    retention_days=_optional_days(env, "MEDIAMON_ARCHIVE_RETENTION_DAYS")),
            fetch=FetchSettings(batch_pages=int(env.get("MEDIAMON_FETCH_BATCH_PAGES", base.fetch.batch_pages))),
            report=ReportSettings(
                schedule_cron=env.get("MEDIAMON_REPORT_CRON", base.report.schedule_cron),
                timezone=env.get("MEDIAMON_REPORT_TIMEZONE", base.report.timezone),
                on_ingest=env.get("MEDIAMON_REPORT_ON_INGEST", "").lower() in ("1", "true", "yes"),
                email_to=env.get("MEDIAMON_REPORT_EMAIL_TO") or None,
            ),
        )


def _optional_days(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name)
    if not value:
        return None
    _check(value.isdigit(), f"{name} must be a whole number of days, got {value!r}")
    return int(value)
