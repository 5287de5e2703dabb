"""Party roles: which regions of a relevant article take part in the cooperation, which are mentioned.

The unit cases are sentences written for these tests. The labelled fixtures
(``fixtures/topics/parties.jsonl``: article id, split, the party names and GB/T codes, labelled by hand
following GUIDELINE.md "Regions") point at real texts in ../shared, read in place; the tests that need
them skip when ../shared is not there.
"""
import json
import os
from pathlib import Path

import pytest

from mediamon.evaluation.topics import evaluate_parties
from mediamon.settings import PROJECT_ROOT
from mediamon.topics import classify, load_topic

TOPIC_FILE = PROJECT_ROOT / "seeds" / "topics" / "regional_cooperation.yaml"
LABELS = Path(__file__).parent / "fixtures" / "topics" / "parties.jsonl"
SHARED = Path(os.environ.get("MEDIAMON_SHARED_DIR", PROJECT_ROOT.parent / "shared"))


@pytest.fixture(scope="module")
def topic():
    return load_topic(TOPIC_FILE)


def roles(topic, text, title=""):
    result = classify(topic, title, text)
    assert result.relevant, result.evidence["features"]
    return ({m.name for m in result.regions if m.role == "party"},
            {m.name for m in result.regions if m.role == "mentioned"}, result)


def test_venue_is_mentioned_and_signatories_are_parties(topic):
    text = ("长三角生态环境联防联治联席会议在浙江湖州召开。会上,上海市与江苏省签署跨界水体联保合作协议,"
            "两地将建立联合执法机制,共同推进太浦河水质协同治理,实现跨省数据共享。")
    parties, mentioned, result = roles(topic, text, "沪苏签署跨界水体联保合作协议")
    assert parties == {"上海市", "江苏省"} and mentioned == {"浙江省", "湖州市"}
    assert result.region_pairs == [("310000", "320000")]


def test_places_an_official_visits_are_mentioned(topic):
    text = ("对口援疆工作推进会召开。上海市与喀什地区签署对口支援合作协议,双方将深化产业援疆和人才交流。"
            "会后,调研组还到伊犁、阿克苏等地调研,看望援疆干部。")
    parties, mentioned, _ = roles(topic, text, "上海与喀什签署对口支援合作协议")
    # 援疆 names Xinjiang, the side being helped.
    assert parties == {"上海市", "喀什地区", "新疆维吾尔自治区"}
    assert {"伊犁哈萨克自治州", "阿克苏地区"} <= mentioned


def test_a_region_inside_a_groupings_name_is_not_named_as_a_party(topic):
    text = ("在粤港澳大湾区建设中,深圳市与中山市签署深中跨江合作框架协议,两市将推进交通互联互通和产业协作,"
            "共建跨江产业合作区,推动两地同城化发展。")
    parties, mentioned, result = roles(topic, text, "深圳中山签署合作框架协议")
    assert parties == {"深圳市", "中山市"}
    assert {"广东省", "香港特别行政区", "澳门特别行政区"} <= mentioned
    assert result.region_pairs == [("440300", "442000")]


def test_a_run_of_abbreviations_names_each_region(topic):
    text = "京津冀三地签署协同发展合作协议,将在交通一体化、生态联防联治、公共服务共享等领域深化合作。"
    parties, _, result = roles(topic, text, "京津冀签署协同发展合作协议")
    assert parties == {"北京市", "天津市", "河北省"}
    assert len(result.region_pairs) == 3


def test_statistics_sentence_and_dateline_are_mentioned(topic):
    text = ("中新网北京3月1日电 杭州市与湖州市签署同城化发展合作协议,两地将共建产业合作区,推进交通互联互通。"
            "今年上半年,苏州地区生产总值增长5%。杭州与湖州还将建立联席会议制度,定期会商合作事项。")
    parties, mentioned, _ = roles(topic, text, "杭州湖州签署同城化合作协议")
    assert parties == {"杭州市", "湖州市"} and {"北京市", "苏州市"} <= mentioned


def test_a_province_qualifying_its_own_city_is_not_a_separate_party(topic):
    text = ("浙江衢州与福建南平签署山海协作合作协议,两市将共建产业合作园区,推进交通互联互通。"
            "衢州与南平还将建立联席会议制度,定期会商合作事项。")
    parties, mentioned, result = roles(topic, text, "衢州南平签署合作协议")
    assert parties == {"衢州市", "南平市"} and {"浙江省", "福建省"} <= mentioned
    assert result.region_pairs == [("330800", "350700")]


def test_a_province_named_as_a_side_in_its_own_right_stays_a_party(topic):
    text = ("沪苏浙三地签署生态环境联保合作协议,共同推进太浦河水质协同治理。"
            "上海青浦、江苏苏州、浙江嘉兴三地将建立联合执法机制。")
    parties, _, _ = roles(topic, text, "沪苏浙签署合作协议")
    assert {"上海市", "江苏省", "浙江省", "青浦区", "苏州市", "嘉兴市"} <= parties


def test_places_listed_with_a_party_share_its_role_in_short_lists_only(topic):
    text = ("东西部协作持续深化。浙江省与贵州省签署东西部协作协议,双方将共建产业园区。"
            "当年10月,浙江的茶苗陆续运抵贵州、湖南、四川的30多个村。"
            "统计显示,贵州、云南、广西、湖南、四川、重庆六地游客均有增长。")
    parties, mentioned, _ = roles(topic, text, "浙江贵州深化东西部协作")
    assert parties == {"浙江省", "贵州省", "湖南省", "四川省"}
    assert {"云南省", "广西壮族自治区", "重庆市"} <= mentioned


def test_the_regions_leading_a_semicolon_series_share_a_partys_role(topic):
    text = ("各援疆省市精准建设产业援疆项目。广东省引进名优火龙果品种;山东省援建高标准现代蔬菜产业园;"
            "浙江省借鉴美丽乡村建设经验,打造农文旅项目。今年,新疆的游客人数明显增长。")
    parties, _, _ = roles(topic, text, "产业援疆硕果累累")
    assert {"广东省", "山东省", "浙江省"} <= parties


def test_in_a_pair_up_piece_the_region_that_built_something_is_a_helping_side(topic):
    text = ("东西部协作成效显著,广东与贵州深化对口帮扶。在毕节,福建开创的就业培训模式帮助数万人稳定就业;"
            "山东省高标准建设的职业学校已经开学。")
    parties, _, _ = roles(topic, text, "东西部协作成效显著")
    assert {"广东省", "贵州省", "福建省", "山东省"} <= parties
    # Without pair-up aid in the article, a region's own building is its own news.
    text = "上海与江苏签署合作协议,两地将共建产业园区。浙江建成的新码头本月投入运营。"
    parties, mentioned, _ = roles(topic, text, "沪苏签署合作协议")
    assert parties == {"上海市", "江苏省"} and "浙江省" in mentioned


def test_a_given_name_made_of_abbreviations_is_not_a_region(topic):
    text = ("第九次全国对口支援新疆工作会议召开,北京、上海、广东等19个援疆省市要深化对口支援。"
            "王沪宁还到伊犁调研,看望援疆干部。王沪宁等会见了受表彰的援疆干部代表。")
    parties, _, result = roles(topic, text, "全国对口支援新疆工作会议召开")
    assert {"北京市", "上海市", "广东省", "新疆维吾尔自治区"} <= parties
    assert "宁夏回族自治区" not in {m.name for m in result.regions}


def test_english_venues_visits_and_qualifiers_are_mentioned(topic):
    text = ("Guangdong, Hong Kong and Macao signed a cooperation agreement on youth exchanges. "
            "The signing ceremony was held in Guangzhou on Friday. The three sides will build joint "
            "innovation platforms. Anji County in Zhejiang also pledged tea seedlings under east-west "
            "cooperation with Guizhou. Officials later visited Shenzhen.")
    parties, mentioned, _ = roles(topic, text, "Guangdong, Hong Kong and Macao sign cooperation agreement")
    assert {"广东省", "香港特别行政区", "澳门特别行政区", "安吉县", "贵州省"} <= parties
    assert {"广州市", "深圳市", "浙江省"} <= mentioned


def test_facilities_and_institutes_named_after_a_place_are_not_its_part_in_the_cooperation(topic):
    text = ("粤港澳三地签署合作协议,共同打造世界级机场群。推进白云机场、深圳机场扩建,"
            "北京的自动化研究所也将落户香港科学园,三地将深化科技合作。")
    parties, mentioned, _ = roles(topic, text, "粤港澳签署合作协议")
    assert parties == {"广东省", "香港特别行政区", "澳门特别行政区"}
    assert {"深圳市", "北京市"} <= mentioned
    # Regions building an airport cluster together are not an airport's name; nor is a website a station.
    text = "河北省将与京津共建世界级机场群,推进区域协同发展。河北省发改委网站公布了合作项目清单。"
    parties, _, _ = roles(topic, text, "河北推进区域协同发展")
    assert parties == {"北京市", "天津市", "河北省"}


def test_where_a_text_is_signed_or_published_is_a_venue(topic):
    text = ("粤港澳大湾区规则衔接机制对接不断深化,区域协同发展迈上新台阶。粤港澳三地在深圳共同公布首批湾区标准,"
            "三地将推进标准互认与合作,深化跨境合作。")
    parties, mentioned, _ = roles(topic, text, "粤港澳三地深化规则衔接合作")
    assert "深圳市" in mentioned and {"广东省", "香港特别行政区", "澳门特别行政区"} <= parties


def test_places_visited_and_places_located_are_mentioned(topic):
    text = ("对口支援西藏工作会议召开,福建省与西藏自治区签署对口支援合作协议,深化援藏合作。"
            "会后还到拉萨、山南就援藏项目推进情况进行调研。"
            "调研组还到昌都、林芝和那曲等地考察。位于日喀则的援藏产业园区已经投产,双方将深化合作。")
    parties, mentioned, _ = roles(topic, text, "福建与西藏签署对口支援合作协议")
    assert parties == {"福建省", "西藏自治区"}
    assert {"拉萨市", "山南市", "昌都市", "林芝市", "那曲市", "日喀则市"} <= mentioned


def test_places_left_out_and_parts_listed_under_their_city_are_not_parties(topic):
    text = ("广东发布都市圈规划,推动同城化发展。深圳都市圈包括深圳市、东莞市全域,以及惠州市的惠城区、"
            "惠阳区、惠东县,都市圈城市将深化合作;深圳都市圈不含河源、汕尾的都市区部分。")
    parties, mentioned, _ = roles(topic, text, "深圳都市圈同城化发展")
    assert {"深圳市", "东莞市", "惠州市"} <= parties
    assert {"惠城区", "惠阳区", "惠东县", "河源市", "汕尾市"} <= mentioned


def test_a_run_of_abbreviations_names_sides_but_not_in_a_routes_name_or_a_demonym(topic):
    text = ("成渝地区双城经济圈建设提速。川渝高竹新区南北大道正式通车。"
            "沪苏湖高铁沿线的上海松江站进入攻坚阶段。港澳青年也来到这里创业。")
    parties, mentioned, _ = roles(topic, text, "成渝地区双城经济圈建设提速")
    assert {"四川省", "重庆市"} <= parties
    assert {"江苏省", "香港特别行政区", "澳门特别行政区", "松江区"} <= mentioned


def test_the_abbreviations_in_a_cooperation_zones_name_are_its_sides(topic):
    text = "横琴粤澳深度合作区建设全面推进,琴澳一体化发展成效显著,合作区出台一批便利澳门居民的举措。"
    parties, _, _ = roles(topic, text, "横琴粤澳深度合作区建设全面推进")
    assert {"广东省", "澳门特别行政区"} <= parties
    # A grouping's name is not a cooperation zone: 粤港澳 inside 粤港澳大湾区 stays the area's name.
    text = "粤港澳大湾区建设提速,深圳市与中山市签署合作框架协议,两市将推进交通互联互通。"
    parties, mentioned, _ = roles(topic, text, "深中签署合作框架协议")
    assert parties == {"深圳市", "中山市"} and "香港特别行政区" in mentioned


def test_pair_up_helpers_and_the_place_they_work_in(topic):
    text = ("对口援疆工作成效显著,各援疆省市深化对口支援。北京在和田构建起纺织服装等特色产业集群;"
            "河北引入先进办学理念,天津实施师带徒培养模式,湖南省组建医疗队为患者诊疗。")
    parties, _, _ = roles(topic, text, "对口援疆工作成效显著")
    assert {"北京市", "和田地区", "河北省", "天津市", "湖南省", "新疆维吾尔自治区"} <= parties


def test_a_region_form_straddling_a_term_is_not_read(topic):
    text = "大湾区城际铁路网加密,广州与惠州签署合作协议,新开的城际铁路与莞惠城际相连,两市将共建产业园区。"
    _, _, result = roles(topic, text, "广州惠州签署合作协议")
    assert "惠城区" not in {m.name for m in result.regions}


def test_regions_of_an_irrelevant_article_are_all_mentioned(topic):
    result = classify(topic, "南京今日有雨", "南京市气象台预计,今天南京和镇江有中到大雨,气温下降。")
    assert not result.relevant and result.region_pairs == []
    assert result.regions and {m.role for m in result.regions} == {"mentioned"}


# -------------------------------------------------------------------------------- labelled fixtures

def _texts() -> dict[str, tuple[str, str]]:
    texts = {}
    dev = SHARED / "eval" / "topic-dev" / "dev.jsonl"
    for line in dev.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        texts[row["id"]] = (row["title"], row["text"])
    for label in map(json.loads, LABELS.read_text(encoding="utf-8").splitlines()):
        if label["source"].startswith("seeds/"):
            texts[label["id"]] = ("", (SHARED / label["source"]).read_text(encoding="utf-8"))
    return texts


needs_shared = pytest.mark.skipif(not (SHARED / "eval" / "topic-dev" / "dev.jsonl").exists()
                                  or not (SHARED / "seeds").is_dir(), reason="../shared is not here")


def test_fixture_labels_are_well_formed():
    from mediamon.regions import gazetteer

    regions = gazetteer()
    labels = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]
    assert len(labels) >= 60 and {label["split"] for label in labels} == {"develop", "held_out"}
    for label in labels:
        assert set(label) == {"id", "source", "split", "parties", "clusters", "codes"}
        assert [regions.regions[code].name for code in label["codes"]] == label["parties"]
        assert "text" not in label and "title" not in label  # labels only: the texts stay in ../shared


@needs_shared
@pytest.mark.parametrize("split, min_precision, min_recall", [
    # The rules were developed on "develop" and never tuned on "held_out" (docs/architecture.md).
    ("develop", 0.89, 0.92),
    ("held_out", 0.82, 0.95),
])
def test_party_precision_and_recall_on_the_labelled_fixtures(topic, split, min_precision, min_recall):
    result = evaluate_parties(LABELS, _texts(), topic, split)
    assert result["articles"] >= 30
    assert result["precision"] >= min_precision and result["recall"] >= min_recall, result["errors"]
    # Marking every region a party (what the tables held before roles) is far less precise.
    assert result["precision"] > result["listed_precision"] + 0.1
    assert result["lenient_precision"] >= 0.9
