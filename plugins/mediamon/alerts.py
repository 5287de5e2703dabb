"""Alerts: what operators and analysts are told, rendered for a webhook robot or an e-mail.

Pure: this module builds messages; sending them is the notifiers' job (``mediamon_airflow.notify``)
and the guarded client's (:func:`mediamon.fetch.post_json`). Titles, names and links come from
scraped pages, so every renderer escapes them for its own target: Slack mrkdwn, the Markdown of
DingTalk and WeCom robots, HTML for e-mail; links must be http(s) and are percent-encoded where
the markup would end them. Whitespace (newlines included) collapses, so a title stays on its line.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from enum import Enum
from typing import Sequence
from urllib.parse import quote, urlsplit


class AlertKind(str, Enum):
    NEW_PAIR = "new_pair"
    NEW_AGREEMENT = "new_agreement"
    SOURCE_SILENT = "source_silent"
    SOURCE_DISABLED = "source_disabled"
    RUN_FAILED = "run_failed"


SECTIONS = {
    AlertKind.NEW_PAIR: "New cooperation region pairs",
    AlertKind.NEW_AGREEMENT: "New agreements",
    AlertKind.SOURCE_SILENT: "Sources silent",
    AlertKind.SOURCE_DISABLED: "Sources disabled",
    AlertKind.RUN_FAILED: "Failed runs",
}
FORMATS = ("json", "slack", "dingtalk", "wecom")
# WeCom robots refuse markdown over 4096 bytes; DingTalk's limit is higher. Past this many items a
# message says how many more there are instead.
MAX_ITEMS = 15


@dataclass(frozen=True)
class Alert:
    """One thing to tell. ``key`` identifies it: the same key is never sent twice."""

    kind: AlertKind
    key: str
    title: str
    detail: str = ""
    url: str | None = None


def heading(alerts: Sequence[Alert], run: str | None = None) -> str:
    counts = ", ".join(f"{sum(a.kind == kind for a in alerts)} {SECTIONS[kind].lower()}"
                       for kind in AlertKind if any(a.kind == kind for a in alerts))
    return f"mediamon: {counts}" + (f" (run {one_line(run)})" if run else "")


def webhook_payload(alerts: Sequence[Alert], fmt: str, run: str | None = None) -> dict:
    """The JSON body for a webhook in format ``fmt`` (one of :data:`FORMATS`)."""
    title = heading(alerts, run)
    if fmt == "json":
        return {"text": plain_text(alerts, run), "alerts": [
            {"kind": a.kind.value, "key": a.key, "title": one_line(a.title), "detail": one_line(a.detail),
             "url": safe_url(a.url)} for a in alerts]}
    if fmt == "slack":
        return {"text": _render(alerts, _slack_escape(title), _slack_item)}
    if fmt == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": _render(alerts, _md_escape(title), _md_item)}}
    if fmt == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": _render(alerts, _md_escape(title), _md_item)}}
    raise ValueError(f"unknown webhook format {fmt!r} (expected one of {', '.join(FORMATS)})")


def plain_text(alerts: Sequence[Alert], run: str | None = None) -> str:
    return _render(alerts, heading(alerts, run), lambda a: " ".join(filter(None, [
        one_line(a.title), f"({one_line(a.detail)})" if a.detail else "", safe_url(a.url)])))


def email(alerts: Sequence[Alert], run: str | None = None) -> tuple[str, str]:
    """Subject and HTML body of the alert e-mail."""
    def item(a: Alert) -> str:
        title = html.escape(one_line(a.title))
        url = safe_url(a.url)
        linked = f'<a href="{html.escape(url, quote=True)}">{title}</a>' if url else title
        return f"{linked} <small>{html.escape(one_line(a.detail))}</small>" if a.detail else linked

    parts = [f"<h2>{html.escape(heading(alerts, run))}</h2>"]
    for kind, items in _sections(alerts):
        shown = "".join(f"<li>{item(a)}</li>" for a in items[:MAX_ITEMS])
        more = f"<li>and {len(items) - MAX_ITEMS} more</li>" if len(items) > MAX_ITEMS else ""
        parts.append(f"<h3>{html.escape(SECTIONS[kind])}</h3><ul>{shown}{more}</ul>")
    return heading(alerts, run), "<!DOCTYPE html><html><body>" + "".join(parts) + "</body></html>"


def _sections(alerts: Sequence[Alert]) -> list[tuple[AlertKind, list[Alert]]]:
    return [(kind, [a for a in alerts if a.kind == kind]) for kind in AlertKind if any(a.kind == kind for a in alerts)]


def _render(alerts: Sequence[Alert], title: str, item) -> str:
    lines = [title]
    for kind, items in _sections(alerts):
        lines += ["", SECTIONS[kind] + ":"]
        lines += [f"- {item(a)}" for a in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            lines.append(f"- and {len(items) - MAX_ITEMS} more")
    return "\n".join(lines)


# --- escaping ------------------------------------------------------------------------------------

def one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def safe_url(url: str | None) -> str | None:
    """``url`` if it is http(s), with whitespace, quotes, brackets and pipes percent-encoded (they
    would end a link in Markdown, mrkdwn or an HTML attribute); else None."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return re.sub(r"[\s<>()|\"'`\[\]\\^{}]", lambda m: quote(m.group(), safe=""), url)


def _slack_escape(text: str) -> str:
    # Slack's three control characters; escaping "<" also disarms <!channel> and <@user> mentions.
    return one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_item(a: Alert) -> str:
    title = _slack_escape(a.title).replace("|", "¦")
    url = safe_url(a.url)
    text = f"<{url}|{title}>" if url else title
    return f"{text} ({_slack_escape(a.detail)})" if a.detail else text


_MD_SPECIAL = re.compile(r"([\\`*_{}#+!|~])")


def _md_escape(text: str) -> str:
    """Markdown-safe text: HTML special characters as entities (WeCom renders <font> tags),
    Markdown punctuation backslash-escaped, and brackets full-width so no link can be formed."""
    text = one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.translate(str.maketrans({"[": "［", "]": "］", "(": "（", ")": "）"}))
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_item(a: Alert) -> str:
    title = _md_escape(a.title)
    url = safe_url(a.url)
    text = f"[{title}]({url})" if url else title
    return f"{text} ({_md_escape(a.detail)})" if a.detail else text
