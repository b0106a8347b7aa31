#!/usr/bin/env python3
"""Checks that manifests/monitoring/ builds with kustomize and carries exactly the dashboard and rules.

1. dashboards/sync-manifests.py --check: the copies in manifests/monitoring/ are byte-identical to what the
   generator makes from dashboards/.
2. `kubectl kustomize manifests/monitoring` renders; the output has a ConfigMap labelled
   grafana_dashboard: "1" whose only data key holds dashboards/isrguard.json byte for byte, and a
   monitoring.coreos.com/v1 PrometheusRule whose spec.groups equals the groups of
   dashboards/isrguard-rules.yaml (compared as parsed YAML).

usage: check_manifests.py KUBECTL REPO_ROOT
"""
import os
import subprocess
import sys

import yaml


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    kubectl, root = argv[1:]
    problems = []
    sync = subprocess.run([sys.executable, os.path.join(root, "dashboards", "sync-manifests.py"), "--check"],
                          capture_output=True, text=True)
    if sync.returncode != 0:
        problems.append(f"sync-manifests --check failed: {sync.stdout}{sync.stderr}")

    built = subprocess.run([kubectl, "kustomize", os.path.join(root, "manifests", "monitoring")],
                           capture_output=True, text=True)
    if built.returncode != 0:
        print(f"FAIL: kubectl kustomize failed:\n{built.stderr}", file=sys.stderr)
        return 1
    docs = [d for d in yaml.safe_load_all(built.stdout) if d]
    with open(os.path.join(root, "dashboards", "isrguard.json"), encoding="utf-8") as f:
        dashboard = f.read()
    with open(os.path.join(root, "dashboards", "isrguard-rules.yaml"), encoding="utf-8") as f:
        rules = yaml.safe_load(f)

    cms = [d for d in docs if d.get("kind") == "ConfigMap"]
    if len(cms) != 1:
        problems.append(f"want exactly one ConfigMap, got {len(cms)}")
    else:
        cm = cms[0]
        labels = cm.get("metadata", {}).get("labels", {})
        if labels.get("grafana_dashboard") != "1":
            problems.append(f"ConfigMap lacks label grafana_dashboard: \"1\" (labels: {labels})")
        data = cm.get("data", {})
        if list(data) != ["isrguard.json"]:
            problems.append(f"ConfigMap data keys {list(data)}, want ['isrguard.json']")
        elif data["isrguard.json"] != dashboard:
            problems.append("ConfigMap isrguard.json differs from dashboards/isrguard.json")

    prs = [d for d in docs if d.get("kind") == "PrometheusRule"]
    if len(prs) != 1:
        problems.append(f"want exactly one PrometheusRule, got {len(prs)}")
    else:
        pr = prs[0]
        if pr.get("apiVersion") != "monitoring.coreos.com/v1":
            problems.append(f"PrometheusRule apiVersion {pr.get('apiVersion')}")
        if pr.get("spec", {}).get("groups") != rules.get("groups"):
            problems.append("PrometheusRule spec.groups differ from dashboards/isrguard-rules.yaml groups")
        if set(pr.get("spec", {})) != {"groups"}:
            problems.append(f"PrometheusRule spec has keys {sorted(pr.get('spec', {}))}, want only groups")
    others = [d.get("kind") for d in docs if d.get("kind") not in ("ConfigMap", "PrometheusRule")]
    if others:
        problems.append(f"unexpected objects: {others}")

    for p in problems:
        print("FAIL: " + p, file=sys.stderr)
    if not problems:
        print("manifests/monitoring: in sync; ConfigMap and PrometheusRule match dashboards/")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
