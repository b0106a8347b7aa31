#!/usr/bin/env python3
"""End-to-end check of the isrguard dashboard and alert rules on a real Prometheus server.

Starts Debian's `prometheus` on 127.0.0.1 (a free port found by binding a socket first: Prometheus has no
port 0), scraping an isrguard /metrics endpoint every second and evaluating the alert rules every second,
with every `for:` shortened (--for, default 2s) in a generated copy of the rule file. It then drives the
target through phases and asserts, through the HTTP API:

  * every dashboard expression (template variables made concrete) and every rule expression parses
    (/api/v1/query answers success), and every dashboard expression returns data while Kafka is unhealthy;
  * the alerts expected for each phase go pending and then firing (the ALERTS series records the pending
    evaluation), the others stay inactive, and the alerts resolve on recovery.

Targets:
  --fake            a small exporter inside this script serving a sample that follows docs/metrics.md for a
                    six-broker cluster (ec2 brokers 1-3, k8s brokers 4-6): healthy -> broker 5 lost ->
                    recovered -> Kafka unreachable -> exporter down. Phases switch when Prometheus has seen
                    the previous one (conditions are awaited, never slept for).
  --isrguard BIN    the real service, started with --http-address 127.0.0.1 --http-port 0 (the port is read
                    from its "listening on" log line) plus any --isrguard-arg. With --kafkasim BIN --scenario
                    FILE the simulator is started first as
                      BIN FILE --manual --control-port 0 [--kafkasim-arg ...]
                    it prints `control=HOST:PORT` and `bootstrap=HOST:PORT,...` (the latter becomes
                    --bootstrap-servers). The scenario must start healthy; its first step (applied with
                    POST /scenario/advance) is the outage and its second the recovery, as in
                    tests/kafkasim/scenarios/hybrid-demo.json. Name the alerts that outage must raise with
                    --expect-alert. Phases: healthy -> outage -> recovered -> simulator stopped (probe
                    failures, stale snapshot) -> isrguard stopped. Without kafkasim (e.g.
                    --isrguard-arg=--mock-brokers=3) only healthy -> isrguard stopped.
                    Pass short isrguard timings so phases fit --timeout, e.g. --isrguard-arg=--poll-interval=200ms
                    --isrguard-arg=--stale-after=2s --isrguard-arg=--recovery-hold=1s.

Python standard library only. Exit 0 when everything held, 1 with the reasons otherwise.
"""
import argparse
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

JOB = "isrguard"
NAMESPACE = "e2e"  # added as a target label, as Kubernetes service discovery would
POLL_S = 0.2  # polling period while awaiting a condition
# Grafana built-ins made concrete; a 10s window holds ~10 samples at the 1s scrape interval.
GRAFANA_BUILTINS = {"$__rate_interval": "10s", "$__interval": "1s", "$__range": "1m"}

ALL_ALERTS = [
    "IsrguardEvictionsBlockedTooLong", "IsrguardOfflinePartitions", "IsrguardUnderMinIsrPartitions",
    "IsrguardBrokersMissing", "IsrguardBrokerUnresponsive", "IsrguardProbeFailing", "IsrguardSnapshotStale",
    "IsrguardOverrideActiveLong", "IsrguardOverridesFileInvalid", "IsrguardDown", "IsrguardAbsent",
]


class Failure(Exception):
    pass


def log(msg):
    print(f"[e2e {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------------------------------------
# Fake exporter: a six-broker cluster model rendered per docs/metrics.md.

FLEETS = {1: "ec2", 2: "ec2", 3: "ec2", 4: "k8s", 5: "k8s", 6: "k8s"}
RACKS = {1: "zone-a", 2: "zone-b", 3: "zone-c", 4: "zone-a", 5: "zone-b", 6: "zone-c"}
LOST_BROKER = 5
# topic -> (min.insync.replicas, [replica lists per partition])
TOPICS = {
    "orders": (2, [[1, 4, 2], [2, 5, 3], [3, 6, 1], [4, 1, 5], [5, 2, 6], [6, 3, 4]]),
    "payments": (2, [[5, 1], [2, 5], [3, 4]]),
    "audit": (1, [[5]]),
}
GATING = {"offline_partitions", "under_replicated_partitions", "under_min_isr_partitions", "brokers_missing",
          "brokers_unresponsive", "brokers_reconnected", "controller_unknown", "metadata_errors", "probe_failed",
          "snapshot_stale"}
REASONS = ["offline_partitions", "under_replicated_partitions", "under_min_isr_partitions",
           "at_min_isr_partitions", "brokers_missing", "brokers_unresponsive", "brokers_reconnected",
           "controller_unknown",
           "metadata_errors", "probe_failed", "snapshot_stale", "min_isr_risk_topics", "min_isr_unknown_topics"]
PSTATES = ["offline", "under_replicated", "under_min_isr", "at_min_isr", "reassigning", "error"]
BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]


def cluster_view(lost):
    """Per-partition states and per-broker counts with the brokers in `lost` gone."""
    parts = []  # (topic, partition, leader, states)
    lead = {b: {"urp": 0, "under": 0, "at": 0, "leaders": 0, "replicas": 0} for b in FLEETS}
    for topic, (min_isr, partitions) in TOPICS.items():
        for i, replicas in enumerate(partitions):
            isr = [r for r in replicas if r not in lost]
            leader = isr[0] if isr else -1
            states = []
            if leader < 0:
                states.append("offline")
            if len(isr) < len(replicas):
                states.append("under_replicated")
            if len(isr) < min_isr:
                states.append("under_min_isr")
            elif len(isr) == min_isr:
                states.append("at_min_isr")
            parts.append((topic, i, leader, replicas, states))
            for r in replicas:
                if r not in lost:
                    lead[r]["replicas"] += 1
            if leader > 0:
                lead[leader]["leaders"] += 1
                lead[leader]["urp"] += "under_replicated" in states
                lead[leader]["under"] += "under_min_isr" in states
                lead[leader]["at"] += "at_min_isr" in states
    return parts, lead


def disruption_view(lost):
    """Per broker: partitions that would go offline or under min ISR if it alone stopped now (topics with
    replicas <= min.insync.replicas excluded, as isrguard does by default)."""
    blocking = {b: 0 for b in FLEETS}
    for min_isr, partitions in TOPICS.values():
        for replicas in partitions:
            if len(replicas) <= min_isr:
                continue
            isr = [r for r in replicas if r not in lost]
            for r in isr:
                blocking[r] += len(isr) - 1 < min_isr
    return blocking


class FakeIsrguard:
    """Holds the phase and renders /metrics for it. Thread-safe: the HTTP thread reads, the test writes."""

    def __init__(self, defect=None):
        # defect "no-missing-broker": report every broker present even when one is lost (a deliberately
        # wrong exporter, so that a test run proves the brokers-missing checks can fail).
        self.defect = defect
        self.lock = threading.Lock()
        self.phase = "healthy"
        self.start = time.time()
        self.last_transition = self.start
        self.transitions = 0
        self.probes = 0
        self.failures = {"timeout": 0, "transport": 0, "metadata": 0, "client": 0, "auth": 0, "tls": 0}
        self.durations = []
        self.last_success = self.start
        self.lost = set()

    def set_phase(self, phase):
        with self.lock:
            was_ready = self._ready()
            self.phase = phase
            if phase == "broker_lost":
                self.lost = {LOST_BROKER}
            elif phase == "recovered":
                self.lost = set()
            if self._ready() != was_ready:
                self.transitions += 1
                self.last_transition = time.time()

    def _ready(self):
        return self.phase in ("healthy", "recovered")

    def render(self):
        with self.lock:
            if self.phase == "exporter_down":
                return None
            now = time.time()
            self.probes += 1
            if self.phase == "kafka_unreachable":
                self.failures["timeout"] += 1
                self.durations.append(1.0)  # probes run into the timeout
            else:
                self.last_success = now
                self.durations.append(0.012)
            return self._text(now)

    def _text(self, now):
        out = []

        def family(name, kind, help_text, samples):
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")
            for labels, value in samples:
                lbl = ",".join(f'{k}="{v}"' for k, v in labels.items())
                out.append(f"{name}{{{lbl}}} {value}" if lbl else f"{name} {value}")

        parts, lead = cluster_view(self.lost)
        unreachable = self.phase == "kafka_unreachable"
        present = [b for b in FLEETS if b not in self.lost]
        missing = set() if self.defect == "no-missing-broker" else self.lost
        count = {s: sum(s in p[4] for p in parts) for s in PSTATES}
        brokers = [({"broker_id": b, "fleet": FLEETS[b]}, lead[b]) for b in FLEETS]
        # kafka_* per-broker series: brokers present only (a dead broker has no JMX).
        alive = [(l, c) for l, c in brokers if l["broker_id"] in present]
        family("kafka_server_replicamanager_underreplicatedpartitions", "gauge", "URP led",
               [(l, c["urp"]) for l, c in alive])
        family("kafka_server_replicamanager_underminisrpartitioncount", "gauge", "under min ISR led",
               [(l, c["under"]) for l, c in alive])
        family("kafka_server_replicamanager_atminisrpartitioncount", "gauge", "at min ISR led",
               [(l, c["at"]) for l, c in alive])
        family("kafka_server_replicamanager_leadercount", "gauge", "leaders", [(l, c["leaders"]) for l, c in alive])
        family("kafka_server_replicamanager_partitioncount", "gauge", "replicas",
               [(l, c["replicas"]) for l, c in alive])
        controller = min(present)
        family("kafka_controller_kafkacontroller_activecontrollercount", "gauge", "controller",
               [(l, int(int(l["broker_id"]) == controller)) for l, _ in alive])
        family("isrguard_broker_led_unhealthy_partitions", "gauge", "led partitions by state",
               [(dict(l, state=s), c[k]) for l, c in brokers
                for s, k in (("under_replicated", "urp"), ("under_min_isr", "under"), ("at_min_isr", "at"))])
        family("kafka_controller_kafkacontroller_offlinepartitionscount", "gauge", "offline", [({}, count["offline"])])
        family("kafka_controller_kafkacontroller_globalpartitioncount", "gauge", "partitions", [({}, len(parts))])
        family("kafka_controller_kafkacontroller_globaltopiccount", "gauge", "topics", [({}, len(TOPICS))])
        family("kafka_controller_kafkacontroller_preferredreplicaimbalancecount", "gauge", "imbalance",
               [({}, sum(p[2] > 0 and p[2] != p[3][0] for p in parts))])

        affected = {
            "offline_partitions": count["offline"], "under_replicated_partitions": count["under_replicated"],
            "under_min_isr_partitions": count["under_min_isr"], "at_min_isr_partitions": count["at_min_isr"],
            "brokers_missing": len(missing), "brokers_unresponsive": 0, "brokers_reconnected": 0,
            "controller_unknown": 0,
            "metadata_errors": 0, "probe_failed": int(unreachable),
            "snapshot_stale": int(unreachable),
            "min_isr_risk_topics": sum(len(ps[0]) <= m for m, ps in TOPICS.values()), "min_isr_unknown_topics": 0,
        }
        ready = self._ready()
        state = "open" if ready else "closed"
        family("isrguard_ready", "gauge", "ready", [({}, int(ready))])
        family("isrguard_gate_state", "gauge", "gate state",
               [({"state": s}, int(s == state)) for s in ("initializing", "closed", "recovering", "open")])
        family("isrguard_gate_transitions_total", "counter", "transitions", [({}, self.transitions)])
        family("isrguard_gate_last_transition_timestamp_seconds", "gauge", "last transition",
               [({}, f"{self.last_transition:.3f}")])
        family("isrguard_reason_active", "gauge", "reason active",
               [({"reason": r, "gating": str(r in GATING).lower()}, int(affected[r] > 0)) for r in REASONS])
        family("isrguard_reason_affected", "gauge", "affected", [({"reason": r}, affected[r]) for r in REASONS])
        family("isrguard_brokers", "gauge", "brokers",
               [({"fleet": f, "state": s}, sum(FLEETS[b] == f and ((b in missing) == (s == "missing")) for b in FLEETS))
                for f in ("ec2", "k8s") for s in ("up", "missing")])
        family("isrguard_broker_up", "gauge", "broker up",
               [(l, int(int(l["broker_id"]) not in missing)) for l, _ in brokers])
        blocking = disruption_view(self.lost)
        by_rack = [({"broker_id": b, "fleet": FLEETS[b], "rack": RACKS[b] if b not in self.lost else ""}, blocking[b])
                   for b in FLEETS]
        family("isrguard_broker_safe_to_disrupt", "gauge", "may go now",
               [(l, int(n == 0 and not unreachable)) for l, n in by_rack])
        family("isrguard_broker_disruption_blocking_partitions", "gauge", "blocking partitions", by_rack)
        family("isrguard_partitions", "gauge", "partitions by state", [({"state": s}, count[s]) for s in PSTATES])
        family("isrguard_partitions_selected", "gauge", "selected", [({}, len(parts))])
        per_topic = {}
        for topic, _, _, _, states in parts:
            for s in states:
                per_topic[(topic, s)] = per_topic.get((topic, s), 0) + 1
        family("isrguard_topic_unhealthy_partitions", "gauge", "per topic",
               [({"topic": t, "state": s}, n) for (t, s), n in sorted(per_topic.items())])
        family("isrguard_partition_unhealthy", "gauge", "per partition",
               [({"topic": t, "partition": i, "state": s}, 1) for t, i, _, _, states in parts for s in states])
        family("isrguard_partition_series_dropped", "gauge", "dropped", [({}, 0)])
        family("isrguard_probes_total", "counter", "probes", [({}, self.probes)])
        family("isrguard_probe_failures_total", "counter", "failures",
               [({"kind": k}, v) for k, v in self.failures.items()])
        out.append("# HELP isrguard_probe_duration_seconds probe duration")
        out.append("# TYPE isrguard_probe_duration_seconds histogram")
        for b in BUCKETS:
            out.append(f'isrguard_probe_duration_seconds_bucket{{le="{b}"}} {sum(d <= b for d in self.durations)}')
        out.append(f'isrguard_probe_duration_seconds_bucket{{le="+Inf"}} {len(self.durations)}')
        out.append(f"isrguard_probe_duration_seconds_sum {sum(self.durations):.3f}")
        out.append(f"isrguard_probe_duration_seconds_count {len(self.durations)}")
        family("isrguard_last_successful_probe_timestamp_seconds", "gauge", "last success",
               [({}, f"{self.last_success:.3f}")])
        family("isrguard_snapshot_age_seconds", "gauge", "snapshot age", [({}, f"{now - self.last_success:.3f}")])
        family("isrguard_build_info", "gauge", "build", [({"version": "0.0.0-fake", "commit": "fake"}, 1)])
        family("isrguard_overrides_reload_errors_total", "counter", "overrides reload errors", [({}, 0)])
        family("isrguard_overrides_file_valid", "gauge", "overrides file valid", [({}, 1)])
        return "\n".join(out) + "\n"


def serve_fake(fake):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server API)
            body = fake.render() if self.path.split("?")[0] == "/metrics" else None
            if body is None:
                self.send_response(503 if self.path.startswith("/metrics") else 404)
                self.end_headers()
                return
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --------------------------------------------------------------------------------------------------------
# Processes and Prometheus.

class Procs:
    def __init__(self, work):
        self.work = work
        self.procs = {}

    def start(self, name, argv):
        logf = open(os.path.join(self.work, f"{name}.log"), "wb")
        p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs[name] = (p, logf)
        log(f"started {name} (pid {p.pid}): {' '.join(argv)}")
        return p

    def log_text(self, name):
        try:
            with open(os.path.join(self.work, f"{name}.log"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, name):
        p, logf = self.procs.pop(name, (None, None))
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        logf.close()
        log(f"stopped {name}")

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def await_true(what, fn, timeout):
    """Polls fn() until it returns a truthy value; raises Failure naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = fn()
            if value:
                return value
        except (urllib.error.URLError, ConnectionError) as e:
            last = e
        if time.monotonic() > deadline:
            suffix = f" (last error: {last})" if last else ""
            raise Failure(f"timed out after {timeout}s waiting for: {what}{suffix}")
        time.sleep(POLL_S)


class Prom:
    def __init__(self, base):
        self.base = base

    def get(self, path, params=None):
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:  # 400/422 carry the error JSON
            return json.load(e)

    def query(self, expr):
        """Returns (ok, result list or error text)."""
        body = urllib.parse.urlencode({"query": expr}).encode()
        try:
            with urllib.request.urlopen(self.base + "/api/v1/query", data=body, timeout=5) as r:
                doc = json.load(r)
        except urllib.error.HTTPError as e:
            doc = json.load(e)
        if doc.get("status") != "success":
            return False, f"{doc.get('errorType')}: {doc.get('error')}"
        data = doc["data"]
        result = data["result"]
        if data["resultType"] == "scalar":
            result = [result]
        return True, result

    def alerts(self):
        doc = self.get("/api/v1/alerts")
        return {(a["labels"]["alertname"], a["state"]) for a in doc["data"]["alerts"]}


def start_prometheus(procs, prometheus, work, config, attempts=3):
    for _ in range(attempts):
        port = free_port()
        p = procs.start("prometheus", [
            prometheus, f"--config.file={config}", f"--storage.tsdb.path={os.path.join(work, 'tsdb')}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=info"])
        prom = Prom(f"http://127.0.0.1:{port}")

        def ready():
            if p.poll() is not None:
                return "exited"
            try:
                with urllib.request.urlopen(prom.base + "/-/ready", timeout=2) as r:
                    return r.status == 200
            except (urllib.error.URLError, ConnectionError):
                return False

        if await_true("prometheus /-/ready", ready, 30) == "exited":
            text = procs.log_text("prometheus")
            procs.stop("prometheus")
            if "address already in use" in text:
                log(f"port {port} was taken meanwhile; retrying")
                continue
            raise Failure("prometheus exited at start:\n" + text[-3000:])
        return prom
    raise Failure("prometheus could not bind a free port")


def shortened_rules(rules_text, for_override):
    """The rule file with every `for:` replaced; fails unless every alert has exactly one `for:`."""
    alerts = len(re.findall(r"^\s*- alert:", rules_text, re.M))
    text, n = re.subn(r"^(\s+for:\s*)\S+\s*$", lambda m: m.group(1) + for_override, rules_text, flags=re.M)
    if alerts == 0 or n != alerts:
        raise Failure(f"rule file has {alerts} alerts but {n} 'for:' lines; cannot shorten the thresholds")
    return text, alerts


def dashboard_exprs(dashboard):
    out = []

    def panels(ps):
        for p in ps:
            yield p
            yield from panels(p.get("panels") or [])

    for p in panels(dashboard.get("panels", [])):
        for t in p.get("targets") or []:
            e = t.get("expr")
            if not e:
                continue
            for k, v in GRAFANA_BUILTINS.items():
                e = e.replace(k, v)
            e = e.replace("$job", JOB).replace("$namespace", NAMESPACE)
            if "$" in e:
                raise Failure(f"panel {p.get('id')} {p.get('title')!r}: unresolved variable in {e}")
            out.append((f"panel {p.get('id')} {p.get('title')!r} {t.get('refId')}", e))
    return out


# --------------------------------------------------------------------------------------------------------
# Checks.

def check_all_parse(prom, exprs, label):
    bad = []
    for where, e in exprs:
        ok, res = prom.query(e)
        if not ok:
            bad.append(f"{where}: {e}: {res}")
    if bad:
        raise Failure(f"{label}: expressions rejected by Prometheus:\n  " + "\n  ".join(bad))
    log(f"{label}: all {len(exprs)} expressions parse")


def await_all_have_data(prom, exprs, label, timeout):
    missing = []

    def all_data():
        missing.clear()
        for where, e in exprs:
            ok, res = prom.query(e)
            if not ok or not res:
                missing.append(f"{where}: {e}" + ("" if ok else f" ({res})"))
        return not missing

    try:
        await_true(f"{label}: every expression returns data", all_data, timeout)
    except Failure as e:
        raise Failure(f"{e}\n  without data:\n  " + "\n  ".join(missing))
    log(f"{label}: all {len(exprs)} expressions return data")


def await_alerts(prom, expected, label, timeout):
    """Awaits every expected alert firing while no other alert is pending or firing."""
    started = time.time()
    expected = set(expected)
    seen = {}

    def state():
        active = prom.alerts()
        seen["active"] = active
        # An alert outside `expected` may still be resolving from the previous phase: wait it out.
        unexpected = {a for a, _ in active if a not in expected}
        return not unexpected and all((a, "firing") in active for a in expected)

    try:
        await_true(f"{label}: alerts {sorted(expected) or 'none'} firing", state, timeout)
    except Failure as e:
        raise Failure(f"{e}\n  active now: {sorted(seen.get('active', []))}\n  "
                      + "\n  ".join(f"{a} did not fire" for a in sorted(expected)
                                    if (a, "firing") not in seen.get("active", set())))
    # Each alert went through pending in this phase: the ALERTS series keeps the pending evaluations. The
    # window reaches back to this phase's start plus two evaluation intervals (the switch happened just before).
    window = int(time.time() - started) + 3
    for a in sorted(expected):
        ok, res = prom.query(f'count_over_time(ALERTS{{alertname="{a}", alertstate="pending"}}[{window}s])')
        if not ok or not res:
            raise Failure(f"{label}: {a} fired without a recorded pending state")
    if expected:
        log(f"{label}: {sorted(expected)} went pending, then firing; no other alert active")
    else:
        log(f"{label}: no alert active")


def unresponsive_in_last_snapshot(prom, timeout):
    """["IsrguardBrokerUnresponsive"] when the last snapshot before the probes failed has a broker that did not
    answer its check, else []. While probes fail the per-broker series keep the last snapshot's values, and a
    probe whose Metadata was answered just before kafkasim stopped records every broker's check unanswered (seen
    once in CI under ASan). Once probe_failed is active no probe succeeds again, so that snapshot is the last."""
    await_true("probe_failed active", lambda: prom.query(
        f'isrguard_reason_active{{job="{JOB}", reason="probe_failed"}} == 1')[1], timeout)
    ok, res = prom.query(f'isrguard_broker_responsive{{job="{JOB}"}} == 0')
    if not ok:
        raise Failure(f"isrguard_broker_responsive: {res}")
    if res:
        log(f"kafka unreachable: the last snapshot has {len(res)} broker(s) unanswered: IsrguardBrokerUnresponsive "
            "expected too")
        return ["IsrguardBrokerUnresponsive"]
    return []


def check_rule_exprs(prom, rules, expected_firing, label):
    """Every loaded rule parses; exactly the alerts expected to fire have a non-empty expression result."""
    wrong = []
    for name, e in rules:
        ok, res = prom.query(e)
        if not ok:
            wrong.append(f"{name}: {e}: {res}")
        elif bool(res) != (name in expected_firing):
            wrong.append(f"{name}: expression {'returns' if res else 'returns no'} data: {e}")
    if wrong:
        raise Failure(f"{label}: rule expressions:\n  " + "\n  ".join(wrong))
    log(f"{label}: all {len(rules)} rule expressions parse; data exactly for {sorted(expected_firing)}")


def loaded_rules(prom, want_alerts, for_seconds):
    doc = prom.get("/api/v1/rules", {"type": "alert"})
    rules = [(r["name"], r["query"], r.get("duration")) for g in doc["data"]["groups"] for r in g["rules"]]
    names = [n for n, _, _ in rules]
    if len(rules) != want_alerts or sorted(names) != sorted(ALL_ALERTS):
        raise Failure(f"Prometheus loaded alerts {names}, want {ALL_ALERTS}")
    slow = [n for n, _, d in rules if d != for_seconds]
    if slow:
        raise Failure(f"alerts without the shortened for: {slow}")
    return [(n, q) for n, q, _ in rules]


# --------------------------------------------------------------------------------------------------------

def run(a, work):
    procs = Procs(work)
    fake = None
    fake_server = None
    try:
        try:
            with open(a.rules, encoding="utf-8") as f:
                rules_text, n_alerts = shortened_rules(f.read(), a.for_)
            with open(a.dashboard, encoding="utf-8") as f:
                dash = dashboard_exprs(json.load(f))
        except (OSError, ValueError, AttributeError, TypeError) as e:
            raise Failure(f"cannot read the dashboard or rule file: {e}")
        rules_path = os.path.join(work, "rules.yaml")
        with open(rules_path, "w", encoding="utf-8") as f:
            f.write(rules_text)

        if a.fake:
            fake = FakeIsrguard(defect=a.fake_defect)
            fake_server = serve_fake(fake)
            target = f"127.0.0.1:{fake_server.server_address[1]}"
            if a.promtool:
                for phase in ("healthy", "broker_lost", "kafka_unreachable"):
                    probe = FakeIsrguard()
                    probe.set_phase(phase)
                    chk = subprocess.run([a.promtool, "check", "metrics"], input=probe.render(), text=True,
                                         capture_output=True)
                    if chk.returncode != 0:
                        raise Failure(f"fake sample ({phase}) fails promtool check metrics:\n{chk.stdout}{chk.stderr}")
                log("fake samples pass promtool check metrics")
        else:
            target = start_real(a, procs)

        config = os.path.join(work, "prometheus.yml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {rules_path}
scrape_configs:
  - job_name: {JOB}
    static_configs:
      - targets: ["{target}"]
        labels:
          namespace: {NAMESPACE}
""")
            if a.metric_relabel:
                f.write("    metric_relabel_configs:\n" + indent_yaml_list(a.metric_relabel, "      "))
        prom = start_prometheus(procs, a.prometheus, work, config)
        for_seconds = parse_seconds(a.for_)
        rules = loaded_rules(prom, n_alerts, for_seconds)
        log(f"prometheus at {prom.base}; {len(rules)} alerts loaded with for: {a.for_}; target {target}")
        t = a.timeout

        # Phase 1: healthy.
        await_true("target up and ready", lambda: prom.query(f'isrguard_ready{{job="{JOB}"}} == 1')[1] and
                   prom.query(f'up{{job="{JOB}"}} == 1')[1], t)
        check_all_parse(prom, dash, "healthy: dashboard")
        if a.strimzi_panels:
            check_strimzi_panels(prom, a.strimzi_panels, t)
            return 0
        await_alerts(prom, [], "healthy", t)
        check_rule_exprs(prom, rules, set(), "healthy")

        # Phases 2 and 3 need something that breaks Kafka: the fake, or kafkasim's scenario.
        if fake or a.kafkasim:
            # Phase 2: a broker is lost (fake) or the scenario's outage (real).
            outage = a.expect_alert or ["IsrguardEvictionsBlockedTooLong", "IsrguardOfflinePartitions",
                                        "IsrguardUnderMinIsrPartitions", "IsrguardBrokersMissing"]
            if fake:
                fake.set_phase("broker_lost")
            else:
                log(f"kafkasim: outage step applied: {advance_scenario(a.kafkasim_control)}")
            await_true("gate closed", lambda: prom.query(f'isrguard_ready{{job="{JOB}"}} == 0')[1], t)
            await_all_have_data(prom, dash, "outage: dashboard", t)
            await_alerts(prom, outage, "outage", a.outage_timeout or t)
            check_rule_exprs(prom, rules, set(outage), "outage")

            # Phase 3: recovery.
            if fake:
                fake.set_phase("recovered")
            else:
                log(f"kafkasim: recovery step applied: {advance_scenario(a.kafkasim_control)}")
            await_true("gate open again", lambda: prom.query(f'isrguard_ready{{job="{JOB}"}} == 1')[1], t)
            await_alerts(prom, [], "recovered (alerts resolved)", t)

        # Phase 4: Kafka unreachable -> probe failures, stale snapshot.
        if fake:
            fake.set_phase("kafka_unreachable")
        elif a.kafkasim:
            procs.stop("kafkasim")
        if fake or a.kafkasim:
            unreachable = ["IsrguardEvictionsBlockedTooLong", "IsrguardProbeFailing", "IsrguardSnapshotStale"]
            if a.kafkasim:
                unreachable += unresponsive_in_last_snapshot(prom, t)
            await_alerts(prom, unreachable, "kafka unreachable", t)
            check_rule_exprs(prom, rules, set(unreachable), "kafka unreachable")

        # Phase 5: the exporter itself is down.
        if fake:
            fake.set_phase("exporter_down")
        else:
            procs.stop("isrguard")
        await_alerts(prom, ["IsrguardDown", "IsrguardAbsent"], "isrguard down", t)
        check_rule_exprs(prom, rules, {"IsrguardDown", "IsrguardAbsent"}, "isrguard down")
        return 0
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        for name in ("prometheus", "isrguard", "kafkasim"):
            text = procs.log_text(name)
            if text:
                print(f"--- last lines of {name}.log ---\n{text[-2500:]}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
        if fake_server:
            fake_server.shutdown()
            fake_server.server_close()


def indent_yaml_list(path, prefix):
    """The YAML list in `path` (e.g. dashboards/strimzi-relabel.yaml), indented to sit under a scrape job."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise Failure(f"--metric-relabel: {e}")
    return "".join(prefix + line + "\n" for line in text.splitlines() if line.strip() and not line.startswith("#"))


def check_strimzi_panels(prom, path, timeout):
    """Evaluates the stock Strimzi dashboard panel queries listed in `path`; each must return exactly what the
    file expects (one sample with that value, or no data). Fails naming every panel that differs."""
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)

    def expr_of(panel):
        e = panel["expr"]
        for k, v in spec["variables"].items():
            e = e.replace("$" + k, v)
        return e

    def mismatches():
        bad = []
        for panel in spec["panels"]:
            ok, result = prom.query(expr_of(panel))
            if not ok:
                bad.append(f"{panel['title']}: query error {result}")
                continue
            values = [float(r["value"][1]) for r in result]
            want = [] if panel["expect"] is None else [float(panel["expect"])]
            if values != want:
                bad.append(f"{panel['title']}: got {values}, want {want}")
        return bad

    last = []

    def settled():
        last[:] = mismatches()
        return not last

    try:
        await_true("Strimzi panels", settled, timeout)
    except Failure:
        raise Failure("Strimzi dashboard panels differ: " + "; ".join(last))
    log("Strimzi dashboard panels: " + ", ".join(
        f"{p['title']}={'no data' if p['expect'] is None else p['expect']}" for p in spec["panels"]))


def parse_seconds(d):
    m = re.fullmatch(r"(\d+)(ms|s|m)", d)
    if not m:
        raise Failure(f"--for {d!r}: use e.g. 2s, 1500ms, 1m")
    n, unit = int(m.group(1)), m.group(2)
    return n / 1000 if unit == "ms" else n * 60 if unit == "m" else n


def advance_scenario(control):
    """Applies the next step of kafkasim's manual scenario; returns the steps it applied."""
    req = urllib.request.Request(control + "/scenario/advance", data=b"", method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            doc = json.load(r)
    except urllib.error.HTTPError as e:
        raise Failure(f"kafkasim /scenario/advance answered {e.code}: {e.read()[:500]!r}")
    except (urllib.error.URLError, ConnectionError) as e:
        raise Failure(f"kafkasim /scenario/advance failed: {e}")
    applied = doc.get("applied")
    if not applied:
        raise Failure(f"kafkasim scenario has no step left to apply: {doc}")
    return json.dumps(applied)


def start_real(a, procs):
    bootstrap_args = []
    if a.kafkasim:
        p = procs.start("kafkasim", [a.kafkasim, a.scenario, "--manual", "--control-port", "0", *a.kafkasim_arg])

        def printed(key):
            def find():
                if p.poll() is not None:
                    raise Failure("kafkasim exited:\n" + procs.log_text("kafkasim")[-2000:])
                m = re.search(r"^" + key + r"=(\S+)$", procs.log_text("kafkasim"), re.M)
                return m.group(1) if m else None
            return await_true(f"kafkasim prints {key}=", find, a.timeout)

        a.kafkasim_control = "http://" + printed("control")
        bootstrap_args = ["--bootstrap-servers", printed("bootstrap")]
    p = procs.start("isrguard", [a.isrguard, *bootstrap_args, "--http-address", "127.0.0.1", "--http-port", "0", "--health-port", "0",
                                 *a.isrguard_arg])

    def port():
        if p.poll() is not None:
            raise Failure("isrguard exited:\n" + procs.log_text("isrguard")[-2000:])
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", procs.log_text("isrguard"))
        return m.group(1) if m else None

    return f"127.0.0.1:{await_true('isrguard logs its listening port', port, a.timeout)}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prometheus", required=True, help="prometheus server binary")
    ap.add_argument("--promtool", help="promtool: also check the fake samples with `promtool check metrics`")
    ap.add_argument("--dashboard", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--for", dest="for_", default="2s", help="replacement for every alert's for: (default 2s)")
    ap.add_argument("--timeout", type=float, default=30, help="seconds to await each condition (default 30)")
    ap.add_argument("--outage-timeout", type=float,
                    help="seconds to await the outage alerts (default --timeout; the defect run keeps it short)")
    ap.add_argument("--work-dir", help="keep Prometheus data, config and logs here (default: a temp dir)")
    ap.add_argument("--fake", action="store_true", help="serve a built-in sample instead of running isrguard")
    ap.add_argument("--fake-defect", choices=["no-missing-broker"],
                    help="make the fake exporter wrong on purpose (proves the test detects it)")
    ap.add_argument("--metric-relabel", help="YAML list of metric_relabel_configs for the isrguard scrape job")
    ap.add_argument("--strimzi-panels",
                    help="JSON list of stock Strimzi dashboard panel queries and their expected values; checked in "
                         "the healthy phase, then the run ends")
    ap.add_argument("--isrguard")
    ap.add_argument("--isrguard-arg", action="append", default=[], help="extra isrguard argument (repeatable)")
    ap.add_argument("--kafkasim")
    ap.add_argument("--scenario")
    ap.add_argument("--kafkasim-arg", action="append", default=[], help="extra kafkasim argument (repeatable)")
    ap.add_argument("--expect-alert", action="append", default=[],
                    help="alerts expected during the outage (default: gate, offline, under-min-ISR, brokers missing)")
    a = ap.parse_args()
    if a.fake == bool(a.isrguard):
        ap.error("give exactly one of --fake or --isrguard BIN")
    if bool(a.kafkasim) != bool(a.scenario):
        ap.error("--kafkasim and --scenario go together")
    if a.kafkasim and not a.expect_alert:
        ap.error("--kafkasim needs --expect-alert for each alert its scenario's outage raises")
    if a.fake_defect and not a.fake:
        ap.error("--fake-defect needs --fake")
    for path in filter(None, [a.prometheus, a.promtool, a.isrguard, a.kafkasim]):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)) and not shutil.which(path):
            ap.error(f"not an executable: {path}")
    for path in filter(None, [a.dashboard, a.rules, a.scenario]):
        if not os.path.isfile(path):
            ap.error(f"no such file: {path}")
    try:
        parse_seconds(a.for_)
    except Failure as e:
        ap.error(str(e))
    if a.work_dir:
        shutil.rmtree(a.work_dir, ignore_errors=True)
        os.makedirs(a.work_dir)
        rc = run(a, a.work_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="isrguard-e2e-prom-") as work:
            rc = run(a, work)
    print("e2e prometheus: " + ("passed" if rc == 0 else "FAILED"))
    return rc


if __name__ == "__main__":
    sys.exit(main())
