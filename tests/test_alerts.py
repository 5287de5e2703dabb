"""Alert messages (escaping per target format) and the guarded webhook client, against receivers
on 127.0.0.1."""
from __future__ import annotations

import json

import pytest

from mediamon.alerts import Alert, AlertKind, email, safe_url, webhook_payload
from mediamon.fetch import FetchError
from mediamon.webhook import post_json
from webhook_receiver import WebhookReceiver

HOSTILE_TITLE = "北京 & <天津> [合作](javascript:alert(1)) *签约* <!channel> {{ 7*7 }}\n# heading"
ARTICLE_URL = "http://news.example.cn/a/1.html?x=(1)|y"
SAFE_URL = "http://news.example.cn/a/1.html?x=%281%29%7Cy"
ALERTS = [
    Alert(AlertKind.NEW_PAIR, "pair:t:110000-120000", "北京市 – 天津市", HOSTILE_TITLE, ARTICLE_URL),
    Alert(AlertKind.NEW_PAIR, "pair:t:110000-130000", "北京市 – 河北省", HOSTILE_TITLE, ARTICLE_URL),
    Alert(AlertKind.NEW_AGREEMENT, "agreement:t:框架协议", "框架协议", "签约", "javascript:alert(1)"),
    Alert(AlertKind.SOURCE_SILENT, "silent:demo:1", "demo-news-rss", "no new URL for 12 h, usually 1 h"),
]


def test_slack_escapes_its_control_characters_and_groups_pairs_by_article():
    text = webhook_payload(ALERTS, "slack", run="manual__1")["text"]
    assert text.startswith("mediamon: 2 new cooperation region pairs, 1 new agreements, 1 sources silent")
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    line = f"- 北京市 – 天津市; 北京市 – 河北省: <{SAFE_URL}|北京 &amp; &lt;天津&gt; [合作](javascript:alert(1))"
    assert line in text and text.count(SAFE_URL) == 1
    assert "<javascript" not in text and "- 框架协议: 签约" in text
    assert "\n# heading" not in text and "- demo-news-rss: no new URL for 12 h" in text


@pytest.mark.parametrize("fmt, body", [("dingtalk", lambda p: p["markdown"]["text"]),
                                       ("wecom", lambda p: p["markdown"]["content"])])
def test_robot_markdown_cannot_be_injected(fmt, body):
    payload = webhook_payload(ALERTS, fmt)
    assert payload["msgtype"] == "markdown"
    text = body(payload)
    # The only link is the one we made, with a safe URL; the title's own link syntax is disarmed.
    assert text.count("](") == 1 and f"]({SAFE_URL})" in text
    assert "<" not in text and "&lt;天津&gt;" in text and "&lt;\\!channel&gt;" in text
    assert "［合作］（javascript:alert（1））" in text and r"\*签约\*" in text and r"\{\{ 7\*7 \}\}" in text
    assert "\n# heading" not in text and "- 框架协议: 签约" in text  # the javascript: link is dropped


def test_json_and_email():
    payload = webhook_payload(ALERTS, "json")
    assert [a["kind"] for a in payload["alerts"]] == ["new_pair", "new_pair", "new_agreement", "source_silent"]
    assert payload["alerts"][2]["url"] is None and "\n" not in payload["alerts"][0]["detail"]
    subject, page = email(ALERTS)
    assert "<天津>" not in page and "&lt;天津&gt;" in page and 'href="javascript' not in page
    assert f'<a href="{SAFE_URL}">北京 &amp; &lt;天津&gt;' in page and subject.startswith("mediamon: ")
    with pytest.raises(ValueError):
        webhook_payload(ALERTS, "teams")


def test_only_http_urls_survive():
    assert safe_url("file:///etc/passwd") is None and safe_url("JAVASCRIPT:x") is None
    assert safe_url("https://a.example/x y") == "https://a.example/x%20y"


def test_post_json_delivers_to_an_allowed_receiver():
    with WebhookReceiver() as receiver:
        status = post_json(receiver.url, webhook_payload(ALERTS, "dingtalk"), allow_private=[receiver.authority])
    assert status == 200 and len(receiver.messages) == 1
    assert receiver.messages[0]["content_type"].startswith("application/json")
    assert receiver.messages[0]["json"]["markdown"]["title"].startswith("mediamon: ")


def test_post_json_refuses_loopback_without_allow_private_and_bounds_hangs():
    with WebhookReceiver() as receiver:
        with pytest.raises(FetchError) as refused:
            post_json(receiver.url, {"text": "x"})
        assert refused.value.reason == "blocked_address" and receiver.messages == []
    with WebhookReceiver("error") as receiver:
        assert post_json(receiver.url, {"text": "x"}, allow_private=[receiver.authority]) == 500
    with WebhookReceiver("hang") as receiver:
        with pytest.raises(FetchError) as hung:
            post_json(receiver.url, {"text": "x"}, allow_private=[receiver.authority], timeout_s=1.0)
        assert hung.value.reason == "timeout"
        assert json.dumps(receiver.messages[0]["json"]) == '{"text": "x"}'
