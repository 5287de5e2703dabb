"""Score event linking on labelled real texts: ``tests/fixtures/events.yaml`` over the topic dev set.

Each labelled article is classified by the real topic (its parties, pairs, types and agreements),
dated as the fixture says, and becomes one story. The stories of one split are linked together by
:func:`mediamon.events.link_events` and scored against the labels, pairwise and B-cubed. The
``same_day`` variant puts every story of the split on one day, so the date windows cannot help:
content alone must keep the events apart (the fixture's dates are partly estimated).

``python -m mediamon.evaluation.events`` prints the figures.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import yaml

from mediamon import events, topics
from mediamon.settings import PROJECT_ROOT

FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "events.yaml"
SPLITS = ("develop", "held_out", "all")


def split_of(article_id: str) -> str:
    """sha1(id) even -> develop, odd -> held_out (the convention of the topics fixtures)."""
    return "develop" if int(hashlib.sha1(article_id.encode()).hexdigest(), 16) % 2 == 0 else "held_out"


def labelled_stories(dev_set: Path, fixture: Path = FIXTURE) -> list[tuple[dict, events.StoryFacts]]:
    """(fixture item, story facts) per labelled article; story ids count from 1 in fixture order."""
    items = yaml.safe_load(fixture.read_text(encoding="utf-8"))["articles"]
    wanted = {item["id"] for item in items}
    texts = {}
    for line in dev_set.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["id"] in wanted:
            texts[row["id"]] = row
    topic = topics.load_topics(PROJECT_ROOT / "seeds" / "topics")[0]
    stories = []
    for story_id, item in enumerate(items, start=1):
        row = texts[item["id"]]
        result = topics.classify(topic, row["title"], row["text"])
        pairs = frozenset((a, b) if a < b else (b, a) for a, b in result.region_pairs if a != b)
        stories.append((item, events.StoryFacts(
            story_id=story_id, day=item["date"], title=row["title"],
            parties=frozenset(code for pair in pairs for code in pair), pairs=pairs,
            cooperation_types=frozenset(t["type"] for t in result.cooperation_types),
            agreements=frozenset(result.agreements))))
    return stories


def bcubed(events_found: list[events.Event], truth: dict[int, str]) -> dict[str, float]:
    """B-cubed precision and recall: per story, the share of its predicted event that truly belongs
    with it and the share of its true event that was found with it, averaged over stories."""
    predicted: dict[int, int] = {}
    for event in events_found:
        for story in event.stories:
            predicted[story.story_id] = event.event_id
    members: dict[int, set[int]] = {}
    for story_id in truth:
        members.setdefault(predicted.get(story_id, -story_id), set()).add(story_id)
    true_members: dict[str, set[int]] = {}
    for story_id, label in truth.items():
        true_members.setdefault(label, set()).add(story_id)
    precision = recall = 0.0
    for story_id, label in truth.items():
        found = members[predicted.get(story_id, -story_id)]
        right = len(found & true_members[label])
        precision += right / len(found)
        recall += right / len(true_members[label])
    n = len(truth) or 1
    return {"b3_precision": round(precision / n, 3), "b3_recall": round(recall / n, 3)}


def score(stories: list[tuple[dict, events.StoryFacts]], split: str, *, same_day: bool = False) -> dict:
    """Link the stories of ``split`` (``all``: both halves together) and score them (pairwise and B-cubed)."""
    chosen = [(item, facts) for item, facts in stories if split in (item["split"], "all")]
    facts = [replace(f, day=date(2000, 1, 1)) if same_day else f for _, f in chosen]
    truth = {f.story_id: item["event"] for item, f in chosen}
    found = events.link_events(facts)
    return {"stories": len(chosen), **events.pair_scores(found, truth), **bcubed(found, truth)}


def main(argv: list[str]) -> int:
    dev_set = Path(argv[0]) if argv else PROJECT_ROOT.parent / "shared" / "eval" / "topic-dev" / "dev.jsonl"
    stories = labelled_stories(dev_set)
    for split in SPLITS:
        for same_day in (False, True):
            print(f"{split:9s} {'same day' if same_day else 'dated':8s}", score(stories, split, same_day=same_day))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
