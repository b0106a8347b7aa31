# isrguard container image: a Kubernetes readiness gate for Kafka (see docs/deploy.md).
#
#   docker build --build-arg ISRGUARD_COMMIT="$(git rev-parse --short HEAD)" -t isrguard:0.1.0 .
#   scripts/image      (buildah, no registry and no daemon: a local Debian 12 base made by mmdebstrap)
#
# Stage 1 builds only the isrguard binary with the build dependencies of scripts/install-deps: CI runs the whole
# suite (scripts/test) on the same tree before it builds and tests the image (tests/image), so running the suite
# again here would only double the time. Building a tree CI has not tested? Add
# --build-arg ISRGUARD_RUN_TESTS=1 and the builder runs scripts/test first (docs/deploy.md, "Tested tree").
# Stage 2 is a slim Debian 12 with the runtime libraries only.
#
# Base image: Debian 12 (bookworm) slim, pinned by tag AND digest so that builder and runtime use the very same
# libraries (the runtime packages below must match the ABI the builder linked against). The digest is one
# published for debian:12.11-slim (the same value is pinned by several public projects); it could not be checked
# against the registry where this file was written, so confirm it once with
# `docker buildx imagetools inspect debian:12.11-slim`. To move to a newer point release update the default of
# ISRGUARD_BASE (tag and digest), then rebuild and re-run the tests.
#
# ISRGUARD_BASE is a build argument so that a build without a registry can substitute a locally made Debian 12
# base (same release, so the same library ABI): scripts/image passes one made by mmdebstrap. Both stages use it.
ARG ISRGUARD_BASE=debian:12.11-slim@sha256:b1a741487078b369e78119849663d7f1a5341ef2768798f7b7406c4240f86aef

# ---------------------------------------------------------------------------------------------------------------
FROM ${ISRGUARD_BASE} AS build

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# ISRGUARD_DEPLOY_TOOLS=0: scripts/install-deps (also run by scripts/test) skips kubectl, node and npm. They serve
# tests/deploy only, which check the manifests and this file, not the binary (and kubectl is not a Debian package).
ENV DEBIAN_FRONTEND=noninteractive \
    ISRGUARD_DEPLOY_TOOLS=0
WORKDIR /src

# 1 = run the whole suite (scripts/test, deploy label excluded) before the binary is taken; 0 = build the binary
# only (the default: CI has run the suite on this tree, see above).
ARG ISRGUARD_RUN_TESTS=0

# Dependencies first (own layer, cached while only sources change). ISRGUARD_TEST_TOOLS=0 leaves out the
# test-only packages (gtest, benchmark, prometheus, kcat, wrk, ...) when the suite is not run.
COPY scripts/install-deps scripts/install-deps
RUN ISRGUARD_TEST_TOOLS="${ISRGUARD_RUN_TESTS}" scripts/install-deps \
 && rm -rf /var/lib/apt/lists/*

# The whole tree (what .dockerignore leaves): tests may read any part of it, e.g. docs or manifests.
COPY . .

# Version comes from CMakeLists.txt (project VERSION); the commit is passed in because .git is not in the
# build context. An empty ISRGUARD_COMMIT makes CMake fall back to `git`, and without .git to "unknown".
ARG ISRGUARD_COMMIT=""
# The service's flags in scripts/test (warnings as errors, RelWithDebInfo's -O2) without -g: the image carries no
# debug info, so generating it is wasted build time (the strip below stays as a guard).
# With tests: scripts/test re-runs cmake on build/ with its own flags; the commit set here stays in the cache.
# The `deploy` test label (manifests, Dockerfile lint) is excluded: it needs kubectl and npm, see above.
RUN if [[ "${ISRGUARD_RUN_TESTS}" == 1 ]]; then \
      cmake -S . -B build -DISRGUARD_COMMIT="${ISRGUARD_COMMIT}" && scripts/test -- -LE deploy; \
    else \
      cmake -S . -B build -DISRGUARD_COMMIT="${ISRGUARD_COMMIT}" -DISRGUARD_BUILD_TESTS=OFF \
            -DISRGUARD_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DCMAKE_CXX_FLAGS_RELWITHDEBINFO='-O2 -DNDEBUG' \
   && cmake --build build -j"$(nproc)" --target isrguard; \
    fi \
 && mkdir -p /out \
 && objcopy --strip-debug build/service/isrguard /out/isrguard \
 && /out/isrguard --version

# ---------------------------------------------------------------------------------------------------------------
FROM ${ISRGUARD_BASE} AS runtime

ARG ISRGUARD_BASE
ARG ISRGUARD_COMMIT=""
ARG ISRGUARD_VERSION="0.1.0"
LABEL org.opencontainers.image.title="isrguard" \
      org.opencontainers.image.description="Kubernetes readiness gate for Kafka: blocks voluntary evictions via a PodDisruptionBudget while partitions are offline, under-replicated or under min ISR" \
      org.opencontainers.image.version="${ISRGUARD_VERSION}" \
      org.opencontainers.image.revision="${ISRGUARD_COMMIT}" \
      org.opencontainers.image.base.name="${ISRGUARD_BASE}"

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Runtime libraries only: exactly the packages owning the shared objects isrguard is linked against
# (checked by tests/deploy/dockerfile_check.py against `readelf -d` of the built binary). Their own dependencies
# (libssl3, libsasl2-2, zlib, lz4, zstd, libstdc++6, ...) come in through apt. libcurl4 is libcurl's OpenSSL
# flavour (the Kubernetes API client of the webhook's label rules), on the libssl3 librdkafka needs anyway. ca-certificates lets TLS
# listeners signed by a public CA work without ssl.ca.location. No versions pinned on purpose: the digest
# fixes the release, apt fetches that release's current security updates.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      libcurl4 \
      libfmt9 \
      libgnutls30 \
      libmicrohttpd12 \
      libprometheus-cpp-core1.0 \
      librdkafka1 \
      libspdlog1.10 \
      libstdc++6 \
      libyaml-cpp0.7 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/* /var/log/apt/* /var/log/dpkg.log

# Owned by root, mode 0755 as built: the non-root user can run it but not change it.
COPY --from=build /out/isrguard /usr/local/bin/isrguard

# Numeric non-root user (no /etc/passwd entry needed; Kubernetes runAsNonRoot can verify a numeric UID).
# isrguard writes nothing to disk (logs go to stderr), so the image runs with a read-only root filesystem.
USER 65532:65532
# 8080: API and /metrics; 8081: /livez and /readyz for the kubelet only (--health-port, docs/http.md).
EXPOSE 8080 8081
# Kubernetes ignores HEALTHCHECK (it uses the readiness and liveness probes on /readyz and /livez); the image
# carries no HTTP client for one, so none is declared.
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/isrguard"]
