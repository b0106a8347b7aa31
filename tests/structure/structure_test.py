#!/usr/bin/env python3
"""The structure checks can fail: each is run on a copy of the tree with one deliberate fault and must name it.

    structure_test.py ROOT
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
failures = 0
passes = 0


def run(script, *args):
    p = subprocess.run([sys.executable, os.path.join(HERE, script), *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def expect(name, cond, output):
    global failures, passes
    if cond:
        passes += 1
        print(f"ok   {name}")
    else:
        failures += 1
        print(f"FAIL {name}\n{output}")


def copy_tree(root, dst):
    for top in ("probes", "service"):
        shutil.copytree(os.path.join(root, top), os.path.join(dst, top),
                        ignore=shutil.ignore_patterns("CMakeLists.txt"))


def inject(path, line):
    text = open(path).read()
    open(path, "w").write(line + "\n" + text)


def main():
    root = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        copy_tree(root, tmp)
        rc, out = run("layering.py", tmp)
        expect("layering: the copy of the tree is clean", rc == 0, out)

        gate = os.path.join(tmp, "service/judge/gate.cc")
        inject(gate, '#include "service/views/state.h"')
        rc, out = run("layering.py", tmp)
        expect("layering: judge including a views header fails and names it",
               rc == 1 and "service/judge/gate.cc:1: service/judge includes service/views/state.h" in out, out)

        shutil.rmtree(os.path.join(tmp, "service"))
        shutil.rmtree(os.path.join(tmp, "probes"))
        copy_tree(root, tmp)
        inject(os.path.join(tmp, "probes/snapshot.cc"), '#include "service/judge/verdict.h"')
        inject(os.path.join(tmp, "service/config/config.cc"), "#include <prometheus/counter.h>")
        inject(os.path.join(tmp, "service/judge/policy.cc"),
               "static auto t0 = std::chrono::steady_clock::now();")
        rc, out = run("layering.py", tmp)
        expect("layering: probes including the judge fails", "probes/snapshot.cc:1: probes includes" in out, out)
        expect("layering: prometheus outside views fails", "service/config/config.cc:1: service/config includes "
               "<prometheus/counter.h>" in out, out)
        expect("layering: a clock read in the judge fails", "service/judge/policy.cc:1: service/judge reads a clock"
               in out, out)
        os.makedirs(os.path.join(tmp, "service/misc"))
        open(os.path.join(tmp, "service/misc/x.cc"), "w").write("int x;\n")
        rc, out = run("layering.py", tmp)
        expect("layering: a service source outside the layers fails", "service/misc/x.cc: a service source outside"
               in out and rc == 1, out)

        long_fn = os.path.join(tmp, "long.cc")
        body = "\n".join(f"  x += {i};" for i in range(85))
        open(long_fn, "w").write(
            "namespace a {\n// a comment with { and }\nint Foo::long_one(int x) {\n" + body + "\n  return x;\n}\n"
            "int short_one() { return 1; }\n"
            'const char* s = "{{{";\n'
            "std::function<void(int)> make() {\n  return [](int) {\n  };\n}\n}  // namespace a\n")
        rc, out = run("function_length.py", long_fn)
        expect("function_length: an 88-line function is named", rc == 1 and "long.cc:3: Foo::long_one is 88 lines"
               in out and "short_one" not in out, out)
        rc, out = run("function_length.py", "--max", "3", long_fn)
        expect("function_length: names templated return types right", "make is 4 lines" in out, out)
        rc, out = run("function_length.py", "--max", "88", long_fn)
        expect("function_length: at the limit passes", rc == 0, out)

    print(f"{passes} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
