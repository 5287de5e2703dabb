"""Which regions of a relevant article are parties to the cooperation, and which are only mentioned.

A region is a *party* when the article names it where the cooperation is stated: in a sentence that
holds a cooperation term or cue and names the sides (two regions, a cluster, or a pair-up / sister-city
tie), or that it names at least ``MIN_MENTIONS`` times: an article about a cooperation keeps coming back
to its parties, often in sentences that say what one of them did without a cooperation word ("北京援建下
的和田 ..." is stated; "湖南专家的种植新技术 ..." is not). A run of abbreviations (川渝, 沪苏浙, 京津冀三地)
names its regions together as sides wherever it stands. Everything else is *mentioned*. (Narrowing
the sentence to the clause around the term, between commas, lost more parties than it removed mentions
on both halves: Chinese lists the parties and the action in separate clauses, "上海市要发挥带动
作用,江苏、浙江、安徽三省要各扬所长".)

Not evidence of taking part, whatever the clause says:

* the dateline and regions that start an organisation's or a facility's name (南京大学, 深圳机场; decided by
  :mod:`mediamon.topics`), and a run that starts a route's name (沪苏湖高铁) or says where people come from
  (港澳青年);
* the venue, the places visited and where something is located: "论坛在江苏南京举行", "三地在深圳共同公布",
  "还到伊犁、喀什等地调研", "位于成都的园区" (where a meeting sits or an official goes, not who cooperates);
* a region that appears only as part of a grouping's proper name: 粤港澳 inside 粤港澳大湾区 names the
  area, not Guangdong, Hong Kong and Macao as actors (GUIDELINE: a cluster's members count only when
  the text names them). A bare run such as 京津冀 or 粤港澳三地 does name them, and so does the name of a
  cooperation zone, which is named after the sides that run it (粤澳 in 横琴粤澳深度合作区);
* a province or prefecture that only qualifies a place it contains: 浙江 in 浙江衢州, "Anji County in
  Zhejiang" (GUIDELINE: the side is named "at the level the text uses"); conversely the parts listed under
  their city ("肇庆市的端州区、鼎湖区") say how far the cooperation reaches into the city, which is the side;
* the places a negated inclusion lists: "都市圈不含云浮、韶关".

A party lends its role to the places coordinated with it: the other members of a short list (江苏、河南等省,
上海与江苏) and the regions leading the other clauses of a semicolon series (广东省引进…;山东省援建…). In a
pair-up piece a region that built, launched or brought something is a helping side (河南开创的…), and the
place it works in is the side it helps ("北京在和田构建起…").

The first rules were developed on half of the labelled fixtures (``tests/fixtures/topics/parties.jsonl``,
split "develop") and checked on the other half; the later ones (issue 12, session 4) from the errors of the
other half, checked on the first; see docs/architecture.md for the figures.
"""
from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Sequence

from mediamon.regions import PROVINCE_ABBREVIATIONS, Gazetteer, RegionSpan

# Calibration: on the development half, 3 to 5 mentions gave the same precision and 4 found a few more
# parties than "stated only" (R 0.833 -> 0.849) at no cost in precision. With the rules below, 4 to "never"
# give the same figures on both halves and every source; 3 costs precision (develop 0.905 -> 0.870, sina
# 0.659 -> 0.587) for a little recall on the other half (0.967 -> 0.973).
MIN_MENTIONS = 4
# A party shares its role with the places listed beside it only in a short list: sides are named in twos,
# threes and fours (沪苏浙皖, "贵州、湖南、四川的30多个贫困村"); the long lists are of places compared or
# counted ("皖北6市(阜阳、蚌埠、淮南、亳州、淮北、宿州)"). Calibration: on both halves any cap from 3 to 6 gives
# the same figures; 2 loses recall (develop 0.934 -> 0.918), no cap loses precision (develop 0.905 -> 0.851).
# Leave-one-source-out over all labelled articles picks 4 (a tie from 3 to 6) for every source.
MAX_COORDINATED = 4
# 在/到 + places + a verb of holding, visiting, signing or publishing: where a meeting sits or an official
# goes, not who cooperates ("论坛在江苏南京举行", "三地在深圳共同公布"). In English the verb comes first:
# "a forum was held in Nanjing", "the delegation visited Yili and Aksu".
_VENUE_BEFORE = re.compile(r"(?:在|于|到|赴|来到|前往)$")
_VENUE_AFTER = re.compile(r"[^,，。；;!！?？\n]{0,12}?(?:召开|举行|举办|开幕|闭幕|启动|揭牌|调研|考察|视察|看望"
                         r"|签署|签订|签约|发布|公布|会见|会谈|会晤)")
# Where an official goes the verb may come late ("还到拉萨、山南就对口援藏等工作开展情况进行调研"), and 等地
# closes the list of places visited however they are joined ("到阿克苏、和田和兵团第一师阿拉尔市等地调研").
_VISIT_BEFORE = re.compile(r"(?:到|赴|来到|前往|深入)$")
_VISIT_AFTER = re.compile(r"[^,，。；;!！?？\n]{0,30}?(?:调研|考察|视察|看望|慰问|走访)")
_VISITED_LIST = re.compile(r"(?:到|赴|来到|前往|深入)([^,，。；;!！?？\n]{1,40}?)等地(?:调研|考察|视察|看望|慰问|走访)")
# 位于/地处 + a place: where something is ("位于重庆大足区的高铁建设现场", "在位于成都的科创园区").
_LOCATED_BEFORE = re.compile(r"(?:位于|地处|坐落于|坐落在)$")
_EN_VENUE_BEFORE = re.compile(r"(?i)(?:\b(?:held|convened|hosted|took place|opened|closed)\b[^.;!?]{0,40}?\b(?:in|at)"
                              r"|\b(?:visit(?:ed|s|ing)?|toured|inspected|arrived in|travell?ed to|went to))\s+$")
# A list after a negated inclusion names the places left out ("都市圈不含云浮、韶关", "并未提及云浮、韶关",
# "not including Shaoguan"). (Not 除…外: it also means "besides", 除北京外,还有上海.)
_LEFT_OUT_BEFORE = re.compile(r"(?:不含|不包含|不包括|未包括|未包含|未提及|未纳入"
                              r"|(?i:not including|excluding|except))\s*$")
# What may stand between the places of one list: 江苏南京, 伊犁、喀什和克孜勒苏, "Yili, Aksu and Kashgar".
_LIST_GAP = re.compile(r"[、和及]?|,\s+|,?\s+and\s+")
# What joins the members of one coordinated list of sides: 江苏、河南等省, 上海与江苏, "Guangdong, Hong Kong
# and Macao". (Not a bare comma: NFKC makes "，" a comma, and "在哈密,河南开创的" are two clauses.)
_COORDINATION_GAP = re.compile(r"[、和及与同]|,\s+|,?\s+and\s+")
# A place right after the one it contains (浙江衢州, 浙江省衢州市), or in English after it ("Anji County,
# Zhejiang", "Anji County in Zhejiang"): the containing place only says where the other is. Also what stands
# between the abbreviations of one run (川渝).
_ADJACENT = re.compile("")
# Between a place and the list of its parts: 肇庆市的端州区、鼎湖区.
_PART_OF = re.compile("的")
# A run of abbreviations that starts a route's or line's name names the places it links, not parties
# (沪苏湖高铁, 川藏联网工程, 京沪高速); a run before people says where they come from (港澳青年, 港澳医务人员).
_ROUTE_AFTER_RUN = re.compile(r"\w{0,3}?(?:高铁|铁路|城际|高速|公路|联网|大桥|通道|航线|管道|输电)")
_PEOPLE_AFTER_RUN = re.compile(r"(?:居民|青年|同胞|人士|学生|市民|医生|医务人员|专业人士|人才|游客|籍)")
# How the name of a cooperation zone goes on after the alias matched (横琴粤澳|深度合作区, 河套深港|科技创新
# 合作区), or ends (深港科技创新合作区|).
_ZONE_NAME_END = re.compile(r"\w{0,6}?合作区|(?<=合作区)")
# In a pair-up piece, the region that built, launched or brought something is a helping side, whether or
# not its sentence has a cooperation word ("河南开创的培训课程", "江西省高标准建设的幼儿园", "天津实施师带徒
# 培养模式"); with 在 + a place before the verb, that place is the side it helps ("北京在和田构建起产业集群").
# Elsewhere such a sentence may be any region's own news, so this holds only where the article speaks of
# pair-up aid.
_HELPER_VERB_AFTER = re.compile(r"(?P<at>在[^\W的]{2,8}?)?[^\W的]{0,4}?"
                                r"(?:援建|捐建|建设|建成|开创|推出|引进|引入|打造|援助|支援|帮扶|投资|实施|组建|构建|选派|派出)")
_HELPED_GAP = re.compile("在")
_EN_QUALIFIER_AFTER = re.compile(r"(?i)(?:\s+(?:city|county|district|prefecture|league|banner))?"
                                 r"(?:,\s+|\s+(?:in|of)\s+)")


def is_venue(text: str, span: RegionSpan, spans: _SpanIndex) -> bool:
    """True when the span is one of the places after 在/到 that a holding or visiting verb follows."""
    first = last = span
    while (previous := spans.before(first, text)) is not None:  # walk over the list this place is in
        first = previous
    while (following := spans.after(last, text)) is not None:
        last = following
    before = text[max(0, first.start - 3):first.start]
    return bool((_VENUE_BEFORE.search(before) and _VENUE_AFTER.match(text, last.end))
                or (_VISIT_BEFORE.search(before) and _VISIT_AFTER.match(text, last.end))
                or _LOCATED_BEFORE.search(before)
                or any(visited.start(1) <= span.start and span.end <= visited.end(1)
                       for visited in _VISITED_LIST.finditer(text, max(0, span.start - 45), span.end + 10))
                or (first.surface.isascii() and _EN_VENUE_BEFORE.search(text, max(0, first.start - 60), first.start)))


class _SpanIndex:
    """The place named right before or after another, with only ``gap`` between them (a list separator)."""

    def __init__(self, spans: Sequence[RegionSpan]):
        self.spans = sorted(spans, key=lambda span: span.start)
        self.starts = [span.start for span in self.spans]

    def before(self, span: RegionSpan, text: str, gap: re.Pattern = _LIST_GAP) -> RegionSpan | None:
        index = bisect.bisect_left(self.starts, span.start) - 1
        previous = self.spans[index] if index >= 0 else None
        if previous is not None and previous.end <= span.start and gap.fullmatch(text, previous.end, span.start):
            return previous
        return None

    def after(self, span: RegionSpan, text: str, gap: re.Pattern = _LIST_GAP) -> RegionSpan | None:
        index = bisect.bisect_right(self.starts, span.start)
        following = self.spans[index] if index < len(self.spans) else None
        if following is not None and following.start >= span.end and gap.fullmatch(text, span.end, following.start):
            return following
        return None

    def coordinated(self, span: RegionSpan, text: str) -> list[RegionSpan]:
        """Every place of the list ``span`` stands in, itself included (上海青浦、江苏吴江、浙江嘉善)."""
        members = [span]
        while (previous := self.before(members[0], text, _COORDINATION_GAP)) is not None:
            members.insert(0, previous)
        while (following := self.after(members[-1], text, _COORDINATION_GAP)) is not None:
            members.append(following)
        return members


def is_left_out(text: str, span: RegionSpan, spans: _SpanIndex) -> bool:
    """True when the span is in a list that a negated inclusion (不含, 未提及, 除) introduces."""
    first = spans.coordinated(span, text)[0]
    return bool(_LEFT_OUT_BEFORE.search(text, max(0, first.start - 20), first.start))


def is_part_listed(text: str, span: RegionSpan, spans: _SpanIndex, regions: Gazetteer) -> bool:
    """True when the span is one of several parts listed under the place that contains them.

    "肇庆市的端州区、鼎湖区、高要区" breaks 肇庆 down into districts: the side is the container, named at its
    own level; its parts say how far the cooperation reaches into it.
    """
    members = spans.coordinated(span, text)
    container = spans.before(members[0], text, _PART_OF)
    return (len(members) >= 2 and container is not None
            and all(container.code in regions.ancestors(member.code) for member in members))


def qualifies(text: str, span: RegionSpan, spans: _SpanIndex, regions: Gazetteer) -> bool:
    """True when the span only says where a place it contains is: 浙江 in 浙江衢州, "Anji County, Zhejiang".

    The text names the side at the level of the place it qualifies (GUIDELINE: "at the level the text
    uses"), so this occurrence is no evidence that the province takes part; its other occurrences may be.
    """
    following = spans.after(span, text, _ADJACENT)
    previous = spans.before(span, text, _EN_QUALIFIER_AFTER)
    return any(place is not None and span.code in regions.ancestors(place.code) for place in (following, previous))


def party_codes(text: str, spans: Sequence[RegionSpan], cluster_names: Sequence[tuple[int, int]],
                side_sentences: set[int], sentence_starts: Sequence[int], regions: Gazetteer,
                pair_up: bool = False) -> set[str]:
    """Codes of the regions that take part in the cooperation.

    ``spans`` are the region occurrences that may be parties (datelines and organisation names already
    removed), ``cluster_names`` the ``(start, end)`` of each cluster alias, ``side_sentences`` the indices
    of sentences that hold a cooperation term or cue and name the sides of a cooperation, ``pair_up``
    whether the article speaks of pair-up aid.
    """
    index = _SpanIndex(spans)
    eligible = [span for span in spans if not _inside_proper_name(text, span, cluster_names)
                and not (_in_run(text, span, index) and _ROUTE_AFTER_RUN.match(text, span.end))
                and not is_venue(text, span, index) and not qualifies(text, span, index, regions)
                and not is_left_out(text, span, index) and not is_part_listed(text, span, index, regions)]
    stated = {span.code for span in eligible
              if bisect.bisect_right(sentence_starts, span.start) - 1 in side_sentences}
    counts = Counter(span.code for span in eligible)
    found = stated | {code for code, count in counts.items() if count >= MIN_MENTIONS}
    # A run of abbreviations (川渝, 沪苏浙, 京津冀三地) is how Chinese names the sides of a cooperation together,
    # unless it says where people come from (港澳青年, 港澳医务人员: a demonym, not the sides).
    found |= {span.code for span in eligible if _in_run(text, span, index)
              and not _PEOPLE_AFTER_RUN.match(text, _run_end(text, span, index))}
    starts = {span.start for span in eligible}
    if pair_up:
        for span in eligible:
            if helped := _HELPER_VERB_AFTER.match(text, span.end):
                found.add(span.code)
                # "北京在和田构建起…": the place the helper works in is the side it helps.
                if (helped.group("at") and (place := index.after(span, text, _HELPED_GAP)) is not None
                        and place.start in starts):
                    found.add(place.code)
    # The members of one coordinated list share a role: "江苏、河南等省通过结对帮扶 ...", "上海与江苏".
    for span in eligible:
        members = index.coordinated(span, text) if span.code in found else []
        if len(members) <= MAX_COORDINATED:
            found |= {member.code for member in members if member.start in starts}
    return found | _parallel_subjects(text, eligible, found)


# One statement per clause, clauses joined by semicolons, each led by its region: the way pair-up pieces
# list who did what ("广东省引进…；山东省援建…；浙江省借鉴…").
_CLAUSE_SERIES = re.compile(r"(?:[^。！？!?.\n]|\.(?!\s))+")  # one sentence ("." ends one before a space)
_CLAUSE = re.compile(r"[\s“”\"'(]*([^;]+)")  # group 1 starts where the clause's words do (NFKC made "；" ";")


def _parallel_subjects(text: str, eligible: Sequence[RegionSpan], found: set[str]) -> set[str]:
    """The regions that lead the clauses of one semicolon series in which a party leads another.

    Parallel clauses coordinate their subjects as a list does; a region leading a clause is its subject.
    """
    if ";" not in text:
        return set()
    by_start = {span.start: span for span in eligible}
    added: set[str] = set()
    for series in _CLAUSE_SERIES.finditer(text):
        if ";" not in series.group():
            continue
        leads = []
        for clause in _CLAUSE.finditer(text, series.start(), series.end()):
            if clause.start(1) in by_start:
                leads.append(by_start[clause.start(1)].code)
        if len(leads) >= 2 and found.intersection(leads):
            added.update(leads)
    return added


def _in_run(text: str, span: RegionSpan, spans: _SpanIndex) -> bool:
    """True when the span is one abbreviation of a run of them (川 in 川渝)."""
    return len(span.surface) == 1 and bool(spans.after(span, text, _ADJACENT) or spans.before(span, text, _ADJACENT))


def _run_end(text: str, span: RegionSpan, spans: _SpanIndex) -> int:
    """Where the run of abbreviations that ``span`` is in ends (after 澳 in 港澳)."""
    while (following := spans.after(span, text, _ADJACENT)) is not None and len(following.surface) == 1:
        span = following
    return span.end


def _inside_proper_name(text: str, span: RegionSpan, cluster_names: Sequence[tuple[int, int]]) -> bool:
    """True when the span lies in a cluster alias that is more than a run of abbreviations (粤港澳大湾区).

    An alias made only of one-character abbreviations (京津冀) names each of its regions, and so does the
    name of a cooperation zone (粤澳 in 横琴粤澳深度合作区, 深港 in 前海深港现代服务业合作区): it is named after
    the sides that run it.
    """
    return any(start <= span.start and span.end <= end
               and not all(char in PROVINCE_ABBREVIATIONS for char in text[start:end])
               and not _ZONE_NAME_END.match(text, end)
               for start, end in cluster_names)
