#!/usr/bin/env python3
"""Self-test of check_links.py: on a small scratch tree it must pass when every link and path is live, and
name each dead one (file:line) when one is not. A link checker that cannot fail checks nothing."""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "check_links.py")

README = """# demo

See [the API](docs/api.md#v1status), [rules](docs/rules.md) and [below](#how-it-decides).
Code: `service/judge/verdict.h`, `kubectl apply -k manifests/base`, prose path docs/api.md.

## How it decides

```console
$ cat service/not/checked/in/code/blocks.h  [x](not-checked.md)
```
"""
API = """# API

## /v1/status

Back to the [README](../README.md#demo) and [rules](rules.md#the-rules).
"""
RULES = """# Rules

## The rules

Template paths are not checked: `service/<layer>/X.cc`, `tests/*/CMakeLists.txt`.
"""

# Each mutation: (file, text to replace, replacement, expected message fragment).
MUTATIONS = [
    ("README.md", "(docs/api.md#v1status)", "(docs/apix.md)", "README.md:3: dead link docs/apix.md"),
    ("README.md", "(docs/api.md#v1status)", "(docs/api.md#v2status)", "README.md:3: dead link docs/api.md#v2status"),
    ("README.md", "(#how-it-decides)", "(#how-it-works)", "README.md:3: dead link #how-it-works"),
    ("README.md", "`service/judge/verdict.h`", "`service/verdict.h`", "README.md:4: inline code names service/verdict.h"),
    ("README.md", "manifests/base`", "manifests/bases`", "README.md:4: inline code names manifests/bases"),
    ("README.md", "prose path docs/api.md", "prose path docs/apis.md", "README.md:4: text names docs/apis.md"),
    ("docs/api.md", "(../README.md#demo)", "(../READ.md#demo)", "docs/api.md:5: dead link ../READ.md#demo"),
    ("docs/api.md", "(rules.md#the-rules)", "(rules.md#the-rule)", "docs/api.md:5: dead link rules.md#the-rule"),
    ("README.md", "[rules](docs/rules.md)", "rules", "README.md:0: does not link docs/rules.md"),
    ("README.md", "# demo\n", "# demo\n" + "x\n" * 250, "more than the budget of 250"),
]


def write_tree(root, readme=README, api=API, rules=RULES):
    files = {
        "README.md": readme,
        "docs/api.md": api,
        "docs/rules.md": rules,
        "service/judge/verdict.h": "",
        "manifests/base/kustomization.yaml": "",
    }
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)


def run(root):
    r = subprocess.run([sys.executable, CHECKER, "--root", root], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def main():
    failures = []
    with tempfile.TemporaryDirectory() as root:
        write_tree(root)
        code, out = run(root)
        if code != 0:
            failures.append("the clean tree should pass, got exit %d:\n%s" % (code, out))
    for page, old, new, expected in MUTATIONS:
        with tempfile.TemporaryDirectory() as root:
            texts = {"README.md": README, "docs/api.md": API, "docs/rules.md": RULES}
            assert old in texts[page], (page, old)
            texts[page] = texts[page].replace(old, new, 1)
            write_tree(root, texts["README.md"], texts["docs/api.md"], texts["docs/rules.md"])
            code, out = run(root)
            if code != 1 or expected not in out:
                failures.append("%s: %r -> %r should fail with %r, got exit %d:\n%s" %
                                (page, old, new, expected, code, out))
    for f in failures:
        print("FAIL:", f)
    print("%d of %d cases as expected" % (len(MUTATIONS) + 1 - len(failures), len(MUTATIONS) + 1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
