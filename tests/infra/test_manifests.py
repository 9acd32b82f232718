"""Every manifest under infra/k8s as kustomize renders it (``kubectl apply -k``), validated offline.

Core kinds go through ``kubernetes-validate`` (the Kubernetes OpenAPI schemas, bundled in the
package; strict mode rejects unknown fields). KubeRay's RayCluster and RayJob are checked against
the fields of KubeRay's ray.io/v1 API types (ray-operator/apis/ray/v1/*_types.go), with every
embedded pod template validated as a core PodTemplateSpec.
"""

from __future__ import annotations

import configparser
import copy
import re

import kubernetes_validate
import pytest
import yaml

from tests.infra.conftest import (
    DOCUMENTS,
    K8S_DIR,
    KUSTOMIZATION,
    doc_id,
    file_documents,
    manifest_files,
    needs_kubectl,
    of_kind,
    one,
    pod_templates,
    render,
)

pytestmark = needs_kubectl

K8S_VERSION = "1.32"  # the oldest Kubernetes the manifests target; its schemas are bundled
NAMESPACE = "repsweep"
CORE_KINDS = {
    "Namespace",
    "ServiceAccount",
    "Secret",
    "PersistentVolumeClaim",
    "Service",
    "Deployment",
    "StatefulSet",
    "NetworkPolicy",
    "ConfigMap",
}
KUBERAY_KINDS = {"RayCluster", "RayJob"}
NON_ROOT_UID = 1  # anything but 0
PUBLIC_SERVICE_TYPES = {"LoadBalancer", "NodePort"}
RAY_HEAD_PORTS = {6379, 8265, 10001}

# KubeRay ray.io/v1 API fields (json tags of the Go types).
RAYCLUSTER_SPEC_FIELDS = {
    "rayVersion", "headGroupSpec", "workerGroupSpecs", "enableInTreeAutoscaling",
    "autoscalerOptions", "headServiceAnnotations", "suspend", "managedBy",
    "gcsFaultToleranceOptions", "authOptions", "upgradeStrategy", "historyServerOptions",
    "networkPolicy", "tlsOptions",
}  # fmt: skip
HEAD_GROUP_FIELDS = {
    "template", "headService", "enableIngress", "ingressOptions", "resources", "labels",
    "rayStartParams", "serviceType",
}  # fmt: skip
WORKER_GROUP_FIELDS = {
    "suspend", "groupName", "replicas", "minReplicas", "maxReplicas", "idleTimeoutSeconds",
    "priority", "resources", "labels", "rayStartParams", "template", "scaleStrategy", "numOfHosts",
}  # fmt: skip
AUTOSCALER_FIELDS = {
    "resources", "image", "imagePullPolicy", "securityContext", "idleTimeoutSeconds",
    "upscalingMode", "version", "env", "envFrom", "volumeMounts", "command", "args",
}  # fmt: skip
AUTH_FIELDS = {"mode", "secretName", "enableK8sTokenAuth"}
RAYJOB_SPEC_FIELDS = {
    "entrypoint", "rayClusterSpec", "clusterSelector", "shutdownAfterJobFinishes",
    "ttlSecondsAfterFinished", "activeDeadlineSeconds", "backoffLimit", "submitterPodTemplate",
    "submitterConfig", "runtimeEnvYAML", "jobId", "suspend", "entrypointNumCpus",
    "entrypointNumGpus", "entrypointResources", "submissionMode", "deletionStrategy", "managedBy",
    "metadata",
}  # fmt: skip
SUBMITTER_CONFIG_FIELDS = {"backoffLimit"}
SUBMISSION_MODES = {"K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"}
DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def _validate_core(doc: dict) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def _validate_pod_template(template: dict) -> None:
    """A pod template inside a CRD, validated as a core PodTemplate's ``template``."""
    _validate_core(
        {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": template}
    )


def _unknown(fields: dict, allowed: set[str]) -> set[str]:
    return set(fields) - allowed


# --- the set of files ------------------------------------------------------------------------


def test_kustomization_lists_exactly_the_manifest_files():
    kustomization = yaml.safe_load((K8S_DIR / KUSTOMIZATION).read_text())
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["namespace"] == NAMESPACE
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources)), "a file is listed twice"
    assert set(resources) == {p.name for p in manifest_files() if not _is_example(p.name)}


def _is_example(name: str) -> bool:
    return ".example." in name


def test_every_document_is_a_known_kind_with_a_name():
    assert DOCUMENTS
    for item in DOCUMENTS:
        _, doc = item
        assert doc["kind"] in CORE_KINDS | KUBERAY_KINDS, doc_id(item)
        assert doc["metadata"]["name"], doc_id(item)
        # the namespace comes from the kustomization; a hard-coded other one would escape it
        assert doc["metadata"].get("namespace", NAMESPACE) == NAMESPACE, doc_id(item)


def test_kustomize_renders_with_namespace_and_images():
    text = render()
    rendered = [d for d in yaml.safe_load_all(text) if d]
    written = [d for p in manifest_files() if not _is_example(p.name) for d in file_documents(p)]
    assert len(rendered) == len(written)
    assert "Secret" not in {d["kind"] for d in rendered}, "no Secret is applied from the repository"
    for doc in rendered:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == NAMESPACE, doc["metadata"]["name"]
    images = re.findall(r"image: (\S+)", text)
    # the bare image names of the manifests are all rewritten to the registry, RayJob/RayCluster too
    assert "repsweep" not in images and "repsweep-mlflow" not in images
    assert any(i.startswith("registry.example.com/repsweep:") for i in images)


# --- core kinds against the Kubernetes schemas -----------------------------------------------


@pytest.mark.parametrize("item", [d for d in DOCUMENTS if d[1]["kind"] in CORE_KINDS], ids=doc_id)
def test_core_kinds_validate_against_kubernetes_schema(item):
    _validate_core(item[1])


def test_schema_validation_rejects_a_bad_manifest():
    """The validator really is strict (guards against a silently permissive check)."""
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"tipe": "X"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate_core(bad)
    bad_pod = {"spec": {"containers": [{"name": "c", "image": "i", "resource": {}}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate_pod_template(bad_pod)


# --- KubeRay kinds against KubeRay's API fields ----------------------------------------------


def _check_ray_cluster_spec(spec: dict, where: str) -> None:
    assert not _unknown(spec, RAYCLUSTER_SPEC_FIELDS), (
        f"{where}: {_unknown(spec, RAYCLUSTER_SPEC_FIELDS)}"
    )
    assert re.fullmatch(r"\d+\.\d+\.\d+", spec["rayVersion"]), where
    head = spec["headGroupSpec"]
    assert not _unknown(head, HEAD_GROUP_FIELDS), f"{where}: {_unknown(head, HEAD_GROUP_FIELDS)}"
    assert isinstance(head["rayStartParams"], dict), where
    assert all(isinstance(v, str) for v in head["rayStartParams"].values()), where
    assert head["template"]["spec"]["containers"], where
    _validate_pod_template(head["template"])
    groups = spec.get("workerGroupSpecs", [])
    assert len({g["groupName"] for g in groups}) == len(groups), f"{where}: duplicate groupName"
    for group in groups:
        assert not _unknown(group, WORKER_GROUP_FIELDS), (
            f"{where}: {_unknown(group, WORKER_GROUP_FIELDS)}"
        )
        assert {"groupName", "template", "rayStartParams", "minReplicas", "maxReplicas"} <= set(
            group
        )
        assert all(isinstance(v, str) for v in group["rayStartParams"].values()), where
        assert 0 <= group["minReplicas"] <= group.get("replicas", 0) <= group["maxReplicas"], where
        assert group["template"]["spec"]["containers"], where
        _validate_pod_template(group["template"])
    if "autoscalerOptions" in spec:
        options = spec["autoscalerOptions"]
        assert not _unknown(options, AUTOSCALER_FIELDS), where
        assert options.get("upscalingMode", "Default") in {"Default", "Aggressive", "Conservative"}
    if "authOptions" in spec:
        assert not _unknown(spec["authOptions"], AUTH_FIELDS), where
        assert spec["authOptions"].get("mode", "token") in {"token", "disabled"}, where


@pytest.mark.parametrize("cluster", of_kind("RayCluster"), ids=lambda d: d["metadata"]["name"])
def test_raycluster_uses_only_kuberay_fields(cluster):
    assert cluster["apiVersion"] == "ray.io/v1"
    assert set(cluster) <= {"apiVersion", "kind", "metadata", "spec"}
    name = cluster["metadata"]["name"]
    assert DNS1035.match(name) and len(name) <= 63
    _check_ray_cluster_spec(cluster["spec"], f"RayCluster/{name}")


@pytest.mark.parametrize("job", of_kind("RayJob"), ids=lambda d: d["metadata"]["name"])
def test_rayjob_uses_only_kuberay_fields(job):
    assert job["apiVersion"] == "ray.io/v1"
    assert set(job) <= {"apiVersion", "kind", "metadata", "spec"}
    name = job["metadata"]["name"]
    assert DNS1035.match(name) and len(name) <= 47
    spec = job["spec"]
    assert not _unknown(spec, RAYJOB_SPEC_FIELDS), _unknown(spec, RAYJOB_SPEC_FIELDS)
    # KubeRay's ValidateRayJobSpec rules
    assert ("rayClusterSpec" in spec) != ("clusterSelector" in spec), "exactly one cluster source"
    assert spec.get("submissionMode", "K8sJobMode") in SUBMISSION_MODES
    assert isinstance(spec["entrypoint"], str) and spec["entrypoint"].strip()
    assert isinstance(spec["shutdownAfterJobFinishes"], bool)
    if spec.get("ttlSecondsAfterFinished", 0) > 0:
        assert spec["shutdownAfterJobFinishes"], "a TTL needs shutdownAfterJobFinishes"
    assert isinstance(spec["activeDeadlineSeconds"], int) and spec["activeDeadlineSeconds"] > 0
    assert isinstance(spec.get("backoffLimit", 0), int) and spec.get("backoffLimit", 0) >= 0
    assert not _unknown(spec["submitterConfig"], SUBMITTER_CONFIG_FIELDS)
    assert isinstance(spec["submitterConfig"]["backoffLimit"], int)
    assert spec["submitterConfig"]["backoffLimit"] >= 0
    if "runtimeEnvYAML" in spec:
        assert isinstance(yaml.safe_load(spec["runtimeEnvYAML"]), dict)
    if "submitterPodTemplate" in spec:
        _validate_pod_template(spec["submitterPodTemplate"])
    if "rayClusterSpec" in spec:
        _check_ray_cluster_spec(spec["rayClusterSpec"], f"RayJob/{name}")


def test_kuberay_check_rejects_unknown_fields():
    cluster = one("RayCluster")
    bad = {**cluster["spec"], "headGroupSpecs": {}}
    with pytest.raises(AssertionError):
        _check_ray_cluster_spec(bad, "bad")


# --- security and resources of every pod -----------------------------------------------------


def _containers(template: dict) -> list[dict]:
    spec = template["spec"]
    return spec["containers"] + spec.get("initContainers", [])


@pytest.mark.parametrize(
    "where,template", list(pod_templates()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_pod_runs_non_root_with_requests_and_limits(where, template):
    pod = template["spec"].get("securityContext", {})
    assert pod.get("runAsNonRoot") is True, where
    assert pod.get("runAsUser", 0) >= NON_ROOT_UID, where
    assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
    assert not template["spec"].get("hostNetwork") and not template["spec"].get("hostPID"), where
    for container in _containers(template):
        name = f"{where}/{container['name']}"
        ctx = container.get("securityContext", {})
        assert ctx.get("runAsNonRoot", pod.get("runAsNonRoot")) is True, name
        assert ctx.get("runAsUser", pod.get("runAsUser", 0)) >= NON_ROOT_UID, name
        assert ctx.get("allowPrivilegeEscalation") is False, name
        assert ctx.get("privileged", False) is False, name
        assert "ALL" in ctx.get("capabilities", {}).get("drop", []), name
        assert not ctx.get("capabilities", {}).get("add"), name
        resources = container.get("resources", {})
        for part in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(part, {})), f"{name}: {part}"
        gpu_request = resources["requests"].get("nvidia.com/gpu")
        assert gpu_request == resources["limits"].get("nvidia.com/gpu"), (
            f"{name}: GPU requests != limits"
        )


def test_ray_autoscaler_sidecar_is_non_root_with_resources():
    for _, doc in DOCUMENTS:
        spec = (
            doc["spec"].get("rayClusterSpec", doc["spec"]) if doc["kind"] in KUBERAY_KINDS else {}
        )
        if not spec.get("enableInTreeAutoscaling"):
            continue
        options = spec["autoscalerOptions"]
        ctx = options["securityContext"]
        assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] >= NON_ROOT_UID
        assert ctx["allowPrivilegeEscalation"] is False and "ALL" in ctx["capabilities"]["drop"]
        assert {"cpu", "memory"} <= set(options["resources"]["requests"])
        assert {"cpu", "memory"} <= set(options["resources"]["limits"])


def test_service_accounts_mount_no_token_and_exist():
    names = {sa["metadata"]["name"] for sa in of_kind("ServiceAccount")}
    for sa in of_kind("ServiceAccount"):
        assert sa.get("automountServiceAccountToken") is False, sa["metadata"]["name"]
    for where, template in pod_templates():
        account = template["spec"].get("serviceAccountName")
        if account:
            assert account in names, f"{where}: unknown service account {account}"


# --- exposure ---------------------------------------------------------------------------------


def test_no_service_is_public():
    for service in of_kind("Service"):
        assert service["spec"].get("type", "ClusterIP") not in PUBLIC_SERVICE_TYPES
        for port in service["spec"]["ports"]:
            assert "nodePort" not in port
    for where, spec in _ray_cluster_specs():
        head = spec["headGroupSpec"]
        assert head.get("serviceType", "ClusterIP") not in PUBLIC_SERVICE_TYPES, where
        assert not head.get("enableIngress", False), where
        assert head.get("headService", {}).get("spec", {}).get("type", "ClusterIP") == "ClusterIP"
    for where, template in pod_templates():
        for container in template["spec"]["containers"]:
            assert all("hostPort" not in p for p in container.get("ports", [])), where


def _ray_cluster_specs() -> list[tuple[str, dict]]:
    specs = [(f"RayCluster/{c['metadata']['name']}", c["spec"]) for c in of_kind("RayCluster")]
    specs += [
        (f"RayJob/{j['metadata']['name']}", j["spec"]["rayClusterSpec"])
        for j in of_kind("RayJob")
        if "rayClusterSpec" in j["spec"]
    ]
    return specs


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _labels_of(where_prefix: str) -> list[dict]:
    return [t["metadata"]["labels"] for w, t in pod_templates() if w.startswith(where_prefix)]


def _ingress_rules_for(labels: dict) -> list[dict]:
    """Every ingress rule that applies to a pod (policies are additive; {} selects all pods)."""
    rules = []
    for policy in of_kind("NetworkPolicy"):
        if _selects(policy["spec"]["podSelector"], labels):
            assert "Ingress" in policy["spec"]["policyTypes"]
            rules += policy["spec"].get("ingress", [])
    return rules


def _peers(rules: list[dict]) -> list[tuple[dict, set[int]]]:
    out = []
    for rule in rules:
        ports = {p["port"] for p in rule.get("ports", [])}
        for peer in rule.get("from", [{}]):  # a rule without `from` admits everyone
            out.append((peer, ports))
    return out


def test_a_default_deny_ingress_policy_covers_every_pod():
    deny = [p for p in of_kind("NetworkPolicy") if p["spec"]["podSelector"] == {}]
    assert deny and all(not p["spec"].get("ingress") for p in deny)
    assert all("Ingress" in p["spec"]["policyTypes"] for p in deny)


def test_only_ray_pods_reach_the_ray_ports():
    ray_pods = [
        t["metadata"]["labels"] for w, t in pod_templates()
        if w.startswith(("RayCluster/", "RayJob/")) and not w.endswith("/submitter")
    ]  # fmt: skip
    submitter = [t["metadata"]["labels"] for w, t in pod_templates() if w.endswith("/submitter")]
    for labels in ray_pods:
        peers = _peers(_ingress_rules_for(labels))
        assert peers, "Ray pods must admit each other"
        for peer, ports in peers:
            assert "ipBlock" not in peer and peer, peer
            selector = peer.get("podSelector", {})
            assert selector.get("matchLabels"), f"a labelled pod, not a whole namespace: {peer}"
            if (
                all(_selects(selector, other) for other in ray_pods)
                and "namespaceSelector" not in peer
            ):
                continue  # Ray pods reach each other on every port
            # anyone else (the job submitter, the KubeRay operator): the head's API ports only
            assert ports and ports <= RAY_HEAD_PORTS, peer
            assert not any(_selects(selector, other) for other in _all_non_ray_pods()), peer
        # the submitter is admitted to the job API
        assert any(
            8265 in ports and _selects(peer.get("podSelector", {}), submitter[0])
            for peer, ports in peers
        )


def _all_non_ray_pods() -> list[dict]:
    return [
        t["metadata"]["labels"] for w, t in pod_templates()
        if not w.startswith(("RayCluster/", "RayJob/"))
    ]  # fmt: skip


def test_only_ray_head_pods_reach_mlflow():
    """The driver (on a Ray head) is MLflow's only in-cluster client; people use port-forward."""
    (mlflow,) = _labels_of("Deployment/mlflow")
    heads = [t["metadata"]["labels"] for w, t in pod_templates() if w.endswith("/head")]
    others = [t["metadata"]["labels"] for w, t in pod_templates() if not w.endswith("/head")]
    peers = _peers(_ingress_rules_for(mlflow))
    assert peers
    for peer, ports in peers:
        assert ports == {5000}, peer
        assert set(peer) == {"podSelector"}, f"pods of this namespace only, no namespace or IP: {peer}"
        assert all(_selects(peer["podSelector"], h) for h in heads)
        assert not any(_selects(peer["podSelector"], o) for o in others), "not workers, not others"


def test_only_mlflow_reaches_postgres():
    (mlflow,) = _labels_of("Deployment/mlflow")
    (postgres,) = _labels_of("StatefulSet/postgres")
    peers = _peers(_ingress_rules_for(postgres))
    assert peers
    for peer, ports in peers:
        assert ports == {5432}
        assert set(peer) == {"podSelector"} and _selects(peer["podSelector"], mlflow)
        others = [
            labels for w, t in pod_templates() if (labels := t["metadata"]["labels"]) != mlflow
        ]
        assert not any(_selects(peer["podSelector"], o) for o in others)


# --- the platform's wiring ----------------------------------------------------------------------


def _limits(template: dict) -> list[dict]:
    return [c["resources"]["limits"] for c in template["spec"]["containers"]]


def test_gpu_worker_group_requests_gpus():
    for where, spec in _ray_cluster_specs():
        groups = spec["workerGroupSpecs"]
        gpu = [g for g in groups if any("nvidia.com/gpu" in lim for lim in _limits(g["template"]))]
        assert gpu, f"{where}: a GPU worker group"


def test_every_ray_pod_mounts_the_shared_sweep_storage():
    claim = one("PersistentVolumeClaim", "sweep-storage")
    assert "ReadWriteMany" in claim["spec"]["accessModes"]
    for where, template in pod_templates():
        if where.endswith("/submitter") or not where.startswith(("RayCluster/", "RayJob/")):
            continue
        spec = template["spec"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounts = {m["mountPath"]: m["name"] for c in spec["containers"] for m in c["volumeMounts"]}
        assert "/mnt/sweeps" in mounts, where
        claim_name = volumes[mounts["/mnt/sweeps"]]["persistentVolumeClaim"]["claimName"]
        assert claim_name == "sweep-storage", where
        for container in spec["containers"]:
            assert container.get("workingDir") == "/app", f"{where}: sweep.py is found from /app"


def test_the_rayjob_runs_the_rayclusters_pods_from_one_copy():
    """rayjob.yaml writes no pod template: kustomize copies the RayCluster's (ray-job-pods), so
    the job's cluster and the long-running one run the same pods, under the job's account."""
    [written] = file_documents(K8S_DIR / "rayjob.yaml")
    assert "headGroupSpec" not in written["spec"]["rayClusterSpec"]
    assert all("template" not in g for g in written["spec"]["rayClusterSpec"]["workerGroupSpecs"])
    cluster = one("RayCluster")["spec"]
    job = one("RayJob")["spec"]["rayClusterSpec"]
    assert (job["rayVersion"], job["authOptions"]) == (cluster["rayVersion"], cluster["authOptions"])
    assert "enableInTreeAutoscaling" not in job and "autoscalerOptions" not in job
    account = one("ServiceAccount", "ray-job")
    own = {"serviceAccountName": "ray-job", "automountServiceAccountToken": False}
    assert account["automountServiceAccountToken"] is own["automountServiceAccountToken"]
    pairs = [(job["headGroupSpec"], cluster["headGroupSpec"])]
    pairs += list(zip(job["workerGroupSpecs"], cluster["workerGroupSpecs"], strict=True))
    for ours, theirs in pairs:
        expected = copy.deepcopy(theirs["template"])
        expected["spec"].update(own)
        assert ours["template"] == expected
    assert {k: v for k, v in job["headGroupSpec"].items() if k != "template"} == {
        k: v for k, v in cluster["headGroupSpec"].items() if k != "template"
    }
    for group in job["workerGroupSpecs"]:  # no autoscaler: a fixed number of workers
        assert group["replicas"] == group["minReplicas"] == group["maxReplicas"] >= 1


def _mlflow_container() -> dict:
    (container,) = one("Deployment", "mlflow")["spec"]["template"]["spec"]["containers"]
    return container


def test_mlflow_server_uses_postgres_from_a_secret_and_stored_artifacts():
    container = _mlflow_container()
    args = container["args"]
    assert args[0] == "server"
    assert not any(a.startswith("--backend-store-uri") for a in args), "the URI holds the password"
    env = {e["name"]: e for e in container["env"]}
    backend = env["MLFLOW_BACKEND_STORE_URI"]["value"]  # MLflow's envvar for --backend-store-uri
    assert backend.startswith("postgresql://") and "@postgres:5432/" in backend
    assert "$(POSTGRES_PASSWORD)" in backend
    secret = one("Secret", "postgres-credentials")
    for var in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"):
        ref = env[var]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "postgres-credentials" and ref["key"] in secret["stringData"]
    names = list(env)
    assert all(names.index(v) < names.index("MLFLOW_BACKEND_STORE_URI") for v in ("POSTGRES_USER", "POSTGRES_PASSWORD"))
    destination = next(a for a in args if a.startswith("--artifacts-destination="))
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert destination.split("=", 1)[1] in mounts or destination.split("=", 1)[1].startswith(
        "s3://"
    )
    hosts = next(a for a in args if a.startswith("--allowed-hosts=")).split("=", 1)[1].split(",")
    assert "mlflow:*" in hosts and "localhost:*" in hosts  # in-cluster URI and port-forward
    service = one("Service", "mlflow")
    assert service["spec"]["ports"][0]["port"] == 5000


def _secret_env_names(container: dict) -> set[str]:
    return {e["name"] for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}


def test_no_secret_is_on_a_command_line():
    """Command lines are world-readable (ps, /proc/*/cmdline, pod specs): secrets go in env or files."""
    from sweeps.redact import is_secret

    for where, template in pod_templates():
        for container in _containers(template):
            line = " ".join(container.get("command", []) + container.get("args", []))
            for name in _secret_env_names(container):
                assert f"$({name})" not in line, f"{where}/{container['name']}: $({name}) on its command line"
            assert not any(is_secret(part.split("=", 1)[0]) for part in line.split() if "=" in part), where
    for job in of_kind("RayJob"):
        for part in job["spec"]["entrypoint"].split():
            assert not is_secret(part.split("=", 1)[0]), f"secret on the job's entrypoint: {part}"


def test_mlflow_requires_basic_auth_with_the_admin_from_a_secret():
    container = _mlflow_container()
    assert "--app-name=basic-auth" in container["args"]
    env = {e["name"]: e for e in container["env"]}
    for var in ("MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD"):
        ref = env[var]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "mlflow-auth" and ref["key"] in one("Secret", "mlflow-auth")["stringData"]
    config_path = env["MLFLOW_AUTH_CONFIG_PATH"]["value"]
    spec = one("Deployment", "mlflow")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    folder, _, file = config_path.rpartition("/")
    config_map = one("ConfigMap", volumes[mounts[folder]]["configMap"]["name"])
    ini = configparser.ConfigParser()
    ini.read_string(config_map["data"][file])
    auth = ini["mlflow"]
    assert auth["default_permission"] == "NO_PERMISSIONS"
    assert "admin_password" not in auth, "the admin password comes from the Secret, not a ConfigMap"
    database = auth["database_uri"].removeprefix("sqlite:///")
    store = next(m for m in mounts if database.startswith(m + "/"))
    assert "persistentVolumeClaim" in volumes[mounts[store]], "users survive a restart"
    destination = next(a for a in container["args"] if a.startswith("--artifacts-destination="))
    assert not database.startswith(destination.split("=", 1)[1]), "the server would hand out the user store"


def test_the_sweep_driver_logs_to_mlflow_with_credentials_from_a_secret():
    client = one("Secret", "mlflow-client")["stringData"]
    assert {"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"} <= set(client)
    for where, template in pod_templates():
        if where.endswith("/head"):
            (head,) = template["spec"]["containers"]
            assert {"secretRef": {"name": "mlflow-client"}} in head.get("envFrom", []), where


WRITABLE = {"Deployment/mlflow": {"/tmp", "/home/mlflow"}, "/head": {"/tmp", "/home/app", "/app/outputs"},
            "/gpu": {"/tmp", "/home/app", "/app/outputs"}, "/submitter": {"/tmp", "/home/app"}}


@pytest.mark.parametrize(
    "where,template", list(pod_templates()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_root_filesystems_are_read_only_with_volumes_where_writes_go(where, template):
    volumes = {v["name"]: v for v in template["spec"].get("volumes", [])}
    for container in _containers(template):
        assert container["securityContext"].get("readOnlyRootFilesystem") is True, f"{where}/{container['name']}"
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        needed = next((paths for suffix, paths in WRITABLE.items() if where.endswith(suffix)), {"/tmp"})
        for path in needed:
            volume = volumes[mounts[path]]
            assert "emptyDir" in volume or "persistentVolumeClaim" in volume, f"{where}: {path}"


def test_example_secrets_are_clearly_marked_placeholders_and_never_applied():
    source = next(p for p in manifest_files() if "kind: Secret" in p.read_text())
    assert _is_example(source.name) and "PLACEHOLDER" in source.read_text()
    kustomization = yaml.safe_load((K8S_DIR / KUSTOMIZATION).read_text())
    assert source.name not in kustomization["resources"]
    secrets = of_kind("Secret")
    assert {s["metadata"]["name"] for s in secrets} == {"postgres-credentials", "mlflow-auth", "mlflow-client"}
    for secret in secrets:
        assert "placeholder" in secret["metadata"]["annotations"]["repsweep.io/example"]
        assert "data" not in secret  # nothing base64-encoded hiding a real value
        assert {v for k, v in secret["stringData"].items() if "PASSWORD" in k} == {"CHANGE-ME"}
    readme = (K8S_DIR.parent / "README.md").read_text()
    for name in ("postgres-credentials", "mlflow-auth", "mlflow-client"):
        assert f"create secret generic {name}" in readme, f"the README says how to create {name}"
