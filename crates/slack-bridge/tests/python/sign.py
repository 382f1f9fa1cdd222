"""Signs request bodies with the official Slack SDK for Python, for the
Slack bridge's tests (tests/common/mod.rs). Reads JSON lines
{"timestamp": "...", "body": "..."} on stdin; prints one X-Slack-Signature
value per line. The signing secret comes from SLACK_SIGNING_SECRET."""

import json
import os
import sys

from slack_sdk.signature import SignatureVerifier

verifier = SignatureVerifier(signing_secret=os.environ["SLACK_SIGNING_SECRET"])
for line in sys.stdin:
    if not line.strip():
        continue
    item = json.loads(line)
    print(verifier.generate_signature(timestamp=item["timestamp"], body=item["body"]))
