#!/usr/bin/env python3
"""The container image users deploy, built from the Dockerfile (scripts/image: buildah, no registry) and run.

Checks, each printed as `ok: ...` or collected as a problem:
  * the image's USER is the uid:gid the Deployment's container securityContext names, and it is not root;
  * `isrguard --version` run inside the image (buildah run, the image's own USER) prints this tree's commit;
  * every shared library of the binary resolves inside the image (`ldd`: nothing "not found");
  * with the root filesystem mounted read-only (as readOnlyRootFilesystem: true in the manifests) and as that
    uid:gid, `isrguard --once` reaches kafkasim on the host loopback and answers with a verdict, and the same
    user cannot write anywhere on that filesystem (not even /tmp);
  * the image holds no compiler or build tool, no source or test tree, no .git, no private key;
  * its size (uncompressed layers and files) is printed.

Usage: image_test.py --root SRC --kafkasim BIN [--image NAME] [--no-build [--commit ID]]
Exit 0 when every check passes, 1 with the problems listed, 77 (ctest: skipped) when buildah or mmdebstrap or
root is missing on a developer machine; in CI (CI=true) a missing tool is a failure, never a skip.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

SKIP = 77
# Programs that mean a toolchain is in the image (checked by name under the usual bin directories).
BUILD_TOOLS = ("gcc", "g++", "cc", "c++", "cpp", "clang", "clang++", "ld", "as", "make", "cmake", "ninja", "git")
BIN_DIRS = ("usr/bin", "usr/local/bin", "bin", "usr/sbin", "sbin")
# C++ sources (Debian's runtime packages ship none; ours must not be there either).
SOURCE_SUFFIXES = (".cc", ".cpp", ".cxx")
PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def missing_tools() -> list[str]:
    why = [f"{t} not found (ISRGUARD_IMAGE_TOOLS=1 scripts/install-deps)" for t in ("buildah", "mmdebstrap")
           if shutil.which(t) is None]
    if os.geteuid() != 0:
        why.append("not root (buildah --isolation chroot and the read-only mount need root)")
    return why


def deployment_security(root: Path) -> dict:
    """runAsUser, runAsGroup, readOnlyRootFilesystem of the isrguard container in manifests/base/deployment.yaml
    (container securityContext over the pod's)."""
    doc = yaml.safe_load((root / "manifests/base/deployment.yaml").read_text())
    pod = doc["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "isrguard")
    merged = dict(pod.get("securityContext") or {})
    merged.update(container.get("securityContext") or {})
    return merged


class Kafkasim:
    """kafkasim serving scenarios/small.json on 127.0.0.1 (ephemeral ports), static (--manual)."""

    def __init__(self, binary: str, scenario: Path):
        self.proc = subprocess.Popen([binary, str(scenario), "--manual", "--control-port", "-1"],
                                     stdout=subprocess.PIPE, text=True)
        self.bootstrap = ""
        for line in self.proc.stdout:  # the process prints the line once listening; EOF if it dies
            if line.startswith("bootstrap="):
                self.bootstrap = line.strip().split("=", 1)[1]
                break
        if not self.bootstrap:
            raise RuntimeError(f"kafkasim printed no bootstrap line (exit {self.proc.poll()})")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class ReadOnlyRoot:
    """Runs commands chrooted into a read-only bind mount of the container's root filesystem, in a private mount
    namespace (unshare), with /proc and a minimal /dev, as a given uid:gid; the network is the host's."""

    def __init__(self, rootfs: str):
        self.rootfs = rootfs

    def run(self, user: str, argv: list[str]) -> subprocess.CompletedProcess:
        script = r"""set -e
ro=$(mktemp -d)
mount --bind "$1" "$ro"
mount -o remount,bind,ro "$ro"
mount -t proc proc "$ro/proc"
mount -t tmpfs -o mode=0755,size=1m,nosuid tmpfs "$ro/dev"
for d in null zero random urandom; do : > "$ro/dev/$d"; mount --bind "/dev/$d" "$ro/dev/$d"; done
user=$2; shift 2
exec chroot --userspec="$user" "$ro" "$@"
"""
        return run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", self.rootfs,
                    user, *argv], timeout=120)


def repository_paths(root: Path) -> set[str]:
    """This repository's files as 'folder/name' (last two path components: service/runtime/probe_loop.h gives
    runtime/probe_loop.h), to recognise our sources wherever in the image they would land."""
    listed = run(["git", "-C", str(root), "ls-files"]).stdout.split()
    if not listed:  # not a git checkout: walk the tree instead
        listed = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "build" not in p.parts]
    return {"/".join(Path(f).parts[-2:]) for f in listed if len(Path(f).parts) >= 2}


def content_problems(rootfs: Path, ours: set[str]) -> list[str]:
    """Compiler, sources, VCS data and private keys anywhere in the image's files."""
    problems = []
    for d in BIN_DIRS:
        for tool in BUILD_TOOLS:
            p = rootfs / d / tool
            if p.exists() or p.is_symlink():
                problems.append(f"build tool in the image: /{d}/{tool}")
    if (rootfs / "usr/lib/gcc").exists():
        problems.append("compiler internals in the image: /usr/lib/gcc")
    if any((rootfs / "usr/include").iterdir()):  # base-files ships it empty
        problems.append("C/C++ headers in the image: /usr/include is not empty")
    for sub in ("src", "out"):
        if (rootfs / sub).exists():
            problems.append(f"build stage directory in the image: /{sub}")
    for dirpath, dirnames, filenames in os.walk(rootfs):
        rel = "/" + os.path.relpath(dirpath, rootfs)
        if rel.startswith(("/proc", "/sys", "/dev")):
            dirnames[:] = []
            continue
        for name in dirnames:
            if name == ".git" or (name in ("tests", "kafkasim") and not rel.startswith("/usr/share")):
                problems.append(f"repository data in the image: {rel.rstrip('/')}/{name}")
        for name in filenames:
            path = Path(dirpath) / name
            if (name.endswith(SOURCE_SUFFIXES) or name in ("CMakeLists.txt", "CMakeCache.txt", "Dockerfile")
                    or f"{os.path.basename(dirpath)}/{name}" in ours):
                problems.append(f"source/build file in the image: {rel.rstrip('/')}/{name}")
            if path.is_symlink() or not path.is_file() or path.stat().st_size > 8 << 20:
                continue
            data = path.read_bytes()
            # A key is a text file (PEM); TLS libraries carry the PEM markers as string constants.
            if not data.startswith(b"\x7fELF") and PRIVATE_KEY.search(data):
                problems.append(f"private key in the image: {rel.rstrip('/')}/{name}")
    return problems


def tree_size(rootfs: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(rootfs):
        for name in filenames:
            p = Path(dirpath) / name
            if not p.is_symlink():
                total += p.lstat().st_size
    return total


def check_image(args, problems: list[str]):
    root = Path(args.root)
    commit = args.commit or run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"]).stdout.strip() or "unknown"
    security = deployment_security(root)
    want_user = f"{security['runAsUser']}:{security['runAsGroup']}"

    info = json.loads(run(["buildah", "inspect", "--type", "image", args.image], check=True).stdout)
    config = info.get("Docker", {}).get("config") or info.get("OCIv1", {}).get("config") or {}
    image_user = config.get("User", "")
    if image_user != want_user:
        problems.append(f"image USER is {image_user!r}, the Deployment runs as {want_user} "
                        "(manifests/base/deployment.yaml securityContext)")
    elif int(security["runAsUser"]) == 0:
        problems.append("the Deployment runs as root")
    else:
        print(f"ok: image USER {image_user} = the Deployment's runAsUser:runAsGroup")

    ctr = run(["buildah", "from", "--pull=never", args.image], check=True).stdout.strip()
    sim = None
    try:
        version = run(["buildah", "run", "--isolation", "chroot", ctr, "--", "/usr/local/bin/isrguard",
                       "--version"], timeout=120)
        if version.returncode != 0 or commit not in version.stdout:
            problems.append(f"--version in the image (exit {version.returncode}) does not name commit {commit}: "
                            f"{version.stdout.strip()} {version.stderr.strip()}")
        else:
            print(f"ok: --version in the image: {version.stdout.strip()}")
        uid = run(["buildah", "run", "--isolation", "chroot", ctr, "--", "id", "-u"], timeout=120).stdout.strip()
        if uid != str(security["runAsUser"]):
            problems.append(f"buildah run as the image's USER gives uid {uid!r}, want {security['runAsUser']}")

        ldd = run(["buildah", "run", "--isolation", "chroot", ctr, "--", "ldd", "/usr/local/bin/isrguard"],
                  timeout=120)
        unresolved = [line.strip() for line in ldd.stdout.splitlines() if "not found" in line]
        if ldd.returncode != 0 or unresolved or "=>" not in ldd.stdout:
            problems.append(f"shared libraries do not resolve in the image (ldd exit {ldd.returncode}): "
                            + ("; ".join(unresolved) or ldd.stdout + ldd.stderr))
        else:
            print(f"ok: ldd resolves all {ldd.stdout.count('=>')} shared libraries")

        rootfs = run(["buildah", "mount", ctr], check=True).stdout.strip()
        ro = ReadOnlyRoot(rootfs)
        sim = Kafkasim(args.kafkasim, root / "tests/kafkasim/scenarios/small.json")
        if security.get("readOnlyRootFilesystem") is not True:
            problems.append("manifests/base/deployment.yaml no longer sets readOnlyRootFilesystem: true; "
                            "this test runs the image read-only as the manifests used to say")
        write = ro.run(want_user, ["/bin/sh", "-c", "echo x > /tmp/isrguard-write-probe"])
        if write.returncode == 0:
            problems.append("the read-only root filesystem accepted a write to /tmp: the --once check below "
                            "would not prove isrguard needs no writable root")
        once = ro.run(want_user, ["/usr/local/bin/isrguard", "--once", "--output", "json",
                                  "--bootstrap-servers", sim.bootstrap, "--expected-brokers", "1,2,3"])
        # small.json: one under-replicated and one offline partition -> a verdict, unhealthy (exit 1).
        try:
            verdict = json.loads(once.stdout)
        except json.JSONDecodeError:
            verdict = None
        if once.returncode != 1 or not isinstance(verdict, dict) or "offline" not in once.stdout:
            problems.append(f"--once in the image, read-only root, user {want_user}, against kafkasim "
                            f"{sim.bootstrap}: exit {once.returncode} (want 1: unhealthy, offline partition); "
                            f"stdout: {once.stdout.strip()[:2000]} stderr: {once.stderr.strip()[-2000:]}")
        else:
            print(f"ok: --once in the image (read-only root, user {want_user}) answered unhealthy from kafkasim "
                  f"{sim.bootstrap}")

        found = content_problems(Path(rootfs), repository_paths(root))
        problems += found
        if not found:
            print("ok: no compiler, no sources or tests, no .git, no private key in the image")

        files = tree_size(Path(rootfs))
        listed = run(["buildah", "images", "--format", "{{.Size}}", args.image]).stdout.strip()
        print(f"image size: {listed} (buildah images); files {files / 1e6:.1f} MB; "
              f"isrguard binary {(Path(rootfs) / 'usr/local/bin/isrguard').stat().st_size / 1e6:.1f} MB")
    finally:
        if sim:
            sim.stop()
        run(["buildah", "umount", ctr])
        run(["buildah", "rm", ctr])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--kafkasim", required=True)
    ap.add_argument("--image", default="localhost/isrguard:image-test")
    ap.add_argument("--no-build", action="store_true", help="test an image already built under --image")
    ap.add_argument("--commit", default="", help="with --no-build: the commit that image was built from "
                    "(default: the tree's HEAD)")
    args = ap.parse_args()

    why = missing_tools()
    if why:
        ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
        print(("FAIL" if ci else "SKIP") + ": the image test cannot run: " + "; ".join(why)
              + ("" if ci else " (allowed outside CI only)"), file=sys.stderr)
        return 1 if ci else SKIP

    if not args.no_build:
        start = time.monotonic()
        build = subprocess.run([str(Path(args.root) / "scripts/image"), "--tag", args.image])
        if build.returncode != 0:
            print(f"FAIL: scripts/image exited {build.returncode}: the image does not build", file=sys.stderr)
            return 1
        print(f"image built in {time.monotonic() - start:.0f}s")

    problems: list[str] = []
    check_image(args, problems)
    for p in problems:
        print("FAIL: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
