"""Alert webhooks: one JSON POST through the fetcher's address guard, bounded in time.

Kept apart from :mod:`mediamon.fetch` (which it builds on) because it sends rather than fetches:
no robots, no politeness, no redirects.
"""
from __future__ import annotations

import json
import socket
import threading
import weakref
from collections.abc import Iterable

import requests

from mediamon.fetch import AddressPolicy, FetchError, Resolver, _guarded_session, system_resolver
from mediamon.outcomes import FetchReason
from mediamon.settings import FetchSettings


def post_json(url: str, payload: dict, *, allow_private: Iterable[str] = (), timeout_s: float = 10.0,
              user_agent: str = FetchSettings.user_agent, resolver: Resolver = system_resolver) -> int:
    """POST ``payload`` as JSON to ``url`` through the address guard; returns the HTTP status.

    For alert webhooks: no redirects (a 3xx is an answer, not a detour), no proxies from the
    environment, and a watchdog that closes the connection after ``timeout_s`` whatever the
    receiver does (hangs, drips). Raises :class:`FetchError` (timeouts, refused addresses, errors).
    """
    policy = AddressPolicy(frozenset(a.lower() for a in allow_private), resolver)
    policy.check_url(url)
    sockets: weakref.WeakSet = weakref.WeakSet()
    session = _guarded_session(policy, user_agent, sockets)
    expired = threading.Event()

    def abort() -> None:
        expired.set()
        for sock in list(sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(timeout_s, abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        response = session.post(url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                                headers={"Content-Type": "application/json; charset=utf-8"},
                                allow_redirects=False, timeout=(min(5.0, timeout_s), timeout_s))
        response.close()
        return response.status_code
    except FetchError:
        raise
    except requests.RequestException as exc:
        if expired.is_set() or isinstance(exc, requests.Timeout):
            raise FetchError(FetchReason.TIMEOUT, f"no answer within {timeout_s}s", temporary=True) from None
        cause = exc.__context__
        while cause is not None and not isinstance(cause, FetchError):
            cause = cause.__context__
        if isinstance(cause, FetchError):
            raise cause from None
        raise FetchError(FetchReason.CONNECTION_ERROR, str(exc), temporary=True) from None
    finally:
        watchdog.cancel()
        session.close()
