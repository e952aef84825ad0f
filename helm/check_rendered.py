"""Checks the custom resources in a rendered chart and sets the rest aside for schema validation.

``kubernetes-validate`` holds only the built-in Kubernetes schemas: it passes a KEDA ScaledObject or
a Prometheus Operator ServiceMonitor with a warning and no check at all. This script checks those two
for the fields their CRDs require, and writes every other object to a file of its own, so the
schema validation that follows sees nothing it has no schema for.

    python helm/check_rendered.py RENDERED.yaml CORE_OUT.yaml
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

# Prometheus Operator's duration pattern (monitoring.coreos.com/v1 Duration).
DURATION = re.compile(
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _at(obj: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def _metadata_problems(obj: dict[str, Any]) -> Iterator[str]:
    name = _at(obj, "metadata.name")
    if not isinstance(name, str) or not DNS_NAME.match(name) or len(name) > 253:
        yield f"metadata.name {name!r} is not a DNS subdomain name"


def check_scaled_object(obj: dict[str, Any]) -> list[str]:
    """keda.sh/v1alpha1 ScaledObject: the fields its CRD requires, and a Redis list trigger."""
    problems = list(_metadata_problems(obj))
    if not isinstance(_at(obj, "spec.scaleTargetRef.name"), str):
        problems.append("spec.scaleTargetRef.name is required")
    for field in ("pollingInterval", "cooldownPeriod", "minReplicaCount", "maxReplicaCount"):
        value = _at(obj, f"spec.{field}")
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            problems.append(f"spec.{field} must be a non-negative integer, not {value!r}")
    low, high = _at(obj, "spec.minReplicaCount"), _at(obj, "spec.maxReplicaCount")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        problems.append(f"spec.minReplicaCount {low} is above spec.maxReplicaCount {high}")
    triggers = _at(obj, "spec.triggers")
    if not isinstance(triggers, list) or not triggers:
        return [*problems, "spec.triggers must be a non-empty list"]
    for i, trigger in enumerate(triggers):
        where = f"spec.triggers[{i}]"
        metadata = _at(trigger, "metadata")
        if not isinstance(_at(trigger, "type"), str):
            problems.append(f"{where}.type is required")
        if not isinstance(metadata, dict):
            problems.append(f"{where}.metadata is required")
            continue
        # The CRD types metadata as map[string]string: a number or a boolean is refused.
        problems += [
            f"{where}.metadata.{key} must be a string"
            for key, v in metadata.items()
            if not isinstance(v, str)
        ]
        if trigger["type"] == "redis":
            if not (metadata.get("address") or metadata.get("host") or metadata.get("addressFromEnv")):
                problems.append(f"{where}.metadata needs address, host or addressFromEnv")
            if not metadata.get("listName"):
                problems.append(f"{where}.metadata.listName is required for the redis trigger")
        ref = _at(trigger, "authenticationRef")
        if ref is not None and not isinstance(_at(ref, "name"), str):
            problems.append(f"{where}.authenticationRef.name is required")
    return problems


def check_service_monitor(obj: dict[str, Any]) -> list[str]:
    """monitoring.coreos.com/v1 ServiceMonitor: a selector and endpoints the operator accepts."""
    problems = list(_metadata_problems(obj))
    selector = _at(obj, "spec.selector")
    if not isinstance(selector, dict) or not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        problems.append("spec.selector with matchLabels or matchExpressions is required")
    endpoints = _at(obj, "spec.endpoints")
    if not isinstance(endpoints, list) or not endpoints:
        return [*problems, "spec.endpoints must be a non-empty list"]
    for i, endpoint in enumerate(endpoints):
        where = f"spec.endpoints[{i}]"
        if not isinstance(endpoint, dict) or not (endpoint.get("port") or endpoint.get("targetPort")):
            problems.append(f"{where} needs port or targetPort")
            continue
        path = endpoint.get("path")
        if path is not None and not (isinstance(path, str) and path.startswith("/")):
            problems.append(f"{where}.path must start with /")
        for field in ("interval", "scrapeTimeout"):
            value = endpoint.get(field)
            if value is not None and not (isinstance(value, str) and DURATION.match(value)):
                problems.append(f"{where}.{field} {value!r} is not a duration")
    return problems


def check_pod_monitor(obj: dict[str, Any]) -> list[str]:
    """monitoring.coreos.com/v1 PodMonitor: a selector and podMetricsEndpoints, as a ServiceMonitor's."""
    endpoints = _at(obj, "spec.podMetricsEndpoints")
    as_service_monitor = {**obj, "spec": {**(obj.get("spec") or {}), "endpoints": endpoints}}
    return [
        problem.replace("spec.endpoints", "spec.podMetricsEndpoints")
        for problem in check_service_monitor(as_service_monitor)
    ]


CHECKS: dict[tuple[str, str], Callable[[dict[str, Any]], list[str]]] = {
    ("keda.sh/v1alpha1", "ScaledObject"): check_scaled_object,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): check_service_monitor,
    ("monitoring.coreos.com/v1", "PodMonitor"): check_pod_monitor,
}


def split(rendered: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The objects left for schema validation, and the problems found in the custom ones."""
    core: list[dict[str, Any]] = []
    problems: list[str] = []
    for obj in yaml.safe_load_all(rendered):
        if obj is None:
            continue
        check = CHECKS.get((obj.get("apiVersion"), obj.get("kind")))
        if check is None:
            core.append(obj)
            continue
        name = f"{obj['kind']}/{_at(obj, 'metadata.name')}"
        problems += [f"{name}: {problem}" for problem in check(obj)]
    return core, problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    core, problems = split(Path(argv[0]).read_text())
    Path(argv[1]).write_text(yaml.safe_dump_all(core, sort_keys=False))
    for problem in problems:
        print(f"ERROR {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
