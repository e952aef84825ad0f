"""The Helm chart as Kubernetes receives it: rendered by a real helm, then read as objects.

Each values file in ``helm/sprintwins/ci/`` is one way to install (the defaults, production-like,
the database and Redis URLs from Secrets of their own); the assertions hold for the objects those
renders produce, not for the template text.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rq.queue import Queue

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "sprintwins"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
KUBE_VERSION = "1.30.0"
RELEASE = "sprintwins"
IMAGE_USER = 10001

WORKLOADS = {"Deployment", "Job"}


class RenderError(Exception):
    """helm template refused the chart; the message is helm's."""


def _helm() -> str:
    for candidate in (
        os.environ.get("HELM"),
        str(REPO / ".ci" / ".tools" / "node_modules" / ".bin" / "helm"),
        shutil.which("helm"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "no helm binary found: run `bash .ci/chart-check --install`, which installs it into .ci/.tools"
    )


def _render_text(*args: str) -> str:
    command = [
        _helm(),
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        RELEASE,
        "--kube-version",
        KUBE_VERSION,
    ]
    result = subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RenderError(result.stderr)
    return result.stdout


@functools.cache
def _render(values_name: str, *sets: str) -> tuple[dict[str, Any], ...]:
    args = ["--values", str(CHART / "ci" / values_name)]
    for item in sets:
        args += ["--set", item]
    return tuple(obj for obj in yaml.safe_load_all(_render_text(*args)) if obj)


def _of_kind(objects: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def _named(objects: tuple[dict[str, Any], ...], kind: str, suffix: str) -> dict[str, Any]:
    [found] = [obj for obj in _of_kind(objects, kind) if obj["metadata"]["name"] == f"{RELEASE}-{suffix}"]
    return found


def _pod_specs(objects: tuple[dict[str, Any], ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    for obj in objects:
        if obj["kind"] in WORKLOADS:
            yield f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"]


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item for item in container.get("env", [])}


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


@pytest.fixture(params=[path.name for path in CI_VALUES])
def rendered(request: pytest.FixtureRequest) -> tuple[dict[str, Any], ...]:
    return _render(request.param)


def test_ci_renders_the_three_ways_to_install() -> None:
    assert {path.name for path in CI_VALUES} == {
        "default-values.yaml",
        "production-values.yaml",
        "url-secrets-values.yaml",
    }


def test_without_the_required_secrets_helm_refuses_and_names_the_value() -> None:
    with pytest.raises(RenderError, match=r"secrets\.databaseUrl is required"):
        _render_text()


def test_a_missing_helm_fails_with_the_command_that_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELM", "/nonexistent/helm")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(pytest.fail.Exception, match=r"bash \.ci/chart-check --install"):
        _helm()


# -- every install ----------------------------------------------------------------------------------------


def test_exactly_one_scheduler_replaced_with_recreate(rendered: tuple[dict[str, Any], ...]) -> None:
    schedulers = [
        obj
        for obj in _of_kind(rendered, "Deployment")
        if obj["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "scheduler"
    ]
    assert [s["metadata"]["name"] for s in schedulers] == [f"{RELEASE}-scheduler"]
    [scheduler] = schedulers
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["strategy"] == {"type": "Recreate"}
    assert scheduler["spec"]["template"]["spec"]["containers"][0]["command"] == ["sprintwins", "scheduler"]
    # Nothing may scale it: no HPA, ScaledObject or PodDisruptionBudget points at it.
    for obj in rendered:
        target = obj.get("spec", {}).get("scaleTargetRef", {}).get("name")
        assert target != scheduler["metadata"]["name"], f"{obj['kind']} scales the scheduler"


def test_migrations_run_as_a_pre_install_pre_upgrade_hook(rendered: tuple[dict[str, Any], ...]) -> None:
    [job] = _of_kind(rendered, "Job")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert set(annotations["helm.sh/hook-delete-policy"].split(",")) == {
        "before-hook-creation",
        "hook-succeeded",
    }
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    [container] = pod["containers"]
    assert container["command"] == ["sprintwins", "db", "upgrade"]
    # On a first install only hooks exist yet: whatever the Job reads must be one, made before it.
    weight = int(annotations["helm.sh/hook-weight"])
    rendered_secrets = {s["metadata"]["name"]: s for s in _of_kind(rendered, "Secret")}
    for source in container.get("envFrom", []):
        name = source["secretRef"]["name"]
        if name in rendered_secrets:
            hook = rendered_secrets[name]["metadata"]["annotations"]
            assert hook["helm.sh/hook"] == "pre-install,pre-upgrade"
            assert int(hook["helm.sh/hook-weight"]) < weight
    assert "serviceAccountName" not in pod or pod["serviceAccountName"] == "default"
    sources = {s["secretRef"]["name"] for s in container.get("envFrom", [])}
    by_secret = _env(container).get("SPRINTWINS_DATABASE_URL")
    assert sources or by_secret, "the migration Job has no database URL"


def test_web_probes_startup_liveness_and_readiness(rendered: tuple[dict[str, Any], ...]) -> None:
    web = _named(rendered, "Deployment", "web")
    [container] = web["spec"]["template"]["spec"]["containers"]
    port_names = {port["name"] for port in container["ports"]}
    expected = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    for probe, path in expected.items():
        assert container[probe]["httpGet"]["path"] == path, probe
        assert container[probe]["httpGet"]["port"] in port_names, probe
    # The startup probe must outlast a slow start before liveness may restart the pod.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60
    assert container["command"][:2] == ["sprintwins", "serve"]


def test_every_pod_and_container_is_locked_down(rendered: tuple[dict[str, Any], ...]) -> None:
    pods = list(_pod_specs(rendered))
    assert pods
    for where, pod in pods:
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True, where
        assert context["runAsUser"] == IMAGE_USER, where
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod["automountServiceAccountToken"] is False, where
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in _containers(pod):
            name = f"{where} container {container['name']}"
            c = container["securityContext"]
            assert c["runAsNonRoot"] is True, name
            assert c["runAsUser"] == IMAGE_USER, name
            assert c["readOnlyRootFilesystem"] is True, name
            assert c["allowPrivilegeEscalation"] is False, name
            assert c["capabilities"] == {"drop": ["ALL"]}, name
            assert c["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert "resources" in container and container["resources"]["requests"], name
            # The read-only root filesystem leaves /tmp, an emptyDir, as the one place to write.
            [tmp] = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert "emptyDir" in volumes[tmp["name"]], name


def test_every_reference_resolves(rendered: tuple[dict[str, Any], ...]) -> None:
    """Selectors find their pods and envFrom finds its ConfigMap; Secrets are ours or named in values."""
    deployments = {d["metadata"]["name"]: d for d in _of_kind(rendered, "Deployment")}
    pod_labels = [d["spec"]["template"]["metadata"]["labels"] for d in deployments.values()]
    for d in deployments.values():
        assert (
            d["spec"]["selector"]["matchLabels"].items()
            <= d["spec"]["template"]["metadata"]["labels"].items()
        )
    for obj in [*_of_kind(rendered, "Service"), *_of_kind(rendered, "PodDisruptionBudget")]:
        selector = obj["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        assert sum(_matches(selector, labels) for labels in pod_labels) == 1, obj["metadata"]["name"]
    for obj in [*_of_kind(rendered, "HorizontalPodAutoscaler"), *_of_kind(rendered, "ScaledObject")]:
        assert obj["spec"]["scaleTargetRef"]["name"] in deployments
    configmaps = {c["metadata"]["name"] for c in _of_kind(rendered, "ConfigMap")}
    for where, pod in _pod_specs(rendered):
        for container in _containers(pod):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps, where
    web_service = _named(rendered, "Service", "web")
    for ingress in _of_kind(rendered, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] == web_service["metadata"]["name"]
    for monitor in _of_kind(rendered, "ServiceMonitor"):
        assert _matches(monitor["spec"]["selector"]["matchLabels"], web_service["metadata"]["labels"])
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {
            p["name"] for p in web_service["spec"]["ports"]
        }


def test_custom_resources_pass_their_crd_check_and_the_rest_the_kubernetes_schemas(
    rendered: tuple[dict[str, Any], ...], tmp_path: Path
) -> None:
    source = tmp_path / "rendered.yaml"
    core = tmp_path / "core.yaml"
    source.write_text(yaml.safe_dump_all(rendered))
    check = subprocess.run(
        [sys.executable, str(REPO / "helm" / "check_rendered.py"), str(source), str(core)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    validate = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run(
        [str(validate), "-k", KUBE_VERSION, "--strict", "--quiet", str(core)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Couldn't find schema" not in result.stdout + result.stderr


# -- one install at a time --------------------------------------------------------------------------------


def test_defaults_run_one_worker_group_with_fixed_replicas_and_no_optional_extras() -> None:
    objects = _render("default-values.yaml")
    workers = [d for d in _of_kind(objects, "Deployment") if "-worker-" in d["metadata"]["name"]]
    assert [(w["metadata"]["name"], w["spec"]["replicas"]) for w in workers] == [
        (f"{RELEASE}-worker-default", 2)
    ]
    kinds = {obj["kind"] for obj in objects}
    assert not kinds & {"ScaledObject", "ServiceMonitor", "Ingress", "HorizontalPodAutoscaler"}
    assert {p["metadata"]["name"] for p in _of_kind(objects, "PodDisruptionBudget")} == {
        f"{RELEASE}-web",
        f"{RELEASE}-worker-default",
    }
    assert _named(objects, "Deployment", "web")["spec"]["replicas"] == 2


def test_production_scales_each_worker_group_on_its_rq_queue_with_keda() -> None:
    objects = _render("production-values.yaml")
    values = yaml.safe_load((CHART / "ci" / "production-values.yaml").read_text())
    groups = {g["name"]: g for g in values["workers"]}
    assert len(groups) >= 3
    workers = {
        d["metadata"]["name"]: d
        for d in _of_kind(objects, "Deployment")
        if "-worker-" in d["metadata"]["name"]
    }
    assert set(workers) == {f"{RELEASE}-worker-{name}" for name in groups}
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in _of_kind(objects, "ScaledObject")}
    assert set(scaled) == set(workers)
    for name, group in groups.items():
        deployment = workers[f"{RELEASE}-worker-{name}"]
        # KEDA owns the replica count: a fixed one would be reset on every upgrade.
        assert "replicas" not in deployment["spec"]
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert _env(container)["SPRINTWINS_QUEUE_NAME"]["value"] == group["queue"]
        assert ("--fork" in container["command"]) is bool(group.get("fork"))
        [trigger] = scaled[deployment["metadata"]["name"]]["spec"]["triggers"]
        assert trigger["type"] == "redis"
        assert trigger["metadata"]["listName"] == Queue.redis_queue_namespace_prefix + group["queue"]
        assert trigger["authenticationRef"] == {"name": values["keda"]["redis"]["authenticationRef"]}
    forking = scaled[f"{RELEASE}-worker-forking"]["spec"]
    assert forking["maxReplicaCount"] == groups["forking"]["keda"]["maxReplicaCount"]
    assert "replicas" not in _named(objects, "Deployment", "web")["spec"]  # the HPA owns it
    assert len(_of_kind(objects, "HorizontalPodAutoscaler")) == 1
    [monitor] = _of_kind(objects, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    [ingress] = _of_kind(objects, "Ingress")
    assert ingress["spec"]["tls"][0]["hosts"] == ["wins.example.com"]


def test_production_reads_every_secret_from_the_existing_secret() -> None:
    objects = _render("production-values.yaml")
    assert _of_kind(objects, "Secret") == []  # neither the release's nor the migration hook's
    for where, pod in _pod_specs(objects):
        assert pod["imagePullSecrets"] == [{"name": "regcred"}], where
        [container] = pod["containers"]
        secrets = {s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s}
        assert secrets == {"sprintwins-env"}, where
        assert container["image"] == "registry.example.com/sprintwins:0.1.0", where


def test_urls_given_by_secret_reach_every_pod_that_needs_them() -> None:
    objects = _render("url-secrets-values.yaml")
    [secret] = _of_kind(objects, "Secret")  # the release's own; no migration hook Secret
    assert secret["metadata"]["name"] == RELEASE
    assert "SPRINTWINS_DATABASE_URL" not in secret["data"]
    assert "SPRINTWINS_REDIS_URL" not in secret["data"]
    for where, pod in _pod_specs(objects):
        [container] = pod["containers"]
        env = _env(container)
        assert env["SPRINTWINS_DATABASE_URL"]["valueFrom"] == {
            "secretKeyRef": {"name": "sprintwins-postgres", "key": "uri"}
        }, where
        if where.startswith("Job/"):
            assert "SPRINTWINS_REDIS_URL" not in env  # migrations need only the database
            assert "envFrom" not in container
        else:
            assert env["SPRINTWINS_REDIS_URL"]["valueFrom"] == {
                "secretKeyRef": {"name": "sprintwins-redis", "key": "url"}
            }, where


def test_keda_without_a_redis_address_is_refused() -> None:
    with pytest.raises(RenderError, match=r"keda\.redis\.address"):
        _render("default-values.yaml", "keda.enabled=true")


def test_crd_check_catches_a_broken_scaled_object_and_service_monitor(tmp_path: Path) -> None:
    objects = [dict(obj) for obj in _render("production-values.yaml")]
    for obj in objects:
        if obj["kind"] == "ScaledObject":
            obj["spec"] = {**obj["spec"], "triggers": [{"type": "redis", "metadata": {"listLength": 20}}]}
        if obj["kind"] == "ServiceMonitor":
            obj["spec"] = {"selector": {}, "endpoints": [{"port": "http", "interval": "soon"}]}
    source = tmp_path / "broken.yaml"
    source.write_text(yaml.safe_dump_all(objects))
    result = subprocess.run(
        [sys.executable, str(REPO / "helm" / "check_rendered.py"), str(source), str(tmp_path / "core.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "metadata.listLength must be a string" in result.stderr
    assert "needs address, host or addressFromEnv" in result.stderr
    assert "listName is required" in result.stderr
    assert "spec.selector with matchLabels" in result.stderr
    assert "'soon' is not a duration" in result.stderr
    kinds = {obj["kind"] for obj in yaml.safe_load_all((tmp_path / "core.yaml").read_text())}
    assert not kinds & {"ScaledObject", "ServiceMonitor"}
