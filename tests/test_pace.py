"""The pace model: publishing gap, poll interval and silence from a source's discover history."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from mediamon.pace import Poll, learn_pace
from mediamon.settings import PaceSettings

T0 = datetime(2026, 3, 1, tzinfo=UTC)
KNOBS = PaceSettings()
NO_JITTER = PaceSettings(jitter=0.0)


def _polls(every: timedelta, new_per_poll: list[int], answered: bool = True) -> list[Poll]:
    return [Poll(T0 + i * every, answered, n) for i, n in enumerate(new_per_poll)]


def test_no_history_gives_the_prior():
    pace = learn_pace([], KNOBS)
    assert (pace.publish_gap_s, pace.interval_s, pace.next_due_at, pace.silent) == (3600.0, 3600.0, None, False)


def test_the_first_polls_backlog_does_not_count():
    pace = learn_pace(_polls(timedelta(hours=1), [50]), NO_JITTER)
    assert pace.interval_s == 3600.0 and pace.next_due_at == T0 + timedelta(hours=1)


def test_busy_sources_are_polled_at_the_floor_and_quiet_ones_at_the_ceiling():
    busy = learn_pace(_polls(timedelta(minutes=15), [40] + [5] * 96), NO_JITTER)  # 5 URLs per 15 min for a day
    assert busy.publish_gap_s < 200 and busy.interval_s == KNOBS.floor_s
    hourly = learn_pace(_polls(timedelta(hours=1), [40] + [1] * 48), NO_JITTER)  # one URL an hour for 2 days
    assert 3500 < hourly.interval_s < 3700
    quiet = learn_pace(_polls(timedelta(hours=6), [40] + [0] * 40), NO_JITTER)  # nothing in 10 days
    assert quiet.interval_s == KNOBS.ceiling_s


def test_the_interval_is_jittered_within_bounds():
    polls = _polls(timedelta(hours=1), [40] + [1] * 48)
    dues = {learn_pace(polls, KNOBS, random.Random(seed)).next_due_at for seed in range(20)}
    last = polls[-1].at
    gap = learn_pace(polls, NO_JITTER).interval_s
    assert len(dues) > 10
    assert all(timedelta(seconds=0.9 * gap) <= due - last <= timedelta(seconds=1.1 * gap) for due in dues)


def test_failed_polls_neither_start_nor_extend_the_clock():
    failed = [Poll(T0 - timedelta(days=5), False, 0)]
    pace = learn_pace(failed + _polls(timedelta(hours=1), [40] + [1] * 24) + [Poll(T0 + timedelta(days=3), False, 0)],
                      NO_JITTER)
    assert 3500 < pace.publish_gap_s < 3700 and not pace.silent


def test_a_source_that_stops_publishing_is_silent_with_expected_and_observed_gap():
    active = [40] + [1] * 24       # one URL an hour for a day
    quiet = [0] * 12               # then nothing for 12 hours
    pace = learn_pace(_polls(timedelta(hours=1), active + quiet), NO_JITTER)
    assert pace.silent
    assert 3600 <= pace.expected_gap_s < 4000 and pace.observed_gap_s == 12 * 3600
    assert pace.last_new_at == T0 + timedelta(hours=24)
    # Six quiet hours are not yet five usual gaps plus the minimum.
    assert not learn_pace(_polls(timedelta(hours=1), active + [0] * 5), NO_JITTER).silent


def test_silence_needs_history_and_an_answer():
    assert not learn_pace(_polls(timedelta(hours=1), [40] + [0] * 48), NO_JITTER).silent  # pace never learned
    polls = _polls(timedelta(hours=1), [40] + [1] * 24 + [0] * 12)
    assert not learn_pace(polls + [Poll(polls[-1].at + timedelta(hours=1), False, 0)], NO_JITTER).silent
