"""Events: stories about one cooperation event, linked (pure; the glue is ``events_db``).

Other outlets' own reports of one meeting are separate stories (their texts share little), so
counting stories counts one joint meeting several times. Two relevant stories belong to one event
when any of these holds (the links are transitive: an event is a connected set of stories):

1. ``agreement``: they name the same agreement 《…》 and lie within :data:`AGREEMENT_DAYS`;
2. ``parties``: they have the same cooperating parties (Jaccard of party sets ≥
   :data:`PARTY_JACCARD`, at least one shared pair), share an *event* type of cooperation (a
   meeting, a signing: :data:`EVENT_TYPES`), and lie within :data:`PARTY_DAYS`;
3. ``title``: their titles are near-identical (character-bigram Jaccard ≥ :data:`TITLE_JACCARD`),
   they lie within :data:`TITLE_DAYS`, and their parties do not contradict (a shared pair, or no
   parties on one side).

Calibration (``tests/fixtures/events.yaml``, real texts of the topic dev set, see its header):
independent reports of one event are dated 0-2 days apart, while a plan or agreement keeps being
cited by other news for weeks (the GBA outline's briefing session three days after it came out), so
the windows are short. Standing partnerships (京津冀, 成渝) are in the news every few days with the
same parties and the same thematic types (coordination, public services), so only event types
link by parties. Recurring events (the 6th and 7th forum) and series features have near-identical
titles, so the title rule needs a high threshold, a short window and agreeing parties.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

AGREEMENT_DAYS = 2
PARTY_DAYS = 2
PARTY_JACCARD = 0.5
TITLE_DAYS = 3
TITLE_JACCARD = 0.8
# Cooperation types (seeds/topics) that are things that happen on a day, not themes.
EVENT_TYPES = frozenset({"joint_meeting", "framework_agreement", "sister_city"})
# Agreements so generic that sharing one says nothing (《关于…的意见》 alone is not a name).
MIN_AGREEMENT_CHARS = 6
_NOT_TITLE_TEXT = re.compile(r"[\s\W_]+")


@dataclass(frozen=True)
class StoryFacts:
    """What event linking reads of one relevant story."""

    story_id: int
    day: date
    title: str
    parties: frozenset[str] = frozenset()          # region codes of the cooperating parties
    pairs: frozenset[tuple[str, str]] = frozenset()
    cooperation_types: frozenset[str] = frozenset()
    agreements: frozenset[str] = frozenset()


@dataclass
class Event:
    """A connected set of stories; ``event_id`` is the smallest story_id."""

    event_id: int
    stories: list[StoryFacts]
    linked_by: set[str] = field(default_factory=set)

    @property
    def day(self) -> date:
        return min(s.day for s in self.stories)

    @property
    def title(self) -> str:
        return min(self.stories, key=lambda s: (s.day, s.story_id)).title

    def union(self, name: str) -> list[str]:
        return sorted(set().union(*(getattr(s, name) for s in self.stories)))


def title_bigrams(title: str) -> set[str]:
    text = _NOT_TITLE_TEXT.sub("", title.lower())
    return {text[i:i + 2] for i in range(len(text) - 1)} or ({text} if text else set())


def _jaccard(a: set | frozenset, b: set | frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def link_reasons(a: StoryFacts, b: StoryFacts, *, titles: dict[int, set[str]] | None = None) -> list[str]:
    """The rules that link story ``a`` with story ``b`` (empty: not the same event)."""
    days = abs((a.day - b.day).days)
    reasons = []
    named = {x for x in a.agreements & b.agreements if len(x) >= MIN_AGREEMENT_CHARS}
    if named and days <= AGREEMENT_DAYS:
        reasons.append("agreement")
    if (days <= PARTY_DAYS and a.pairs & b.pairs and a.cooperation_types & b.cooperation_types & EVENT_TYPES
            and _jaccard(a.parties, b.parties) >= PARTY_JACCARD):
        reasons.append("parties")
    if days <= TITLE_DAYS and (a.pairs & b.pairs or not a.parties or not b.parties):
        ta = titles[a.story_id] if titles else title_bigrams(a.title)
        tb = titles[b.story_id] if titles else title_bigrams(b.title)
        if _jaccard(ta, tb) >= TITLE_JACCARD:
            reasons.append("title")
    return reasons


def link_events(stories: list[StoryFacts]) -> list[Event]:
    """Group ``stories`` into events. Stories are compared only with those within the widest
    window (sorted by day), so the cost grows with the stories per week, not with their square."""
    ordered = sorted(stories, key=lambda s: (s.day, s.story_id))
    parent = {s.story_id: s.story_id for s in ordered}
    reasons: dict[int, set[str]] = {}
    titles = {s.story_id: title_bigrams(s.title) for s in ordered}
    widest = max(AGREEMENT_DAYS, PARTY_DAYS, TITLE_DAYS)

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if (b.day - a.day).days > widest:
                break
            why = link_reasons(a, b, titles=titles)
            if why:
                ra, rb = root(a.story_id), root(b.story_id)
                merged = reasons.pop(ra, set()) | reasons.pop(rb, set()) | set(why)
                keep = min(ra, rb)
                parent[max(ra, rb)] = keep
                reasons[keep] = merged
    groups: dict[int, list[StoryFacts]] = {}
    for story in ordered:
        groups.setdefault(root(story.story_id), []).append(story)
    return [Event(event_id=min(s.story_id for s in group), stories=group, linked_by=reasons.get(key, set()))
            for key, group in sorted(groups.items())]


def pair_scores(events: list[Event], truth: dict[int, str]) -> dict[str, float | int]:
    """Pairwise precision and recall of ``events`` against ``truth`` (story_id -> event label):
    a pair of stories counts as linked when both sit in one event."""
    predicted = {}
    for event in events:
        for story in event.stories:
            predicted[story.story_id] = event.event_id
    ids = sorted(truth)
    tp = fp = fn = 0
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            same_true = truth[a] == truth[b]
            same_pred = predicted.get(a) == predicted.get(b) and a in predicted
            tp += same_true and same_pred
            fp += same_pred and not same_true
            fn += same_true and not same_pred
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"true_pairs": tp + fn, "linked_pairs": tp + fp, "correct_pairs": tp,
            "precision": round(precision, 3), "recall": round(recall, 3)}
