"""A webhook receiver that verifies every request with the official Standard
Webhooks library (PyPI standardwebhooks), for the delivery tests
(crates/test-support/src/webhook_receiver.rs starts it; venv target/venv/delivery).

argv: --secret whsec_... --records FILE [--cert PEM --key PEM]
  Listens on a free loopback port (HTTPS with --cert) and prints {"port": N}
  as its first line. Every request is appended to FILE as one JSON line
  (method, path, headers, body, verified, error) before it is answered.
stdin: one JSON command a line, each answered by one JSON line on stdout
(peer_control.py):
  {"script": [{"status": 503, "headers": {"Retry-After": "7"}, "body": "...",
               "delay": 0.5}, ...]}
    the answers to the next requests, in order (afterwards: 204).
  EOF ends the server.
"""

import argparse
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

from peer_control import announce


class State:
    def __init__(self, secret, records):
        self.webhook = Webhook(secret)
        self.records = records
        self.lock = threading.Lock()
        self.script = []

    def next_answer(self):
        with self.lock:
            return self.script.pop(0) if self.script else {"status": 204}

    def record(self, entry):
        with self.lock, open(self.records, "a") as out:
            out.write(json.dumps(entry) + "\n")


def handler_for(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                state.webhook.verify(body, headers)
                verified, error = True, None
            except (WebhookVerificationError, ValueError) as failure:
                verified, error = False, f"{type(failure).__name__}: {failure}"
            state.record({
                "method": self.command,
                "path": self.path,
                "headers": headers,
                "body": body.decode("utf-8", "replace"),
                "verified": verified,
                "error": error,
            })
            answer = state.next_answer()
            time.sleep(float(answer.get("delay") or 0))
            payload = (answer.get("body") or "").encode()
            try:
                self.send_response(int(answer.get("status", 204)))
                for name, value in (answer.get("headers") or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (a timeout test)

        do_POST = do_PUT = do_PATCH = do_GET = handle_any

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", required=True)
    parser.add_argument("--records", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    state = State(args.secret, args.records)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    server.daemon_threads = True
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)

    def apply(command):
        if "script" in command:
            with state.lock:
                state.script = list(command["script"])

    announce(
        server.server_address[1],
        apply,
        lambda: threading.Thread(target=server.shutdown, daemon=True).start(),
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
