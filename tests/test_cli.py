"""The ``mediamon`` command line, called as users call it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mediamon import cli

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
MEDIAMON = str(Path(sys.executable).parent / "mediamon")


def test_extract_json_has_the_scoring_fields(capsys):
    assert cli.main(["extract", str(FIXTURES / "rednet_utf8.html"), "--url", "https://cs.rednet.cn/a.html", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"title", "text", "published_at", "author", "lang"} <= result.keys()
    assert result["lang"] == "zh" and "长江中游城市群" in result["text"]


def test_config_error_is_one_line_and_exit_code_2(tmp_path):
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - id: x\n    name: X\n    language: zh\n    kind: rss\n    url: ftp://x/\n")
    done = subprocess.run([MEDIAMON, "sources", "check", "--sources", str(bad)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert f"{bad}:6: source 'x', field 'url'" in done.stderr


def test_ingest_command_prints_the_summary(demo_settings):
    env = dict(os.environ, MEDIAMON_DATABASE_URL=demo_settings.database_url, MEDIAMON_ARCHIVE_URL=demo_settings.archive_url)
    done = subprocess.run([MEDIAMON, "ingest", "--sources", str(demo_settings.sources_file)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["source", "kind", "discovered", "fetched", "failed", "articles", "duplicates"]
    rows = {line.split()[0]: line.split() for line in lines[2:] if line.startswith("demo-")}
    assert len(rows) == 6 and int(rows["demo-news-rss"][5]) >= 5


def test_sources_enable_reports_an_unknown_source_but_not_a_missing_query(settings, capsys, monkeypatch):
    from mediamon import pipeline, store
    from mediamon.errors import UnknownQuery

    monkeypatch.setenv("MEDIAMON_DATABASE_URL", settings.database_url)
    pipeline.migrate(settings)
    assert cli.main(["sources", "enable", "no-such-source"]) == 2
    assert "unknown source 'no-such-source'" in capsys.readouterr().err
    # A missing named query is a bug: it propagates as UnknownQuery, never as "unknown source".
    with pytest.raises(UnknownQuery, match="no query named 'health.nope'"):
        store.sql("health.nope")
    monkeypatch.setattr(store, "_query_file", lambda stem: {})  # as if the query file lost its queries
    with pytest.raises(UnknownQuery, match="health.source_exists"):
        cli.main(["sources", "enable", "no-such-source"])


TOPIC_FIXTURES = Path(__file__).parent / "fixtures" / "topics" / "regional_cooperation.jsonl"


def test_eval_topic_json_gives_parties_beside_regions(capsys):
    assert cli.main(["eval", "topic", str(TOPIC_FIXTURES), "--json"]) == 0
    predictions = json.loads(capsys.readouterr().out)["predictions"]
    # 长三角毗邻区 meeting held in 衢州: the four cities that signed are the parties.
    assert set(predictions["seed-000-zh"]["parties"]) == {"330800", "341000", "350700", "361100"}
    for prediction in predictions.values():
        assert set(prediction["parties"]) <= set(prediction["regions"])
        assert prediction["label"] or prediction["parties"] == []


def test_eval_topic_fit_prints_the_model_and_writes_only_when_asked(tmp_path, monkeypatch, capsys):
    topics_dir = tmp_path / "topics"
    topics_dir.mkdir()
    topic_file = topics_dir / "regional_cooperation.yaml"
    original = (Path(cli.__file__).resolve().parents[2] / "seeds" / "topics" / "regional_cooperation.yaml").read_text(
        encoding="utf-8")
    topic_file.write_text(original, encoding="utf-8")
    monkeypatch.setenv("MEDIAMON_TOPICS", str(topics_dir))

    assert cli.main(["eval", "topic", str(TOPIC_FIXTURES), "--fit"]) == 0
    block = capsys.readouterr().out
    assert block.startswith("model:\n") and "stratified 5-fold CV on 19 articles" in block
    assert topic_file.read_text(encoding="utf-8") == original

    assert cli.main(["eval", "topic", str(TOPIC_FIXTURES), "--fit", "--write"]) == 0
    written = topic_file.read_text(encoding="utf-8")
    assert block in written and written != original
    assert written.count("\nmodel:\n") == 1 and "\nclusters:\n" in written
