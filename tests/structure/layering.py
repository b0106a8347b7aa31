#!/usr/bin/env python3
"""Checks the layering of isrguard's sources (docs/architecture.md draws it):

    runtime -> views -> config -> judge -> probes

    layering.py [ROOT]   exit 1 and one line per violation, 0 when none

A file may include project headers of its own layer and the layers below it, never above; each third-party
library is included only in the layers that own it; the judge layer reads no clock and starts no thread.
"""
import os
import re
import sys

# folder -> rank; a file may include headers whose rank is <= its own
LAYERS = [
    ("probes", 0),
    ("service/judge", 1),
    ("service/config", 2),
    ("service/views", 3),
    ("service/runtime", 4),
]
# third-party include prefix -> folders allowed to include it
THIRD_PARTY = {
    "librdkafka/": ("probes",),
    "CLI/": ("service/config",),
    "yaml-cpp/": ("service/config",),
    "prometheus/": ("service/views",),
    "nlohmann/": ("probes", "service/views", "service/runtime"),
    "microhttpd.h": ("service/runtime",),
    "gnutls/": ("service/runtime",),
    "spdlog/": ("probes", "service/runtime"),
    "httplib.h": (),
}
# the judge is pure: time is passed in, threads come only from probes/split.h
JUDGE_FORBIDDEN = [
    (re.compile(r"\b(system_clock|steady_clock|high_resolution_clock)::now\s*\("), "reads a clock"),
    (re.compile(r"#include\s*<(thread|fstream|iostream|future|filesystem)>"), "includes an I/O or thread header"),
]
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
SOURCE = (".h", ".cc")


def layer_of(path):
    for folder, rank in LAYERS:
        if path == folder or path.startswith(folder + "/"):
            return folder, rank
    return None, None


def check_file(root, rel):
    problems = []
    folder, rank = layer_of(rel)
    text = open(os.path.join(root, rel), encoding="utf-8", errors="replace").read()
    for m in INCLUDE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        kind, target = m.group(1), m.group(2)
        if kind == '"':
            tfolder, trank = layer_of(target)
            if tfolder is None:
                if target.startswith(("service/", "tests/")):
                    problems.append(f"{rel}:{line}: includes {target}, which is in no layer")
                continue
            if trank > rank:
                problems.append(f"{rel}:{line}: {folder} includes {target} from {tfolder}, a layer above it")
        else:
            for prefix, allowed in THIRD_PARTY.items():
                if target.startswith(prefix) and folder not in allowed:
                    where = ", ".join(allowed) or "no service or probes file"
                    problems.append(f"{rel}:{line}: {folder} includes <{target}> (allowed only in {where})")
    if folder == "service/judge":
        for pattern, what in JUDGE_FORBIDDEN:
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{rel}:{line}: service/judge {what}; the judge is pure")
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    root = os.path.abspath(root)
    problems = []
    seen = 0
    for top in ("probes", "service"):
        for dirpath, dirs, files in os.walk(os.path.join(root, top)):
            dirs.sort()
            for f in sorted(files):
                if not f.endswith(SOURCE):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), root)
                if rel.startswith("service/") and layer_of(rel)[0] is None:
                    problems.append(f"{rel}: a service source outside the four layer folders")
                    continue
                seen += 1
                problems += check_file(root, rel)
    for p in problems:
        print(p)
    if seen == 0:
        print("layering: no sources found under", root)
        return 2
    print(f"layering: {len(problems)} violation(s) in {seen} files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
