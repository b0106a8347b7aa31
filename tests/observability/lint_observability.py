#!/usr/bin/env python3
"""Lints the isrguard Grafana dashboard and alert rules against the metrics contract.

Dashboard checks: fixed uid, schemaVersion, the `datasource` / `namespace` / `job` template variables, every
panel and target on the `${datasource}` variable, every metric selector carrying job=~"$job" and
namespace=~"$namespace", every metric name documented in docs/metrics.md. Then all expressions, with the
template variables replaced by concrete values, are written as recording rules to a generated rule file and
checked with `promtool check rules`: that proves every dashboard expression parses.

Rule file checks: every metric name documented, every selector pinned to job="isrguard", every alert with
severity, summary and description.

usage: lint_observability.py --promtool P --dashboard D --rules R --metrics-doc M --work-dir W [--self-test]
--self-test: applies known-bad mutations and fails unless each one is reported (proves the lint can fail).
"""
import argparse
import copy
import json
import os
import re
import subprocess
import sys

import yaml

UID = "isrguard"
MIN_SCHEMA_VERSION = 36
DS_VAR_UIDS = ("${datasource}", "$datasource")
JOB_MATCHER = 'job=~"$job"'
NS_MATCHER = 'namespace=~"$namespace"'
RULES_JOB_MATCHER = 'job="isrguard"'
# Prometheus' own series that the dashboard and rules may use besides the contract.
BUILTIN_METRICS = {"up"}
# Grafana's built-in interval variables and the values used to make expressions concrete.
GRAFANA_BUILTINS = {"$__rate_interval": "1m", "$__interval": "30s", "$__range": "1h"}
# Variable values tried for $job / $namespace: a concrete value each and the "All" regex.
VARIABLE_VALUES = [{"$job": "isrguard", "$namespace": "kafka"}, {"$job": ".*", "$namespace": ".*"}]

IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')


def contract_metrics(metrics_doc):
    """Series names from the tables of docs/metrics.md (histograms expand to _bucket/_sum/_count)."""
    names = set()
    row = re.compile(r"^\|\s*`([a-z_:][a-z0-9_:]*)`\s*\|\s*([a-z]+)\s*\|")
    with open(metrics_doc, encoding="utf-8") as f:
        for line in f:
            m = row.match(line)
            if not m:
                continue
            name, kind = m.groups()
            if kind == "histogram":
                names.update(name + s for s in ("_bucket", "_sum", "_count"))
            else:
                names.add(name)
    return names


def selectors(expr):
    """(metric name or None, matcher text) for every vector selector in expr, plus bare metric names."""
    found = []
    blanked = STRING.sub(lambda m: '"' + "x" * (len(m.group(0)) - 2) + '"', expr)
    for m in re.finditer(r"\{[^{}]*\}", blanked):
        before = blanked[: m.start()]
        name = re.search(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*$", before)
        # "by (...)"-style groupings never precede "{", so a name right before "{" is the metric.
        found.append((name.group(1) if name else None, expr[m.start() + 1 : m.end() - 1]))
    return found, blanked


KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
    "inf", "nan", "Inf", "NaN", "le",
}


def metric_identifiers(blanked):
    """Identifiers that look like metric names (not functions, keywords, or labels in by/without lists)."""
    no_groupings = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", blanked)
    no_matchers = re.sub(r"\{[^{}]*\}", " ", no_groupings)
    no_ranges = re.sub(r"\[[^\]]*\]", " ", no_matchers)
    out = []
    for m in IDENT.finditer(no_ranges):
        word = m.group(0)
        rest = no_ranges[m.end() :].lstrip()
        if rest.startswith("("):  # function call or aggregation
            continue
        if word in KEYWORDS or re.fullmatch(r"[0-9a-fA-FxX]+", word):
            continue
        if no_ranges[: m.start()].endswith("$"):
            continue
        out.append(word)
    return out


def check_expr(where, expr, known, required, problems):
    sels, blanked = selectors(expr)
    for name, matchers in sels:
        if name is None:
            problems.append(f"{where}: selector {{{matchers}}} without a metric name")
            continue
        for r in required:
            if r not in matchers:
                problems.append(f"{where}: selector of {name} lacks {r}: {expr}")
    for word in metric_identifiers(blanked):
        if word not in known:
            problems.append(f"{where}: metric {word} is not in docs/metrics.md: {expr}")
        else:
            # every occurrence of a metric must come with a matcher block
            for m in re.finditer(r"(?<![A-Za-z0-9_:])" + re.escape(word) + r"(?![A-Za-z0-9_:])", blanked):
                if not blanked[m.end() :].lstrip().startswith("{"):
                    problems.append(f"{where}: {word} used without {{...}} matchers: {expr}")
                    break


def all_panels(dash):
    for p in dash.get("panels", []):
        yield p
        for inner in p.get("panels", []) or []:  # collapsed rows keep their panels inside
            yield inner


def uses_ds_var(ds):
    if isinstance(ds, str):
        return ds in DS_VAR_UIDS
    return isinstance(ds, dict) and ds.get("uid") in DS_VAR_UIDS and ds.get("type", "prometheus") == "prometheus"


def lint_dashboard(dash, known):
    """Returns (problems, [(record name, expr with variables)])."""
    problems, exprs = [], []
    if dash.get("uid") != UID:
        problems.append(f"dashboard uid is {dash.get('uid')!r}, want {UID!r}")
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < MIN_SCHEMA_VERSION:
        problems.append(f"schemaVersion {dash.get('schemaVersion')!r} < {MIN_SCHEMA_VERSION}")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("template variable 'datasource' must be of type datasource with query prometheus")
    for name in ("namespace", "job"):
        v = variables.get(name)
        if not v or v.get("type") != "query":
            problems.append(f"template variable {name!r} missing or not a query variable")
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if not re.fullmatch(r"label_values\(isrguard_ready(\{[^}]*\})?,\s*" + name + r"\)", q or ""):
            problems.append(f"template variable {name!r} query {q!r} is not label_values(isrguard_ready..., {name})")
        if not uses_ds_var(v.get("datasource")):
            problems.append(f"template variable {name!r} does not use the datasource variable")
    ids = set()
    panels = list(all_panels(dash))
    if not panels:
        problems.append("dashboard has no panels")
    for p in panels:
        pid = p.get("id")
        where = f"panel {pid} {p.get('title')!r}"
        if pid in ids:
            problems.append(f"{where}: duplicate panel id")
        ids.add(pid)
        if "gridPos" not in p:
            problems.append(f"{where}: no gridPos")
        if p.get("type") == "row":
            continue
        if not uses_ds_var(p.get("datasource")):
            problems.append(f"{where}: panel datasource is not the datasource variable")
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"{where}: no targets")
        for t in targets:
            twhere = f"{where} target {t.get('refId')}"
            if not uses_ds_var(t.get("datasource")):
                problems.append(f"{twhere}: target datasource is not the datasource variable")
            expr = (t.get("expr") or "").strip()
            if not expr:
                problems.append(f"{twhere}: empty expr")
                continue
            if not (JOB_MATCHER in expr and NS_MATCHER in expr):
                problems.append(f"{twhere}: expr does not use {JOB_MATCHER} and {NS_MATCHER}")
            check_expr(twhere, expr, known, (JOB_MATCHER, NS_MATCHER), problems)
            exprs.append((f"isrguard_dashboard_lint:panel_{pid}_{t.get('refId')}", expr))
    return problems, exprs


def concrete(expr, values):
    for k, v in GRAFANA_BUILTINS.items():
        expr = expr.replace(k, v)
    for k, v in values.items():
        expr = expr.replace("${" + k[1:] + "}", v).replace(k, v)
    return expr


def lint_rules(rules, known):
    problems = []
    groups = rules.get("groups") if isinstance(rules, dict) else None
    if not groups:
        return ["rule file has no groups"]
    alerts = 0
    for g in groups:
        for r in g.get("rules", []):
            name = r.get("alert") or r.get("record")
            where = f"rule {name}"
            check_expr(where, str(r.get("expr", "")), known, (RULES_JOB_MATCHER,), problems)
            if "alert" in r:
                alerts += 1
                if r.get("labels", {}).get("severity") not in ("info", "warning", "critical"):
                    problems.append(f"{where}: severity label missing or not info/warning/critical")
                for a in ("summary", "description"):
                    if not r.get("annotations", {}).get(a):
                        problems.append(f"{where}: no {a} annotation")
    if alerts == 0:
        problems.append("rule file has no alerts")
    return problems


def promtool_check(promtool, exprs, work_dir):
    """Writes exprs as recording rules (JSON is valid YAML) and runs promtool check rules on them."""
    os.makedirs(work_dir, exist_ok=True)
    problems = []
    for i, values in enumerate(VARIABLE_VALUES):
        rules = {"groups": [{"name": "isrguard_dashboard_lint",
                             "rules": [{"record": rec, "expr": concrete(e, values)} for rec, e in exprs]}]}
        for r in rules["groups"][0]["rules"]:
            if "$" in r["expr"]:
                problems.append(f"{r['record']}: unresolved template variable in {r['expr']}")
        path = os.path.join(work_dir, f"dashboard-exprs-{i}.rules.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(rules, f, indent=2)
        proc = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            problems.append(f"promtool check rules {path} failed:\n{proc.stdout}{proc.stderr}")
    return problems


def self_test(dash, rules, known, promtool, work_dir):
    """Each mutation must make the lint report a problem."""
    def first_target(d):
        return next(t for p in all_panels(d) if p.get("type") != "row" for t in p["targets"])

    def set_expr(d, e):
        first_target(d)["expr"] = e

    mutations = {
        "uid changed": lambda d: d.update(uid="other"),
        "namespace matcher dropped": lambda d: set_expr(d, first_target(d)["expr"].replace(", " + NS_MATCHER, "")),
        "second selector without matchers": lambda d: set_expr(
            d, first_target(d)["expr"] + " and on() isrguard_ready{" + JOB_MATCHER + "}"),
        "bare metric": lambda d: set_expr(d, first_target(d)["expr"] + " * on() group_left isrguard_ready"),
        "unknown metric": lambda d: set_expr(d, 'isrguard_redy{' + JOB_MATCHER + ", " + NS_MATCHER + "}"),
        "syntax error": lambda d: set_expr(d, "sum(isrguard_ready{" + JOB_MATCHER + ", " + NS_MATCHER + "}"),
        "hard-coded datasource": lambda d: first_target(d).update(datasource={"type": "prometheus", "uid": "abc"}),
        "job variable removed": lambda d: d["templating"].update(
            list=[v for v in d["templating"]["list"] if v["name"] != "job"]),
    }
    failures = []
    for name, mutate in mutations.items():
        d = copy.deepcopy(dash)
        mutate(d)
        problems, exprs = lint_dashboard(d, known)
        if not problems:
            problems = promtool_check(promtool, exprs, os.path.join(work_dir, "self-test"))
        if not problems:
            failures.append(f"dashboard mutation not detected: {name}")
        else:
            print(f"ok: {name} -> {problems[0].splitlines()[0]}")
    rule_mutations = {
        "rule job matcher dropped": lambda r: r["groups"][0]["rules"][0].update(
            expr=r["groups"][0]["rules"][0]["expr"].replace(RULES_JOB_MATCHER, 'job="x"')),
        "rule severity dropped": lambda r: r["groups"][0]["rules"][0]["labels"].pop("severity"),
        "rule description dropped": lambda r: r["groups"][0]["rules"][0]["annotations"].pop("description"),
    }
    for name, mutate in rule_mutations.items():
        r = copy.deepcopy(rules)
        mutate(r)
        problems = lint_rules(r, known)
        if not problems:
            failures.append(f"rule mutation not detected: {name}")
        else:
            print(f"ok: {name} -> {problems[0]}")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--promtool", required=True)
    ap.add_argument("--dashboard", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--metrics-doc", required=True)
    ap.add_argument("--work-dir", required=True)
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    try:
        with open(a.dashboard, encoding="utf-8") as f:
            dash = json.load(f)
        with open(a.rules, encoding="utf-8") as f:
            rules = yaml.safe_load(f)
        known = contract_metrics(a.metrics_doc) | BUILTIN_METRICS
    except (OSError, ValueError, yaml.YAMLError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if len(known) < 10:
        print(f"error: found only {len(known)} metrics in {a.metrics_doc}", file=sys.stderr)
        return 1
    if a.self_test:
        failures = self_test(dash, rules, known, a.promtool, a.work_dir)
        for f in failures:
            print("FAIL: " + f, file=sys.stderr)
        return 1 if failures else 0
    try:
        problems, exprs = lint_dashboard(dash, known)
        problems += lint_rules(rules, known)
    except (AttributeError, TypeError, KeyError) as e:
        print(f"error: malformed dashboard or rule file: {e!r}", file=sys.stderr)
        return 1
    if not problems:
        problems += promtool_check(a.promtool, exprs, a.work_dir)
    for p in problems:
        print("FAIL: " + p, file=sys.stderr)
    if not problems:
        print(f"dashboard: {len(exprs)} expressions lint clean and parse; rules lint clean")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
