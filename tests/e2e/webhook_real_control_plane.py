#!/usr/bin/env python3
"""The pods/eviction webhook behind a real kube-apiserver (../shared/k8s): the shipped overlay's
ValidatingWebhookConfiguration registered with its clientConfig pointed at isrguard's loopback listener, the
overlay's pod -> broker mapping (names and the isrguard.io/broker-id label), isrguard against kafkasim, evictions
through the Eviction API as `kubectl drain` sends them. isrguard reads the evicted Pods as the overlay's service
account: a ServiceAccount isrguard, its token from the TokenRequest API in a file, the overlay's Role and
RoleBinding (RBAC applies: without the binding the read is forbidden). Exits 77 (skipped) with a message when the
k8s folder is absent.

Cluster: brokers 0-5 (the overlay's StatefulSet kafka-0..kafka-5, broker.id = ordinal), min.insync.replicas 2,
"left" 6 x RF3 on {1,2,3}, "right" 6 x RF3 on {0,4,5}; broker 2 down and out of every ISR. So kafka-1 shares
partitions with 2 (evicting it leaves ISR [3]: 429), kafka-4 shares none (201), and once kafka-4's eviction is
granted, kafka-5 is refused (4 and 5 together would leave "right" at ISR [0]). Pods broker-blue and broker-green
carry broker ids 1 and 4 in the label only (their names encode nothing): broker-blue 429, broker-green 201.
The annotation rule is checked the same way in a second namespace, kafka-east (its own rule
--webhook-broker-id-annotation kafka-east=isrguard.io/broker-id, a copy of the overlay's Role and RoleBinding there,
and a copy of the overlay's webhook configuration whose namespaceSelector names kafka-east): pods east-blue and
east-green carry ids 1 and 4 in the annotation only (429, 201); east-labelled carries the label but no annotation,
so the rule of its namespace finds no id and it is not a broker (201).

usage: webhook_real_control_plane.py ISRGUARD KAFKASIM SOURCE_DIR K8S_DIR
  ISRGUARD_K8S_DIR overrides K8S_DIR; ISRGUARD_WEBHOOK_K8S_PORT_BASE the control plane's ports (default 29000:
  pdb_crosscheck.py uses 28000, selftest.sh 27000, up.sh 26000, so they can run side by side); ISRGUARD_KUBECTL
  the kubectl that renders the overlay (default: kubectl on PATH).
"""
import base64
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from k8s_api import Api, read_env  # noqa: E402

OVERLAY = "manifests/overlays/webhook-no-cert-manager"
EAST = "kafka-east"  # the namespace mapped by annotation
EAST_RULE = f"{EAST}=isrguard.io/broker-id"
HOOK = "admission webhook \"eviction.isrguard.io\" denied the request: isrguard: evicting broker"
BOUND = 60  # seconds for any awaited condition: generous, the machine is shared


def await_true(what, fn):
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    raise RuntimeError(f"not within {BOUND} s: {what}")


def make_pki(d):
    """A test CA and a serving certificate for IP 127.0.0.1 signed by it (openssl, generated per run)."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
        "-subj", "/CN=isrguard webhook test CA", "-keyout", "ca.key", "-out", "ca.crt")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "tls.key", "-out", "tls.csr")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1",
        "-extfile", "ext", "-out", "tls.crt")


class Overlay:
    """The overlay as shipped: its ValidatingWebhookConfiguration, its broker-pod mapping (the isrguard Deployment's
    ISRGUARD_WEBHOOK_BROKER_PODS and ISRGUARD_WEBHOOK_BROKER_ID_LABEL), its Role and RoleBinding."""

    def __init__(self, kubectl, source):
        out = subprocess.run([kubectl, "kustomize", os.path.join(source, OVERLAY)], check=True, capture_output=True,
                             text=True).stdout
        docs = [d for d in yaml.safe_load_all(out) if d]
        self.vwc = next(d for d in docs if d["kind"] == "ValidatingWebhookConfiguration")
        deploy = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "isrguard")
        container = next(c for c in deploy["spec"]["template"]["spec"]["containers"] if c["name"] == "isrguard")
        env = {e["name"]: e.get("value") for e in container["env"]}
        self.mapping = env["ISRGUARD_WEBHOOK_BROKER_PODS"]
        self.label_rule = env["ISRGUARD_WEBHOOK_BROKER_ID_LABEL"]
        self.label = self.label_rule.split("=", 1)[1]
        self.service_account = deploy["spec"]["template"]["spec"]["serviceAccountName"]
        self.role = next(d for d in docs if d["kind"] == "Role")
        self.binding = next(d for d in docs if d["kind"] == "RoleBinding")


def point_at(vwc, port, ca_pem):
    """Only clientConfig changes: the Service reference becomes the loopback URL with the same path."""
    for hook in vwc["webhooks"]:
        path = hook["clientConfig"]["service"]["path"]
        hook["clientConfig"] = {"url": f"https://127.0.0.1:{port}{path}",
                                "caBundle": base64.b64encode(ca_pem).decode()}
    return vwc


def east_copy(vwc):
    """The overlay's webhook configuration for the namespace kafka-east instead of kafka."""
    vwc["metadata"]["name"] += "-" + EAST
    for hook in vwc["webhooks"]:
        hook["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": EAST}}
    return vwc


def scenario():
    left = [{"partition": p, "replicas": [1 + (p + i) % 3 for i in range(3)]} for p in range(6)]
    right = [{"partition": p, "replicas": [[0, 4, 5][(p + i) % 3] for i in range(3)]} for p in range(6)]
    return {"cluster_id": "webhook-k8s", "controller": 0, "broker_defaults": {"min.insync.replicas": "2"},
            "brokers": [{"id": i} for i in range(6)],
            "topics": [{"name": "left", "partitions": left}, {"name": "right", "partitions": right}]}


class Proc:
    """A child process with its stderr in a file, stopped by its own pid."""

    def __init__(self, argv, d, name, env=None, stdout=subprocess.DEVNULL):
        self.err_path = os.path.join(d, name + ".err")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(argv, stdout=stdout, stderr=self.err, text=True, env=env)

    def log(self):
        with open(self.err_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


def start_kafkasim(binary, d):
    path = os.path.join(d, "scenario.json")
    with open(path, "w") as f:
        json.dump(scenario(), f)
    sim = Proc([binary, path, "--manual"], d, "kafkasim", stdout=subprocess.PIPE)
    lines = {}
    for line in sim.proc.stdout:  # control=..., then bootstrap=... once listening; EOF if it dies
        k, _, v = line.strip().partition("=")
        lines[k] = v
        if k == "bootstrap":
            break
    if "bootstrap" not in lines:
        raise RuntimeError(f"kafkasim printed no bootstrap line: {sim.log()}")
    req = urllib.request.Request(f"http://{lines['control']}/brokers/2/down?shrink_isr=1&elect_leaders=1",
                                 data=b"", method="POST")
    urllib.request.urlopen(req, timeout=10).read()
    return sim, lines["bootstrap"]


def start_isrguard(binary, d, bootstrap, overlay, kube):
    """isrguard with the overlay's mapping, reading Pods from the test API server with the token file
    d/token; returns (process, webhook port, HTTP port)."""
    env = dict(os.environ, ISRGUARD_WEBHOOK_BROKER_PODS=overlay.mapping,
               ISRGUARD_WEBHOOK_BROKER_ID_LABEL=overlay.label_rule, ISRGUARD_WEBHOOK_BROKER_ID_ANNOTATION=EAST_RULE)
    g = Proc([binary, "--bootstrap-servers", bootstrap, "--http-address", "127.0.0.1", "--http-port", "0",
              "--health-port", "0", "--poll-interval", "200ms", "--probe-timeout", "2s", "--webhook-port", "0",
              "--webhook-cert-file", os.path.join(d, "tls.crt"), "--webhook-key-file", os.path.join(d, "tls.key"),
              "--kube-api", kube["K8S_API"], "--kube-ca-file", kube["K8S_CA"],
              "--kube-token-file", os.path.join(d, "token")],
             d, "isrguard", env)
    webhook = re.compile(r"eviction webhook listening on 127\.0\.0\.1:(\d+)")
    http = re.compile(r"\) listening on 127\.0\.0\.1:(\d+)")

    def listening():
        if g.proc.poll() is not None:
            raise RuntimeError(f"isrguard exited {g.proc.returncode}: {g.log()}")
        return webhook.search(g.log())
    port = int(await_true("isrguard's webhook listening", listening).group(1))
    return g, port, int(http.search(g.log()).group(1))


def service_account_token(api, overlay, d):
    """The overlay's ServiceAccount, a token for it from the TokenRequest API in d/token, and the overlay's Role
    and RoleBinding. Returns the token (to check it never shows)."""
    ns = "kafka"
    api.must("POST", f"/api/v1/namespaces/{ns}/serviceaccounts", {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": overlay.service_account}})
    doc = api.must("POST", f"/api/v1/namespaces/{ns}/serviceaccounts/{overlay.service_account}/token", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}})
    token = doc["status"]["token"]
    with open(os.path.join(d, "token"), "w") as f:
        f.write(token)
    for namespace in (ns, EAST):  # the same Role and RoleBinding (subject: kafka's isrguard) in each namespace
        for kind, doc in (("roles", overlay.role), ("rolebindings", overlay.binding)):
            doc = dict(doc, metadata=dict(doc["metadata"], namespace=namespace))
            api.must("POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/{kind}", doc)
    return token


def create_pods(api, k8s, env, pods, namespace="kafka"):
    """Pods by name -> metadata (labels, annotations), bound to fake-node and reported Ready."""
    for name, metadata in pods.items():
        api.must("POST", f"/api/v1/namespaces/{namespace}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": dict(metadata, name=name),
            "spec": {"nodeName": "fake-node", "containers": [{"name": "c", "image": "none"}]}})
        subprocess.run(["bash", os.path.join(k8s, "set-ready.sh"), name, "True", namespace], check=True, env=env,
                       stdout=subprocess.DEVNULL)


def evict(api, pod, dry_run, namespace="kafka"):
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": namespace}}
    if dry_run:
        body["deleteOptions"] = {"dryRun": ["All"]}
    code, doc = api.call("POST", f"/api/v1/namespaces/{namespace}/pods/{pod}/eviction", body)
    return code, doc.get("message", "")


class Checks:
    def __init__(self):
        self.failures = 0

    def expect(self, ok, what, detail):
        self.failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {what}: {detail}")


def metadata_checks(api, checks, source, ns, blue, green):
    """Brokers known only by a label or annotation (`source`) in namespace `ns`: the name says nothing, the Pod
    read through the API server does. `blue` carries broker 1 (unsafe), `green` broker 4 (safe)."""
    code, msg = evict(api, blue, False, ns)
    checks.expect(code == 429 and HOOK + f" 1 (pod {ns}/{blue})" in msg and "partitions_blocking" in msg
                  and "retry later" in msg, f"{blue} ({source}: broker 1, unsafe) refused", f"HTTP {code} {msg}")
    code, msg = evict(api, green, True, ns)
    checks.expect(code == 201, f"{green} ({source}: broker 4, safe) allowed, dry run", f"HTTP {code} {msg}")


def annotation_checks(api, checks):
    """The annotation rule of kafka-east, and a label there, where the rule is the annotation: not a broker."""
    metadata_checks(api, checks, "annotation", EAST, "east-blue", "east-green")
    code, msg = evict(api, "east-labelled", True, EAST)
    checks.expect(code == 201, "east-labelled (label 1 but no annotation, where the rule is the annotation: not a "
                  "broker) allowed, dry run", f"HTTP {code} {msg}")


def metric(http_port, name):
    """The value of an unlabelled series on isrguard's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise RuntimeError(f"{name} not on /metrics")


def measure_pod_reads(api, http_port, runs=20):
    """The extra round trip's cost: isrguard's own Pod read time (its histogram) and whole dry-run evictions
    through the API server, printed, never asserted."""
    families = ["isrguard_webhook_pod_read_duration_seconds", "isrguard_webhook_decision_duration_seconds"]
    before = {f: (metric(http_port, f + "_sum"), metric(http_port, f + "_count")) for f in families}
    took = []
    for _ in range(runs):
        t = time.monotonic()
        evict(api, "broker-green", True)
        took.append(time.monotonic() - t)
    mean_ms = {}
    for f in families:
        n = metric(http_port, f + "_count") - before[f][1]
        mean_ms[f] = 1000 * (metric(http_port, f + "_sum") - before[f][0]) / max(n, 1)
    took.sort()
    print(f"latency over {runs} dry-run evictions of broker-green: isrguard's Pod read mean "
          f"{mean_ms[families[0]]:.1f} ms of its decision's mean {mean_ms[families[1]]:.1f} ms; end to end "
          f"through the API server median {1000 * took[runs // 2]:.1f} ms, max {1000 * took[-1]:.1f} ms")


def rbac_checks(api, checks, overlay):
    """Without the RoleBinding the read is refused by RBAC: the eviction is denied, the API server's reason quoted."""
    api.must("DELETE", f"/apis/rbac.authorization.k8s.io/v1/namespaces/kafka/rolebindings/{overlay.binding['metadata']['name']}")
    def forbidden():
        answer = evict(api, "broker-green", True)
        return answer if "pod_read_forbidden" in answer[1] else None
    code, msg = await_true("the read forbidden once the RoleBinding is gone", forbidden)
    who = f"system:serviceaccount:kafka:{overlay.service_account}"
    checks.expect(code == 429 and "denied (pod_read_forbidden)" in msg and who in msg and "retry later" in msg,
                  "broker-green refused without the RoleBinding (RBAC applied to isrguard's token)",
                  f"HTTP {code} {msg}")


def scenario_checks(api, checks, isrguard, overlay, http_port):
    code, msg = evict(api, "kafka-1", False)
    checks.expect(code == 429 and HOOK in msg and "partitions_blocking" in msg and "retry later" in msg,
                  "kafka-1 (shares partitions with down broker 2) refused", f"HTTP {code} {msg}")
    _, pod = api.call("GET", "/api/v1/namespaces/kafka/pods/kafka-1")
    checks.expect("deletionTimestamp" not in pod.get("metadata", {}), "kafka-1 not deleted", "no deletionTimestamp")
    metadata_checks(api, checks, "label", "kafka", "broker-blue", "broker-green")
    annotation_checks(api, checks)
    code, msg = evict(api, "kafka-4", True)
    checks.expect(code == 201, "kafka-4 (shares none) allowed, dry run", f"HTTP {code} {msg}")
    code, msg = evict(api, "kafka-exporter-6f9c7", True)
    checks.expect(code == 201, "kafka-exporter-6f9c7 (no label, no name rule: not a broker) allowed, dry run",
                  f"HTTP {code} {msg}")
    measure_pod_reads(api, http_port)
    code, msg = evict(api, "kafka-5", True)
    checks.expect(code == 201, "kafka-5 alone allowed, dry run", f"HTTP {code} {msg}")
    code, msg = evict(api, "kafka-4", False)
    checks.expect(code == 201, "kafka-4 evicted for real (a grant)", f"HTTP {code} {msg}")
    code, msg = evict(api, "kafka-5", True)
    checks.expect(code == 429 and HOOK in msg and "broker 5" in msg,
                  "kafka-5 refused: safe alone, not with kafka-4's granted eviction", f"HTTP {code} {msg}")
    rbac_checks(api, checks, overlay)
    isrguard.stop()
    code, msg = evict(api, "kafka-0", True)
    checks.expect(code >= 400 and "failed calling webhook" in msg, "isrguard stopped: refused (failurePolicy Fail)",
                  f"HTTP {code} {msg}")


def run(isrguard_bin, kafkasim_bin, source, k8s, d):
    kubectl = os.environ.get("ISRGUARD_KUBECTL") or shutil.which("kubectl")
    if not kubectl:
        raise RuntimeError("kubectl not found (it renders the overlay); run scripts/install-deps")
    t0 = time.monotonic()
    state = os.path.join(d, "k8s")
    port_base = os.environ.get("ISRGUARD_WEBHOOK_K8S_PORT_BASE", "29000")
    up = subprocess.Popen(["bash", os.path.join(k8s, "up.sh"), state, "--port-base", port_base])
    procs = []
    try:
        make_pki(d)
        overlay = Overlay(kubectl, source)
        sim, bootstrap = start_kafkasim(kafkasim_bin, d)
        procs.append(sim)
        if up.wait() != 0:
            raise RuntimeError(f"{k8s}/up.sh failed (exit {up.returncode})")
        env = dict(os.environ, **read_env(state))
        env["KUBECONFIG"] = os.path.join(state, "kubeconfig")
        api = Api(env)
        for ns in ("kafka", EAST):
            api.must("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        token = service_account_token(api, overlay, d)
        isrguard, port, http_port = start_isrguard(isrguard_bin, d, bootstrap, overlay, env)
        procs.append(isrguard)
        pods = {f"kafka-{i}": {} for i in range(6)}
        pods.update({"kafka-exporter-6f9c7": {"labels": {"app": "exporter"}},
                     "broker-blue": {"labels": {overlay.label: "1"}}, "broker-green": {"labels": {overlay.label: "4"}}})
        create_pods(api, k8s, env, pods)
        key = EAST_RULE.split("=", 1)[1]
        create_pods(api, k8s, env, {"east-blue": {"annotations": {key: "1"}}, "east-green": {"annotations": {key: "4"}},
                                    "east-labelled": {"labels": {overlay.label: "1"}}}, EAST)
        with open(os.path.join(d, "ca.crt"), "rb") as f:
            ca_pem = f.read()
        api.must("POST", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
                 east_copy(point_at(copy.deepcopy(overlay.vwc), port, ca_pem)))
        api.must("POST", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
                 point_at(overlay.vwc, port, ca_pem))
        # In force once the API server has the configuration and isrguard a probe: kafka-1 refused by isrguard.
        await_true("the webhook in force (a dry-run eviction of kafka-1 refused by isrguard)",
                   lambda: "partitions_blocking" in evict(api, "kafka-1", True)[1])
        print(f"set up in {time.monotonic() - t0:.1f} s (mapping {overlay.mapping}, {overlay.label_rule} and "
              f"{EAST_RULE}, webhook on 127.0.0.1:{port})")
        checks = Checks()
        scenario_checks(api, checks, isrguard, overlay, http_port)
        checks.expect(token not in isrguard.log(), "the token never in isrguard's log", f"{len(token)} characters")
        print(f"{'passed' if not checks.failures else f'{checks.failures} failed'} in {time.monotonic() - t0:.1f} s")
        return 1 if checks.failures else 0
    finally:
        for p in reversed(procs):
            p.stop()
        if up.poll() is None:
            up.wait()
        subprocess.run(["bash", os.path.join(k8s, "down.sh"), state, "--wipe"], check=False,
                       stdout=subprocess.DEVNULL)


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    isrguard_bin, kafkasim_bin, source = sys.argv[1:4]
    k8s = os.environ.get("ISRGUARD_K8S_DIR", sys.argv[4])
    if not os.path.isfile(os.path.join(k8s, "up.sh")):
        print(f"SKIPPED: {k8s} absent: no real control plane to register the webhook with")
        return 77
    d = tempfile.mkdtemp(prefix="isrguard-webhook-k8s-")
    try:
        return run(isrguard_bin, kafkasim_bin, source, k8s, d)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
