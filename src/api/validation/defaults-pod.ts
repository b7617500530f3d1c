/** Pod spec defaulting (core/v1 SetDefaults_PodSpec, _Container, _Probe, _Volume and friends). */
import type { Obj } from './util.ts';
import { isObj } from './util.ts';
import { VOLUME_SOURCES } from './pod.ts';

/** Sets `o[k] = v` when the field is absent (undefined or null). */
export function setDefault(o: Obj, k: string, v: unknown): void {
  if (o[k] === undefined || o[k] === null) o[k] = v;
}

/** Returns `o[k]` as an object, creating `{}` when absent; undefined when it holds another type. */
export function ensureObj(o: Obj, k: string): Obj | undefined {
  if (o[k] === undefined || o[k] === null) o[k] = {};
  return isObj(o[k]) ? (o[k] as Obj) : undefined;
}

function objects(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isObj) : [];
}

/** The tag parsers.ParseImageName would find: "latest" when neither tag nor digest is given. */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const hasDigest = at >= 0;
  const name = hasDigest ? image.slice(0, at) : image;
  const colon = name.lastIndexOf(':');
  const tag = colon > name.lastIndexOf('/') ? name.slice(colon + 1) : '';
  return tag === '' && !hasDigest ? 'latest' : tag;
}

function defaultHTTPGet(h: unknown): void {
  if (!isObj(h) || !isObj(h.httpGet)) return;
  setDefault(h.httpGet, 'path', '/');
  setDefault(h.httpGet, 'scheme', 'HTTP');
}

function defaultProbe(p: unknown): void {
  if (!isObj(p)) return;
  setDefault(p, 'timeoutSeconds', 1);
  setDefault(p, 'periodSeconds', 10);
  setDefault(p, 'successThreshold', 1);
  setDefault(p, 'failureThreshold', 3);
  defaultHTTPGet(p);
}

function defaultContainer(c: Obj): void {
  if ((c.image === undefined || typeof c.image === 'string') && (c.imagePullPolicy === undefined || c.imagePullPolicy === null || c.imagePullPolicy === '')) {
    c.imagePullPolicy = imageTag(String(c.image ?? '')) === 'latest' ? 'Always' : 'IfNotPresent';
  }
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  setDefault(c, 'resources', {});
  for (const port of objects(c.ports)) setDefault(port, 'protocol', 'TCP');
  for (const env of objects(c.env)) {
    if (isObj(env.valueFrom) && isObj(env.valueFrom.fieldRef)) setDefault(env.valueFrom.fieldRef, 'apiVersion', 'v1');
  }
  for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe']) defaultProbe(c[p]);
  if (isObj(c.lifecycle)) {
    defaultHTTPGet(c.lifecycle.postStart);
    defaultHTTPGet(c.lifecycle.preStop);
  }
}

function defaultVolume(v: Obj): void {
  if (VOLUME_SOURCES.every((s) => v[s] === undefined || v[s] === null)) v.emptyDir = {};
  for (const s of ['secret', 'configMap', 'downwardAPI', 'projected']) if (isObj(v[s])) setDefault(v[s] as Obj, 'defaultMode', 420);
  if (isObj(v.hostPath)) setDefault(v.hostPath, 'type', '');
  if (isObj(v.downwardAPI)) {
    for (const item of objects(v.downwardAPI.items)) if (isObj(item.fieldRef)) setDefault(item.fieldRef, 'apiVersion', 'v1');
  }
}

/** Applies PodSpec defaults in place (used for pods and every pod template). */
export function defaultPodSpec(spec: Obj): void {
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'enableServiceLinks', true);
  // A null list item decodes to a zero-value container upstream, which then gets defaulted like any other.
  for (const f of ['initContainers', 'containers']) {
    const list = spec[f];
    if (Array.isArray(list)) list.forEach((c, i) => (c === null ? (list[i] = {}) : undefined));
  }
  for (const c of [...objects(spec.initContainers), ...objects(spec.containers)]) {
    defaultContainer(c);
    if (spec.hostNetwork === true) for (const port of objects(c.ports)) setDefault(port, 'hostPort', port.containerPort);
  }
  for (const v of objects(spec.volumes)) defaultVolume(v);
}

/** Applies pod template defaults: the template spec, created when missing. */
export function defaultPodTemplate(owner: Obj): void {
  const tmpl = ensureObj(owner, 'template');
  if (!tmpl) return;
  const spec = ensureObj(tmpl, 'spec');
  if (spec) defaultPodSpec(spec);
}

const DEFAULT_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

/** Pod defaults plus what upstream's admission plugins add to bare pods (service account, priority, tolerations). */
export function defaultPod(pod: Obj): void {
  const spec = ensureObj(pod, 'spec');
  if (!spec) return;
  defaultPodSpec(spec);
  if (typeof spec.serviceAccount === 'string' && spec.serviceAccount && !spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount;
  setDefault(spec, 'serviceAccountName', 'default');
  if (typeof spec.serviceAccountName === 'string') setDefault(spec, 'serviceAccount', spec.serviceAccountName);
  setDefault(spec, 'priority', 0);
  setDefault(spec, 'preemptionPolicy', 'PreemptLowerPriority');
  setDefault(spec, 'tolerations', []);
  if (Array.isArray(spec.tolerations)) {
    for (const t of DEFAULT_TOLERATIONS) {
      const covered = spec.tolerations.some((x) => isObj(x) && (x.key === t.key || (x.key === undefined && x.operator === 'Exists')) && (!x.effect || x.effect === 'NoExecute'));
      if (!covered) spec.tolerations.push({ ...t });
    }
  }
}
