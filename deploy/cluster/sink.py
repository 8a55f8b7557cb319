#!/usr/bin/env python3
"""The subscriber of deploy/cluster-test.sh and deploy/soak.sh: answers every POST with 204
and appends its `webhook-id` (the notification id) to a file, one line per delivery (and,
with the time, to the same file's `.times`), so the
test can count notifications received twice or not at all. An optional third argument makes
it slow: seconds it waits before each answer.

    sink.py PORT LOG [DELAY_SECONDS]"""
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Lock

port, log_path = int(sys.argv[1]), sys.argv[2]
delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
lock = Lock()
log = open(log_path, "a", buffering=1)
times = open(log_path + ".times", "a", buffering=1)


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if delay:
            time.sleep(delay)
        with lock:
            notification = self.headers.get("webhook-id", "-")
            log.write(notification + "\n")
            times.write(f"{notification} {time.time():.3f}\n")
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a notifier killed mid-request resets its connection: expected in fault tests


Server(("127.0.0.1", port), Sink).serve_forever()
