"""Load for bench/queue.sh, standard library only.

  queue_load.py URL latency N PAUSE     N sync then N async requests, one at a time
  queue_load.py URL integrate USERS HOOK  a WEBHOOK integration per user
  queue_load.py URL accept N PAUSE      N async requests over the 100 users
"""

import json
import sys
import time
import urllib.request

SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


def post(url, user, body):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"content-type": "application/json", "x-user-id": user,
                 # the plain routes answer synchronously unless asked not to
                 "prefer": "respond-async"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def main():
    base, mode = sys.argv[1], sys.argv[2]
    if mode == "latency":
        count, pause = int(sys.argv[3]), float(sys.argv[4])
        for kind, path in (("sync-bench", "/api/v1/requests/cli/sync"), ("async-bench", "/api/v1/requests/cli")):
            for i in range(count):
                post(base + path, f"latency-{i % 10}", {"content": "hello", "request_type": kind})
                time.sleep(pause)
        time.sleep(2)
    elif mode == "integrate":
        users, hook = int(sys.argv[3]), sys.argv[4]
        for i in range(users):
            post(f"{base}/api/v1/users/user-{i}/integrations", f"user-{i}",
                 {"integration_type": "WEBHOOK", "config": {"url": hook, "signing_secret": SECRET}})
    elif mode == "accept":
        count, pause = int(sys.argv[3]), float(sys.argv[4])
        for i in range(count):
            post(base + "/api/v1/requests/cli", f"user-{i % 100}", {"content": f"message {i}"})
            if pause:
                time.sleep(pause)
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
