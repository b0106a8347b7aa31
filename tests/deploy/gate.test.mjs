// The PodDisruptionBudget gate, computed from the RENDERED manifests: which pods each budget selects (pod
// templates' labels x replicas, Strimzi node pools included), and the disruptions it allows when everything is
// ready (1), when isrguard is not ready (0) and when any one Kafka pod is not ready (0). Every Kafka pod must be
// in exactly one budget. The negative tests break one thing in memory and expect the check to say so.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse as parseYaml } from "yaml";
import {
  budgetProblems, deploymentProblems, disruptionsAllowed, findKustomizations, gateProblems, manifestsDir,
  pdbsOf, podReaderProblems, podsOf, rel, render, selectedPods,
} from "./lib.mjs";

const rendered = new Map(findKustomizations().map((d) => [rel(d), render(d)]));
const EXAMPLES = { statefulset: "manifests/examples/statefulset-cluster", strimzi: "manifests/examples/strimzi-cluster" };
const copy = (objects) => structuredClone(objects);
const find = (objects, kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);

test("both example clusters are rendered", () => {
  for (const d of Object.values(EXAMPLES)) assert.ok(rendered.has(d), `${d} missing`);
});

for (const [dir, objects] of rendered) {
  const hasKafka = podsOf(objects).some((p) => p.kafka);
  if (hasKafka && pdbsOf(objects).length > 0) {
    test(`${dir}: one budget over all Kafka pods + isrguard; 1 disruption when healthy, 0 otherwise`, () => {
      assert.deepEqual(gateProblems(objects), []);
    });
  }
  test(`${dir}: isrguard Deployment, Service, ServiceMonitor and NetworkPolicy keep the gate sound`, () => {
    assert.deepEqual(deploymentProblems(objects), []);
  });
  // The webhook overlays replace the budget by the pods/eviction admission webhook (their kustomization says why).
  const webhook = objects.some((o) => o.kind === "ValidatingWebhookConfiguration");
  if (webhook) {
    test(`${dir}: no budget selects a Kafka pod; every pods/eviction CREATE goes to isrguard, failing closed`, () => {
      assert.equal(pdbsOf(objects).length, 0);
      const [hook] = objects.find((o) => o.kind === "ValidatingWebhookConfiguration").webhooks;
      assert.equal(hook.failurePolicy, "Fail");
      assert.equal(hook.sideEffects, "None");
      assert.deepEqual(hook.rules.map((r) => r.resources).flat(), ["pods/eviction"]);
      assert.equal(hook.objectSelector, undefined, "objectSelector matches the Eviction, never the Pod's labels");
    });
  }
  test(`${dir}: the service account token is mounted only to read Pods, with get on pods alone`, () => {
    assert.deepEqual(podReaderProblems(objects), []);
  });
  if (webhook) {
    test(`${dir}: the webhook maps brokers by the isrguard.io/broker-id label, readable through RBAC`, () => {
      const d = find(objects, "Deployment", "isrguard");
      const env = d.spec.template.spec.containers.find((c) => c.name === "isrguard").env;
      assert.deepEqual(env.find((e) => e.name === "ISRGUARD_WEBHOOK_BROKER_ID_LABEL"),
        { name: "ISRGUARD_WEBHOOK_BROKER_ID_LABEL", value: "kafka=isrguard.io/broker-id" });
      assert.equal(d.spec.template.spec.automountServiceAccountToken, true);
      assert.ok(find(objects, "Role", "isrguard-pod-reader"));
      assert.ok(find(objects, "RoleBinding", "isrguard-pod-reader"));
    });
  }
  if (dir.startsWith("manifests/overlays/") && !webhook) {
    test(`${dir}: deploys exactly one budget, integer minAvailable, selecting the isrguard pod`, () => {
      assert.equal(pdbsOf(objects).length, 1);
      assert.deepEqual(budgetProblems(objects), []);
    });
  }
}

test("statefulset example: the arithmetic in numbers (6 brokers + gate, minAvailable 6)", () => {
  const objects = rendered.get(EXAMPLES.statefulset);
  const pods = podsOf(objects);
  const [pdb] = pdbsOf(objects);
  assert.equal(selectedPods(pdb, pods).length, 7);
  assert.equal(pdb.spec.minAvailable, 6);
  assert.equal(disruptionsAllowed(pdb, pods), 1);
  assert.equal(disruptionsAllowed(pdb, pods, (p) => !p.gate), 0);
  assert.equal(disruptionsAllowed(pdb, pods, (p) => p.name !== "kafka-3"), 0);
  // A drain evicting one broker uses the one disruption: the next eviction is refused until it is back.
  const afterEviction = pods.filter((p) => p.name !== "kafka-0");
  assert.equal(disruptionsAllowed(pdb, afterEviction), 0);
});

test("strimzi example: controllers and brokers of every node pool are in the budget (3 + 6 + gate, minAvailable 9)", () => {
  const objects = rendered.get(EXAMPLES.strimzi);
  const pods = podsOf(objects);
  const [pdb] = pdbsOf(objects);
  const selected = selectedPods(pdb, pods);
  assert.equal(selected.filter((p) => p.labels["strimzi.io/pool-name"] === "controllers").length, 3);
  assert.equal(selected.filter((p) => p.labels["strimzi.io/pool-name"] === "brokers").length, 6);
  assert.equal(pdb.spec.minAvailable, 9);
  assert.equal(disruptionsAllowed(pdb, pods), 1);
  assert.equal(disruptionsAllowed(pdb, pods, (p) => !p.gate), 0);
});

// ---- the checks must fail on the mistakes they exist for ------------------------------------------------------

const expectProblem = (problems, pattern) =>
  assert.ok(problems.some((p) => pattern.test(p)), `expected a problem matching ${pattern}, got ${JSON.stringify(problems)}`);

test("a typo in the broker pods' label is caught", () => {
  const objects = copy(rendered.get(EXAMPLES.statefulset));
  find(objects, "StatefulSet", "kafka").spec.template.metadata.labels["isrguard.io/disruption-group"] = "kafka-mian";
  expectProblem(gateProblems(objects), /kafka-0 .* selected by no PodDisruptionBudget/);
});

test("a typo in the isrguard pod's label is caught", () => {
  const objects = copy(rendered.get(EXAMPLES.strimzi));
  find(objects, "Deployment", "isrguard").spec.template.metadata.labels["isrguard.io/disruption-group"] = "kafka_main";
  expectProblem(gateProblems(objects), /isrguard-0 .* selected by no PodDisruptionBudget/);
});

test("a node pool left without the label is caught", () => {
  const objects = copy(rendered.get(EXAMPLES.strimzi));
  // Without the Kafka-wide template label and without a pool template, the controllers are unlabelled.
  delete find(objects, "Kafka", "kafka-main").spec.kafka.template;
  delete find(objects, "KafkaNodePool", "controllers").spec.template;
  expectProblem(gateProblems(objects), /kafka-main-controllers-0 .* selected by no PodDisruptionBudget/);
});

test("Strimzi's own PDB left enabled (double coverage) is caught", () => {
  const objects = copy(rendered.get(EXAMPLES.strimzi));
  objects.push({
    apiVersion: "policy/v1", kind: "PodDisruptionBudget",
    metadata: { name: "kafka-main-kafka", namespace: "kafka" },
    spec: { minAvailable: 8, selector: { matchLabels: { "strimzi.io/cluster": "kafka-main", "strimzi.io/kind": "Kafka", "strimzi.io/name": "kafka-main-kafka" } } },
  });
  expectProblem(gateProblems(objects), /selected by 2 PodDisruptionBudgets/);
});

test("minAvailable not updated after scaling the brokers is caught", () => {
  const objects = copy(rendered.get(EXAMPLES.statefulset));
  find(objects, "StatefulSet", "kafka").spec.replicas = 7;
  const problems = gateProblems(objects);
  expectProblem(problems, /minAvailable 6 != 7 Kafka pods/);
  expectProblem(problems, /all pods ready -> 2 disruptions allowed/);
});

test("a second isrguard replica is caught", () => {
  const objects = copy(rendered.get(EXAMPLES.statefulset));
  find(objects, "Deployment", "isrguard").spec.replicas = 2;
  expectProblem(gateProblems(objects), /exactly 1 isrguard pod/);
  expectProblem(deploymentProblems(objects), /replicas 2/);
});

test("maxUnavailable or a percentage instead of an integer minAvailable is caught", () => {
  for (const spec of [{ maxUnavailable: 1 }, { minAvailable: "90%" }]) {
    const objects = copy(rendered.get(EXAMPLES.strimzi));
    const pdb = pdbsOf(objects)[0];
    delete pdb.spec.minAvailable;
    Object.assign(pdb.spec, spec);
    expectProblem(gateProblems(objects), /maxUnavailable|must be an integer/);
    expectProblem(budgetProblems(objects), /maxUnavailable|must be an integer/);
  }
});

test("a budget in another namespace than the brokers is caught", () => {
  const objects = copy(rendered.get(EXAMPLES.statefulset));
  pdbsOf(objects)[0].metadata.namespace = "isrguard";
  expectProblem(gateProblems(objects), /selected by no PodDisruptionBudget/);
});

test("RollingUpdate, a hidden-while-closed Service, a misspelt env var and a writable root are caught", () => {
  const objects = copy(rendered.get(EXAMPLES.strimzi));
  const d = find(objects, "Deployment", "isrguard");
  d.spec.strategy = { type: "RollingUpdate" };
  const c = d.spec.template.spec.containers[0];
  c.env.push({ name: "ISRGUARD_BOOTSTRAP_SERVER", value: "x:9092" });
  c.securityContext.readOnlyRootFilesystem = false;
  c.image = "isrguard:latest";
  find(objects, "Service", "isrguard").spec.publishNotReadyAddresses = false;
  const problems = deploymentProblems(objects);
  for (const re of [/strategy RollingUpdate/, /publishNotReadyAddresses/, /ISRGUARD_BOOTSTRAP_SERVER is not/, /readOnlyRootFilesystem/, /not pinned/]) {
    expectProblem(problems, re);
  }
});

test("probes on the API port, the probe port exposed by the Service or opened by the NetworkPolicy are caught", () => {
  const objects = copy(rendered.get(EXAMPLES.strimzi));
  const c = find(objects, "Deployment", "isrguard").spec.template.spec.containers[0];
  c.readinessProbe.httpGet.port = "http";
  c.env.find((e) => e.name === "ISRGUARD_HEALTH_PORT").value = "9999";
  find(objects, "Service", "isrguard").spec.ports.push({ name: "health", port: 8081, targetPort: "health" });
  find(objects, "NetworkPolicy", "isrguard").spec.ingress.push({ ports: [{ protocol: "TCP", port: 8081 }] });
  const problems = deploymentProblems(objects);
  for (const re of [/readiness probe targets port http/, /ISRGUARD_HEALTH_PORT 9999 != health containerPort 8081/,
    /exposes the probe port/, /opens the probe port to pods/]) {
    expectProblem(problems, re);
  }
});

test("an overrides file outside a live ConfigMap mount is caught", () => {
  const subPath = copy(rendered.get(EXAMPLES.strimzi));
  const c = find(subPath, "Deployment", "isrguard").spec.template.spec.containers[0];
  c.volumeMounts.find((m) => m.name === "overrides").subPath = "overrides.yaml";
  expectProblem(deploymentProblems(subPath), /uses subPath: ConfigMap updates never arrive/);
  const missing = copy(rendered.get(EXAMPLES.strimzi)).filter((o) => !(o.kind === "ConfigMap" && o.metadata.name === "isrguard-overrides"));
  expectProblem(deploymentProblems(missing), /overrides ConfigMap isrguard-overrides is not in the rendered manifests/);
});

test("the Strimzi Cluster Operator patch disables Strimzi's PDB generation", () => {
  const patch = parseYaml(readFileSync(join(manifestsDir, "examples/strimzi-cluster/cluster-operator.patch.yaml"), "utf8"));
  assert.equal(patch.kind, "Deployment");
  assert.equal(patch.metadata.name, "strimzi-cluster-operator");
  const env = patch.spec.template.spec.containers.find((c) => c.name === "strimzi-cluster-operator").env;
  assert.deepEqual(env.find((e) => e.name === "STRIMZI_POD_DISRUPTION_BUDGET_GENERATION"), {
    name: "STRIMZI_POD_DISRUPTION_BUDGET_GENERATION", value: "false",
  });
});

// With STRIMZI_POD_DISRUPTION_BUDGET_GENERATION=false the operator stops reconciling its PDBs but does not
// delete them (strimzi-kafka-operator KafkaReconciler.podDisruptionBudget() returns without touching the PDB),
// so the patch must not promise a deletion and must say how to remove the existing one.
test("the Strimzi Cluster Operator patch says the existing PDB stays and how to delete it", () => {
  const text = readFileSync(join(manifestsDir, "examples/strimzi-cluster/cluster-operator.patch.yaml"), "utf8");
  const comment = text.split("\n").filter((l) => l.startsWith("#")).join("\n");
  assert.doesNotMatch(comment, /\(and deletes\)|stops creating \(and/i);
  assert.match(comment, /does not delete/);
  assert.match(comment, /kubectl -n kafka delete pdb kafka-main-kafka/);
});

// Strimzi users scrape the brokers' own JMX; isrguard's kafka_* series with the same names would make the stock
// Strimzi alert rules (no label filter) fire twice, so the strimzi overlay switches them off.
test("the strimzi overlay switches off isrguard's JMX-named metric families; the statefulset overlay keeps them", () => {
  const envOf = (dir) =>
    find(rendered.get(dir), "Deployment", "isrguard").spec.template.spec.containers.find((c) => c.name === "isrguard").env ?? [];
  assert.deepEqual(envOf("manifests/overlays/strimzi").find((e) => e.name === "ISRGUARD_JMX_METRICS"), {
    name: "ISRGUARD_JMX_METRICS", value: "false",
  });
  assert.equal(envOf("manifests/overlays/statefulset").find((e) => e.name === "ISRGUARD_JMX_METRICS"), undefined);
});

test("a Pod reader without its binding, with more than get, or without the token is caught", () => {
  const webhook = rendered.get("manifests/overlays/webhook-no-cert-manager");
  const unbound = copy(webhook).filter((o) => o.kind !== "RoleBinding");
  expectProblem(podReaderProblems(unbound), /no Role in namespace kafka bound to service account isrguard/);
  const wide = copy(webhook);
  find(wide, "Role", "isrguard-pod-reader").rules[0].verbs.push("list");
  expectProblem(podReaderProblems(wide), /want only get on pods/);
  const other = copy(webhook);
  find(other, "RoleBinding", "isrguard-pod-reader").subjects[0].name = "default";
  expectProblem(podReaderProblems(other), /no Role in namespace kafka bound/);
  const noToken = copy(webhook);
  find(noToken, "Deployment", "isrguard").spec.template.spec.automountServiceAccountToken = false;
  expectProblem(podReaderProblems(noToken), /automountServiceAccountToken is not true/);
  const base = copy(rendered.get("manifests/base"));
  find(base, "Deployment", "isrguard").spec.template.spec.automountServiceAccountToken = true;
  expectProblem(podReaderProblems(base), /token mounted but no Pod is read/);
});
