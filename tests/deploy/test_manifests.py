"""The Kubernetes overlays: they render, validate against the Kubernetes schemas, and say
what the operator guide promises (hardened workloads, Jobs for migrations and streams,
network policies, a three-node NATS with TLS in production)."""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest

from .conftest import (
    OVERLAYS,
    PORTS,
    SERVICES,
    by_kind,
    nats_server_version,
    pod_spec,
    render,
    workloads,
)

# The Kubernetes version whose schemas the core resources are checked against.
KUBERNETES_VERSION = "1.32"

# Custom resources of operators the prod overlay relies on: kubernetes-validate has no
# schema for them, so only their apiVersion, kind and name are checked.
CUSTOM_RESOURCES = {
    "cert-manager.io/v1": {"Issuer", "Certificate"},
    "postgresql.cnpg.io/v1": {"Cluster"},
    "external-secrets.io/v1": {"ExternalSecret"},
}

# The local overlay's PostgreSQL is the stock image, which writes outside its data volume.
WRITABLE_ROOT_ALLOWED = {("local", "postgres")}


@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_every_overlay_renders_and_validates_against_the_kubernetes_schemas(target):
    resources = render(target)
    assert resources
    problems = []
    for resource in resources:
        name = f"{resource.get('kind')}/{resource.get('metadata', {}).get('name')}"
        api_version = resource.get("apiVersion", "")
        if api_version in CUSTOM_RESOURCES:
            assert resource["kind"] in CUSTOM_RESOURCES[api_version], name
            assert resource["metadata"]["name"], name
            assert isinstance(resource.get("spec"), dict), f"{name} has no spec"
            continue
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{name}: {error.message} at {list(error.path)}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{name}: {api_version} is neither a core kind nor a known CRD")
    assert not problems, "\n".join(problems)


def _containers(workload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    spec = pod_spec(workload)
    return [("init", c) for c in spec.get("initContainers", [])] + [
        ("main", c) for c in spec["containers"]
    ]


def test_every_workload_runs_hardened_with_limits_and_probes(overlay):
    problems = []
    for workload in workloads(render(overlay)):
        name = f"{workload['kind']}/{workload['metadata']['name']}"
        spec = pod_spec(workload)
        if spec.get("securityContext", {}).get("runAsNonRoot") is not True:
            problems.append(f"{name}: pod not runAsNonRoot")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: mounts a service account token")
        for role, container in _containers(workload):
            where = f"{name} container {container['name']}"
            context = container.get("securityContext", {})
            # The pod's setting holds where the container does not override it.
            if context.get("runAsNonRoot", spec["securityContext"].get("runAsNonRoot")) is not True:
                problems.append(f"{where}: not runAsNonRoot")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: may escalate privileges")
            if context.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: capabilities not all dropped")
            if (
                context.get("readOnlyRootFilesystem") is not True
                and (overlay, workload["metadata"]["name"]) not in WRITABLE_ROOT_ALLOWED
            ):
                problems.append(f"{where}: root filesystem writable")
            limits = container.get("resources", {}).get("limits", {})
            if not {"cpu", "memory"} <= limits.keys():
                problems.append(f"{where}: no cpu and memory limits")
            long_running = workload["kind"] in ("Deployment", "StatefulSet") and role == "main"
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if long_running and probe not in container:
                    problems.append(f"{where}: no {probe}")
    assert not problems, "\n".join(problems)


def test_the_four_services_share_one_definition(overlay):
    deployments = by_kind(render(overlay), "Deployment")
    shapes = {}
    for service in SERVICES:
        deployment = deployments[f"ips-{service}"]
        spec = pod_spec(deployment)
        (container,) = spec["containers"]
        assert container["name"] == "service"
        assert container["args"] == ["serve"]
        assert container["ports"] == [
            {"name": "http", "containerPort": PORTS[service], "protocol": "TCP"}
        ]
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        # The drain of `serve`: consumers 20 s, workers 20 s, the connection 15 s.
        assert spec["terminationGracePeriodSeconds"] == 60
        shapes[service] = (
            container["startupProbe"],
            container["readinessProbe"],
            container["livenessProbe"],
            container["securityContext"],
            spec["securityContext"],
        )
    assert len({repr(shape) for shape in shapes.values()}) == 1


def test_migrations_and_streams_run_in_jobs_not_in_the_services_pods(overlay):
    resources = render(overlay)
    jobs = by_kind(resources, "Job")
    for service in SERVICES:
        job = jobs[f"ips-{service}-setup"]
        spec = pod_spec(job)
        assert [c["name"] for c in spec["initContainers"]][-1] == "migrate"
        assert next(c for c in spec["initContainers"] if c["name"] == "migrate")["args"] == [
            "migrate"
        ]
        (provision,) = spec["containers"]
        assert provision["args"][0] == "provision"
        assert spec["restartPolicy"] == "OnFailure"
    for name, deployment in by_kind(resources, "Deployment").items():
        for _, container in _containers(deployment):
            assert not {"migrate", "provision"} & set(container.get("args", [])), name


def test_secrets_and_config_maps_the_workloads_use_exist_in_the_overlay(overlay):
    resources = render(overlay)
    config_maps = set(by_kind(resources, "ConfigMap"))
    secrets = set(by_kind(resources, "Secret"))
    secrets |= {r["spec"]["target"]["name"] for r in resources if r["kind"] == "ExternalSecret"}
    secrets |= {r["spec"]["secretName"] for r in resources if r["kind"] == "Certificate"}
    missing = []
    for workload in workloads(resources):
        spec = pod_spec(workload)
        for volume in spec.get("volumes", []):
            if "secret" in volume and volume["secret"]["secretName"] not in secrets:
                missing.append(volume["secret"]["secretName"])
            if "configMap" in volume and volume["configMap"]["name"] not in config_maps:
                missing.append(volume["configMap"]["name"])
        for _, container in _containers(workload):
            for source in container.get("envFrom", []):
                if source["configMapRef"]["name"] not in config_maps:
                    missing.append(source["configMapRef"]["name"])
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] not in secrets:
                    missing.append(ref["name"])
    assert not missing, f"{overlay}: referenced but not provided: {sorted(set(missing))}"


def _allows(rule_ports: list[dict[str, Any]] | None, port: int | str) -> bool:
    return rule_ports is None or any(p.get("port") == port for p in rule_ports)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        if expression["operator"] == "Exists" and expression["key"] not in labels:
            return False
        if (
            expression["operator"] == "In"
            and labels.get(expression["key"]) not in expression["values"]
        ):
            return False
    return True


def test_network_policies_deny_by_default_and_allow_what_each_service_needs(overlay):
    resources = render(overlay)
    policies = by_kind(resources, "NetworkPolicy")
    deny = policies["ips-default-deny"]["spec"]
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    for workload in workloads(resources):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert _selects(deny["podSelector"], labels), workload["metadata"]["name"]

    for service in SERVICES:
        spec = policies[f"ips-{service}"]["spec"]
        assert spec["podSelector"] == {"matchLabels": {"ips-platform/service": service}}
        assert [rule["ports"] for rule in spec["ingress"]] == [
            [{"protocol": "TCP", "port": "http"}]
        ]
        egress = {
            (
                tuple(sorted(peer.get("podSelector", {}).get("matchLabels", {}).items())),
                port["port"],
            )
            for rule in spec["egress"]
            for peer in rule["to"]
            for port in rule["ports"]
            if "podSelector" in peer
        }
        assert egress == {
            ((("app.kubernetes.io/name", "nats"),), 4222),
            (((f"ips-platform/database-{service}", "true"),), 5432),
        }


def test_no_workload_reaches_the_nats_monitoring_port(overlay):
    resources = render(overlay)
    nats_labels = by_kind(resources, "StatefulSet")["nats"]["spec"]["template"]["metadata"][
        "labels"
    ]
    for name, policy in by_kind(resources, "NetworkPolicy").items():
        spec = policy["spec"]
        if not _selects(spec["podSelector"], nats_labels):
            continue
        for rule in spec.get("ingress", []):
            assert rule.get("ports"), f"{name} opens every port of NATS"
            assert not _allows(rule["ports"], 8222), f"{name} opens 8222"
            assert not _allows(rule["ports"], "monitor"), f"{name} opens 8222"
    services = by_kind(resources, "Service")
    for name, service in services.items():
        if service["spec"].get("selector", {}).get("app.kubernetes.io/name") == "nats":
            assert 8222 not in [p["port"] for p in service["spec"]["ports"]], name


@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_nats_runs_the_server_version_of_the_tests(target):
    nats = by_kind(render(target), "StatefulSet")["nats"]
    (container,) = pod_spec(nats)["containers"]
    assert container["image"] == f"nats:{nats_server_version()}-alpine"


def _nats_config(resources: list[dict[str, Any]]) -> str:
    (config,) = [
        r["data"]["nats.conf"]
        for r in resources
        if r["kind"] == "ConfigMap" and r["metadata"]["name"].startswith("nats-config")
    ]
    return str(config)


def _block(config: str, name: str) -> str:
    """The body of a top-level `name { ... }` block (nested braces allowed)."""
    match = re.search(rf"^{name}\s*\{{", config, re.MULTILINE)
    assert match, f"no {name} block"
    depth, start = 1, match.end()
    for index in range(start, len(config)):
        depth += {"{": 1, "}": -1}.get(config[index], 0)
        if depth == 0:
            return config[start:index]
    raise AssertionError(f"{name} block not closed")


@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_jetstream_fsyncs_every_write_on_files(target):
    jetstream = _block(_nats_config(render(target)), "jetstream")
    assert re.search(r"^\s*sync_interval:\s*always\s*$", jetstream, re.MULTILINE)
    assert re.search(r"^\s*store_dir:\s*/data\s*$", jetstream, re.MULTILINE)


def test_prod_nats_is_a_three_node_cluster_with_tls_and_the_ips_identities():
    resources = render("prod")
    nats = by_kind(resources, "StatefulSet")["nats"]
    assert nats["spec"]["replicas"] == 3
    assert by_kind(resources, "PodDisruptionBudget")["nats"]["spec"]["maxUnavailable"] == 1
    config = _nats_config(resources)
    client_tls = _block(config, "tls")
    assert "cert_file" in client_tls and "key_file" in client_tls
    cluster = _block(config, "cluster")
    routes = re.findall(r"nats-route://(nats-\d)\.nats-headless\.ips\.svc:6222", cluster)
    assert routes == ["nats-0", "nats-1", "nats-2"]
    route_tls = cluster[cluster.index("tls") :]
    assert re.search(r"verify:\s*true", route_tls), "routes must use mutual TLS"
    assert re.search(r'^include "\.\./auth/auth\.conf"$', config, re.MULTILINE)

    mounts = {m["mountPath"]: m["name"] for m in pod_spec(nats)["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(nats)["volumes"]}
    assert volumes[mounts["/etc/nats/auth"]]["secret"]["secretName"] == "nats-auth"
    tls_secrets = {
        volumes[mounts[path]]["secret"]["secretName"]
        for path in ("/etc/nats/tls/client", "/etc/nats/tls/routes")
    }
    certificates = {r["spec"]["secretName"]: r for r in by_kind(resources, "Certificate").values()}
    assert tls_secrets <= certificates.keys()
    server_names = certificates["nats-server-tls"]["spec"]["dnsNames"]

    # The services speak TLS to a name on the certificate, with their own identity; the
    # setup Jobs provision as admin, three replicas per stream.
    config_maps = by_kind(resources, "ConfigMap")
    deployments = by_kind(resources, "Deployment")
    jobs = by_kind(resources, "Job")
    for service in SERVICES:
        prefix = service.upper() + "_"
        url = config_maps[f"ips-{service}-config"]["data"][f"{prefix}NATS_URL"]
        host = re.fullmatch(r"tls://([^:]+):4222", url)
        assert host and host.group(1) in server_names, url
        (container,) = pod_spec(deployments[f"ips-{service}"])["containers"]
        env = {v["name"]: v.get("value") for v in container["env"]}
        volumes = {v["name"]: v for v in pod_spec(deployments[f"ips-{service}"])["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        credentials = env[f"{prefix}NATS_CREDENTIALS"]
        secret = volumes[mounts[credentials.rsplit("/", 1)[0]]]["secret"]["secretName"]
        assert secret == f"ips-{service}-nats"

        job = pod_spec(jobs[f"ips-{service}-setup"])
        (provision,) = job["containers"]
        assert provision["args"] == ["provision", "--nats-credentials", "/etc/ips/nats/admin.creds"]
        env = {v["name"]: v.get("value") for v in provision["env"]}
        assert env[f"{prefix}STREAM_REPLICAS"] == "3"
        volumes = {v["name"]: v for v in job["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in provision["volumeMounts"]}
        assert volumes[mounts["/etc/ips/nats"]]["secret"]["secretName"] == "ips-nats-admin"


def test_prod_has_a_database_per_service_and_no_committed_secret():
    resources = render("prod")
    clusters = by_kind(resources, "Cluster")
    for service in SERVICES:
        cluster = clusters[f"ips-{service}-db"]["spec"]
        assert cluster["instances"] == 3
        assert cluster["inheritedMetadata"]["labels"] == {
            f"ips-platform/database-{service}": "true"
        }
        assert cluster["bootstrap"]["initdb"]["secret"]["name"] == f"ips-{service}-db"
    assert not by_kind(resources, "Secret"), "production Secrets come from the secret store"
    for workload in workloads(resources):
        for _, container in _containers(workload):
            assert not container["image"].endswith(":latest"), container["image"]


def test_the_local_overlay_keeps_working_as_before():
    resources = render("local")
    assert by_kind(resources, "Namespace").keys() == {"ips-local"}
    assert by_kind(resources, "StatefulSet")["nats"]["spec"]["replicas"] == 1
    postgres = by_kind(resources, "StatefulSet")["postgres"]
    labels = postgres["spec"]["template"]["metadata"]["labels"]
    for service in SERVICES:
        assert labels[f"ips-platform/database-{service}"] == "true"
        config = by_kind(resources, "ConfigMap")[f"ips-{service}-config"]["data"]
        assert config[f"{service.upper()}_ENVIRONMENT"] == "development"
        assert config[f"{service.upper()}_NATS_URL"] == "nats://nats:4222"
