#!/usr/bin/env python3
"""The Dockerfile checker must pass the repository's Dockerfile and fail each single mistake below.

Each broken variant is the real Dockerfile with one edit, so a rule that silently stops working shows up here.
Usage: dockerfile_check_test.py DOCKERFILE
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dockerfile_check  # noqa: E402

DOCKERFILE = os.environ.get("ISRGUARD_DOCKERFILE", "")


def real() -> str:
    with open(DOCKERFILE, encoding="utf-8") as f:
        return f.read()


def edited(old: str, new: str, count: int = -1) -> str:
    text = real()
    assert old in text, f"fixture edit needs {old!r} in the Dockerfile"
    return text.replace(old, new, count)


class RealDockerfile(unittest.TestCase):
    def test_passes(self):
        self.assertEqual(dockerfile_check.check(real()), [])

    def test_runtime_stage_installs_runtime_libraries(self):
        pkgs = dockerfile_check.runtime_packages(real())
        for p in ("librdkafka1", "libspdlog1.10", "libfmt9"):
            self.assertIn(p, pkgs)


class BrokenDockerfile(unittest.TestCase):
    def assertFlags(self, text: str, fragment: str):
        problems = dockerfile_check.check(text)
        self.assertTrue(any(fragment in p for p in problems), f"expected a problem with {fragment!r}, got {problems}")

    def first_from_image(self) -> str:
        """The base image `docker build .` uses: the first FROM's image, or the default of the build argument it
        names (ARG ISRGUARD_BASE=... before the first FROM)."""
        text = real()
        for line in text.splitlines():
            if line.startswith("FROM "):
                image = line.split()[1]
                if image.startswith("$"):
                    arg = image.strip("${}")
                    for a in text.splitlines():
                        if a.startswith(f"ARG {arg}="):
                            return a.split("=", 1)[1].strip()
                    raise AssertionError(f"no default for {arg}")
                return image
        raise AssertionError("no FROM")

    def test_base_argument_without_default(self):
        img = self.first_from_image()
        self.assertFlags(edited(f"ARG ISRGUARD_BASE={img}", "ARG ISRGUARD_BASE"), "has no default")

    def test_unpinned_digest(self):
        img = self.first_from_image()
        self.assertFlags(edited(img, img.split("@")[0], 1), "not pinned by digest")

    def test_latest_tag(self):
        img = self.first_from_image()
        self.assertFlags(edited(img, "debian:latest", 1), "'latest'")

    def test_no_tag(self):
        img = self.first_from_image()
        self.assertFlags(edited(img, "debian", 1), "no tag")

    def test_not_debian_12(self):
        img = self.first_from_image()
        self.assertFlags(edited(img, img.replace("12.", "11.")), "Debian 12")

    def test_builder_and_runtime_bases_differ(self):
        img = self.first_from_image()
        self.assertFlags(edited("FROM ${ISRGUARD_BASE} AS runtime", f"FROM {img.replace('12.11', '12.10')} AS runtime"),
                         "different base images")

    def test_single_stage(self):
        lines = real().splitlines(keepends=True)
        froms = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
        self.assertFlags("".join(lines[: froms[1]]), "not multi-stage")

    def test_root_user(self):
        self.assertFlags(edited("USER 65532:65532", "USER root"), "numeric uid")

    def test_uid_zero(self):
        self.assertFlags(edited("USER 65532:65532", "USER 0:0"), "uid 0")

    def test_no_user(self):
        self.assertFlags(edited("USER 65532:65532", ""), "no USER")

    def test_shell_form_entrypoint(self):
        self.assertFlags(edited('ENTRYPOINT ["/usr/local/bin/isrguard"]', "ENTRYPOINT /usr/local/bin/isrguard"),
                         "not exec form")

    def test_relative_entrypoint(self):
        self.assertFlags(edited('ENTRYPOINT ["/usr/local/bin/isrguard"]', 'ENTRYPOINT ["isrguard"]'),
                         "absolute path")

    def test_install_recommends(self):
        self.assertFlags(edited("--no-install-recommends", ""), "--no-install-recommends")

    def test_apt_lists_left_behind(self):
        self.assertFlags(edited("rm -rf /var/lib/apt/lists/*", "true"), "/var/lib/apt/lists")

    def test_install_without_update(self):
        self.assertFlags(edited("apt-get update \\", "true \\"), "apt-get update")

    def test_tests_not_run(self):
        self.assertFlags(edited("scripts/test -- -LE deploy", "cmake --build build"), "scripts/test")

    def test_commit_not_baked(self):
        self.assertFlags(edited('-DISRGUARD_COMMIT="${ISRGUARD_COMMIT}"', ""), "ISRGUARD_COMMIT")

    def test_runtime_copies_context(self):
        self.assertFlags(edited("COPY --from=build", "COPY"), "copies from the build context")

    def test_runtime_installs_dev_package(self):
        self.assertFlags(edited("librdkafka1 \\", "librdkafka-dev \\"), "build tool/package librdkafka-dev")

    def test_add_instead_of_copy(self):
        self.assertFlags(edited("COPY . .", "ADD . ."), "ADD")

    def test_curl_pipe_shell(self):
        self.assertFlags(edited("&& scripts/test", "&& curl -fsSL https://example.invalid/x | sh && scripts/test"),
                         "pipes a download")


class RuntimeLibraries(unittest.TestCase):
    """With a real binary: a runtime stage lacking a needed library's package fails."""

    binary = os.environ.get("ISRGUARD_BINARY", "")

    def test_missing_package_is_flagged(self):
        if not self.binary:
            self.fail("ISRGUARD_BINARY not set (ctest passes the built isrguard)")
        text = edited("librdkafka1 \\", "\\")
        problems, _ = dockerfile_check.check_runtime_libraries(text, self.binary)
        self.assertTrue(any("librdkafka1" in p for p in problems), problems)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        DOCKERFILE = sys.argv.pop(1)
    if not DOCKERFILE:
        sys.exit("usage: dockerfile_check_test.py DOCKERFILE")
    unittest.main(verbosity=2)
