"""The chart scrapes what the processes serve (ServiceMonitor, PodMonitor), with the token it wants."""

from __future__ import annotations

import base64

import pytest

from tests.helm.test_rendered import RELEASE, RenderError, _named, _of_kind, _render


def test_the_service_monitor_sends_the_metrics_token_from_the_secret_the_pods_read() -> None:
    objects = _render("production-values.yaml")
    [monitor] = _of_kind(objects, "ServiceMonitor")
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["authorization"] == {
        "type": "Bearer",
        "credentials": {"name": "sprintwins-env", "key": "SPRINTWINS_METRICS_TOKEN"},
    }
    web = _named(objects, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0]
    assert {"secretRef": {"name": "sprintwins-env"}} in web["envFrom"]


def test_the_pod_monitor_scrapes_every_workers_metrics_port() -> None:
    objects = _render("production-values.yaml")
    [monitor] = _of_kind(objects, "PodMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    workers = [
        d for d in _of_kind(objects, "Deployment") if d["metadata"]["name"].startswith(f"{RELEASE}-worker-")
    ]
    assert workers
    for deployment in workers:
        template = deployment["spec"]["template"]
        assert selector.items() <= template["metadata"]["labels"].items()
        [container] = template["spec"]["containers"]
        [port] = [p for p in container["ports"] if p["name"] == endpoint["port"]]
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert env["SPRINTWINS_METRICS_PORT"] == str(port["containerPort"])
    others = [d for d in _of_kind(objects, "Deployment") if d not in workers]
    assert all(not (selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()) for d in others)


def test_a_service_monitor_without_a_token_is_refused_and_the_token_goes_into_the_secret() -> None:
    with pytest.raises(RenderError, match=r"secrets\.metricsToken"):
        _render("default-values.yaml", "serviceMonitor.enabled=true")
    objects = _render("default-values.yaml", "serviceMonitor.enabled=true", "secrets.metricsToken=tok-123")
    [secret] = [s for s in _of_kind(objects, "Secret") if s["metadata"]["name"] == RELEASE]
    assert base64.b64decode(secret["data"]["SPRINTWINS_METRICS_TOKEN"]).decode() == "tok-123"
    assert len(_of_kind(objects, "ServiceMonitor")) == 1


def test_no_worker_port_without_metrics_port() -> None:
    objects = _render("default-values.yaml", "worker.metricsPort=0")
    for deployment in _of_kind(objects, "Deployment"):
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert "SPRINTWINS_METRICS_PORT" not in {item["name"] for item in container.get("env", [])}
