"""Typed results of the stages, and the run's counts merged from them.

Each stage's glue returns one of these frozen dataclasses. ``to_xcom()`` gives the plain JSON dict
an Airflow task returns; ``from_xcom()`` reads it back where a DAG passes it on. :class:`RunCounts`
sums a run's results in the library, so DAG files only wire.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self


class _Result:
    """``to_xcom``/``from_xcom`` for the dataclasses below (JSON types only: ints, strs, lists, dicts)."""

    def to_xcom(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else dict(value) if isinstance(value, Mapping) \
                else value
        return out

    @classmethod
    def from_xcom(cls, data: Mapping[str, Any]) -> Self:
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in data:
                value = data[f.name]
                kwargs[f.name] = tuple(value) if isinstance(value, list) else value
        return cls(**kwargs)


@dataclass(frozen=True)
class SyncResult(_Result):
    """``sources_db.sync_sources``: the enabled source ids, and how many sources the file had."""

    source_ids: tuple[str, ...]
    sources: int
    new: int
    disabled: int


@dataclass(frozen=True)
class DiscoverResult(_Result):
    """``discover_db.discover_source``: documents read and URLs queued for one source."""

    source_id: str
    documents: int = 0
    not_modified: int = 0
    unchanged: int = 0
    links: int = 0
    new_urls: int = 0
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class FetchBatchResult(_Result):
    """``fetch_db.fetch_batch``: ``failed`` includes blocked URLs; ``reasons`` counts every error."""

    fetched: int = 0
    failed: int = 0
    retry_later: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ExtractResult(_Result):
    """``extract_db.extract_pages``: pages read, articles loaded, and why the others gave none."""

    pages: int = 0
    articles: int = 0
    new_articles: int = 0
    no_article: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)

    def __add__(self, other: ExtractResult) -> ExtractResult:
        reasons = dict(self.reasons)
        for reason, count in other.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + count
        return ExtractResult(self.pages + other.pages, self.articles + other.articles,
                             self.new_articles + other.new_articles, self.no_article + other.no_article, reasons)


@dataclass(frozen=True)
class DuplicatesResult(_Result):
    """``dedupe_db.link_exact_duplicates``: links changed now, exact duplicates in total."""

    changed: int = 0
    duplicates: int = 0


@dataclass(frozen=True)
class StoriesResult(_Result):
    """``dedupe_db.assign_stories``. ``spam``: articles flagged by the page rules plus spun copies
    (an article can count in both)."""

    fingerprinted: int = 0
    spam: int = 0
    assigned: int = 0
    new_stories: int = 0
    merged_stories: int = 0


@dataclass(frozen=True)
class DedupeResult(_Result):
    """The ingest DAG's dedupe task: leftover pages extracted, exact duplicates, stories."""

    leftovers: ExtractResult = ExtractResult()
    duplicates: DuplicatesResult = DuplicatesResult()
    stories: StoriesResult = StoriesResult()

    def to_xcom(self) -> dict[str, Any]:
        return {"leftovers": self.leftovers.to_xcom(), "duplicates": self.duplicates.to_xcom(),
                "stories": self.stories.to_xcom()}

    @classmethod
    def from_xcom(cls, data: Mapping[str, Any]) -> DedupeResult:
        # {} when the dedupe task failed: the run's counts still publish.
        return cls(ExtractResult.from_xcom(data.get("leftovers", {})),
                   DuplicatesResult.from_xcom(data.get("duplicates", {})),
                   StoriesResult.from_xcom(data.get("stories", {})))


@dataclass(frozen=True)
class ClassifyResult(_Result):
    """``classify_db.classify_articles``: articles classified, and how many are relevant."""

    classified: int = 0
    relevant: int = 0


@dataclass(frozen=True)
class EventsResult(_Result):
    """``events_db.link_events``: relevant stories, the events they form, how many of those events
    have more than one story, and how many stories this run relinked (0 when nothing changed)."""

    stories: int = 0
    events: int = 0
    linked_events: int = 0
    relinked_stories: int = 0


def _items(results: Sequence[Any]) -> list[Any]:
    # Index rather than iterate: iterating an Airflow mapped task's results probes past the end.
    # A mapped task instance that failed left no result (None): the others still count.
    return [item for item in (results[i] for i in range(len(results))) if item is not None]


@dataclass(frozen=True)
class RunCounts(_Result):
    """What one ingest run did, summed from its stages' results (the ``mediamon_articles`` asset extra)."""

    discovered: int = 0
    not_modified: int = 0
    fetched: int = 0
    failed: int = 0
    extracted: int = 0
    new_articles: int = 0
    duplicates: int = 0
    new_stories: int = 0
    spam: int = 0
    relevant: int = 0
    events: int = 0
    # Task instances of the run that failed (their batches are retried by the next run).
    failed_tasks: int = 0

    @classmethod
    def merge(cls, discovered: Sequence[DiscoverResult], fetched: Sequence[FetchBatchResult],
              extracted: Sequence[ExtractResult], deduped: DedupeResult, classified: ClassifyResult,
              linked: EventsResult | None = None) -> RunCounts:
        extract_total = sum(_items(extracted), deduped.leftovers)
        return cls(
            discovered=sum(d.new_urls for d in discovered),
            not_modified=sum(d.not_modified for d in discovered),
            fetched=sum(f.fetched for f in fetched),
            failed=sum(f.failed for f in fetched),
            extracted=extract_total.pages,
            new_articles=extract_total.new_articles,
            duplicates=deduped.duplicates.duplicates,
            new_stories=deduped.stories.new_stories,
            spam=deduped.stories.spam,
            relevant=classified.relevant,
            events=linked.events if linked else 0,
        )

    @classmethod
    def merge_xcom(cls, discovered: Sequence[Mapping[str, Any]], fetched: Sequence[Mapping[str, Any]],
                   extracted: Sequence[Mapping[str, Any]], deduped: Mapping[str, Any],
                   classified: Mapping[str, Any], linked: Mapping[str, Any] | None = None) -> RunCounts:
        """:meth:`merge` over the XCom dicts of the mapped tasks (Airflow's lazy sequences welcome)."""
        return cls.merge([DiscoverResult.from_xcom(d) for d in _items(discovered)],
                         [FetchBatchResult.from_xcom(f) for f in _items(fetched)],
                         [ExtractResult.from_xcom(e) for e in _items(extracted)],
                         DedupeResult.from_xcom(deduped), ClassifyResult.from_xcom(classified),
                         EventsResult.from_xcom(linked or {}))


@dataclass(frozen=True)
class ImportResult(_Result):
    """``pipeline.import_warc``: WARC records read and what became of them, and the rate.

    ``skipped`` sums the records not kept (host, capture date, not HTML, not a 2xx status);
    ``corrupt`` records were skipped and the scan went on; ``already_known`` had a page already."""

    files: int = 0
    records_read: int = 0
    responses: int = 0
    kept: int = 0
    skipped: int = 0
    skipped_host: int = 0
    skipped_date: int = 0
    skipped_not_html: int = 0
    skipped_status: int = 0
    corrupt: int = 0
    already_known: int = 0
    pages_new: int = 0
    articles_new: int = 0
    seconds: float = 0.0

    @property
    def records_per_s(self) -> float:
        return self.records_read / self.seconds if self.seconds else 0.0

    def __add__(self, other: ImportResult) -> ImportResult:
        return ImportResult(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                               for f in dataclasses.fields(self)})


@dataclass(frozen=True)
class ArchiveMigrateResult(_Result):
    """``archive_db.migrate_blobs``: pages whose body moved from Postgres into the archive.

    ``mismatched`` bodies did not match their own digest and stay in Postgres (so does the column:
    ``left`` > 0); the bytes are the blobs' before and the WARC records' after."""

    pages: int = 0
    with_body: int = 0
    moved: int = 0
    mismatched: int = 0
    left: int = 0
    column_dropped: bool = False
    body_gzip_bytes: int = 0
    archive_bytes: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class RetentionResult(_Result):
    """``archive_db.apply_retention``: archive files deleted, pages marked archived-out."""

    files_deleted: int = 0
    pages_archived_out: int = 0


@dataclass(frozen=True)
class MaintenanceResult(_Result):
    """``archive_db.recompute_health_and_analyze``: health rows created, expired backoffs cleared."""

    health_rows_created: int = 0
    backoffs_cleared: int = 0


@dataclass(frozen=True)
class HistoryMonthsResult(_Result):
    """``pace_db.keep_history_months``: the month partitions of ``discover_outcomes`` created and dropped."""

    months_created: tuple[str, ...] = ()
    months_dropped: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportResult(_Result):
    """``archive_db.export_pages``: pages written to one WARC file."""

    pages: int = 0
    path: str = ""
