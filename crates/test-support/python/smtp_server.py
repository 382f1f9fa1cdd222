"""A real SMTP server (aiosmtpd) for the delivery tests
(crates/test-support/src/smtp.rs starts it; venv target/venv/delivery).

argv: --dir DIR [--user NAME --password SECRET]
  Listens on a free loopback port and prints {"port": N} as its first line.
  Each accepted message is stored as DIR/NNNN.eml (the bytes received) and
  DIR/NNNN.json (envelope and the parts as Python's email parser reads them),
  the .json written last and renamed into place, so a reader never sees half.
  With --user, AUTH (PLAIN, LOGIN) is required and checked.
stdin: one JSON command a line, each answered by one JSON line on stdout
(peer_control.py):
  {"reject": [451, 550]}  answer DATA of the next messages with these codes
                          (in order) instead of accepting them.
  EOF ends the server (so it never outlives the test process).
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import threading

from aiosmtpd.smtp import SMTP, AuthResult

from peer_control import announce

REPLIES = {
    421: "421 4.3.2 Service shutting down, try again later",
    450: "450 4.2.1 Mailbox busy, try again later",
    451: "451 4.3.0 Temporary failure, try again later",
    452: "452 4.3.1 Insufficient storage",
    550: "550 5.7.1 Message rejected",
    552: "552 5.3.4 Message too big",
    554: "554 5.6.0 Transaction failed",
}


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()
        self.rejections = []
        self.count = 0

    def reject(self, codes):
        with self.lock:
            self.rejections.extend(int(code) for code in codes)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.rejections:
                code = self.rejections.pop(0)
                return REPLIES.get(code, f"{code} Rejected by the test")
            self.count += 1
            number = self.count
        raw = envelope.original_content or envelope.content
        base = os.path.join(self.directory, f"{number:04}")
        with open(base + ".eml", "wb") as out:
            out.write(raw)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        summary = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "headers": [[name, str(value)] for name, value in message.items()],
            "content_type": message.get_content_type(),
            "parts": [part.get_content_type() for part in message.iter_parts()]
            if message.is_multipart() else [],
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            "authenticated_as": session.auth_data.login.decode()
            if session.authenticated and session.auth_data is not None else None,
        }
        with open(base + ".json.tmp", "w") as out:
            json.dump(summary, out)
        os.replace(base + ".json.tmp", base + ".json")
        return f"250 2.0.0 OK queued as {number:04}"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()
    handler = Handler(args.dir)
    options = {"hostname": "smtp.test", "decode_data": False}
    if args.user:
        options.update(
            auth_required=True,
            auth_require_tls=False,
            authenticator=authenticator(args.user, args.password or ""),
        )
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(handler, **options), "127.0.0.1", 0)
    )

    def apply(command):
        if "reject" in command:
            handler.reject(command["reject"])

    announce(
        server.sockets[0].getsockname()[1],
        apply,
        lambda: loop.call_soon_threadsafe(loop.stop),
    )
    loop.run_forever()
    server.close()


if __name__ == "__main__":
    main()
