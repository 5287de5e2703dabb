"""Database glue of the events stage: link the relevant stories that changed, replace their events.

Incremental: each run finds the stories whose facts changed since they were last linked (new,
changed or gone: a fingerprint per story, migration 016) and the events that lost a deleted story.
Nothing else is read or written when there are none. Otherwise the *region* to relink is the
components (:mod:`mediamon.events`) that held those stories before, plus the components they form
now: the stories within :data:`~mediamon.events.EVENT_DAYS` of them are read, and the window widens
until no story of those components lies within ``EVENT_DAYS`` of its edge (nothing outside can link
in). Events never cross components and linking a component depends on it alone, so the region's
events come out as a rebuild of everything would make them; the events outside stay as they are.
An event keeps its id (its smallest story_id) while that story stays in it.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, timedelta

import sqlalchemy as sa

from mediamon import events, store
from mediamon.results import EventsResult
from mediamon.settings import Settings

log = logging.getLogger(__name__)


def story_facts(conn: sa.Connection, topic_id: str, story_ids: set[int], first_day: date | None = None,
                last_day: date | None = None) -> dict[int, tuple[events.StoryFacts, str]]:
    """(facts, fingerprint) per story in ``story_ids`` or with a copy dated ``first_day`` to
    ``last_day``, merged over its relevant copies."""
    merged: dict[int, dict] = defaultdict(lambda: {"pairs": set(), "types": set(), "agreements": set()})
    for row in store.rows(conn, "events.story_facts", {"topic_id": topic_id, "story_ids": sorted(story_ids),
                                                       "first_day": first_day, "last_day": last_day}):
        facts = merged[row.story_id]
        facts["day"] = min(facts.get("day", row.day), row.day)
        facts.setdefault("title", row.title)
        facts["md5"] = row.facts_md5
        facts["pairs"].update(tuple(p.split("-")) for p in row.pairs)
        facts["types"].update(row.cooperation_types)
        facts["agreements"].update(row.agreements)
    return {story_id: (events.StoryFacts(
        story_id=story_id, day=f["day"], title=f["title"],
        parties=frozenset(code for pair in f["pairs"] for code in pair), pairs=frozenset(f["pairs"]),
        cooperation_types=frozenset(f["types"]), agreements=frozenset(f["agreements"])), f["md5"])
        for story_id, f in merged.items()}


def _region(conn: sa.Connection, topic_id: str, seeds: set[int]) -> dict[int, tuple[events.StoryFacts, str]]:
    """The stories of the components that the seeds form now (see the module docstring)."""
    loaded = story_facts(conn, topic_id, seeds)
    if not loaded:
        return {}
    reach = timedelta(days=events.EVENT_DAYS)
    first, last = min(f.day for f, _ in loaded.values()) - reach, max(f.day for f, _ in loaded.values()) + reach
    while True:
        loaded.update(story_facts(conn, topic_id, set(), first, last))
        component_of = {s.story_id: e.component_id
                        for e in events.link_events([f for f, _ in loaded.values()]) for s in e.stories}
        wanted = {component_of[story_id] for story_id in seeds if story_id in component_of}
        region = {story_id: loaded[story_id] for story_id, c in component_of.items() if c in wanted}
        days = [f.day for f, _ in region.values()]
        if min(days) - reach >= first and max(days) + reach <= last:
            return region
        first, last = min(first, min(days) - reach), max(last, max(days) + reach)


def link_events(settings: Settings, topic_ids: list[str] | None = None) -> EventsResult:
    """Relink the changed stories of each topic (default: the topics that have classifications);
    the totals count every event of those topics."""
    from mediamon import topics

    topic_ids = topic_ids or [t.id for t in topics.load_topics(settings.topics_dir)]
    totals = {"events": 0, "linked_events": 0, "stories": 0, "relinked_stories": 0}
    for topic_id in topic_ids:
        with store.transaction(settings) as conn:
            store.execute(conn, "events.lock", {"topic_id": topic_id})
            touched = {row.story_id for row in store.rows(conn, "events.touched_stories", {"topic_id": topic_id})}
            damaged = [row.event_id for row in store.rows(conn, "events.damaged_events", {"topic_id": topic_id})]
            if touched or damaged:
                relinked = _relink(conn, topic_id, touched, damaged)
                totals["relinked_stories"] += relinked
                log.info("topic %s: %d changed stories, %d stories relinked", topic_id, len(touched), relinked)
            counts = store.rows(conn, "events.event_counts", {"topic_id": topic_id})[0]
        totals["events"] += counts.events
        totals["linked_events"] += counts.linked_events
        totals["stories"] += counts.stories
    return EventsResult(**totals)


def _relink(conn: sa.Connection, topic_id: str, touched: set[int], damaged: list[int]) -> int:
    """Replace the events of the region around ``touched`` stories and ``damaged`` events."""
    seeds = touched | {row.story_id for row in store.rows(conn, "events.component_stories", {
        "topic_id": topic_id, "story_ids": sorted(touched), "event_ids": damaged})}
    region = _region(conn, topic_id, seeds)
    found = events.link_events([f for f, _ in region.values()])
    store.execute(conn, "events.delete_events", {"topic_id": topic_id, "event_ids": damaged,
                                                 "story_ids": sorted(seeds | set(region))})
    if found:
        store.execute_many_values(conn, "events.insert_events", [
            (topic_id, e.event_id, e.day, e.title, e.union("parties"), e.union("cooperation_types"),
             e.union("agreements"), sorted(e.linked_by), len(e.stories)) for e in found])
        store.execute_many_values(conn, "events.insert_event_stories", [
            (topic_id, s.story_id, e.event_id, e.component_id, region[s.story_id][1])
            for e in found for s in e.stories])
    return len(region)
