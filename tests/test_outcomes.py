"""The outcome vocabulary, the documented lists and the settings checks agree."""
import re
from dataclasses import replace

import pytest

from mediamon.errors import MediamonError, SettingsError
from mediamon.outcomes import DocumentStatus, ExtractReason, FetchReason, UrlStatus, http_reason, is_blocked
from mediamon.results import (
    ClassifyResult,
    DedupeResult,
    DiscoverResult,
    DuplicatesResult,
    ExtractResult,
    FetchBatchResult,
    RunCounts,
    StoriesResult,
)
from mediamon.settings import PROJECT_ROOT, DedupeSettings, FetchSettings, Settings

OPERATIONS = (PROJECT_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def documented(heading: str) -> set[str]:
    """The backticked codes of the paragraph of docs/operations.md that starts with ``heading``."""
    paragraph = OPERATIONS.split(heading, 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"`([a-z_<>0-9]+)`", paragraph.split(":", 1)[1]))


def test_every_reason_is_documented_and_every_documented_reason_exists():
    fetch = documented("Fetch reasons")
    assert "http_<status>" in fetch
    assert {c for c in fetch if not c.startswith("http_")} == {r.value for r in FetchReason}
    assert documented("Document statuses") == {s.value for s in DocumentStatus}
    assert documented("Extract reasons") == {r.value for r in ExtractReason}
    assert set(re.findall(r"`(\w+)`", OPERATIONS.split("URL states:", 1)[1].split("\n\n", 1)[0])) >= {
        s.value for s in UrlStatus}


def test_blocked_is_a_property_of_the_reason():
    assert {r for r in FetchReason if r.blocked} == {FetchReason.BLOCKED_ADDRESS, FetchReason.ROBOTS_DISALLOWED,
                                                    FetchReason.CONTENT_TYPE, FetchReason.BAD_URL}
    assert is_blocked("robots_disallowed") and not is_blocked("timeout") and not is_blocked(http_reason(404))
    assert UrlStatus.BLOCKED == "blocked" and http_reason(503) == "http_503"


def test_run_counts_merge_the_stage_results_and_survive_xcom():
    discovered = [DiscoverResult("a", new_urls=3, not_modified=1), DiscoverResult("b", new_urls=2, errors=("x",))]
    fetched = [FetchBatchResult(fetched=4, failed=1, reasons={"timeout": 1})]
    extracted = [ExtractResult(pages=4, articles=3, new_articles=3, no_article=1, reasons={"too_short": 1})]
    deduped = DedupeResult(ExtractResult(pages=1, new_articles=1), DuplicatesResult(1, 2),
                           StoriesResult(spam=1, new_stories=2))
    counts = RunCounts.merge(discovered, fetched, extracted, deduped, ClassifyResult(4, 2))
    assert counts == RunCounts(discovered=5, not_modified=1, fetched=4, failed=1, extracted=5, new_articles=4,
                               duplicates=2, new_stories=2, spam=1, relevant=2)
    assert RunCounts.merge_xcom([d.to_xcom() for d in discovered], [f.to_xcom() for f in fetched],
                                [e.to_xcom() for e in extracted], deduped.to_xcom(),
                                ClassifyResult(4, 2).to_xcom()) == counts
    assert DiscoverResult.from_xcom(discovered[1].to_xcom()) == discovered[1]
    assert discovered[1].to_xcom()["errors"] == ["x"]


@pytest.mark.parametrize("change", [
    {"spun_min_containment": 0.7},  # above min_containment
    {"min_containment": 0.95},  # above same_site_min_containment
    {"same_site_min_containment": 1.5},
    {"lsh_rows": 0},
    {"lsh_bands": -1},
    {"cjk_token_share": 2.0},
])
def test_dedupe_settings_that_cannot_work_are_refused(change):
    with pytest.raises(SettingsError, match="dedupe") as error:
        replace(DedupeSettings(), **change)
    assert isinstance(error.value, MediamonError) and isinstance(error.value, ValueError)


def test_default_settings_pass_their_checks_and_bad_fetch_settings_do_not():
    Settings()
    replace(DedupeSettings(), min_containment=0.9, same_site_min_containment=0.9)  # equal is fine
    with pytest.raises(SettingsError, match="batch_pages"):
        FetchSettings(batch_pages=0)
