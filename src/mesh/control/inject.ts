/**
 * Sidecar injection, as Istio's mutating webhook does it on pod CREATE: when the namespace carries
 * `istio-injection=enabled` (or the pod asks with `sidecar.istio.io/inject: "true"`), the pod gets an
 * `istio-proxy` container running `docker.io/istio/proxyv2`, which Skiff runs as `skiff proxy`.
 *
 * The container is injected as a Kubernetes native sidecar (an init container with
 * `restartPolicy: Always`), Istio's default since 1.27: the node agent then starts it first, holds
 * the app until its startup probe passes, and stops it after the app, which is what DESIGN §4 asks.
 */
import type { KObject } from '../../api/index.ts';

/** The injected container's name. */
export const PROXY_CONTAINER = 'istio-proxy';
/** The image the injected container names; the node agent runs Skiff's proxy for it. */
export const PROXY_IMAGE = 'docker.io/istio/proxyv2:1.27.1';
/** Namespaces Istio never injects into (the webhook's default namespaceSelector excludes them). */
const ignoredNamespaces = new Set(['kube-system', 'kube-public', 'kube-node-lease', 'istio-system']);

type Obj = Record<string, any>;

/** Whether a pod created in a namespace with these labels gets a sidecar (Istio's injectRequired plus the webhook selectors). */
export function injectionRequired(pod: KObject, nsLabels: Record<string, string> | undefined): boolean {
  const ns = pod.metadata.namespace ?? 'default';
  if (ignoredNamespaces.has(ns)) return false;
  const spec = pod.spec as Obj | undefined;
  if (!spec || spec.hostNetwork === true) return false;
  if ([...(spec.initContainers ?? []), ...(spec.containers ?? [])].some((c: Obj) => c?.name === PROXY_CONTAINER)) return false;
  const nsValue = nsLabels?.['istio-injection'];
  if (nsValue === 'disabled') return false;
  // The pod label wins over the (deprecated) annotation, as in Istio's injectRequired.
  const podValue = pod.metadata.labels?.['sidecar.istio.io/inject'] ?? pod.metadata.annotations?.['sidecar.istio.io/inject'];
  if (podValue !== undefined) return podValue.toLowerCase() === 'true' || podValue.toLowerCase() === 'y' || podValue.toLowerCase() === 'yes';
  return nsValue === 'enabled';
}

/** The canonical service name Istio derives for a pod's labels. */
export function canonicalName(pod: KObject): string {
  const l = pod.metadata.labels ?? {};
  return l['service.istio.io/canonical-name'] ?? l['app.kubernetes.io/name'] ?? l.app ?? workloadName(pod);
}

/** The canonical revision Istio derives for a pod's labels. */
export function canonicalRevision(pod: KObject): string {
  const l = pod.metadata.labels ?? {};
  return l['service.istio.io/canonical-revision'] ?? l['app.kubernetes.io/version'] ?? l.version ?? 'latest';
}

/** The workload a pod belongs to: its ReplicaSet's Deployment (the RS name minus the template hash), else the owner, else the pod. */
export function workloadName(pod: KObject): string {
  const owner = (pod.metadata.ownerReferences ?? []).find((o: Obj) => o.controller) as Obj | undefined;
  const hash = pod.metadata.labels?.['pod-template-hash'];
  if (owner?.kind === 'ReplicaSet' && hash && String(owner.name).endsWith(`-${hash}`)) return String(owner.name).slice(0, -hash.length - 1);
  if (owner?.name) return String(owner.name);
  if (pod.metadata.generateName) return pod.metadata.generateName.replace(/-$/, '');
  return pod.metadata.name ?? '';
}

function fieldEnv(name: string, fieldPath: string): Obj {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

function readyProbe(period: number, failures: number): Obj {
  return { httpGet: { path: '/healthz/ready', port: 15021, scheme: 'HTTP' }, periodSeconds: period, timeoutSeconds: 3, successThreshold: 1, failureThreshold: failures };
}

/** The injected container, already defaulted (injection runs after the API server's defaulting). */
export function proxyContainer(pod: KObject): Obj {
  const apps = ((pod.spec?.containers ?? []) as Obj[]).map((c) => c.name).join(',');
  return {
    name: PROXY_CONTAINER,
    image: PROXY_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    args: ['proxy', 'sidecar', '--domain', '$(POD_NAMESPACE).svc.cluster.local', '--proxyLogLevel=warning', '--proxyComponentLogLevel=misc:error', '--log_output_level=default:info'],
    env: [
      { name: 'PILOT_CERT_PROVIDER', value: 'istiod' },
      { name: 'CA_ADDR', value: 'istiod.istio-system.svc:15012' },
      fieldEnv('POD_NAME', 'metadata.name'),
      fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
      fieldEnv('INSTANCE_IP', 'status.podIP'),
      fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
      fieldEnv('HOST_IP', 'status.hostIP'),
      { name: 'ISTIO_META_APP_CONTAINERS', value: apps },
      { name: 'ISTIO_META_CLUSTER_ID', value: 'Kubernetes' },
      { name: 'ISTIO_META_INTERCEPTION_MODE', value: 'REDIRECT' },
      { name: 'ISTIO_META_WORKLOAD_NAME', value: workloadName(pod) },
      { name: 'ISTIO_META_MESH_ID', value: 'cluster.local' },
      { name: 'TRUST_DOMAIN', value: 'cluster.local' },
    ],
    ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }],
    readinessProbe: readyProbe(15, 4),
    startupProbe: readyProbe(1, 600),
    resources: { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '100m', memory: '128Mi' } },
    restartPolicy: 'Always',
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  };
}

/** Adds the sidecar, Istio's labels and annotations to a pod about to be created. */
export function injectSidecar(pod: KObject): void {
  const spec = pod.spec as Obj;
  const first = (spec.containers as Obj[] | undefined)?.[0]?.name as string | undefined;
  spec.initContainers = [proxyContainer(pod), ...((spec.initContainers as Obj[] | undefined) ?? [])];
  const labels = (pod.metadata.labels ??= {});
  labels['security.istio.io/tlsMode'] ??= 'istio';
  labels['service.istio.io/canonical-name'] ??= canonicalName(pod);
  labels['service.istio.io/canonical-revision'] ??= canonicalRevision(pod);
  const ann = (pod.metadata.annotations ??= {});
  ann['sidecar.istio.io/status'] = JSON.stringify({ initContainers: [PROXY_CONTAINER], containers: null, volumes: [], imagePullSecrets: null, revision: 'default' });
  ann['istio.io/rev'] ??= 'default';
  if (first) {
    ann['kubectl.kubernetes.io/default-container'] ??= first;
    ann['kubectl.kubernetes.io/default-logs-container'] ??= first;
  }
  ann['prometheus.io/port'] ??= '15020';
  ann['prometheus.io/scrape'] ??= 'true';
  ann['prometheus.io/path'] ??= '/stats/prometheus';
}

/** True when the pod carries an injected sidecar. */
export function hasSidecar(pod: KObject): boolean {
  return [...((pod.spec?.initContainers ?? []) as Obj[]), ...((pod.spec?.containers ?? []) as Obj[])].some((c) => c.name === PROXY_CONTAINER);
}

/** The admission hook for pods: injects on CREATE when required. `nsLabels` reads a namespace's labels from the store. */
export function injectionAdmission(nsLabels: (ns: string) => Record<string, string> | undefined): (obj: KObject, old: KObject | undefined) => void {
  return (obj, old) => {
    if (old) return;
    if (injectionRequired(obj, nsLabels(obj.metadata.namespace ?? 'default'))) injectSidecar(obj);
  };
}
