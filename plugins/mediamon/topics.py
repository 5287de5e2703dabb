"""Topics as data: load a topic YAML file and classify an article against it.

A topic file (see ``seeds/topics/regional_cooperation.yaml``) holds weighted Chinese and English terms,
negative terms, conditions on the regions and clusters named, the fitted relevance ``model`` (a weight,
mean and scale per feature of :data:`FEATURES`, and an intercept), a threshold on its probability, a
version, cooperation types with their cue terms, words that mark a 《…》 title as an agreement, and named
clusters with their member regions. :func:`classify` turns an article into a :class:`TopicResult` whose
``evidence`` says why (each feature's value and contribution) and whose regions carry a role, ``party`` or
``mentioned`` (:mod:`mediamon.parties`). The model is fitted by :mod:`mediamon.evaluation.topic_fit`.

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

from mediamon import parties
from mediamon.errors import ConfigError
from mediamon.regions import Gazetteer, RegionMention, gazetteer
from mediamon.settings import TopicSettings
from mediamon.text import DATELINE, SENTENCE_BOUNDARY, nfkc_simplified

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_TITLE_IN_BRACKETS = re.compile(r"《([^《》\n]{2,80})》")
# A region that starts an organisation's or a facility's name (上海汽车集团, 南京大学, 上海合作组织, 北京的自动化
# 研究所; 深圳机场, 天津滨海国际机场, 广州南站) is not a party to cooperation. (组织 alone is also a verb:
# 杭州市组织召开 ...; a bare 港 is not a facility word: 粤港澳.) A facility's name is short and has no verb in
# it: "京津共建世界级机场群" is the regions building, not an airport of theirs.
_ORGANIZATION_AFTER = re.compile(r"[^\W与和同及跟签]{0,6}?(?:公司|集团|银行|股份|控股|大学|学院|医院|合作组织"
                                 r"|研究所|研究院|实验室|博物馆|图书馆|美术馆|体育馆)"
                                 r"|[^\W与和同及跟签共建造打]{0,4}?(?:机场|火车站|高铁站|码头|口岸|大桥"
                                 r"|(?<!网)[东西南北]?站(?![在着起出立稳住]))")
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
    intercept: float
    # Feature name -> (weight, mean, scale): the contribution is weight * (value - mean) / scale.
    model: dict[str, tuple[float, float, float]]
    # How the model was fitted and its cross-validated figures (written by the fit, read by people).
    model_fit: dict
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

_TOP_FIELDS = {"id", "version", "name", "threshold", "model", "terms", "negative_terms", "conditions",
               "cooperation_types", "agreement_keywords", "clusters"}
_REQUIRED = ("id", "version", "threshold", "terms")
_MODEL_FIELDS = {"intercept", "features", "fit"}
_FEATURE_FIELDS = {"weight", "mean", "scale"}
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

    def model(self, node: yaml.Node) -> tuple[float, dict[str, tuple[float, float, float]], dict]:
        """``model: {intercept, features: {name: {weight, mean, scale}}, fit}``; features must be known."""
        entries = self.mapping(node, _MODEL_FIELDS, "model")
        fit = self.value(entries["fit"][1], dict, "fit", "model") if "fit" in entries else {}
        intercept = float(self.value(entries["intercept"][1], (int, float), "intercept", "model")) \
            if "intercept" in entries else 0.0
        features = {}
        if "features" in entries:
            for name, (key_node, feature_node) in self.mapping(entries["features"][1], None, "model").items():
                if name not in FEATURES:
                    raise self.error(key_node, f"unknown feature (known: {', '.join(FEATURES)})", name,
                                     "model.features")
                where = f"model.features.{name}"
                values = {key: float(self.value(value_node, (int, float), key, where))
                          for key, (_, value_node) in self.mapping(feature_node, _FEATURE_FIELDS, where).items()}
                if values.get("scale", 1.0) <= 0:
                    raise self.error(feature_node, "scale must be positive", "scale", where)
                features[name] = (values.get("weight", 0.0), values.get("mean", 0.0), values.get("scale", 1.0))
        return intercept, features, fit

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
        intercept, model, model_fit = self.model(top["model"][1]) if "model" in top else (0.0, {}, {})
        return Topic(
            id=get("id", str, None),
            version=str(get("version", (str, int), None)),
            name=get("name", str, ""),
            threshold=float(get("threshold", (int, float), None)),
            intercept=intercept,
            model=model,
            model_fit=model_fit,
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
        # A region form that straddles a topic term or cluster name (惠城 in 莞惠城际, 渝中 in 成渝中线) is a
        # misreading: both cannot be words, and the term or the name is the one the text writes.
        words = [(start, start + len(word)) for start, word, _ in (*self.terms, *self.clusters)]
        self.spans = [span for span in self.gazetteer.find_spans(self.text)
                      if not any(start < span.start < end < span.end or span.start < start < span.end < end
                                 for start, end in words)]
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


# The features the fitted model weighs, in the order of the topic file's ``model.features``. Each is a
# mechanism (how much cooperation vocabulary, how many sides, how much of the text speaks of it), never a
# phrase of a particular article, and each is bounded (log-damped or capped) so no single article with a
# runaway count can pull the fit. ``classify`` computes them all; the topic file says which ones count.
FEATURES = ("term_weight", "title_term_weight", "clusters", "title_sides", "parties", "trigger_sentences",
            "trigger_share", "coverage", "sides_in_one_sentence", "cooperation_types", "agreements",
            "pair_or_sister", "conditions", "negative_weight")
_CAP_PARTIES = 6
_CAP_TRIGGERS = 8
_CAP_TYPES = 5
_CAP_AGREEMENTS = 3


def classify(topic: Topic, title: str, text: str, settings: TopicSettings | None = None) -> TopicResult:
    """Score ``title`` + ``text`` against ``topic`` and extract regions, parties, pairs, types and agreements.

    No language is needed: Chinese (Simplified or Traditional) and English terms and region names
    are all matched in every text, so a translation can be passed as text.
    The score is the fitted model's probability that the article is relevant; ``evidence["features"]``
    holds each feature's value and its contribution to the log-odds.
    """
    settings = settings or TopicSettings()
    article = _Article(topic, title, text, settings)
    regions = article.gazetteer
    signals = _signals(topic, article, settings)
    features = signals.features
    contributions = {name: round(weight * (features[name] - mean) / scale, 4)
                     for name, (weight, mean, scale) in topic.model.items()}
    log_odds = topic.intercept + sum(contributions.values())
    probability = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, log_odds))))
    relevant = probability >= topic.threshold

    party_codes = _party_codes(article, signals.by_sentence, settings) if relevant else set()
    mentions = regions.mentions(article.spans)
    for mention in mentions:
        mention.role = "party" if mention.code in party_codes else "mentioned"
    evidence = {
        **signals.evidence,
        "features": {name: {"value": round(features[name], 4), "contribution": contributions[name]}
                     for name in topic.model},
        "intercept": topic.intercept,
        "log_odds": round(log_odds, 4),
        "threshold": topic.threshold,
        "party_regions": sorted(party_codes),
    }
    pairs = _region_pairs(party_codes, regions, settings) if relevant else []
    return TopicResult(topic.id, topic.version, round(probability, 4), relevant, evidence,
                       mentions, pairs, _cooperation_types(topic, article), signals.agreements)


def article_features(topic: Topic, title: str, text: str, settings: TopicSettings | None = None) -> dict:
    """Every feature of :data:`FEATURES` for one article, before any weighting (what the fit learns from)."""
    settings = settings or TopicSettings()
    return _signals(topic, _Article(topic, title, text, settings), settings).features


def _party_codes(article: _Article, by_sentence: dict, settings: TopicSettings) -> set[str]:
    """The regions taking part in the cooperation (see :mod:`mediamon.parties` for the rules)."""
    side_sentences = {index for index, found in by_sentence.items()
                      if (found["terms"] or found["types"])
                      and (len(_parties(found["codes"], article.gazetteer, settings.pair_level)) >= 2
                           or found["clusters"] or found["types"] & {"pair_assistance", "sister_city"})}
    names = [(start, start + len(alias)) for start, alias, _ in article.clusters]
    pair_up = any("pair_assistance" in found["types"] for found in by_sentence.values())
    return parties.party_codes(article.text, article.party_spans, names, side_sentences, article.sentence_starts,
                               article.gazetteer, pair_up)


@dataclass
class _Signals:
    """What an article says about a topic: the evidence an analyst reads and the model's features."""
    evidence: dict
    features: dict[str, float]
    by_sentence: dict[int, dict[str, set]]
    agreements: list[str]


def _signals(topic: Topic, article: _Article, settings: TopicSettings) -> _Signals:
    """Terms, regions, clusters and cues per sentence, summed up as evidence and as features."""
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

    def sides(found: dict[str, set]) -> int:
        """How many sides a sentence names: regions (lifted, 浙江 + 衢州 is one side) and clusters."""
        return len(_parties(found["codes"], regions, settings.pair_level)) + len(found["clusters"])

    # A trigger sentence holds a term and names the sides: two regions, a cluster, a pair-up (always
    # between Chinese regions) or one region with its sister cities.
    triggers = [index for index, found in sorted(by_sentence.items())
                if found["terms"] and (sides(found) >= 2 or found["clusters"]
                                       or "pair_assistance" in found["types"]
                                       or (found["codes"] and "sister_city" in found["types"]))]
    parties = _parties({span.code for span in article.party_spans}, regions, settings.pair_level)
    types = {type_name for _, _, type_names in article.cues for type_name in type_names}
    conditions_met = [index for index, condition in enumerate(topic.conditions)
                      if condition.holds(len(parties), len(cluster_counts), types)]
    # Short lines (captions, bylines, menu items) are not sentences that could speak of anything.
    sentences = max(1, sum(1 for sentence in article.sentences if len(sentence) >= _MIN_SENTENCE_CHARS))
    covered = sum(1 for found in by_sentence.values() if found["terms"] or found["clusters"])
    title_found = by_sentence.get(0, {}) if article.title_end else {}
    term_weight = sum(_damped(topic.terms[t], c) for t, c in term_counts.items())
    negative_weight = sum(_damped(topic.negative_terms[t], c) for t, c in negative_counts.items())
    agreements = _agreements(topic, article.text)
    features = {
        "term_weight": math.log1p(term_weight),
        "title_term_weight": math.log1p(sum(topic.terms[t] for t in title_terms)),
        "clusters": math.log1p(sum(1 + math.log(c) for c in cluster_counts.values())),
        "title_sides": float(bool(title_found) and (sides(title_found) >= 2 or bool(title_clusters))),
        "parties": math.log1p(min(len(parties), _CAP_PARTIES)),
        "trigger_sentences": math.log1p(min(len(triggers), _CAP_TRIGGERS)),
        "trigger_share": min(1.0, len(triggers) / sentences),
        "coverage": min(1.0, covered / sentences),
        "sides_in_one_sentence": float(min(3, max((sides(found) for found in by_sentence.values()
                                                   if found["terms"]), default=0))),
        "cooperation_types": float(min(len(types), _CAP_TYPES)),
        "agreements": float(min(len(agreements), _CAP_AGREEMENTS)),
        "pair_or_sister": float("pair_assistance" in types or ("sister_city" in types and bool(parties))),
        "conditions": float(bool(conditions_met)),
        "negative_weight": math.log1p(negative_weight),
    }
    best = max(triggers or by_sentence or [0],
               key=lambda index: sum(topic.terms[t] for t in by_sentence.get(index, {}).get("terms", ())))
    evidence = {
        "matched_terms": {t: {"weight": topic.terms[t], "count": c, "in_title": t in title_terms}
                          for t, c in sorted(term_counts.items())},
        "negative_terms": {t: {"weight": topic.negative_terms[t], "count": c}
                           for t, c in sorted(negative_counts.items())},
        "clusters": list(cluster_counts),
        "parties": sorted(parties),
        "trigger_sentence_count": len(triggers),
        "coverage": round(covered / sentences, 3),
        "trigger_sentence": article.sentences[best][:_EVIDENCE_CHARS],
        "conditions_met": conditions_met,
    }
    return _Signals(evidence, features, by_sentence, agreements)


def _region_pairs(party_codes: set[str], regions: Gazetteer, settings: TopicSettings) -> list[tuple[str, str]]:
    """Pairs among the parties, lifted to ``settings.pair_level`` (浙江 with its own 衢州 is one side)."""
    return sorted(itertools.combinations(sorted(_parties(party_codes, regions, settings.pair_level)), 2))


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
