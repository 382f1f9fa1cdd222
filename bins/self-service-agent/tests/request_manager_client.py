"""A client written against the Python request-manager API, as the
project's earlier `shared_clients` used it: send a message with x-user-id,
read the answer, read the request, reset the session with a PUT that carries
no identity, send again. Any non-2xx answer is an error (exit 1).
Standard library only. Usage: request_manager_client.py <base-url> <user-id>
"""

import json
import sys
import urllib.request


def call(method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:  # raises on non-2xx
        return json.load(response)


def main():
    base, user = sys.argv[1], sys.argv[2]
    identity = {"x-user-id": user}
    payload = {
        "user_id": user,
        "content": "I need a new laptop",
        "integration_type": "CLI",
        "request_type": "message",
        "metadata": {"command_context": {"command": "chat", "args": []}},
        "use_responses": False,
    }
    first = call("POST", f"{base}/api/v1/requests/generic/sync", payload, identity)
    status = call("GET", f"{base}/api/v1/requests/{first['request_id']}", headers=identity)
    reset = call("PUT", f"{base}/api/v1/sessions/{first['session_id']}", {"status": "INACTIVE"})
    payload["content"] = "hello"
    second = call("POST", f"{base}/api/v1/requests/generic/sync", payload, identity)
    print(json.dumps({
        "first_answer": first["response"]["content"],
        "first_agent": first["response"]["agent_id"],
        "first_session": first["session_id"],
        "request_status": status["status"],
        "reset_status": reset["status"],
        "second_answer": second["response"]["content"],
        "second_session": second["session_id"],
    }))


if __name__ == "__main__":
    main()
