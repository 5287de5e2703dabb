"""An HTTP server on 127.0.0.1 whose every response is scripted byte for byte by the test.

``routes`` maps a path to a :class:`Raw` response: its status, its header lines exactly as they go
on the wire (NUL bytes, 5,000-digit values, malformed Location headers and all) and its body.
``/robots.txt`` is a 404 (no rules) unless a test scripts it. ``requests`` records the path and
headers of every request, so a test can assert what was (and was not) sent.
"""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Raw:
    status: int = 200
    headers: list[tuple[str, bytes | str]] = field(default_factory=lambda: [("Content-Type", "text/html; charset=utf-8")])
    body: bytes = b""


class ScriptedServer:
    def __init__(self, host: str = "127.0.0.1"):
        self.routes: dict[str, Raw] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                raw = server.routes.get(self.path.split("?", 1)[0]) or Raw(404, [("Content-Type", "text/plain")], b"no")
                lines = [f"HTTP/1.0 {raw.status} Scripted".encode()]
                for name, value in raw.headers:
                    lines.append(name.encode("latin-1") + b": " + (value if isinstance(value, bytes) else value.encode("latin-1")))
                lines.append(f"Content-Length: {len(raw.body)}".encode())
                try:
                    self.wfile.write(b"\r\n".join(lines) + b"\r\n\r\n" + raw.body)
                except OSError:
                    pass  # the client gave up (a size cap); nothing to do

            def log_message(self, *args) -> None:
                pass

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        httpd_class = type("ScriptedHTTPServer", (ThreadingHTTPServer,), {"address_family": family, "daemon_threads": True})
        self.httpd = httpd_class((host, 0), Handler)
        self.host, self.port = host, self.httpd.server_address[1]
        self.authority = f"{host}:{self.port}"
        self.base = f"http://{self.authority}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def paths_requested(self) -> list[str]:
        return [path for path, _ in self.requests]
