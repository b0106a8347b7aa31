#!/usr/bin/env python3
"""The table of docs/safety.md over the chunks tests/sim/million.sh wrote: per row, the sums of every
complete chunk file (`sim_run batch` output), in the format `sim_run table` prints.
  combine_table.py OUT_DIR"""
import collections
import os
import re
import sys

LABELS = [
    ("shipped", "shipped"), ("poll_2s", "poll 2 s"), ("poll_15s", "poll 15 s"), ("poll_30s", "poll 30 s"),
    ("probe_timeout_30s", "probe timeout 30 s"), ("hold_0", "recovery hold 0"),
    ("kubelet_10x3", "kubelet 10 s x 3"), ("kubelet_30x3", "kubelet 30 s x 3"),
    ("ready_2s", "broker Ready 2 s after start"), ("startup_2_5s", "broker start-up 2-5 s"),
    ("parallel_3", "parallel drains / budget 3"), ("no_gate", "no gate (PDB over brokers only)"),
    ("unsafe", "unsafe: hold 0, kubelet 10 s x 3, Ready 2 s"),
]
FIELDS = re.compile(r"(\w+)=([0-9.]+)")


def main():
    out = sys.argv[1]
    rows = collections.defaultdict(lambda: collections.Counter())
    worst = collections.Counter()
    chunks = collections.defaultdict(set)
    for name in sorted(os.listdir(out)):
        m = re.match(r"chunk(\d+)_(\w+)\.txt$", name)
        if not m:
            continue
        text = open(os.path.join(out, name)).read()
        if "seconds=" not in text:
            continue
        f = {k: float(v) for k, v in FIELDS.findall(text.splitlines()[0])}
        r = rows[m.group(2)]
        completed = f["scenarios"] - f["stuck"] - f["stuck_with_fault"]
        for k in ("scenarios", "grants", "violations", "races", "stuck"):
            r[k] += int(f[k])
        r["completed"] += completed
        r["completion_sum"] += f["mean_completion_s"] * completed
        worst[m.group(2)] = max(worst[m.group(2)], int(f["worst_window_ms"]))
        chunks[m.group(2)].add(int(m.group(1)))
    print("| setting | scenarios | grants | violations | violations / M | fault races / M | worst window (s) "
          "| mean drain (s) | stuck |")
    print("|---|---|---|---|---|---|---|---|---|")
    total = 0
    for key, label in LABELS:
        r = rows.get(key)
        if not r:
            continue
        total += r["scenarios"]
        m = 1e6 / r["scenarios"]
        mean = r["completion_sum"] / r["completed"] if r["completed"] else 0
        print(f"| {label} | {r['scenarios']} | {r['grants']} | {r['violations']} | {r['violations'] * m:.0f} "
              f"| {r['races'] * m:.0f} | {worst[key] / 1000:.1f} | {mean:.0f} | {r['stuck']} |")
    print(f"\n{total} scenarios; chunks per row: "
          + ", ".join(f"{k} {sorted(v)}" for k, v in sorted(chunks.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
