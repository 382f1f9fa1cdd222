"""A Kubernetes API server holding a few core (v1) objects, for renders
whose `lookup` must find them (render.py, "cluster" in the request).

It answers what Helm's `lookup` asks: the discovery of `v1` (`GET /api/v1`,
listing the kinds it holds) and `GET /api/v1/namespaces/<ns>/<plural>/<name>`
(404 with a NotFound Status for anything else). Every path asked is
recorded, so a test can tell that the lookup happened.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def plural(kind: str) -> str:
    return kind.lower() + "s"


class FakeKube:
    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.objects = {
            (obj["metadata"].get("namespace", ""), plural(obj["kind"]), obj["metadata"]["name"]): obj
            for obj in objects
        }
        self.requests: list[str] = []
        kinds = sorted({obj["kind"] for obj in objects})
        self.discovery = {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": "v1",
            "resources": [
                {"name": plural(kind), "singularName": kind.lower(), "namespaced": True,
                 "kind": kind, "verbs": ["get", "list"]}
                for kind in kinds
            ],
        }
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = self.path.split("?", 1)[0]
                fake.requests.append(path)
                self.answer(*fake.get(path))

            def answer(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        if path == "/api/v1":
            return 200, self.discovery
        parts = path.strip("/").split("/")
        if len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"]:
            found = self.objects.get((parts[3], parts[4], parts[5]))
            if found is not None:
                return 200, found
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                     "reason": "NotFound", "code": 404, "message": f"{path} not found"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
