#!/usr/bin/env python3
"""Runs `promtool test rules` on the isrguard alert rules.

promtool compares alert annotations exactly, and the runbook-style `description` annotations are long prose
that would have to be repeated verbatim in the test file. So this writes a copy of the rule file without
`description` (the templated `summary` stays and is checked) next to a copy of the test file, and runs
promtool there. The description templates of the real file are validated by `promtool check rules`.

usage: run_rule_unit_tests.py PROMTOOL RULES_FILE TEST_FILE WORK_DIR
"""
import os
import shutil
import subprocess
import sys

import yaml


def main(argv):
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return run(*argv[1:])
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as e:
        print(f"error: cannot use the rule or test file: {e!r}", file=sys.stderr)
        return 1


def run(promtool, rules_path, test_path, work_dir):
    with open(rules_path, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    alerts = 0
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                alerts += 1
                if "description" not in rule.get("annotations", {}):
                    print(f"error: alert {rule['alert']} has no description annotation", file=sys.stderr)
                    return 1
                del rule["annotations"]["description"]
    if alerts == 0:
        print(f"error: no alerts in {rules_path}", file=sys.stderr)
        return 1

    # Every alert must be exercised both firing and silent.
    with open(test_path, encoding="utf-8") as f:
        tests = yaml.safe_load(f)
    firing, silent = set(), set()
    for case in tests["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    problems = [f"alert {n} has no firing test case" for n in sorted(names - firing)]
    problems += [f"alert {n} has no silent test case" for n in sorted(names - silent)]
    problems += [f"test refers to unknown alert {n}" for n in sorted((firing | silent) - names)]
    if problems:
        print("error: " + "\n       ".join(problems), file=sys.stderr)
        return 1

    os.makedirs(work_dir, exist_ok=True)
    with open(os.path.join(work_dir, "isrguard-rules.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(rules, f, sort_keys=False)
    test_copy = os.path.join(work_dir, os.path.basename(test_path))
    shutil.copyfile(test_path, test_copy)
    return subprocess.call([promtool, "test", "rules", test_copy])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
