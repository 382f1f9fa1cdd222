"""Signed Slack app_mention events for bench/slack.sh, standard library only.

  slack_load.py URL SECRET N PAUSE   N new events, one every PAUSE s, from
                                     UBENCH0000.. (100 users) in CBENCH;
                                     prints the time to each 200 (p50/p99/max)

Signed as Slack signs (v0, HMAC-SHA256 of "v0:{timestamp}:{body}").
"""

import hashlib
import hmac
import json
import sys
import time
import urllib.request


def main():
    url, secret, count, pause = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), float(sys.argv[4])
    acks = []
    for i in range(count):
        body = json.dumps({
            "type": "event_callback", "team_id": "TFAKE0001", "event_id": f"EvBench{i:06d}",
            "authorizations": [{"user_id": "UFAKEBOT01", "is_bot": True}],
            "event": {"type": "app_mention", "user": f"UBENCH{i % 100:04d}", "channel": "CBENCH",
                      "ts": f"1700000000.{i:06d}", "text": "<@UFAKEBOT01> my VPN keeps dropping"},
        }).encode()
        timestamp = str(int(time.time()))
        signature = "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "content-type": "application/json", "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            if response.status != 200:
                sys.exit(f"event {i} answered {response.status}")
        acks.append((time.perf_counter() - started) * 1000)
        time.sleep(pause)
    acks.sort()
    pick = lambda q: acks[min(len(acks) - 1, int(q * len(acks)))]
    print(f"POST /slack/events -> 200, {count} events: p50 {pick(0.5):.2f} ms, p99 {pick(0.99):.2f} ms, max {acks[-1]:.2f} ms")


if __name__ == "__main__":
    main()
