// Shared helpers of the deploy tests: find and render kustomizations, load schema models, and model the
// PodDisruptionBudget arithmetic of the Kubernetes disruption controller over the pods the rendered workloads
// would create. Pure functions over plain objects (the tests mutate copies to prove the checks can fail).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, parse as parseYaml } from "yaml";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const manifestsDir = join(repoRoot, "manifests");

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/** Every directory under `root` that holds a kustomization (Components excluded: they do not build alone). */
export function findKustomizations(root = manifestsDir) {
  const found = [];
  const walk = (dir) => {
    const file = KUSTOMIZATION_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
    if (file) {
      const k = parseYaml(readFileSync(file, "utf8")) ?? {};
      if (k.kind !== "Component") found.push(dir);
    }
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== "node_modules" && !e.name.startsWith(".")) walk(join(dir, e.name));
    }
  };
  walk(root);
  return found.sort();
}

export const rel = (dir) => relative(repoRoot, dir) || ".";

/** `kubectl kustomize DIR` parsed into objects; throws with kubectl's message when rendering fails. */
export function render(dir) {
  let out;
  try {
    out = execFileSync(process.env.ISRGUARD_KUBECTL || "kubectl", ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    throw new Error(`kubectl kustomize ${rel(dir)} failed: ${(e.stderr || e.message).trim()}`);
  }
  const docs = parseAllDocuments(out);
  const objects = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${rel(dir)}: rendered YAML does not parse: ${d.errors[0].message}`);
    const o = d.toJS();
    if (o !== null && o !== undefined) objects.push(o);
  }
  return objects;
}

// apiVersion group -> npm package holding its models. Core groups come from kubernetes-models.
const MODEL_PACKAGES = [
  { test: (g) => g === "monitoring.coreos.com", pkg: "@kubernetes-models/prometheus-operator" },
  { test: (g) => g === "cert-manager.io", pkg: "@kubernetes-models/cert-manager" },
  { test: (g) => g === "kafka.strimzi.io" || g === "core.strimzi.io", pkg: "@kubernetes-models/strimzi-kafka-operator" },
  { test: (g) => g === "" || !g.includes(".") || g.endsWith(".k8s.io"), pkg: "kubernetes-models" },
];

/** The model class validating `apiVersion`/`kind`, or null when no installed schema package covers it. */
export async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const entry = MODEL_PACKAGES.find((m) => m.test(group));
  if (!entry) return null;
  const path = group === "" ? `${entry.pkg}/${version}/${kind}` : `${entry.pkg}/${group}/${version}/${kind}`;
  try {
    const mod = await import(path);
    return mod[kind] ?? null;
  } catch (e) {
    if (e.code === "ERR_MODULE_NOT_FOUND" || e.code === "ERR_PACKAGE_PATH_NOT_EXPORTED") return null;
    throw e;
  }
}

const key = (o) => `${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
export const objectKey = key;

// ---------------------------------------------------------------------------------------------------------------
// Pods that rendered workloads create. Each pod: { name, namespace, labels, owner, kafka: bool, gate: bool }.

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "ReplicaSet", "DaemonSet"]);
export const GATE_LABEL = ["app.kubernetes.io/name", "isrguard"];

/**
 * Pods of every workload in `objects`. Plain workloads: `replicas` copies of the pod template's labels.
 * Strimzi: each KafkaNodePool makes `replicas` pods labelled like Strimzi labels them plus the pod template
 * labels of the Kafka resource (spec.kafka.template.pod) and of the pool (spec.template.pod); the pool's win.
 */
export function podsOf(objects) {
  const pods = [];
  for (const o of objects) {
    const ns = o.metadata?.namespace ?? "default";
    if (WORKLOAD_KINDS.has(o.kind)) {
      const labels = { ...(o.spec?.template?.metadata?.labels ?? {}) };
      const n = o.kind === "DaemonSet" ? 1 : (o.spec?.replicas ?? 1);
      const gate = labels[GATE_LABEL[0]] === GATE_LABEL[1];
      for (let i = 0; i < n; i++) {
        pods.push({ name: `${o.metadata.name}-${i}`, namespace: ns, labels, owner: key(o), kafka: !gate, gate });
      }
    } else if (o.kind === "KafkaNodePool" && o.apiVersion?.startsWith("kafka.strimzi.io/")) {
      const cluster = o.metadata?.labels?.["strimzi.io/cluster"];
      const kafka = objects.find(
        (k) => k.kind === "Kafka" && k.metadata?.name === cluster && (k.metadata?.namespace ?? "default") === ns,
      );
      const roles = o.spec?.roles ?? [];
      const labels = {
        "strimzi.io/cluster": cluster,
        "strimzi.io/kind": "Kafka",
        "strimzi.io/name": `${cluster}-kafka`,
        "strimzi.io/pool-name": o.metadata.name,
        "strimzi.io/broker-role": String(roles.includes("broker")),
        "strimzi.io/controller-role": String(roles.includes("controller")),
        ...(kafka?.spec?.kafka?.template?.pod?.metadata?.labels ?? {}),
        ...(o.spec?.template?.pod?.metadata?.labels ?? {}),
      };
      for (let i = 0; i < (o.spec?.replicas ?? 0); i++) {
        pods.push({ name: `${cluster}-${o.metadata.name}-${i}`, namespace: ns, labels, owner: key(o), kafka: true, gate: false });
      }
    }
  }
  return pods;
}

/** Label selector semantics of metav1.LabelSelector (matchLabels AND matchExpressions). */
export function selectorMatches(selector, labels) {
  if (selector === null || selector === undefined) return false; // policy/v1: a null selector selects nothing
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case "In": if (!has || !e.values.includes(labels[e.key])) return false; break;
      case "NotIn": if (has && e.values.includes(labels[e.key])) return false; break;
      case "Exists": if (!has) return false; break;
      case "DoesNotExist": if (has) return false; break;
      default: throw new Error(`unknown selector operator ${e.operator}`);
    }
  }
  return true;
}

export const pdbsOf = (objects) => objects.filter((o) => o.kind === "PodDisruptionBudget");

/** Pods a PDB selects: same namespace and matching selector. */
export function selectedPods(pdb, pods) {
  const ns = pdb.metadata?.namespace ?? "default";
  return pods.filter((p) => p.namespace === ns && selectorMatches(pdb.spec?.selector, p.labels));
}

/**
 * disruptionsAllowed as the disruption controller computes it for an integer minAvailable:
 * max(0, ready selected pods - minAvailable). `ready(pod)` says whether a pod is ready.
 * Throws for budgets this deployment must not use (percentages, maxUnavailable), which would not even sync
 * over StrimziPodSet pods.
 */
export function disruptionsAllowed(pdb, pods, ready = () => true) {
  const { minAvailable, maxUnavailable } = pdb.spec ?? {};
  if (maxUnavailable !== undefined) throw new Error(`${key(pdb)}: maxUnavailable needs the pods' controller scale`);
  if (!Number.isInteger(minAvailable)) throw new Error(`${key(pdb)}: minAvailable must be an integer, got ${minAvailable}`);
  const healthy = selectedPods(pdb, pods).filter(ready).length;
  return Math.max(0, healthy - minAvailable);
}

/**
 * Everything that makes the gate work for one rendered cluster, as a list of problems (empty = works):
 * exactly one isrguard pod; every Kafka pod and the gate pod covered by exactly one PDB, the same one; that PDB
 * allows 1 disruption when all are ready and 0 when the gate or any one Kafka pod is not ready.
 */
export function gateProblems(objects) {
  const problems = [];
  const pods = podsOf(objects);
  const pdbs = pdbsOf(objects);
  const gates = pods.filter((p) => p.gate);
  const kafka = pods.filter((p) => p.kafka);
  if (gates.length !== 1) problems.push(`expected exactly 1 isrguard pod, the workloads make ${gates.length}`);
  if (kafka.length === 0) problems.push("no Kafka pods in the rendered objects");
  const coverage = (pod) => pdbs.filter((b) => selectedPods(b, [pod]).length === 1);
  for (const p of [...gates, ...kafka]) {
    const c = coverage(p);
    if (c.length === 0) problems.push(`pod ${p.name} (${p.owner}) is selected by no PodDisruptionBudget`);
    if (c.length > 1) {
      problems.push(`pod ${p.name} (${p.owner}) is selected by ${c.length} PodDisruptionBudgets ` +
        `(${c.map(key).join(", ")}): the eviction API refuses to evict it at all`);
    }
  }
  if (problems.length || gates.length !== 1) return problems;
  const [pdb] = coverage(gates[0]);
  for (const p of kafka) {
    if (coverage(p)[0] !== pdb) problems.push(`pod ${p.name} is not in the same budget as the isrguard pod`);
  }
  if (problems.length) return problems;
  const strangers = selectedPods(pdb, pods).filter((p) => !p.gate && !p.kafka);
  if (strangers.length) problems.push(`${key(pdb)} also selects ${strangers.map((p) => p.name).join(", ")}`);
  let allowed;
  try {
    allowed = disruptionsAllowed(pdb, pods);
  } catch (e) {
    return [...problems, e.message];
  }
  if (pdb.spec.minAvailable !== kafka.length) {
    problems.push(`${key(pdb)}: minAvailable ${pdb.spec.minAvailable} != ${kafka.length} Kafka pods + 1 gate - 1`);
  }
  if (allowed !== 1) problems.push(`${key(pdb)}: all pods ready -> ${allowed} disruptions allowed, want 1`);
  const gateDown = disruptionsAllowed(pdb, pods, (p) => !p.gate);
  if (gateDown !== 0) problems.push(`${key(pdb)}: isrguard not ready -> ${gateDown} disruptions allowed, want 0`);
  for (const down of kafka) {
    const n = disruptionsAllowed(pdb, pods, (p) => p !== down);
    if (n !== 0) problems.push(`${key(pdb)}: ${down.name} not ready -> ${n} disruptions allowed, want 0`);
  }
  return problems;
}

/** ISRGUARD_* environment variable names the binary understands, read from its sources under service/ (all layers). */
export function knownEnvNames() {
  const names = new Set();
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".cc")) {
        for (const m of readFileSync(path, "utf8").matchAll(/"(ISRGUARD_[A-Z0-9_]+)"/g)) names.add(m[1]);
      }
    }
  };
  walk(join(repoRoot, "service"));
  if (!names.has("ISRGUARD_BOOTSTRAP_SERVERS")) throw new Error("cannot find isrguard's ISRGUARD_* names in service/**/*.cc");
  return names;
}

const isGateWorkload = (o) => o.kind === "Deployment" && o.spec?.template?.metadata?.labels?.[GATE_LABEL[0]] === GATE_LABEL[1];

/**
 * Properties of the rendered isrguard Deployment, Service, ServiceMonitor and NetworkPolicy that the gate and
 * its operators rely on (the schema packages accept unknown field names, so a misspelt field would only show
 * up here). Returns problems (empty = fine); none when the objects hold no isrguard Deployment.
 */
export function deploymentProblems(objects) {
  const problems = [];
  const envNames = knownEnvNames();
  for (const d of objects.filter(isGateWorkload)) {
    const where = key(d);
    const spec = d.spec;
    const pod = spec.template.spec ?? {};
    if (spec.replicas !== 1) problems.push(`${where}: replicas ${spec.replicas}: a second pod adds a disruption`);
    if (spec.strategy?.type !== "Recreate") {
      problems.push(`${where}: strategy ${spec.strategy?.type}: RollingUpdate surges a second ready pod`);
    }
    if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${where}: pod runAsNonRoot is not true`);
    if (pod.securityContext?.seccompProfile?.type !== "RuntimeDefault") problems.push(`${where}: seccomp not RuntimeDefault`);
    const containers = pod.containers ?? [];
    const c = containers.find((x) => x.name === "isrguard");
    if (!c) {
      problems.push(`${where}: no container named isrguard`);
      continue;
    }
    const image = c.image ?? "";
    const tag = image.includes("@") ? "digest" : image.split("/").pop().split(":")[1];
    if (!tag || tag === "latest") problems.push(`${where}: image ${image} is not pinned to a version`);
    const sc = c.securityContext ?? {};
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) problems.push(`${where}: capabilities do not drop ALL`);
    if (sc.runAsUser === 0 || pod.securityContext?.runAsUser === 0) problems.push(`${where}: runs as uid 0`);
    const port = (c.ports ?? []).find((p) => p.name === "http");
    if (!port) problems.push(`${where}: no container port named http`);
    const rp = c.readinessProbe;
    if (rp?.httpGet?.path !== "/readyz") problems.push(`${where}: readiness probe is not GET /readyz`);
    if (rp?.failureThreshold !== 1) problems.push(`${where}: readiness failureThreshold ${rp?.failureThreshold}, want 1`);
    if (!(rp?.periodSeconds <= 10)) problems.push(`${where}: readiness periodSeconds ${rp?.periodSeconds}, want <= 10`);
    if (c.livenessProbe?.httpGet?.path !== "/livez") problems.push(`${where}: liveness probe is not GET /livez`);
    // The probes use the kubelet's own listener (--health-port), which no Service or NetworkPolicy opens.
    const health = (c.ports ?? []).find((p) => p.name === "health");
    const healthEnv = (c.env ?? []).find((e) => e.name === "ISRGUARD_HEALTH_PORT")?.value;
    if (!health) problems.push(`${where}: no container port named health (the probe listener, --health-port)`);
    else if (healthEnv !== undefined && Number(healthEnv) !== health.containerPort) {
      problems.push(`${where}: ISRGUARD_HEALTH_PORT ${healthEnv} != health containerPort ${health.containerPort}`);
    } else if (healthEnv === undefined && health.containerPort !== 8081) {
      problems.push(`${where}: health containerPort ${health.containerPort} but isrguard's default --health-port is 8081`);
    }
    for (const [kind, probe] of [["readiness", rp], ["liveness", c.livenessProbe]]) {
      const target = probe?.httpGet?.port;
      if (target !== "health" && target !== health?.containerPort) {
        problems.push(`${where}: ${kind} probe targets port ${target}, not the health port`);
      }
    }
    if (!c.resources?.requests?.memory || !c.resources?.limits?.memory) {
      problems.push(`${where}: memory request and limit must be set`);
    }
    const env = c.env ?? [];
    for (const e of env) {
      if (!envNames.has(e.name)) problems.push(`${where}: env ${e.name} is not an isrguard setting (service/**/*.cc)`);
    }
    const props = env.find((e) => e.name === "ISRGUARD_KAFKA_PROPERTIES")?.value;
    if (props) {
      const mounts = c.volumeMounts ?? [];
      if (!mounts.some((m) => props.startsWith(m.mountPath.replace(/\/?$/, "/")))) {
        problems.push(`${where}: ISRGUARD_KAFKA_PROPERTIES ${props} is not under any volumeMount`);
      }
    }
    const overrides = env.find((e) => e.name === "ISRGUARD_OVERRIDES_FILE")?.value;
    if (overrides) {
      // Only a whole-directory ConfigMap mount receives updates (a subPath mount keeps the first content).
      const mount = (c.volumeMounts ?? []).find((m) => overrides.startsWith(m.mountPath.replace(/\/?$/, "/")));
      const volume = (spec.template.spec.volumes ?? []).find((v) => v.name === mount?.name);
      if (!mount) problems.push(`${where}: ISRGUARD_OVERRIDES_FILE ${overrides} is not under any volumeMount`);
      else if (mount.subPath) problems.push(`${where}: overrides mount ${mount.mountPath} uses subPath: ConfigMap updates never arrive`);
      else if (!volume?.configMap) problems.push(`${where}: overrides volume ${mount.name} is not a ConfigMap`);
      else if (!objects.some((o) => o.kind === "ConfigMap" && o.metadata?.name === volume.configMap.name && o.metadata?.namespace === d.metadata.namespace)) {
        problems.push(`${where}: overrides ConfigMap ${volume.configMap.name} is not in the rendered manifests`);
      }
    }
    const podLabels = spec.template.metadata.labels;
    const ns = d.metadata.namespace;
    const sameNs = (o) => o.metadata?.namespace === ns;
    const services = objects.filter(
      (s) => s.kind === "Service" && sameNs(s) && s.spec?.selector && selectorMatches({ matchLabels: s.spec.selector }, podLabels),
    );
    if (services.length === 0) problems.push(`${where}: no Service selects the isrguard pod`);
    for (const s of services) {
      if (s.spec.publishNotReadyAddresses !== true) {
        problems.push(`${key(s)}: publishNotReadyAddresses is not true: /v1/status and /metrics vanish while the gate is closed`);
      }
      for (const p of s.spec.ports ?? []) {
        if (p.targetPort === "health" || (health && p.targetPort === health.containerPort)) {
          problems.push(`${key(s)}: port ${p.name} exposes the probe port to clients`);
        } else if (p.targetPort === "webhook") {
          // the eviction webhook's TLS listener (--webhook-port), served to the API server only
        } else if (p.targetPort !== "http" && p.targetPort !== port?.containerPort) {
          problems.push(`${key(s)}: port ${p.name} targets ${p.targetPort}, not the http container port`);
        }
      }
      const monitors = objects.filter(
        (m) => m.kind === "ServiceMonitor" && sameNs(m) && selectorMatches(m.spec?.selector, s.metadata.labels ?? {}),
      );
      const servesHttp = (s.spec.ports ?? []).some((p) => p.targetPort !== "webhook");
      if (monitors.length === 0 && servesHttp) problems.push(`${key(s)}: no ServiceMonitor selects it`);
      for (const m of monitors) {
        for (const ep of m.spec.endpoints ?? []) {
          if (!(s.spec.ports ?? []).some((p) => p.name === ep.port)) problems.push(`${key(m)}: endpoint port ${ep.port} is not a port of ${key(s)}`);
          if (ep.path !== "/metrics") problems.push(`${key(m)}: endpoint path ${ep.path}, want /metrics`);
        }
      }
    }
    const policies = objects.filter((n) => n.kind === "NetworkPolicy" && sameNs(n) && selectorMatches(n.spec?.podSelector, podLabels));
    for (const n of policies) {
      const open = (n.spec.ingress ?? []).some((r) => (r.ports ?? []).some((p) => p.port === port?.containerPort || p.port === "http"));
      if ((n.spec.policyTypes ?? []).includes("Ingress") && !open) problems.push(`${key(n)}: ingress to the http port is not allowed`);
      const healthOpen = (n.spec.ingress ?? []).some(
        (r) => !r.ports || r.ports.some((p) => p.port === health?.containerPort || p.port === "health"),
      );
      if (healthOpen) problems.push(`${key(n)}: ingress opens the probe port to pods`);
    }
  }
  return problems;
}

/** Budget rules for every PDB in a deployable overlay (no brokers rendered there). */
export function budgetProblems(objects) {
  const problems = [];
  const gatePods = podsOf(objects).filter((p) => p.gate);
  for (const b of pdbsOf(objects)) {
    if (b.apiVersion !== "policy/v1") problems.push(`${key(b)}: apiVersion ${b.apiVersion}, want policy/v1`);
    if (b.spec?.maxUnavailable !== undefined) problems.push(`${key(b)}: maxUnavailable fails over StrimziPodSet pods and mixed controllers`);
    if (!Number.isInteger(b.spec?.minAvailable)) problems.push(`${key(b)}: minAvailable must be an integer`);
    if (!b.spec?.unhealthyPodEvictionPolicy) problems.push(`${key(b)}: unhealthyPodEvictionPolicy must be chosen explicitly`);
    if (selectedPods(b, gatePods).length !== 1) problems.push(`${key(b)}: does not select the isrguard pod`);
    const ml = b.spec?.selector?.matchLabels ?? {};
    if (Object.keys(ml).some((k) => k.startsWith("app.kubernetes.io/"))) {
      problems.push(`${key(b)}: selects on app.kubernetes.io labels: would also catch unrelated pods`);
    }
  }
  return problems;
}

/**
 * The webhook's Pod reads (ISRGUARD_WEBHOOK_BROKER_ID_LABEL / _ANNOTATION): the isrguard pod mounts its service
 * account token, and a Role in each rule's namespace grants exactly `get` on pods, bound to that service account.
 * Without a rule, the token stays unmounted. Returns problems (empty = fine).
 */
export function podReaderProblems(objects) {
  const problems = [];
  for (const d of objects.filter(isGateWorkload)) {
    const pod = d.spec.template.spec ?? {};
    const c = (pod.containers ?? []).find((x) => x.name === "isrguard");
    const rules = (c?.env ?? [])
      .filter((e) => e.name === "ISRGUARD_WEBHOOK_BROKER_ID_LABEL" || e.name === "ISRGUARD_WEBHOOK_BROKER_ID_ANNOTATION")
      .flatMap((e) => String(e.value).split(","));
    if (rules.length === 0) {
      if (pod.automountServiceAccountToken !== false) problems.push(`${key(d)}: token mounted but no Pod is read`);
      continue;
    }
    if (pod.automountServiceAccountToken !== true) problems.push(`${key(d)}: reads Pods but automountServiceAccountToken is not true`);
    const sa = pod.serviceAccountName;
    for (const ns of new Set(rules.map((r) => r.split("=")[0]))) {
      const roles = objects.filter((o) => o.kind === "Role" && o.metadata?.namespace === ns);
      const bound = objects.filter(
        (b) => b.kind === "RoleBinding" && b.metadata?.namespace === ns && b.roleRef?.kind === "Role" &&
          (b.subjects ?? []).some((s) => s.kind === "ServiceAccount" && s.name === sa && s.namespace === d.metadata.namespace),
      );
      const readers = bound.map((b) => roles.find((r) => r.metadata.name === b.roleRef.name)).filter(Boolean);
      if (readers.length === 0) problems.push(`${key(d)}: no Role in namespace ${ns} bound to service account ${sa}`);
      for (const r of readers) {
        const grants = (r.rules ?? []).map((x) => JSON.stringify([x.apiGroups, x.resources, x.verbs, x.resourceNames ?? null]));
        if (grants.length !== 1 || grants[0] !== JSON.stringify([[""], ["pods"], ["get"], null])) {
          problems.push(`${key(r)}: grants ${grants.join(" ")}; want only get on pods`);
        }
      }
    }
  }
  return problems;
}
