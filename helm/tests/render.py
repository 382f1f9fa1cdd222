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
  {"chart": "helm", "values": {...}, "release": "self-service-agent",
   "namespace": "default", "revision": 1, "upgrade": false,
   "lint": true, "kube_versions": ["1.26.0", "1.37.0"]}
Answer:
  {"ok": true,
   "objects": [{"template": "...", "object": {...}}, ...],
   "notes": "...",
   "lint": {"messages": [...], "errors": [...]},
   "validation": [{"template", "kind", "name", "kube_version", "error"}]}
   (validation lists failures only)
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


def main() -> None:
    try:
        request = json.load(sys.stdin)
    except json.JSONDecodeError as exc:
        fail(f"render.py: request is not JSON: {exc}")

    chart_dir = request.get("chart", "helm")
    values = request.get("values") or {}
    release = request.get("release", "self-service-agent")
    namespace = request.get("namespace", "default")
    upgrade = bool(request.get("upgrade", False))
    kube_versions = request.get("kube_versions") or []

    answer: dict[str, Any] = {"ok": True}
    try:
        with helm.Chart.load(chart_dir) as chart:
            rendered = chart.render(
                values,
                name=release,
                namespace=namespace,
                revision=int(request.get("revision", 1)),
                is_install=not upgrade,
                is_upgrade=upgrade,
            )
    except helm.HelmError as exc:
        print(json.dumps({"ok": False, "error": str(exc), "error_type": type(exc).__name__}))
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
