#!/usr/bin/env python3
"""Static checks of the isrguard Dockerfile (no Docker needed; CI cannot run `docker build`).

The image is also built and run in CI (tests/image, scripts/image: buildah, no registry); this checker guards what is specific to the image: pinned bases, a slim non-root runtime stage with an
exec-form entrypoint, tidy apt use, and - with --binary - that the runtime stage installs the package of every
shared library the built isrguard binary needs.

Usage: dockerfile_check.py DOCKERFILE [--binary PATH]
Exit 0 when every check passes, 1 with one line per problem otherwise, 2 on bad usage/unreadable input.
"""
from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field

DIGEST_RE = re.compile(r"@sha256:[0-9a-f]{64}$")
# Packages every Debian image has (Essential/required): no need to list them in the runtime stage.
BASE_PACKAGES = {"libc6", "libgcc-s1"}


@dataclass
class Instruction:
    line: int  # 1-based line of the instruction's first physical line
    keyword: str  # upper case, e.g. RUN
    args: str  # the rest, continuation lines joined with spaces


@dataclass
class Stage:
    image: str
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)


def parse(text: str) -> tuple[list[Instruction], list[Stage]]:
    """Splits a Dockerfile into instructions (joining `\\` continuations, dropping comments) and stages."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for n, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are ignored by Docker too
        if not pending:
            start = n
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(p for p in pending if p)
        pending = []
        keyword, _, args = joined.partition(" ")
        instructions.append(Instruction(start, keyword.upper(), args.strip()))
    if pending:
        joined = " ".join(pending)
        keyword, _, args = joined.partition(" ")
        instructions.append(Instruction(start, keyword.upper(), args.strip()))

    stages: list[Stage] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            image = words[0] if words else ""
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(image, name, ins.line))
        elif stages:
            stages[-1].instructions.append(ins)
    return instructions, stages


def apt_install_packages(run_args: str) -> list[str]:
    """Package names of every `apt-get install` in one RUN (options and shell operators dropped)."""
    packages: list[str] = []
    for segment in re.split(r"&&|;|\|\|", run_args):
        try:
            words = shlex.split(segment)
        except ValueError:
            words = segment.split()
        if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
            after = words[words.index("install") + 1 :]
            packages += [w for w in after if not w.startswith("-")]
    return packages


def check(text: str) -> list[str]:
    """All static problems of a Dockerfile, one message each (empty = passes)."""
    problems: list[str] = []
    instructions, stages = parse(text)
    if not stages:
        return ["no FROM instruction"]
    if len(stages) < 2:
        problems.append("not multi-stage: build in one stage, copy only the binary into a slim runtime stage")
    stage_names = {s.name for s in stages if s.name}

    # Build arguments declared before the first FROM (the only ones a FROM line can use), with their defaults.
    global_args: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG":
            name, _, default = ins.args.partition("=")
            global_args[name.strip()] = default.strip().strip('"')

    for s in stages:
        if s.image in stage_names:
            continue
        image = s.image
        if image.startswith("$"):
            # A base given by a build argument (a registry-less build substitutes a local Debian 12 base): the
            # default is what `docker build .` uses, so the default must satisfy every rule below.
            arg = image.strip("${}")
            if not global_args.get(arg):
                problems.append(f"line {s.line}: FROM {s.image}: build argument {arg} has no default declared "
                                "before the first FROM (give it the pinned image)")
                continue
            image = global_args[arg]
        ref = image.split("@", 1)[0]
        tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else ""
        if not tag:
            problems.append(f"line {s.line}: FROM {image}: no tag (means latest)")
        elif tag == "latest":
            problems.append(f"line {s.line}: FROM {image}: 'latest' is not a pinned version")
        if not DIGEST_RE.search(image):
            problems.append(f"line {s.line}: FROM {image}: not pinned by digest (@sha256:...)")
        if not ref.split(":", 1)[0].endswith("debian"):
            problems.append(f"line {s.line}: FROM {image}: isrguard is built for and runs on Debian 12")
        elif tag and not re.match(r"^12(\.\d+)?(-slim)?$", tag) and tag not in ("bookworm", "bookworm-slim"):
            problems.append(f"line {s.line}: FROM {image}: not a Debian 12 (bookworm) tag")

    for ins in instructions:
        if re.search(r"(^|[\s:/])latest(\s|$)", ins.args) and ins.keyword in ("FROM", "COPY", "RUN"):
            problems.append(f"line {ins.line}: {ins.keyword} refers to 'latest'")
        if ins.keyword == "ADD":
            problems.append(f"line {ins.line}: ADD: use COPY (ADD fetches URLs and unpacks archives implicitly)")
        if ins.keyword == "MAINTAINER":
            problems.append(f"line {ins.line}: MAINTAINER is deprecated; use a LABEL")
        if ins.keyword == "RUN" and re.search(r"\bapt-get\b[^&;]*\binstall\b", ins.args):
            if not re.search(r"--no-install-recommends\b", ins.args):
                problems.append(f"line {ins.line}: apt-get install without --no-install-recommends")
            if not re.search(r"\s(-y|--yes|-[a-z]*y[a-z]*|--assume-yes)\b", ins.args):
                problems.append(f"line {ins.line}: apt-get install without -y (would prompt)")
            if not re.search(r"\bapt-get\b[^&;]*\bupdate\b", ins.args):
                problems.append(f"line {ins.line}: apt-get install without apt-get update in the same RUN "
                                "(a cached update layer goes stale)")
            if "rm -rf /var/lib/apt/lists" not in ins.args:
                problems.append(f"line {ins.line}: apt-get install without removing /var/lib/apt/lists in the "
                                "same RUN")
        if ins.keyword == "RUN" and re.search(r"\b(curl|wget)\b[^&;]*\|\s*(ba)?sh\b", ins.args):
            problems.append(f"line {ins.line}: RUN pipes a download into a shell")

    external = [s for s in stages if s.image not in stage_names]
    if len({s.image for s in external}) > 1:
        problems.append("stages use different base images: the runtime libraries must be the very versions the "
                        "builder linked against (" + ", ".join(sorted({s.image for s in external})) + ")")

    build = stages[0]
    build_runs = " ".join(i.args for i in build.instructions if i.keyword == "RUN")
    if "scripts/install-deps" not in build_runs:
        problems.append("build stage does not run scripts/install-deps (the one list of build dependencies)")
    if not re.search(r"scripts/test\b", build_runs):
        problems.append("build stage cannot run scripts/test (ISRGUARD_RUN_TESTS=1): a tree CI has not tested "
                        "must be able to run its tests before an image comes out of it")
    if not re.search(r"-DISRGUARD_COMMIT=", build_runs):
        problems.append("build stage does not pass -DISRGUARD_COMMIT to CMake (commit would not be baked in)")
    if not any(i.keyword == "ARG" and i.args.split("=", 1)[0].strip() == "ISRGUARD_COMMIT"
               for i in build.instructions):
        problems.append("build stage has no ARG ISRGUARD_COMMIT")

    final = stages[-1]
    if final.image in stage_names:
        problems.append("final stage is based on another stage: the runtime must start from the slim base")
    for ins in final.instructions:
        if ins.keyword == "COPY":
            if "--from=" not in ins.args:
                problems.append(f"line {ins.line}: runtime stage copies from the build context; copy only "
                                "artifacts from the build stage")
        if ins.keyword == "RUN":
            for p in apt_install_packages(ins.args):
                if p.endswith("-dev") or p in ("g++", "gcc", "cmake", "make", "build-essential", "git", "curl"):
                    problems.append(f"line {ins.line}: runtime stage installs build tool/package {p}")

    users = [i for i in final.instructions if i.keyword == "USER"]
    if not users:
        problems.append("runtime stage has no USER: the container would run as root")
    else:
        user = users[-1]
        uid, _, gid = user.args.strip().partition(":")
        if not uid.isdigit():
            problems.append(f"line {user.line}: USER {user.args}: use a numeric uid (runAsNonRoot can only "
                            "verify numeric users)")
        elif int(uid) == 0:
            problems.append(f"line {user.line}: USER {user.args}: uid 0 is root")
        if gid and (not gid.isdigit() or int(gid) == 0):
            problems.append(f"line {user.line}: USER {user.args}: group must be numeric and not 0")
        after = [i for i in final.instructions if i.line > user.line and i.keyword in ("RUN", "USER")]
        if any(i.keyword == "RUN" for i in after):
            problems.append(f"line {user.line}: RUN after USER in the runtime stage")

    entrypoints = [i for i in final.instructions if i.keyword == "ENTRYPOINT"]
    if not entrypoints:
        problems.append("runtime stage has no ENTRYPOINT")
    else:
        ep = entrypoints[-1]
        try:
            argv = json.loads(ep.args)
        except json.JSONDecodeError:
            argv = None
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            problems.append(f"line {ep.line}: ENTRYPOINT is not exec form (JSON array): shell form wraps the "
                            "process in /bin/sh, which does not forward SIGTERM")
        elif not argv[0].startswith("/"):
            problems.append(f"line {ep.line}: ENTRYPOINT {argv[0]}: use an absolute path")
    for ins in final.instructions:
        if ins.keyword == "CMD" and not ins.args.startswith("["):
            problems.append(f"line {ins.line}: CMD is not exec form")
    if not any(i.keyword == "EXPOSE" for i in final.instructions):
        problems.append("runtime stage does not EXPOSE the HTTP port")
    return problems


def runtime_packages(text: str) -> set[str]:
    """Packages the runtime (last) stage installs."""
    _, stages = parse(text)
    pkgs: set[str] = set()
    for ins in stages[-1].instructions if stages else []:
        if ins.keyword == "RUN":
            pkgs.update(apt_install_packages(ins.args))
    return pkgs


def needed_libraries(binary: str) -> list[str]:
    """DT_NEEDED sonames of an ELF file (direct dependencies only: apt brings in the transitive ones)."""
    out = subprocess.run(["readelf", "-d", binary], check=True, capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def owning_package(soname: str, binary: str) -> str | None:
    """Debian package that owns the file ldd resolves a soname to (None when unresolved/unowned)."""
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    m = re.search(rf"^\s*{re.escape(soname)} => (\S+)", ldd, re.MULTILINE)
    if not m or m.group(1) == "not":
        return None
    path = m.group(1)
    for candidate in (path, re.sub(r"^/lib/", "/usr/lib/", path), re.sub(r"^/usr/lib/", "/lib/", path)):
        res = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if res.returncode == 0:
            return res.stdout.split(":", 1)[0].strip()
    return None


def check_runtime_libraries(text: str, binary: str) -> tuple[list[str], list[str]]:
    """(problems, notes): every library the binary needs must come from a package the runtime stage installs."""
    problems: list[str] = []
    notes: list[str] = []
    installed = runtime_packages(text)
    needed_pkgs: set[str] = set()
    for soname in needed_libraries(binary):
        pkg = owning_package(soname, binary)
        if pkg is None:
            problems.append(f"{binary} needs {soname}, which no Debian package provides here")
            continue
        needed_pkgs.add(pkg)
        if pkg not in installed and pkg not in BASE_PACKAGES:
            problems.append(f"{binary} needs {soname} from package {pkg}, which the runtime stage does not install")
        else:
            notes.append(f"{soname}: {pkg}")
    for pkg in sorted(installed - needed_pkgs - {"ca-certificates"}):
        notes.append(f"runtime package {pkg} is not needed by this binary (yet): harmless, but check it is meant")
    return problems, notes


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dockerfile")
    ap.add_argument("--binary", help="built isrguard binary: check the runtime stage installs its libraries")
    args = ap.parse_args(argv)
    try:
        with open(args.dockerfile, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        print(f"dockerfile_check: cannot read {args.dockerfile}: {e}", file=sys.stderr)
        return 2
    problems = check(text)
    if args.binary:
        try:
            lib_problems, notes = check_runtime_libraries(text, args.binary)
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"dockerfile_check: cannot inspect {args.binary}: {e}", file=sys.stderr)
            return 2
        problems += lib_problems
        for n in notes:
            print(f"note: {n}")
    for p in problems:
        print(f"{args.dockerfile}: {p}")
    print(f"dockerfile_check: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
