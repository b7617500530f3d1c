/** Per-resource defaulting (SetDefaults_* of core/v1, apps/v1, batch/v1, discovery/v1, apiextensions/v1, plus strategy-set fields). */
import type { KObject } from '../types.ts';
import type { Obj } from './util.ts';
import { isObj } from './util.ts';
import { defaultPod, defaultPodTemplate, ensureObj, setDefault } from './defaults-pod.ts';

function objects(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isObj) : [];
}

/** `spec[field]`: type RollingUpdate unless set, and then its rollingUpdate's unset fields from `rolling`. */
function defaultRollingStrategy(spec: Obj, field: 'strategy' | 'updateStrategy', rolling: Record<string, unknown>): void {
  const strategy = ensureObj(spec, field);
  if (!strategy) return;
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy.type !== 'RollingUpdate') return;
  const ru = ensureObj(strategy, 'rollingUpdate');
  if (ru) for (const [k, v] of Object.entries(rolling)) setDefault(ru, k, v);
}

function defaultDeployment(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  if (!spec) return;
  setDefault(spec, 'replicas', 1);
  defaultRollingStrategy(spec, 'strategy', { maxUnavailable: '25%', maxSurge: '25%' });
  setDefault(spec, 'revisionHistoryLimit', 10);
  setDefault(spec, 'progressDeadlineSeconds', 600);
  defaultPodTemplate(spec);
}

function defaultReplicaSet(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  if (!spec) return;
  setDefault(spec, 'replicas', 1);
  defaultPodTemplate(spec);
}

function defaultJob(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  if (!spec) return;
  if ((spec.completions === undefined || spec.completions === null) && (spec.parallelism === undefined || spec.parallelism === null)) spec.completions = 1;
  setDefault(spec, 'parallelism', 1);
  setDefault(spec, 'backoffLimit', spec.backoffLimitPerIndex !== undefined && spec.backoffLimitPerIndex !== null ? 2147483647 : 6);
  setDefault(spec, 'completionMode', 'NonIndexed');
  setDefault(spec, 'suspend', false);
  if (spec.podFailurePolicy === undefined || spec.podFailurePolicy === null) setDefault(spec, 'podReplacementPolicy', 'TerminatingOrFailed');
  defaultPodTemplate(spec);
  // The Job strategy generates the selector from the uid (so call this after the uid is assigned).
  const uid = obj.metadata?.uid;
  const name = obj.metadata?.name;
  if (spec.manualSelector !== true && typeof uid === 'string' && uid && (spec.selector === undefined || spec.selector === null)) {
    spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    const tmpl = isObj(spec.template) ? spec.template : undefined;
    const meta = tmpl ? ensureObj(tmpl, 'metadata') : undefined;
    const labels = meta ? ensureObj(meta, 'labels') : undefined;
    if (labels) {
      labels['batch.kubernetes.io/controller-uid'] = uid;
      labels['controller-uid'] = uid;
      if (typeof name === 'string') {
        labels['batch.kubernetes.io/job-name'] = name;
        labels['job-name'] = name;
      }
    }
  }
}

function defaultStatefulSet(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  if (!spec) return;
  setDefault(spec, 'replicas', 1);
  setDefault(spec, 'podManagementPolicy', 'OrderedReady');
  defaultRollingStrategy(spec, 'updateStrategy', { partition: 0 });
  setDefault(spec, 'revisionHistoryLimit', 10);
  const retention = ensureObj(spec, 'persistentVolumeClaimRetentionPolicy');
  if (retention) {
    setDefault(retention, 'whenDeleted', 'Retain');
    setDefault(retention, 'whenScaled', 'Retain');
  }
  defaultPodTemplate(spec);
}

function defaultDaemonSet(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  if (!spec) return;
  defaultRollingStrategy(spec, 'updateStrategy', { maxUnavailable: 1, maxSurge: 0 });
  setDefault(spec, 'revisionHistoryLimit', 10);
  defaultPodTemplate(spec);
}

function defaultCronJob(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  if (!spec) return;
  setDefault(spec, 'concurrencyPolicy', 'Allow');
  setDefault(spec, 'suspend', false);
  setDefault(spec, 'successfulJobsHistoryLimit', 3);
  setDefault(spec, 'failedJobsHistoryLimit', 1);
  // Only the pod template of the jobTemplate is defaulted; the Job gets its own defaults when made.
  const jt = isObj(spec.jobTemplate) ? spec.jobTemplate : undefined;
  if (jt && isObj(jt.spec)) defaultPodTemplate(jt.spec);
}

function defaultService(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  if (!spec) return;
  setDefault(spec, 'type', 'ClusterIP');
  setDefault(spec, 'sessionAffinity', 'None');
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const cfg = ensureObj(spec, 'sessionAffinityConfig');
    const ip = cfg ? ensureObj(cfg, 'clientIP') : undefined;
    if (ip) setDefault(ip, 'timeoutSeconds', 10800);
  }
  for (const port of objects(spec.ports)) {
    setDefault(port, 'protocol', 'TCP');
    if (port.targetPort === undefined || port.targetPort === null || port.targetPort === 0 || port.targetPort === '') {
      if (port.port !== undefined) port.targetPort = port.port;
    }
  }
  const type = spec.type;
  const external = type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0);
  if (external) setDefault(spec, 'externalTrafficPolicy', 'Cluster');
  if (type === 'ClusterIP' || type === 'NodePort' || type === 'LoadBalancer') {
    setDefault(spec, 'internalTrafficPolicy', 'Cluster');
    // Set by the service REST strategy/IP allocator in upstream; Skiff runs single-stack IPv4.
    setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
    setDefault(spec, 'ipFamilies', ['IPv4']);
  }
  if (type === 'LoadBalancer') setDefault(spec, 'allocateLoadBalancerNodePorts', true);
}

function defaultSecret(obj: KObject): void {
  setDefault(obj, 'type', 'Opaque');
  // v1 → internal conversion: stringData entries overwrite data (base64-encoded) and stringData is dropped.
  if (isObj(obj.stringData)) {
    const data = ensureObj(obj, 'data');
    if (data) {
      for (const [k, v] of Object.entries(obj.stringData)) if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
      delete obj.stringData;
    }
  }
}

function defaultNamespace(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  if (spec) setDefault(spec, 'finalizers', ['kubernetes']);
  const status = ensureObj(obj, 'status');
  if (status) setDefault(status, 'phase', 'Active');
  const meta = isObj(obj.metadata) ? obj.metadata : undefined;
  if (meta && typeof meta.name === 'string' && meta.name) {
    const labels = ensureObj(meta, 'labels');
    if (labels) labels['kubernetes.io/metadata.name'] = meta.name;
  }
}

function defaultEndpoints(obj: KObject): void {
  for (const subset of objects(obj.subsets)) for (const port of objects(subset.ports)) setDefault(port, 'protocol', 'TCP');
}

function defaultEndpointSlice(obj: KObject): void {
  for (const port of objects(obj.ports)) {
    setDefault(port, 'name', '');
    setDefault(port, 'protocol', 'TCP');
  }
}

function defaultCrd(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  if (!spec) return;
  const names = isObj(spec.names) ? spec.names : undefined;
  if (names && typeof names.kind === 'string' && names.kind) {
    setDefault(names, 'singular', names.kind.toLowerCase());
    setDefault(names, 'listKind', `${names.kind}List`);
  }
  setDefault(spec, 'conversion', { strategy: 'None' });
}

const DEFAULTERS: Record<string, (obj: KObject) => void> = {
  pods: (obj) => defaultPod(obj as Obj),
  'deployments.apps': defaultDeployment,
  'replicasets.apps': defaultReplicaSet,
  'statefulsets.apps': defaultStatefulSet,
  'daemonsets.apps': defaultDaemonSet,
  'jobs.batch': defaultJob,
  'cronjobs.batch': defaultCronJob,
  services: defaultService,
  secrets: defaultSecret,
  namespaces: defaultNamespace,
  endpoints: defaultEndpoints,
  'endpointslices.discovery.k8s.io': defaultEndpointSlice,
  'customresourcedefinitions.apiextensions.k8s.io': defaultCrd,
};

/** Applies Kubernetes defaults for a built-in resource in place; unknown resources are left alone. */
export function applyDefaults(resourceKey: string, obj: KObject): void {
  if (!isObj(obj)) return;
  const fn = Object.prototype.hasOwnProperty.call(DEFAULTERS, resourceKey) ? DEFAULTERS[resourceKey] : undefined;
  fn?.(obj);
}
