"""Render, lint and validate the chart with the real Helm engine.

Used by xtask/tests/helm_chart.rs; runs in the tools venv
(target/venv/tools, from ci/python/tools.txt):

  - helm-python-sdk: Helm v4's own chart loader, renderer, schema check and
    linter (libhelm_c over Helm's Go SDK), no `helm` binary needed;
  - kubernetes-validate: every rendered object against the Kubernetes
    OpenAPI schemas, strict (unknown fields are errors).

Protocol: one JSON request on stdin, one JSON answer on stdout, exit 0.
A chart that fails to render is an answer too ({"ok": false, "error": ...}),
so the caller can assert on the message. Exit 2 means the helper itself
could not run (bad request, missing package).

Request:
  {"chart": "helm", "values": {...}, "set_string": ["image.tag=1.0", ...],
   "release": "self-service-agent", "namespace": "default", "revision": 1,
   "upgrade": false, "lint": true, "kube_versions": ["1.26.0", "1.37.0"],
   "cluster": [{Secret}, ...]}
  "set_string" pairs are parsed as `helm --set-string` parses them and
  override "values". Without "cluster" the render is offline (`lookup`
  finds nothing, as with `helm template`); with it, the chart is rendered
  against a fake API server (fake_kube.py) holding those objects, so
  `lookup` finds them, as on an upgrade.
Answer:
  {"ok": true,
   "objects": [{"template": "...", "object": {...}}, ...],
   "notes": "...",
   "lint": {"messages": [...], "errors": [...]},
   "validation": [{"template", "kind", "name", "kube_version", "error"}],
   "api_requests": ["/api/v1", ...]}
   (validation lists failures only; api_requests with "cluster" only)
"""

from __future__ import annotations

import json
import sys
from typing import Any


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(2)


try:
    import helm_python as helm
    import kubernetes_validate
    import yaml

    from fake_kube import FakeKube
except ImportError as exc:  # pragma: no cover - reported to the caller
    fail(f"render.py: {exc}; install ci/python/tools.txt into target/venv/tools")


def validate(objects: list[dict[str, Any]], kube_versions: list[str]) -> list[dict[str, Any]]:
    failures = []
    for entry in objects:
        obj = entry["object"]
        for version in kube_versions:
            error = None
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                error = f"{path}: {exc.message}"
            except kubernetes_validate.SchemaNotFoundError as exc:
                error = f"no schema: {exc.message}"
            except Exception as exc:  # noqa: BLE001 - any other failure is a finding
                error = f"{type(exc).__name__}: {exc}"
            if error is not None:
                failures.append(
                    {
                        "template": entry["template"],
                        "kind": obj.get("kind"),
                        "name": (obj.get("metadata") or {}).get("name"),
                        "kube_version": version,
                        "error": error,
                    }
                )
    return failures


def merged_values(request: dict[str, Any]) -> dict[str, Any]:
    values = request.get("values") or {}
    for pair in request.get("set_string") or []:
        values = merge(values, helm.parse_set_string(pair))
    return values


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def render(request: dict[str, Any], chart: Any, values: dict[str, Any], answer: dict[str, Any]) -> dict[str, str]:
    options = {
        "name": request.get("release", "self-service-agent"),
        "namespace": request.get("namespace", "default"),
        "revision": int(request.get("revision", 1)),
        "is_install": not request.get("upgrade", False),
        "is_upgrade": bool(request.get("upgrade", False)),
    }
    if "cluster" not in request:
        return chart.render(values, **options)
    kube = FakeKube(request["cluster"])
    try:
        with helm.Config(kube_apiserver=kube.url, kube_token="fake", namespace=options["namespace"]) as config:
            return config.render(chart, values, **options)
    finally:
        answer["api_requests"] = kube.requests
        kube.close()


def main() -> None:
    try:
        request = json.load(sys.stdin)
    except json.JSONDecodeError as exc:
        fail(f"render.py: request is not JSON: {exc}")

    chart_dir = request.get("chart", "helm")
    namespace = request.get("namespace", "default")
    kube_versions = request.get("kube_versions") or []

    answer: dict[str, Any] = {"ok": True}
    try:
        values = merged_values(request)
        with helm.Chart.load(chart_dir) as chart:
            rendered = render(request, chart, values, answer)
    except helm.HelmError as exc:
        answer.update({"ok": False, "error": str(exc), "error_type": type(exc).__name__})
        print(json.dumps(answer))
        return

    objects = []
    notes = ""
    for template in sorted(rendered):
        text = rendered[template]
        if template.endswith("NOTES.txt"):
            notes = text
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                objects.append({"template": template, "object": doc})
    answer["objects"] = objects
    answer["notes"] = notes

    if request.get("lint", True):
        report = helm.lint(
            chart_dir,
            values,
            strict=True,
            namespace=namespace,
            kube_version=f"v{kube_versions[0]}" if kube_versions else None,
        )
        answer["lint"] = {"messages": report.get("messages", []), "errors": report.get("errors", [])}

    answer["validation"] = validate(objects, kube_versions)
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
