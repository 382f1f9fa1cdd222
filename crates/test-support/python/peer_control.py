"""What the delivery tests' peers (smtp_server.py, webhook_receiver.py)
share: how they tell their port and take commands, as
crates/test-support/src/python_peer.rs drives them.

The first line on stdout is {"port": N}; then stdin carries one JSON
command a line, each answered by one JSON line on stdout: {"ok": true}, or
{"ok": false, "error": "..."} when applying it failed.
"""

import json
import sys
import threading


def serve_commands(apply):
    """Applies each command of stdin with apply(command) until EOF."""
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            apply(json.loads(line))
            answer = {"ok": True}
        except Exception as error:  # noqa: BLE001 - reported to the Rust side
            answer = {"ok": False, "error": str(error)}
        print(json.dumps(answer), flush=True)


def announce(port, apply, at_eof):
    """Prints {"port": port}, then serves the commands of stdin on a daemon
    thread, calling at_eof() when stdin closes (so the peer never outlives
    the test process)."""
    print(json.dumps({"port": port}), flush=True)

    def control():
        serve_commands(apply)
        at_eof()

    threading.Thread(target=control, daemon=True).start()
