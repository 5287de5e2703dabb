"""Alerts: what operators and analysts are told, rendered for a webhook robot or an e-mail.

Pure: this module builds messages; sending them is the notifiers' job (``mediamon_airflow.notify``)
and the guarded client's (:func:`mediamon.webhook.post_json`). Titles, names and links come from
scraped pages, so every renderer escapes them for its own target: Slack mrkdwn, the Markdown of
DingTalk and WeCom robots, HTML for e-mail; links must be http(s) and are percent-encoded where
the markup would end them. Whitespace (newlines included) collapses, so a title stays on its line.
"""
from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from mediamon.outcomes import AlertKind

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
    """One thing to tell. ``key`` identifies it: the same key is never sent twice.

    For pairs and agreements ``title`` is the pair or the agreement and ``detail`` the title of the
    article at ``url``; a message lists an article once, with all its new pairs (or agreements).
    """

    kind: AlertKind
    key: str
    title: str
    detail: str = ""
    url: str | None = None


_BY_ARTICLE = (AlertKind.NEW_PAIR, AlertKind.NEW_AGREEMENT)


@dataclass(frozen=True)
class _Line:
    """One line of a message: the subjects (pairs, or one source) and what they are about."""

    subjects: tuple[str, ...]
    about: str
    url: str | None


def _lines(kind: AlertKind, alerts: Sequence[Alert]) -> list[_Line]:
    if kind not in _BY_ARTICLE:
        return [_Line((a.title,), a.detail, a.url) for a in alerts]
    grouped: dict[tuple[str, str | None], list[str]] = {}
    for a in alerts:
        grouped.setdefault((a.detail, a.url), []).append(a.title)
    return [_Line(tuple(subjects), about, url) for (about, url), subjects in grouped.items()]


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
        text = _render(alerts, _md_escape(title), _md_item)
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    if fmt == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": _render(alerts, _md_escape(title), _md_item)}}
    raise ValueError(f"unknown webhook format {fmt!r} (expected one of {', '.join(FORMATS)})")


def plain_text(alerts: Sequence[Alert], run: str | None = None) -> str:
    return _render(alerts, heading(alerts, run), lambda line: " ".join(filter(None, [
        "; ".join(one_line(s) for s in line.subjects) + ":" if line.about else one_line(line.subjects[0]),
        one_line(line.about), safe_url(line.url)])))


def email(alerts: Sequence[Alert], run: str | None = None) -> tuple[str, str]:
    """Subject and HTML body of the alert e-mail."""
    def item(line: _Line) -> str:
        subjects = html.escape("; ".join(one_line(s) for s in line.subjects))
        url = safe_url(line.url)
        about = html.escape(one_line(line.about))
        linked = f'<a href="{html.escape(url, quote=True)}">{about or subjects}</a>' if url else (about or subjects)
        return f"{subjects}: {linked}" if about else linked

    parts = [f"<h2>{html.escape(heading(alerts, run))}</h2>"]
    for kind, items in _sections(alerts):
        lines = _lines(kind, items)
        shown = "".join(f"<li>{item(line)}</li>" for line in lines[:MAX_ITEMS])
        more = f"<li>and {len(lines) - MAX_ITEMS} more</li>" if len(lines) > MAX_ITEMS else ""
        parts.append(f"<h3>{html.escape(SECTIONS[kind])}</h3><ul>{shown}{more}</ul>")
    return heading(alerts, run), "<!DOCTYPE html><html><body>" + "".join(parts) + "</body></html>"


def _sections(alerts: Sequence[Alert]) -> list[tuple[AlertKind, list[Alert]]]:
    return [(kind, [a for a in alerts if a.kind == kind]) for kind in AlertKind if any(a.kind == kind for a in alerts)]


def _render(alerts: Sequence[Alert], title: str, item) -> str:
    lines = [title]
    for kind, items in _sections(alerts):
        grouped = _lines(kind, items)
        lines += ["", SECTIONS[kind] + ":"]
        lines += [f"- {item(line)}" for line in grouped[:MAX_ITEMS]]
        if len(grouped) > MAX_ITEMS:
            lines.append(f"- and {len(grouped) - MAX_ITEMS} more")
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


def _slack_item(line: _Line) -> str:
    subjects = "; ".join(_slack_escape(s) for s in line.subjects)
    url = safe_url(line.url)
    if not line.about:
        return f"<{url}|{subjects.replace('|', '¦')}>" if url else subjects
    about = _slack_escape(line.about)
    return f"{subjects}: " + (f"<{url}|{about.replace('|', '¦')}>" if url else about)


_FULL_WIDTH_BRACKETS = str.maketrans("[]()", "［］（）")
_MD_SPECIAL = re.compile(r"([\\`*_{}#+!|~])")


def _md_escape(text: str) -> str:
    """Markdown-safe text: HTML special characters as entities (WeCom renders <font> tags),
    Markdown punctuation backslash-escaped, and brackets full-width so no link can be formed."""
    text = one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.translate(_FULL_WIDTH_BRACKETS)
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_item(line: _Line) -> str:
    subjects = "; ".join(_md_escape(s) for s in line.subjects)
    url = safe_url(line.url)
    if not line.about:
        return f"[{subjects}]({url})" if url else subjects
    about = _md_escape(line.about)
    return f"{subjects}: " + (f"[{about}]({url})" if url else about)
