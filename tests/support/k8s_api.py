"""A client of the test control plane's kube-apiserver (../shared/k8s), shared by the Python tests that meet
real Kubernetes (tests/sim/pdb_crosscheck.py, tests/e2e/webhook_real_control_plane.py)."""
import json
import os
import ssl
import urllib.error
import urllib.request


def read_env(state):
    """The variables up.sh writes to STATE/env (K8S_API, K8S_CA, K8S_CERT, K8S_KEY, ...)."""
    env = {}
    with open(os.path.join(state, "env")) as f:
        for line in f:
            line = line.strip().removeprefix("export ")
            if "=" in line:
                k, v = line.split("=", 1)
                env[k] = v.strip("'\"")
    return env


class Api:
    """kube-apiserver as the admin client certificate of STATE/env."""

    def __init__(self, env):
        self.base = env["K8S_API"]
        self.ctx = ssl.create_default_context(cafile=env["K8S_CA"])
        self.ctx.load_cert_chain(env["K8S_CERT"], env["K8S_KEY"])

    def call(self, method, path, body=None):
        """(HTTP status, JSON body); an HTTP error is an answer, not an exception."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def must(self, method, path, body=None):
        """The JSON body of a 2xx answer; anything else raises naming the call."""
        code, doc = self.call(method, path, body)
        if code >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {code}: {doc.get('message', doc)}")
        return doc
