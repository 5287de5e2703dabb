"""Database glue of the events stage: read the relevant stories, link them, replace the events.

The whole set of events of a topic is rebuilt in one transaction: linking is transitive, so a
new story can join two existing events, and a re-classified story can leave one. An event keeps
its id (its smallest story_id) across rebuilds while that story stays in it.
"""
from __future__ import annotations

import logging
from collections import defaultdict

from mediamon import events, store
from mediamon.results import EventsResult
from mediamon.settings import Settings

log = logging.getLogger(__name__)


def story_facts(conn, topic_id: str) -> list[events.StoryFacts]:
    """The facts of every relevant story of ``topic_id``, merged over its relevant copies."""
    merged: dict[int, dict] = defaultdict(lambda: {"pairs": set(), "types": set(), "agreements": set()})
    for row in store.rows(conn, "events.story_facts", {"topic_id": topic_id}):
        facts = merged[row.story_id]
        facts["day"] = min(facts.get("day", row.day), row.day)
        facts.setdefault("title", row.title)
        facts["pairs"].update(tuple(p.split("-")) for p in row.pairs)
        facts["types"].update(row.cooperation_types)
        facts["agreements"].update(row.agreements)
    return [events.StoryFacts(
        story_id=story_id, day=f["day"], title=f["title"],
        parties=frozenset(code for pair in f["pairs"] for code in pair), pairs=frozenset(f["pairs"]),
        cooperation_types=frozenset(f["types"]), agreements=frozenset(f["agreements"]))
        for story_id, f in merged.items()]


def link_events(settings: Settings, topic_ids: list[str] | None = None) -> EventsResult:
    """Rebuild the events of each topic (default: the topics that have classifications)."""
    from mediamon import topics

    topic_ids = topic_ids or [t.id for t in topics.load_topics(settings.topics_dir)]
    totals = {"events": 0, "linked_events": 0, "stories": 0}
    for topic_id in topic_ids:
        with store.transaction(settings) as conn:
            store.execute(conn, "events.lock", {"topic_id": topic_id})
            facts = story_facts(conn, topic_id)
            found = events.link_events(facts)
            store.execute(conn, "events.delete_events", {"topic_id": topic_id})
            if found:
                store.execute_many_values(conn, "events.insert_events", [
                    (topic_id, e.event_id, e.day, e.title, e.union("parties"), e.union("cooperation_types"),
                     e.union("agreements"), sorted(e.linked_by)) for e in found])
                store.execute_many_values(conn, "events.insert_event_stories", [
                    (topic_id, s.story_id, e.event_id) for e in found for s in e.stories])
        totals["events"] += len(found)
        totals["linked_events"] += sum(len(e.stories) > 1 for e in found)
        totals["stories"] += len(facts)
        log.info("topic %s: %d relevant stories in %d events (%d of several stories)", topic_id,
                 len(facts), len(found), sum(len(e.stories) > 1 for e in found))
    return EventsResult(**totals)
