"""The gazetteer: coverage, short forms, English names and the disambiguation rules of issue 4."""
from mediamon.regions import find_regions, gazetteer, iter_regions


def names(text):
    return [mention.name for mention in find_regions(text)]


def codes(text):
    return [mention.code for mention in find_regions(text)]


def test_gazetteer_has_every_level_with_codes_and_parents():
    regions = {region.code: region for region in iter_regions()}
    assert len(regions) > 3000
    assert regions["330000"].level == "province" and regions["330000"].parent_code == ""
    assert regions["330800"].name == "衢州市" and regions["330800"].parent_code == "330000"
    assert regions["320583"].level == "county" and regions["320583"].parent_code == "320500"
    # Districts of a municipality hang directly under it.
    assert regions["310115"].name == "浦东新区" and regions["310115"].parent_code == "310000"
    assert all(len(code) == 6 and code.isdigit() for code in regions)
    assert all(region.parent_code in regions for region in regions.values() if region.parent_code)


def test_full_names_short_forms_and_abbreviations():
    assert codes("衢州市") == ["330800"] and codes("衢州") == ["330800"]
    assert names("长沙") == ["长沙市"]
    assert names("玉树州") == ["玉树藏族自治州"]
    assert names("沪苏浙皖") == ["上海市", "江苏省", "浙江省", "安徽省"]
    assert names("湘鄂赣三省") == ["湖南省", "湖北省", "江西省"]
    assert names("对口援疆") == ["新疆维吾尔自治区"]


def test_english_names():
    assert names("Quzhou, Yushu and Changsha") == ["衢州市", "玉树藏族自治州", "长沙市"]
    assert names("Inner Mongolia and Shaanxi") == ["内蒙古自治区", "陕西省"]
    # Inside a longer word a pinyin name is not a place.
    assert names("Changshai") == []


def test_traditional_chinese_is_matched():
    assert names("粵港澳大灣區與廣州") == ["广东省", "香港特别行政区", "澳门特别行政区", "广州市"]


def test_street_is_not_the_city():
    assert names("游客在南京路步行街购物") == []
    assert names("南京东路上人来人往") == []
    assert names("a walk along Nanjing Road") == []
    assert names("南京与上海签约") == ["南京市", "上海市"]


def test_mountain_is_not_the_city():
    assert names("游客登黄山观日出") == []
    assert names("黄山风景区迎来客流高峰") == []
    assert names("Mount Huangshan at dawn") == []
    assert names("衢州、黄山、南平、上饶四地市") == ["衢州市", "黄山市", "南平市", "上饶市"]
    # 泰山区 and 峨眉山市 are counties: the bare mountain name is weak and needs an anchor.
    assert names("登泰山") == [] and names("峨眉山") == []
    assert names("峨眉山市") == ["峨眉山市"]


def test_short_forms_inside_longer_words():
    assert names("湘菜馆开业") == []
    assert names("沪深300指数上涨") == []
    assert names("京剧名家演出") == []
    assert names("迈上新台阶") == []
    assert names("京津冀协同发展") == ["北京市", "天津市", "河北省"]


def test_common_word_short_forms_need_an_anchor():
    assert names("中山大学的学者") == []
    assert names("朝阳产业") == []
    assert names("广东中山") == ["广东省", "中山市"]
    assert codes("北京朝阳") == ["110000", "110105"]


def test_county_short_forms_need_the_parent_or_full_name():
    assert names("公安部门") == []
    assert names("苏州昆山") == ["苏州市", "昆山市"]
    assert names("青浦区、昆山市、吴江区和嘉善县;青浦昆山") == ["青浦区", "昆山市", "吴江区", "嘉善县"]
    assert find_regions("青浦区与青浦")[0].count == 2


def test_new_areas_and_development_zones():
    assert names("浦东新区") == ["浦东新区"]
    # 两江新区 is a national new area inside 重庆, not a county of its own.
    assert names("两江新区") == []
    assert names("重庆两江新区") == ["重庆市"]
    assert names("南京江北新区") == ["南京市"]
    assert names("昆山经济技术开发区") == []
    # Right after its province a county short form is anchored (the way an address names it).
    assert names("江苏昆山经济技术开发区") == ["江苏省", "昆山市"]
    assert names("苏州昆山经济技术开发区") == ["苏州市", "昆山市"]


def test_province_short_form_beats_a_county_of_the_same_name():
    assert names("北京、天津、河北中部有暴雨") == ["北京市", "天津市", "河北省"]


def test_normalize_code_lifts_to_prefecture_or_province():
    regions = gazetteer()
    assert regions.normalize_code("320583", "prefecture") == "320500"
    assert regions.normalize_code("320583", "province") == "320000"
    assert regions.normalize_code("310118", "prefecture") == "310000"
    assert regions.normalize_code("330000", "prefecture") == "330000"


def test_a_run_that_ends_a_persons_name_is_not_places():
    # 王沪宁: the run 沪宁 (Shanghai-Nanjing) inside a name, followed by a verb of attending.
    assert names("全国政协主席王沪宁出席并讲话。") == []
    # The same run before anything else still names places.
    assert "上海市" in names("沪宁高铁通车后,两地往来更方便。")


def test_an_idiom_is_not_a_city():
    assert names("确保社会长治久安。") == []
    assert names("山西长治市与晋城市签署合作协议。") == ["山西省", "长治市", "晋城市"]


def test_a_county_short_form_right_after_its_province_or_prefecture_counts():
    assert names("上海青浦、江苏吴江、浙江嘉善三地") == ["上海市", "青浦区", "江苏省", "吴江区", "浙江省", "嘉善县"]
    # Not next to it, the province is still too broad an anchor; nor after another province.
    assert names("浙江的代表团来到嘉善") == ["浙江省"]
    assert names("江苏嘉善") == ["江苏省"]
    # The province's office or force, not the county of the same name (公安县 is in 湖北).
    assert names("湖北公安厅通报") == ["湖北省"] and names("湖北公安机关") == ["湖北省"]
    assert names("湖北公安县") == ["湖北省", "公安县"]


def test_a_name_inside_an_everyday_word_is_not_a_place():
    assert names("天津打造首都便捷的出海口") == ["天津市"]
    assert names("从源头到入海口") == []
    assert names("海口与三亚签署合作协议") == ["海口市", "三亚市"]
    assert names("雄安新区建设提速") == []
    assert names("欢迎各位来宾") == [] and names("广西来宾市") == ["广西壮族自治区", "来宾市"]


def test_conventional_abbreviations_of_autonomous_prefectures():
    assert names("新疆克州与江西省深化对口支援") == ["新疆维吾尔自治区", "克孜勒苏柯尔克孜自治州", "江西省"]
    assert names("对口援疆:巴州、博州") == ["新疆维吾尔自治区", "巴音郭楞蒙古自治州", "博尔塔拉蒙古自治州"]
    # Like any weak form, alone it is not enough, and 巴州 in 巴中 is the district.
    assert names("克州") == [] and names("四川巴中市巴州区") == ["四川省", "巴中市", "巴州区"]


def test_a_runs_last_character_that_starts_a_word_is_not_a_province():
    assert names("横琴粤澳深度合作区") == ["广东省", "澳门特别行政区"]
    assert names("粤港澳深化合作") == ["广东省", "香港特别行政区", "澳门特别行政区"]
    assert names("港澳青年来内地创业") == ["香港特别行政区", "澳门特别行政区"]
    assert names("深港合作") == ["深圳市", "香港特别行政区"]


def test_a_run_before_a_township_word_or_a_number():
    # 藏桂乡 is a township of 皮山县, not Tibet and Guangxi.
    assert names("皮山县藏桂乡的种植基地") == ["皮山县"]
    # A number makes 沪深 an index; after other runs it is just a number (川渝1000千伏 line).
    assert names("沪深300指数上涨") == []
    assert names("川渝1000千伏特高压工程贯通") == ["四川省", "重庆市"]
