// Renders every kustomization under manifests/ with `kubectl kustomize` and validates each rendered object
// against the official schemas: Kubernetes (kubernetes-models), Prometheus Operator
// (@kubernetes-models/prometheus-operator) and Strimzi (@kubernetes-models/strimzi-kafka-operator).
// An object of a kind no installed package knows fails: add its model package rather than skipping it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { findKustomizations, modelFor, objectKey, rel, render } from "./lib.mjs";

const dirs = findKustomizations();

test("manifests/ holds the base and both overlays", () => {
  const names = dirs.map(rel);
  for (const d of ["manifests/base", "manifests/overlays/statefulset", "manifests/overlays/strimzi"]) {
    assert.ok(names.includes(d), `${d} missing; found ${names.join(", ")}`);
  }
});

for (const dir of dirs) {
  test(`${rel(dir)} renders and every object validates`, async () => {
    const objects = render(dir);
    assert.ok(objects.length > 0, "renders no objects");
    const seen = new Set();
    const failures = [];
    for (const o of objects) {
      const id = objectKey(o);
      if (!o.metadata?.name) failures.push(`${o.kind}: no metadata.name`);
      if (seen.has(`${o.apiVersion}/${id}`)) failures.push(`${id}: rendered twice`);
      seen.add(`${o.apiVersion}/${id}`);
      const Model = await modelFor(o.apiVersion, o.kind);
      if (!Model) {
        failures.push(`${o.apiVersion} ${o.kind} ${o.metadata?.name}: no schema model installed for this kind`);
        continue;
      }
      try {
        new Model(o).validate();
      } catch (e) {
        failures.push(`${o.apiVersion} ${id}: ${e.message}`);
      }
    }
    assert.deepEqual(failures, []);
  });
}

// The validators must really reject wrong objects, or the tests above would prove nothing.
test("schema validation rejects broken objects of each package", async () => {
  const cases = [
    ["policy/v1", "PodDisruptionBudget", { metadata: { name: "x" }, spec: { minAvailable: 1, unhealthyPodEvictionPolicy: "Never" } }],
    ["v1", "Service", { metadata: { name: "x" }, spec: { publishNotReadyAddresses: "yes" } }],
    ["apps/v1", "Deployment", { metadata: { name: "x" }, spec: { replicas: "one", selector: {}, template: {} } }],
    ["monitoring.coreos.com/v1", "ServiceMonitor", { metadata: { name: "x" }, spec: { selector: {}, endpoints: { port: "http" } } }],
    ["kafka.strimzi.io/v1beta2", "KafkaUser", { metadata: { name: "x" }, spec: { authentication: { type: "kerberos" } } }],
    ["admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", { metadata: { name: "x" }, webhooks: [{ name: "a.b.c", sideEffects: "None", admissionReviewVersions: ["v1"], clientConfig: {}, failurePolicy: 3 }] }],
    ["cert-manager.io/v1", "Certificate", { metadata: { name: "x" }, spec: { secretName: "s", issuerRef: { name: "i" }, duration: 90 } }],
    ["kafka.strimzi.io/v1beta2", "KafkaNodePool", { metadata: { name: "x" }, spec: { replicas: 3, roles: ["zookeeper"], storage: { type: "ephemeral" } } }],
  ];
  for (const [apiVersion, kind, body] of cases) {
    const Model = await modelFor(apiVersion, kind);
    assert.ok(Model, `no model for ${apiVersion} ${kind}`);
    assert.throws(() => new Model({ apiVersion, kind, ...body }).validate(), `${kind} ${JSON.stringify(body.spec)} passed`);
  }
  assert.equal(await modelFor("example.com/v1", "Widget"), null, "unknown kinds must be reported, not passed");
});

// Strimzi is moving from kafka.strimzi.io/v1beta2 to v1: our Strimzi resources must be valid under both, so that
// switching is only a change of apiVersion.
test("Strimzi resources also validate as kafka.strimzi.io/v1", async () => {
  const failures = [];
  let checked = 0;
  for (const dir of dirs) {
    for (const o of render(dir).filter((x) => x.apiVersion === "kafka.strimzi.io/v1beta2")) {
      const Model = await modelFor("kafka.strimzi.io/v1", o.kind);
      if (!Model) {
        failures.push(`${o.kind}: no kafka.strimzi.io/v1 model`);
        continue;
      }
      checked++;
      try {
        new Model({ ...o, apiVersion: "kafka.strimzi.io/v1" }).validate();
      } catch (e) {
        failures.push(`${rel(dir)} ${objectKey(o)} as v1: ${e.message}`);
      }
    }
  }
  assert.ok(checked > 0, "no Strimzi resources rendered");
  assert.deepEqual(failures, []);
});
