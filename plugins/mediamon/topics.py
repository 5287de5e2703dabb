"""Topics as data: load a topic YAML file and classify an article against it.

A topic file (see ``seeds/topics/regional_cooperation.yaml``) holds weighted Chinese and English terms,
negative terms, conditions on the regions and clusters named, a threshold, a version, cooperation types
with their cue terms, words that mark a 《…》 title as an agreement, and named clusters with their member
regions. :func:`classify` turns an article into a :class:`TopicResult` whose ``evidence`` says why.

All term matching uses Aho-Corasick automata (``pyahocorasick``) over the normalized text, and region
matching the shared gazetteer of :mod:`mediamon.regions`, so one article costs about a millisecond.
"""
from __future__ import annotations

import bisect
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick
import yaml

from mediamon.errors import ConfigError
from mediamon.regions import Gazetteer, RegionMention, gazetteer
from mediamon.settings import TopicSettings
from mediamon.text import DATELINE, SENTENCE_BOUNDARY, nfkc_simplified

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_TITLE_IN_BRACKETS = re.compile(r"《([^《》\n]{2,80})》")
# A region that starts an organisation's name (上海汽车集团, 南京大学) is not a party to cooperation.
_ORGANIZATION_AFTER = re.compile(r"[^\W与和同及跟签]{0,6}?(?:公司|集团|银行|股份|控股|大学|学院|医院)")
_EVIDENCE_CHARS = 300
_MIN_SENTENCE_CHARS = 10


@dataclass(frozen=True)
class Condition:
    """One alternative of a topic's conditions; every field given must hold."""
    min_regions: int = 0
    min_clusters: int = 0
    types_any: tuple[str, ...] = ()

    def holds(self, regions: int, clusters: int, types: set[str]) -> bool:
        return (regions >= self.min_regions and clusters >= self.min_clusters
                and (not self.types_any or bool(types.intersection(self.types_any))))


@dataclass(frozen=True)
class Cluster:
    """A named grouping (长三角, 京津冀 ...) with the gazetteer codes of its members."""
    name: str
    aliases: tuple[str, ...]
    member_codes: tuple[str, ...]


class _TermMatcher:
    """Leftmost-longest matching of a fixed set of terms; English terms must sit between word boundaries.

    Matching runs on text whose ASCII letters are lower-cased, so English terms match in any case.
    """

    def __init__(self, terms: dict[str, Any]):
        self._automaton = ahocorasick.Automaton()
        for term, payload in terms.items():
            key = term.translate(_ASCII_LOWER)
            self._automaton.add_word(key, (term, payload))
        self._empty = not terms
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, lowered: str) -> Iterator[tuple[int, str, Any]]:
        """Yield ``(start, term, payload)`` for each match."""
        if self._empty:
            return
        for end, (term, payload) in self._automaton.iter_long(lowered):
            start = end - len(term) + 1
            if term.isascii() and (_is_word_char(lowered, start - 1) or not _ends_word(lowered, end + 1)):
                continue
            yield start, term, payload


def _is_word_char(text: str, index: int) -> bool:
    return 0 <= index < len(text) and text[index].isascii() and text[index].isalnum()


def _ends_word(text: str, index: int) -> bool:
    """True when a word ends at ``index``, allowing a plural s: "agreement" matches "agreements"."""
    if _is_word_char(text, index) and text[index] == "s":
        index += 1
    return not _is_word_char(text, index)


@dataclass
class Topic:
    """A topic loaded from a YAML file. Build it with :func:`load_topic`."""
    id: str
    version: str
    name: str
    threshold: float
    title_bonus: float
    sentence_bonus: float
    cluster_weight: float
    min_coverage: float
    max_trigger_sentences: int
    terms: dict[str, float]
    negative_terms: dict[str, float]
    conditions: tuple[Condition, ...]
    cooperation_types: dict[str, tuple[str, ...]]
    agreement_keywords: tuple[str, ...]
    clusters: tuple[Cluster, ...]
    path: str = ""
    _matchers: dict[str, _TermMatcher] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        cues: dict[str, list[str]] = {}
        for type_name, type_cues in self.cooperation_types.items():
            for cue in type_cues:
                cues.setdefault(cue, []).append(type_name)
        self._matchers = {
            "terms": _TermMatcher(self.terms),
            "negative": _TermMatcher(self.negative_terms),
            "cues": _TermMatcher(cues),
            "clusters": _TermMatcher({alias: cluster for cluster in self.clusters
                                      for alias in (cluster.name, *cluster.aliases)}),
        }

    def matches(self, kind: str, lowered: str) -> list[tuple[int, str, Any]]:
        return list(self._matchers[kind].find(lowered))


@dataclass
class TopicResult:
    """What :func:`classify` found. ``region_pairs`` is filled for relevant articles only."""
    topic_id: str
    topic_version: str
    score: float
    relevant: bool
    evidence: dict
    regions: list[RegionMention]
    region_pairs: list[tuple[str, str]]
    cooperation_types: list[dict]
    agreements: list[str]

    def to_json_dict(self) -> dict:
        data = asdict(self)
        data["region_pairs"] = [list(pair) for pair in self.region_pairs]
        return data


# --------------------------------------------------------------------------------------------- loading

_TOP_FIELDS = {"id", "version", "name", "threshold", "title_bonus", "sentence_bonus", "cluster_weight",
               "min_coverage",
               "max_trigger_sentences", "terms", "negative_terms", "conditions", "cooperation_types",
               "agreement_keywords", "clusters"}
_REQUIRED = ("id", "version", "threshold", "terms")
_LANGS = {"zh", "en"}
_CONDITION_FIELDS = {"min_regions", "min_clusters", "types_any"}
_CLUSTER_FIELDS = {"aliases", "members"}


class _TopicReader:
    """Turns the YAML node tree into a :class:`Topic`, naming file, line and field on every error."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.root = yaml.compose(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            raise ConfigError(path, f"not valid YAML: {getattr(error, 'problem', error)}",
                              line=mark.line + 1 if mark else None) from None
        self._constructor = yaml.SafeLoader("")

    def error(self, node: yaml.Node | None, message: str, field_name: str | None = None,
              item: str | None = None) -> ConfigError:
        line = node.start_mark.line + 1 if node is not None else None
        return ConfigError(self.path, message, line=line, field=field_name, item=item)

    def mapping(self, node: yaml.Node, allowed: set[str] | None, where: str | None) -> dict[str, tuple]:
        """``{key: (key_node, value_node)}``, rejecting keys outside ``allowed``."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, "expected a mapping", item=where)
        entries = {}
        for key_node, value_node in node.value:
            key = str(self._constructor.construct_object(key_node))
            if allowed is not None and key not in allowed:
                raise self.error(key_node, f"unknown field (allowed: {', '.join(sorted(allowed))})",
                                 key, where)
            entries[key] = (key_node, value_node)
        return entries

    def value(self, node: yaml.Node, kind: type | tuple, field_name: str, where: str | None = None):
        value = self._constructor.construct_object(node, deep=True)
        if isinstance(value, bool) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.error(node, f"expected {names}, got {value!r}", field_name, where)
        return value

    def strings(self, node: yaml.Node, field_name: str, where: str | None = None) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, "expected a list", field_name, where)
        return tuple(self.value(item, str, field_name, where) for item in node.value)

    def weighted_terms(self, node: yaml.Node, field_name: str) -> dict[str, float]:
        terms = {}
        for lang, (_, lang_node) in self.mapping(node, _LANGS, field_name).items():
            where = f"{field_name}.{lang}"
            for term, (_, weight_node) in self.mapping(lang_node, None, where).items():
                terms[term] = float(self.value(weight_node, (int, float), term, where))
        return terms

    def conditions(self, node: yaml.Node, type_names: set[str]) -> tuple[Condition, ...]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, "expected a list of alternatives", "conditions")
        alternatives = []
        for index, item in enumerate(node.value):
            where = f"conditions[{index}]"
            entries = self.mapping(item, _CONDITION_FIELDS, where)
            values: dict[str, Any] = {}
            for key, (_, value_node) in entries.items():
                if key == "types_any":
                    values[key] = self.strings(value_node, key, where)
                    unknown = set(values[key]) - type_names
                    if unknown:
                        raise self.error(value_node, f"unknown cooperation type {sorted(unknown)}",
                                         key, where)
                else:
                    values[key] = self.value(value_node, int, key, where)
            alternatives.append(Condition(**values))
        return tuple(alternatives)

    def cooperation_types(self, node: yaml.Node) -> dict[str, tuple[str, ...]]:
        types = {}
        for name, (_, type_node) in self.mapping(node, None, "cooperation_types").items():
            where = f"cooperation type {name!r}"
            types[name] = tuple(cue for lang, (_, cues) in self.mapping(type_node, _LANGS, where).items()
                                for cue in self.strings(cues, lang, where))
        return types

    def clusters(self, node: yaml.Node, regions: Gazetteer) -> tuple[Cluster, ...]:
        by_name = {region.name: region.code for region in regions.regions.values()}
        clusters = []
        for name, (_, cluster_node) in self.mapping(node, None, "clusters").items():
            where = f"cluster {name!r}"
            entries = self.mapping(cluster_node, _CLUSTER_FIELDS, where)
            if "members" not in entries:
                raise self.error(cluster_node, "missing field", "members", where)
            aliases = self.strings(entries["aliases"][1], "aliases", where) if "aliases" in entries else ()
            members_node = entries["members"][1]
            members = self.strings(members_node, "members", where)
            unknown = [member for member in members if member not in by_name]
            if unknown:
                raise self.error(members_node, f"not a full division name in the gazetteer: {unknown}",
                                 "members", where)
            clusters.append(Cluster(name, aliases, tuple(by_name[member] for member in members)))
        return tuple(clusters)

    def topic(self) -> Topic:
        if self.root is None:
            raise ConfigError(self.path, "empty file")
        top = self.mapping(self.root, _TOP_FIELDS, None)
        for required in _REQUIRED:
            if required not in top:
                raise self.error(self.root, "missing field", required)

        def get(name, kind, default):
            return self.value(top[name][1], kind, name) if name in top else default

        types = self.cooperation_types(top["cooperation_types"][1]) if "cooperation_types" in top else {}
        return Topic(
            id=get("id", str, None),
            version=str(get("version", (str, int), None)),
            name=get("name", str, ""),
            threshold=float(get("threshold", (int, float), None)),
            title_bonus=float(get("title_bonus", (int, float), 1.0)),
            sentence_bonus=float(get("sentence_bonus", (int, float), 2.0)),
            cluster_weight=float(get("cluster_weight", (int, float), 0.0)),
            min_coverage=float(get("min_coverage", (int, float), 0.0)),
            max_trigger_sentences=get("max_trigger_sentences", int, 4),
            terms=self.weighted_terms(top["terms"][1], "terms"),
            negative_terms=(self.weighted_terms(top["negative_terms"][1], "negative_terms")
                            if "negative_terms" in top else {}),
            conditions=(self.conditions(top["conditions"][1], set(types)) if "conditions" in top
                        else (Condition(min_regions=2),)),
            cooperation_types=types,
            agreement_keywords=(self.strings(top["agreement_keywords"][1], "agreement_keywords")
                                if "agreement_keywords" in top else ()),
            clusters=self.clusters(top["clusters"][1], gazetteer()) if "clusters" in top else (),
            path=str(self.path),
        )


def load_topic(path: str | Path) -> Topic:
    """Read and validate one topic file; a :class:`ConfigError` names the file, line and field at fault."""
    return _TopicReader(Path(path)).topic()


def load_topics(directory: str | Path) -> list[Topic]:
    """Every ``*.yaml``/``*.yml`` topic in ``directory``, sorted by file name; topic ids must be unique."""
    paths = sorted(p for p in Path(directory).iterdir() if p.suffix in (".yaml", ".yml"))
    topics, seen = [], {}
    for path in paths:
        topic = load_topic(path)
        if topic.id in seen:
            raise ConfigError(path, f"topic id {topic.id!r} already used by {seen[topic.id]}", field="id")
        seen[topic.id] = path.name
        topics.append(topic)
    return topics


# ------------------------------------------------------------------------------------------ classifying

class _Article:
    """The normalized text of one article with its sentences, regions and term matches."""

    def __init__(self, topic: Topic, title: str, text: str, settings: TopicSettings):
        title = nfkc_simplified(title or "")
        body = nfkc_simplified((text or "")[:settings.max_text_chars])
        self.title_end = len(title)
        self.text = title + "\n" + body
        lowered = self.text.translate(_ASCII_LOWER)
        self.sentence_starts, self.sentences = _split_sentences(self.text)
        self.terms = topic.matches("terms", lowered)
        self.negatives = topic.matches("negative", lowered)
        self.cues = topic.matches("cues", lowered)
        self.clusters = topic.matches("clusters", lowered)
        self.gazetteer = gazetteer()
        self.spans = self.gazetteer.find_spans(self.text)
        # "中新网衢州3月20日电": the place a story was filed from is not a party to it.
        dateline = DATELINE.match(body)
        dateline_end = self.title_end + 1 + dateline.end() if dateline else -1
        self.party_spans = [span for span in self.spans
                            if not self.title_end < span.start < dateline_end
                            and not _ORGANIZATION_AFTER.match(self.text, span.end)]

    def sentence_of(self, offset: int) -> int:
        return bisect.bisect_right(self.sentence_starts, offset) - 1


def _split_sentences(text: str) -> tuple[list[int], list[str]]:
    starts, sentences, position = [], [], 0
    for boundary in itertools.chain(SENTENCE_BOUNDARY.finditer(text), [None]):
        end = boundary.end() if boundary else len(text)
        starts.append(position)
        sentences.append(text[position:end].strip())
        position = end
    return starts, sentences


def _parties(codes: set[str], regions: Gazetteer, level: str) -> set[str]:
    """Codes lifted to ``level``, without a province whose own prefecture is also present (浙江 + 衢州)."""
    lifted = {regions.normalize_code(code, level) for code in codes}
    covered = {parent for code in lifted for parent in regions.ancestors(code)}
    return lifted - covered


def _damped(weight: float, count: int) -> float:
    """Repetition helps, but a term said ten times is not ten times the evidence."""
    return weight * (1 + math.log(count))


def classify(topic: Topic, title: str, text: str, settings: TopicSettings | None = None) -> TopicResult:
    """Score ``title`` + ``text`` against ``topic`` and extract regions, pairs, types and agreements.

    No language is needed: Chinese (Simplified or Traditional) and English terms and region names
    are all matched in every text, so a translation can be passed as text.
    """
    settings = settings or TopicSettings()
    article = _Article(topic, title, text, settings)
    regions = article.gazetteer

    term_counts = Counter(term for _, term, _ in article.terms)
    negative_counts = Counter(term for _, term, _ in article.negatives)
    cluster_counts = Counter(cluster.name for _, _, cluster in article.clusters)
    title_terms = {term for start, term, _ in article.terms if start < article.title_end}
    title_clusters = {cluster.name for start, _, cluster in article.clusters if start < article.title_end}

    # Per sentence: which terms, parties, clusters and cues it holds.
    by_sentence: dict[int, dict[str, set]] = {}

    def note(offset: int, kind: str, value) -> None:
        found = by_sentence.setdefault(article.sentence_of(offset),
                                       {"terms": set(), "codes": set(), "clusters": set(), "types": set()})
        found[kind].add(value)

    for start, term, _ in article.terms:
        note(start, "terms", term)
    for span in article.party_spans:
        note(span.start, "codes", span.code)
    for start, _, cluster in article.clusters:
        note(start, "clusters", cluster.name)
    for start, _, type_names in article.cues:
        for type_name in type_names:
            note(start, "types", type_name)

    def sentence_parties(found: dict[str, set]) -> set[str]:
        return _parties(found["codes"], regions, settings.pair_level)

    # A trigger sentence holds a term and names the sides: two regions, a cluster, a pair-up (always
    # between Chinese regions) or one region with its sister cities.
    triggers = [index for index, found in sorted(by_sentence.items())
                if found["terms"] and (len(sentence_parties(found)) >= 2 or found["clusters"]
                                       or "pair_assistance" in found["types"]
                                       or (sentence_parties(found) and "sister_city" in found["types"]))]
    score = (sum(_damped(topic.terms[t], c) for t, c in term_counts.items())
             + topic.title_bonus * sum(topic.terms[t] for t in title_terms)
             + sum(_damped(topic.cluster_weight, c) for c in cluster_counts.values())
             + topic.title_bonus * topic.cluster_weight * len(title_clusters)
             + topic.sentence_bonus * min(len(triggers), topic.max_trigger_sentences)
             - sum(_damped(topic.negative_terms[t], c) for t, c in negative_counts.items()))

    parties = _parties({span.code for span in article.party_spans}, regions, settings.pair_level)
    cluster_names = list(cluster_counts)
    types = _cooperation_types(topic, article)
    type_names = {entry["type"] for entry in types}
    conditions_met = [index for index, condition in enumerate(topic.conditions)
                      if condition.holds(len(parties), len(cluster_names), type_names)]
    # Coverage: the share of sentences that speak of the topic. A long article that mentions it in
    # passing (a city's GDP ranking quoting a cluster plan once) is not about it.
    # Short lines (captions, bylines, menu items) are not sentences that could speak of anything.
    sentences = sum(1 for sentence in article.sentences if len(sentence) >= _MIN_SENTENCE_CHARS)
    coverage = len([index for index, found in by_sentence.items() if found["terms"] or found["clusters"]])
    coverage = coverage / max(sentences, 1)
    relevant = score >= topic.threshold and bool(conditions_met) and coverage >= topic.min_coverage

    best = max(triggers or by_sentence or [0],
               key=lambda index: sum(topic.terms[t] for t in by_sentence.get(index, {}).get("terms", ())))
    evidence = {
        "matched_terms": {t: {"weight": topic.terms[t], "count": c, "in_title": t in title_terms}
                          for t, c in sorted(term_counts.items())},
        "negative_terms": {t: {"weight": topic.negative_terms[t], "count": c}
                           for t, c in sorted(negative_counts.items())},
        "clusters": cluster_names,
        "parties": sorted(parties),
        "trigger_sentence_count": len(triggers),
        "coverage": round(coverage, 3),
        "trigger_sentence": article.sentences[best][:_EVIDENCE_CHARS],
        "conditions_met": conditions_met,
        "threshold": topic.threshold,
    }
    pairs = _region_pairs(topic, article, triggers, by_sentence, settings) if relevant else []
    return TopicResult(topic.id, topic.version, round(score, 3), relevant, evidence,
                       regions.mentions(article.spans), pairs, types, _agreements(topic, article.text))


def _region_pairs(topic: Topic, article: _Article, triggers: list[int], by_sentence: dict,
                  settings: TopicSettings) -> list[tuple[str, str]]:
    """Pairs among the regions named in trigger sentences (the whole article when there are none).

    Cluster members are added only when fewer than two regions are named outright, so a story about two
    cities inside 粤港澳大湾区 links those two cities and not all eleven members.
    """
    regions = article.gazetteer
    sentences = triggers or list(by_sentence)
    codes = set().union(*(by_sentence[index]["codes"] for index in sentences)) if sentences else set()
    parties = _parties(codes, regions, settings.pair_level)
    if len(parties) < 2:
        named = set().union(*(by_sentence[index]["clusters"] for index in sentences)) if sentences else set()
        members = {code for cluster in topic.clusters if cluster.name in named
                   for code in cluster.member_codes}
        parties = _parties(codes | members, regions, settings.pair_level)
    return sorted(itertools.combinations(sorted(parties), 2))


def _cooperation_types(topic: Topic, article: _Article) -> list[dict]:
    """Each type whose cues occur, in topic order, with the first cue and its sentence as evidence."""
    first: dict[str, tuple[str, int]] = {}
    for start, cue, type_names in article.cues:
        for type_name in type_names:
            first.setdefault(type_name, (cue, start))
    return [{"type": name, "cue": first[name][0],
             "evidence": article.sentences[article.sentence_of(first[name][1])][:_EVIDENCE_CHARS]}
            for name in topic.cooperation_types if name in first]


def _agreements(topic: Topic, text: str) -> list[str]:
    """Distinct 《…》 titles that name an agreement or a policy document, in order of appearance."""
    titles = (match.group(1).strip() for match in _TITLE_IN_BRACKETS.finditer(text))
    return list(dict.fromkeys(title for title in titles
                              if any(keyword in title for keyword in topic.agreement_keywords)))
