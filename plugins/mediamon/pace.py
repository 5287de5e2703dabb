"""Pace: how often a source publishes, when to discover it next, and whether it fell silent.

Pure: the input is a source's recent discover outcomes (:class:`Poll`), the output a :class:`Pace`.

The publishing rate is estimated as a Poisson rate with a Gamma prior worth one observation of
``prior_gap_s`` (today's hourly poll): after polls spanning ``T`` seconds that brought ``N`` new
URLs, the mean gap between new URLs is ``(T + prior_gap_s) / (N + 1)``. With no history that is
the prior; a source that brings 100 URLs a day converges to ~15 minutes within a day; one that
brings nothing drifts to the ceiling at the speed its silence grows. The first poll in the history
starts the clock but its URLs do not count: on a new source they are the backlog of the feed, not
what was published since.

The poll interval is that gap (one new URL expected per poll: a feed holding its last 20 items
loses nothing unless a burst of 20 comes between two polls), clamped to ``[floor_s, ceiling_s]``
and jittered by ``±jitter`` so sources added together drift apart. Failing sources are held back by
:mod:`mediamon.health_db` as before; their failed polls neither start nor extend the clock.

Silence: with ``N`` new URLs over ``T`` seconds of activity, a gap of ``k`` times the usual one
has probability ``e^-k`` under the Poisson model; ``silence_factor`` 5 gives ~0.7 % false alarms
per check, and ``min_silence_s`` keeps busy feeds from alarming over a quiet lunch hour.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mediamon.settings import PaceSettings


@dataclass(frozen=True)
class Poll:
    """One discover of a source: when, whether it answered, and how many new URLs it brought."""

    at: datetime
    answered: bool
    new_urls: int


@dataclass(frozen=True)
class Pace:
    publish_gap_s: float               # estimated mean time between two new URLs
    interval_s: float                  # chosen poll interval, within [floor_s, ceiling_s]
    next_due_at: datetime | None       # last poll + jittered interval; None: never polled
    last_new_at: datetime | None       # last poll that brought a new URL
    expected_gap_s: float | None       # usual gap while the source was active (None: too little history)
    observed_gap_s: float | None       # since the last new URL, as of the last answered poll
    silent: bool


def learn_pace(polls: Sequence[Poll], settings: PaceSettings, rng: random.Random | None = None) -> Pace:
    """The pace of a source from its polls (any order)."""
    rng = rng or random.Random()
    polls = sorted(polls, key=lambda p: p.at)
    answered = [p for p in polls if p.answered]
    prior = settings.prior_gap_s
    if not answered:
        interval = _clamp(prior, settings)
        due = polls[-1].at + _jittered(interval, settings, rng) if polls else None
        return Pace(prior, interval, due, None, None, None, False)
    start, last = answered[0].at, answered[-1].at
    later = answered[1:]
    gap = ((last - start).total_seconds() + prior) / (sum(p.new_urls for p in later) + 1)
    interval = _clamp(gap, settings)
    with_news = [p.at for p in answered if p.new_urls > 0]
    last_new_at = with_news[-1] if with_news else None
    active_items = sum(p.new_urls for p in later if last_new_at is not None and p.at <= last_new_at)
    expected = None
    if last_new_at is not None and active_items >= settings.min_items_for_silence:
        expected = ((last_new_at - start).total_seconds() + prior) / (active_items + 1)
    observed = (last - (last_new_at or start)).total_seconds()
    silent = (polls[-1].answered and expected is not None
              and observed >= max(settings.silence_factor * expected, settings.min_silence_s))
    return Pace(publish_gap_s=gap, interval_s=interval,
                next_due_at=polls[-1].at + _jittered(interval, settings, rng),
                last_new_at=last_new_at, expected_gap_s=expected, observed_gap_s=observed, silent=silent)


def _clamp(seconds: float, settings: PaceSettings) -> float:
    return min(max(seconds, settings.floor_s), settings.ceiling_s)


def _jittered(interval_s: float, settings: PaceSettings, rng: random.Random) -> timedelta:
    return timedelta(seconds=interval_s * (1 + rng.uniform(-settings.jitter, settings.jitter)))
