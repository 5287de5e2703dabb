"""Configuration errors: one clear message naming the file, the line and the field, never a traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mediamon.errors import ConfigError
from mediamon.settings import PROJECT_ROOT
from mediamon.sources import load_sources
from mediamon.topics import load_topic

GOOD_SOURCE = """\
- id: good
  name: Good
  language: zh
  kind: rss
  url: http://news.example.cn/rss.xml
"""

# name -> (file text, line, field or None, words the message must contain)
SOURCE_CASES = {
    "malformed YAML (tab)": (GOOD_SOURCE + "- id: b\n  name: B\n\tkind: rss\n", 8, None, "malformed YAML"),
    "malformed YAML (mapping in a scalar)": (GOOD_SOURCE + "- id: b\n  name: B: C\n", 7, None, "malformed YAML"),
    "unknown source kind": (GOOD_SOURCE.replace("kind: rss", "kind: podcast"), 4, "kind", "unknown kind 'podcast'"),
    "duplicate id": (GOOD_SOURCE + GOOD_SOURCE.replace("news.example.cn", "other.example.cn"), 6, "id",
                     "duplicate id (first defined on line 1)"),
    "invalid URL scheme": (GOOD_SOURCE.replace("http://news.example.cn/rss.xml", "htp:/news"), 5, "url", "invalid URL"),
    "invalid URL port": (GOOD_SOURCE.replace("news.example.cn/", "news.example.cn:99999/"), 5, "url", "invalid URL"),
    "URL without host": (GOOD_SOURCE.replace("http://news.example.cn/rss.xml", "http:///rss.xml"), 5, "url", "no host"),
    "unknown source field": (GOOD_SOURCE + "  crawl_delay: 3\n", 6, "crawl_delay", "unknown field"),
    "missing field": (GOOD_SOURCE.replace("  language: zh\n", ""), 1, "language", "missing required field"),
    "private allowlist wildcard": (GOOD_SOURCE + "  allow_private: ['*:80']\n", 6, "allow_private", "not an exact"),
    "unknown outlet tier": (GOOD_SOURCE + "  outlet: {tier: national}\n", 6, "outlet", "outlet.tier must be one of"),
    "province not in the gazetteer": (GOOD_SOURCE + "  outlet:\n    tier: provincial\n    province: 990000\n", 7,
                                      "outlet", "outlet.province '990000' is not a province-level"),
    "province given as a city": (GOOD_SOURCE + "  outlet: {tier: municipal, province: 330100}\n", 6, "outlet",
                                 "not a province-level"),
    "unknown outlet field": (GOOD_SOURCE + "  outlet: {tier: central, city: x}\n", 6, "outlet",
                             "unknown field outlet.city"),
    "collections not a list of names": (GOOD_SOURCE + "  collections: Yangtze Delta\n", 6, "collections",
                                        "must be a list of names"),
}


@pytest.mark.parametrize("case", SOURCE_CASES)
def test_source_file_errors_name_file_line_and_field(tmp_path, case):
    text, line, field, words = SOURCE_CASES[case]
    path = tmp_path / "bad_sources.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    error = caught.value
    assert (error.path, error.line, error.field) == (str(path), line, field)
    message = str(error)
    assert message.startswith(f"{path}:{line}: ") and words in message
    if field:
        assert f"field {field!r}" in message


def test_good_source_file_loads(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD_SOURCE, encoding="utf-8")
    assert [s.source_id for s in load_sources(path)] == ["good"]


TOPIC = PROJECT_ROOT / "seeds" / "topics" / "regional_cooperation.yaml"


@pytest.mark.parametrize("old, new, field", [
    ("\nthreshold:", "\ntreshold:", "treshold"),                # misspelt top-level field
    ("\nterms:\n", "\nterms:\n  bogus_lang: {合作: 1}\n", "bogus_lang"),  # unknown key in a section
])
def test_unknown_topic_field_names_file_line_and_field(tmp_path, old, new, field):
    text = TOPIC.read_text(encoding="utf-8")
    assert old in text
    bad = text.replace(old, new, 1)
    path = tmp_path / "topic.yaml"
    path.write_text(bad, encoding="utf-8")
    line = next(n for n, row in enumerate(bad.splitlines(), 1) if row.strip().startswith(field + ":"))
    with pytest.raises(ConfigError) as caught:
        load_topic(path)
    assert (caught.value.line, caught.value.field) == (line, field)
    assert str(caught.value).startswith(f"{path}:{line}: ") and "unknown field" in str(caught.value)


@pytest.mark.parametrize("case", ["malformed YAML (tab)", "unknown source kind", "duplicate id", "invalid URL scheme"])
def test_cli_prints_one_line_and_exits_2(tmp_path, case):
    text, line, field, words = SOURCE_CASES[case]
    path = tmp_path / "BAD.yaml"
    path.write_text(text, encoding="utf-8")
    mediamon = Path(sys.executable).with_name("mediamon")
    done = subprocess.run([str(mediamon), "sources", "check", "--sources", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith(f"mediamon: configuration error: {path}:{line}: ") and words in lines[0]
