/**
 * A container's environment, as the kubelet builds it (makeEnvironmentVariables): envFrom, then env
 * (with `$(VAR)` expansion and valueFrom sources), then the service link variables, plus what Skiff's
 * local networking needs (POD_IP, PORT, HTTP_PROXY). Missing sources fail with the kubelet's messages.
 */
import os from 'node:os';
import type { KObject } from '../api/index.ts';
import { parseQuantity } from '../api/quantity.ts';

/** Why a container cannot be configured (its waiting reason is CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  readonly reason = 'CreateContainerConfigError';
}

/** Where env sources come from (informer caches, so no API call per container start). */
export interface EnvSources {
  configMap(ns: string, name: string): KObject | undefined;
  secret(ns: string, name: string): KObject | undefined;
  /** Services of a namespace. */
  services(ns: string): KObject[];
}

/** What the node decided about the pod and container. */
export interface EnvContext {
  podIP: string;
  hostIP: string;
  /** Port the process should listen on (the first containerPort, mapped when privileged). */
  port?: number;
  proxyPort: number;
  /** The container's own root folder (HOME). */
  home: string;
}

interface EnvVarSpec {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { resource: string; containerName?: string; divisor?: string | number };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

interface EnvFromSpec {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}

/** `$(VAR)` expansion as upstream's third_party expansion package: unknown references stay, `$$` is `$`. */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== '$' || i + 1 >= input.length) continue;
    out += input.slice(checkpoint, i);
    const next = input[i + 1];
    let advance = 1;
    if (next === '$') out += '$';
    else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) out += '$(';
      else {
        const name = input.slice(i + 2, close);
        out += lookup(name) ?? `$(${name})`;
        advance = close - i;
      }
    } else out += `$${next}`;
    i += advance;
    checkpoint = i + 1;
  }
  return out + input.slice(checkpoint);
}

function envName(s: string): string {
  return s.toUpperCase().replace(/-/g, '_');
}

/** The service link variables of a pod (`<SVC>_SERVICE_HOST`, docker link style `<SVC>_PORT_...`), as envvars.FromServices. */
export function serviceEnv(pod: KObject, sources: EnvSources): Record<string, string> {
  const ns = pod.metadata.namespace ?? 'default';
  const chosen = new Map<string, KObject>();
  // The API server's own service is always visible, from `default`; with enableServiceLinks the
  // pod's namespace adds its services (and wins for the same name outside `default`).
  for (const s of sources.services('default')) if (s.metadata.name === 'kubernetes') chosen.set('kubernetes', s);
  if (pod.spec?.enableServiceLinks !== false) {
    for (const s of sources.services(ns)) {
      if (ns === 'default' && s.metadata.name === 'kubernetes') continue;
      chosen.set(s.metadata.name ?? '', s);
    }
  }
  const env: Record<string, string> = {};
  for (const s of chosen.values()) {
    const ip = s.spec?.clusterIP;
    const ports = (s.spec?.ports ?? []) as Array<{ name?: string; port: number; protocol?: string }>;
    if (!ip || ip === 'None' || !ports.length) continue;
    const prefix = envName(s.metadata.name ?? '');
    env[`${prefix}_SERVICE_HOST`] = ip;
    env[`${prefix}_SERVICE_PORT`] = String(ports[0].port);
    for (const p of ports) if (p.name) env[`${prefix}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
    ports.forEach((p, i) => {
      const proto = (p.protocol ?? 'TCP').toLowerCase();
      const url = `${proto}://${ip}:${p.port}`;
      if (i === 0) env[`${prefix}_PORT`] = url;
      const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
      env[pp] = url;
      env[`${pp}_PROTO`] = proto;
      env[`${pp}_PORT`] = String(p.port);
      env[`${pp}_ADDR`] = ip;
    });
  }
  return env;
}

/** The value of a downward API field path (fieldRef), as podFieldSelectorRuntimeValue. */
export function fieldValue(pod: KObject, fieldPath: string, podIP: string, hostIP: string): string {
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (m) return (pod.metadata[m[1] as 'labels' | 'annotations'] ?? {})[m[2]] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
    case 'metadata.annotations':
      return Object.entries((pod.metadata[fieldPath.slice(9) as 'labels'] ?? {}) as Record<string, string>)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join('\n');
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return hostIP;
    default:
      throw new ContainerConfigError(`unsupported fieldPath: ${fieldPath}`);
  }
}

/** resourceFieldRef: the container's limit or request, divided and rounded up; limits default to the machine's capacity. */
function resourceValue(pod: KObject, container: { name: string; resources?: { limits?: Record<string, string>; requests?: Record<string, string> } }, ref: NonNullable<EnvVarSpec['valueFrom']>['resourceFieldRef'] & object): string {
  const target = ref.containerName ? ((pod.spec?.containers ?? []) as Array<typeof container>).find((c) => c.name === ref.containerName) ?? container : container;
  const [kind, res] = ref.resource.split('.') as ['limits' | 'requests', string];
  const capacity: Record<string, number> = { cpu: os.cpus().length, memory: os.totalmem(), 'ephemeral-storage': 0 };
  let v = parseQuantity(target.resources?.[kind]?.[res]);
  if (v === undefined) v = kind === 'limits' ? (capacity[res] ?? 0) : kind === 'requests' && res === 'cpu' ? 0 : 0;
  const divisor = parseQuantity(ref.divisor) || 1;
  return String(Math.ceil(v / divisor));
}

function decode(s: string): string {
  return Buffer.from(s, 'base64').toString();
}

/**
 * The full environment of a container: host PATH, Skiff's networking variables, service links, envFrom
 * and env. Throws ContainerConfigError with the kubelet's message when a source is missing.
 */
export function containerEnv(pod: KObject, container: { name: string; env?: EnvVarSpec[]; envFrom?: EnvFromSpec[] }, sources: EnvSources, ctx: EnvContext): Record<string, string> {
  const ns = pod.metadata.namespace ?? 'default';
  const cms = new Map<string, KObject | undefined>();
  const secrets = new Map<string, KObject | undefined>();
  const cm = (name: string): KObject | undefined => {
    if (!cms.has(name)) cms.set(name, sources.configMap(ns, name));
    return cms.get(name);
  };
  const secret = (name: string): KObject | undefined => {
    if (!secrets.has(name)) secrets.set(name, sources.secret(ns, name));
    return secrets.get(name);
  };
  // Skiff's own variables come first so the pod's env can override any of them (PORT, HTTP_PROXY).
  // NO_PROXY names only the pod's own address: `localhost` and 127.0.0.1 must go through the proxy,
  // which maps them to the pod itself (on Kubernetes they are the pod's own network namespace); cluster
  // IPs and service names go through the proxy too. HTTPS_PROXY is left unset: TLS goes direct to the
  // cluster IP, where the service proxy listens at layer 4.
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: ctx.home,
    HOSTNAME: pod.metadata.name ?? '',
    POD_IP: ctx.podIP,
    ...(ctx.port !== undefined ? { PORT: String(ctx.port) } : {}),
    HTTP_PROXY: `http://${ctx.podIP}:${ctx.proxyPort}`,
    http_proxy: `http://${ctx.podIP}:${ctx.proxyPort}`,
    NO_PROXY: ctx.podIP,
    no_proxy: ctx.podIP,
  };
  const svc = serviceEnv(pod, sources);
  const tmp: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const o = cm(from.configMapRef.name);
      if (!o) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries((o.data ?? {}) as Record<string, string>)) tmp[`${from.prefix ?? ''}${k}`] = v;
    } else if (from.secretRef) {
      const o = secret(from.secretRef.name);
      if (!o) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries((o.data ?? {}) as Record<string, string>)) tmp[`${from.prefix ?? ''}${k}`] = decode(v);
    }
  }
  const lookup = (n: string): string | undefined => tmp[n] ?? svc[n] ?? base[n];
  for (const e of container.env ?? []) {
    let v = e.value ?? '';
    if (v !== '') v = expand(v, lookup);
    else if (e.valueFrom) {
      const f = e.valueFrom;
      if (f.fieldRef) v = fieldValue(pod, f.fieldRef.fieldPath, ctx.podIP, ctx.hostIP);
      else if (f.resourceFieldRef) v = resourceValue(pod, container, f.resourceFieldRef);
      else if (f.configMapKeyRef) {
        const r = f.configMapKeyRef;
        const o = cm(r.name);
        if (!o) {
          if (r.optional) continue;
          throw new ContainerConfigError(`configmap "${r.name}" not found`);
        }
        const val = (o.data as Record<string, string> | undefined)?.[r.key];
        if (val === undefined) {
          if (r.optional) continue;
          throw new ContainerConfigError(`couldn't find key ${r.key} in ConfigMap ${ns}/${r.name}`);
        }
        v = val;
      } else if (f.secretKeyRef) {
        const r = f.secretKeyRef;
        const o = secret(r.name);
        if (!o) {
          if (r.optional) continue;
          throw new ContainerConfigError(`secret "${r.name}" not found`);
        }
        const val = (o.data as Record<string, string> | undefined)?.[r.key];
        if (val === undefined) {
          if (r.optional) continue;
          throw new ContainerConfigError(`couldn't find key ${r.key} in Secret ${ns}/${r.name}`);
        }
        v = decode(val);
      }
    }
    delete svc[e.name];
    tmp[e.name] = v;
  }
  return { ...base, ...svc, ...tmp };
}

/** Command and args with `$(VAR)` references to the final environment expanded (ExpandContainerCommandAndArgs). */
export function expandCommand(container: { command?: string[]; args?: string[] }, env: Record<string, string>): { command?: string[]; args?: string[] } {
  const lookup = (n: string): string | undefined => env[n];
  return { command: container.command?.map((s) => expand(s, lookup)), args: container.args?.map((s) => expand(s, lookup)) };
}
