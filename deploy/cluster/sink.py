#!/usr/bin/env python3
"""The subscriber of deploy/cluster-test.sh: answers every POST with 204 and appends its
`webhook-id` (the notification id) to a file, one line per delivery, so the test can count
notifications received twice or not at all."""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Lock

port, log_path = int(sys.argv[1]), sys.argv[2]
lock = Lock()
log = open(log_path, "a", buffering=1)


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            log.write(self.headers.get("webhook-id", "-") + "\n")
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Sink).serve_forever()
