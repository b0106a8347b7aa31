#!/usr/bin/env python3
"""The simulator's PDB arithmetic and Eviction API against the real ones (../shared/k8s: kube-apiserver +
the disruption controller). For each row of pod states, the real PodDisruptionBudget status and the answer to
a dry-run eviction must equal what `sim_run pdb` computes. Exits 77 (skipped) when the k8s folder is absent.

usage: pdb_crosscheck.py SIM_RUN K8S_DIR   (ISRGUARD_K8S_DIR overrides K8S_DIR; ISRGUARD_SIM_K8S_PORT_BASE the
ports, default 28000)
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from k8s_api import Api, read_env  # noqa: E402

# pod states: R ready, N running not ready, P pending (no status), T terminating (evicted, no kubelet)
ROWS = [
    ("RRRR", 3, 0), ("RRRN", 3, 0), ("RRRN", 3, 3), ("RRNN", 3, 3), ("RRRP", 3, 3),
    ("RRRRRRR", 6, 2), ("RRRRRRN", 6, 0), ("RRRRT", 3, 0), ("RRRT", 3, 3), ("NNN", 1, 0),
]


def evict(api, ns, pod, dry_run):
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": ns}}
    if dry_run:
        body["deleteOptions"] = {"dryRun": ["All"]}
    return api.call("POST", f"/api/v1/namespaces/{ns}/pods/{pod}/eviction", body)[0]


def pdb_status(api, ns, expected_pods):
    deadline = time.time() + 60
    while time.time() < deadline:
        code, pdb = api.call("GET", f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/gate")
        st = pdb.get("status", {})
        if code == 200 and st.get("observedGeneration") == pdb["metadata"]["generation"] \
                and st.get("expectedPods") == expected_pods:
            return st
        time.sleep(0.3)
    raise RuntimeError(f"{ns}: the PDB status never settled")


def setup_row(api, k8s, env, ns, states, min_available):
    api.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for i, _ in enumerate(states):
        api.call("POST", f"/api/v1/namespaces/{ns}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "labels": {"g": "x"}},
            "spec": {"nodeName": "fake-node", "containers": [{"name": "c", "image": "none"}]}})
    for i, s in enumerate(states):
        if s in "RNT":
            subprocess.run(["bash", os.path.join(k8s, "set-ready.sh"), f"p{i}", "False" if s == "N" else "True", ns],
                           check=True, env=env, stdout=subprocess.DEVNULL)
    api.call("POST", f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets", {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "gate"},
        "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"g": "x"}},
                 "unhealthyPodEvictionPolicy": "IfHealthyBudget"}})
    pdb_status(api, ns, len(states))
    for i, s in enumerate(states):  # terminating pods: a real eviction, which no kubelet completes
        if s == "T" and evict(api, ns, f"p{i}", False) != 201:
            raise RuntimeError(f"{ns}: could not make p{i} terminating")


def real_answer(api, ns, states, victim):
    deadline = time.time() + 60
    healthy = states.count("R")
    while True:
        st = pdb_status(api, ns, len(states))
        if st.get("currentHealthy") == healthy and not st.get("disruptedPods") or time.time() > deadline:
            break
        time.sleep(0.3)
    line = (f"expected={st.get('expectedPods', 0)} healthy={st.get('currentHealthy', 0)} "
            f"desired={st.get('desiredHealthy', 0)} allowed={st.get('disruptionsAllowed', 0)}")
    return line + f" eviction={evict(api, ns, f'p{victim}', True)}"


def main():
    sim_run, k8s = sys.argv[1], os.environ.get("ISRGUARD_K8S_DIR", sys.argv[2])
    if not os.path.isfile(os.path.join(k8s, "up.sh")):
        print(f"SKIPPED: {k8s} absent: no real control plane to check the PDB arithmetic against")
        return 77
    state = tempfile.mkdtemp(prefix="isrguard-sim-k8s-")
    port_base = os.environ.get("ISRGUARD_SIM_K8S_PORT_BASE", "28000")
    try:
        subprocess.run(["bash", os.path.join(k8s, "up.sh"), state, "--port-base", port_base], check=True)
        env = dict(os.environ, **read_env(state))
        env["KUBECONFIG"] = os.path.join(state, "kubeconfig")
        api = Api(env)
        failures = 0
        for n, (states, min_available, victim) in enumerate(ROWS):
            ns = f"row{n}"
            setup_row(api, k8s, env, ns, states, min_available)
            real = real_answer(api, ns, states, victim)
            sim = subprocess.run([sim_run, "pdb", "--min-available", str(min_available), "--pods", ",".join(states),
                                  "--evict", str(victim), "--dry-run", "1"],
                                 check=True, capture_output=True, text=True).stdout.strip()
            ok = real == sim
            failures += 0 if ok else 1
            print(f"{'ok  ' if ok else 'FAIL'} {states} minAvailable={min_available} evict p{victim}: "
                  f"real [{real}] sim [{sim}]")
        print(f"{len(ROWS) - failures} of {len(ROWS)} rows agree")
        return 1 if failures else 0
    finally:
        subprocess.run(["bash", os.path.join(k8s, "down.sh"), state, "--wipe"], check=False)


if __name__ == "__main__":
    sys.exit(main())
