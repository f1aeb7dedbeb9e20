"""An HTTP proxy in front of the real store that injects the faults a real network and store produce."""

import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}


class Fault:
    """What to do to the next `times` requests whose method and path start as given."""

    def __init__(self, method, path, action, times=1, **details):
        self.method, self.path, self.action, self.times, self.details = method, path, action, times, details

    def matches(self, method, path):
        return self.times > 0 and method == self.method and path.startswith(self.path)


class FaultProxy:
    """proxy.url in place of the store's; proxy.add(Fault(...)) arms a fault.

    Actions: 'status' answers details['status'] (and details['body']) without asking the store; 'lose' lets the
    store handle the request, then drops the connection without an answer; 'delay' waits details['seconds']
    before passing the request on; 'rewrite' passes the store's answer through details['rewrite'](body)."""

    def __init__(self, upstream):
        self.upstream = urlsplit(upstream)
        self.faults = []
        self.seen = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, fault):
        with self.lock:
            self.faults.append(fault)
        return fault

    def take(self, method, path):
        with self.lock:
            self.seen.append((method, path))
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def forward(self, method, path, headers, body):
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fault = proxy.take(self.command, self.path)
                if fault and fault.action == "status":
                    return self.answer(fault.details["status"], [("Content-Type", "application/json")],
                                       json.dumps(fault.details.get("body", {"detail": "injected"})).encode())
                if fault and fault.action == "delay":
                    time.sleep(fault.details["seconds"])
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                status, answer_headers, answer = proxy.forward(self.command, self.path, headers, body)
                if fault and fault.action == "lose":
                    self.close_connection = True
                    return
                if fault and fault.action == "rewrite":
                    answer = fault.details["rewrite"](answer)
                self.answer(status, answer_headers, answer)

            def answer(self, status, headers, body):
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in HOP_BY_HOP | {"content-length"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = handle_any

        return Handler
