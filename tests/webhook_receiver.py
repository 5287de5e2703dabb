"""A webhook receiver on 127.0.0.1 for the alert tests: records every JSON POST it gets.

``mode`` decides the answer: ``ok`` (200), ``error`` (500) or ``hang`` (holds the request until
the test ends, as a receiver that never answers).
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver:
    def __init__(self, mode: str = "ok"):
        self.mode, self.messages, self.released = mode, [], threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.messages.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                          "json": json.loads(body.decode("utf-8"))})
                if receiver.mode == "hang":
                    receiver.released.wait(60)
                    return
                self.send_response(500 if receiver.mode == "error" else 200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.authority = f"127.0.0.1:{self.server.server_port}"
        self.url = f"http://{self.authority}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
