/** Container validation (core validateContainers and helpers): names, image, ports, env, mounts, probes. */
import type { Errs, Obj } from './util.ts';
import {
  child,
  duplicate,
  forbidden,
  getArr,
  getInt,
  getIntOrString,
  getObj,
  getObjList,
  getStr,
  index,
  invalid,
  nonNegative,
  notFound,
  notSupported,
  required,
} from './util.ts';
import { isConfigMapKey, isDNS1123Label, isDNS1123Subdomain, isEnvVarName, isValidPortName, isValidPortNum } from './names.ts';

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const TERMINATION_POLICIES = ['File', 'FallbackToLogsOnError'];

/** Validates a port given as number or IANA name (ValidatePortNumOrName). */
export function validatePortNumOrName(errs: Errs, v: unknown, field: string): void {
  const p = getIntOrString(errs, v, field);
  if (typeof p === 'number') for (const m of isValidPortNum(p)) invalid(errs, field, p, m);
  else if (typeof p === 'string') for (const m of isValidPortName(p)) invalid(errs, field, p, m);
}

/** Validates the containers (or initContainers) list; `names` is shared so duplicates across lists are caught. */
export function validateContainers(errs: Errs, v: unknown, field: string, volumes: Set<string>, names: Set<string>, init = false): void {
  const list = getObjList(errs, v, field);
  if (!init && list.length === 0 && (v === undefined || v === null || (Array.isArray(v) && v.length === 0))) required(errs, field);
  const hostPorts = new Set<string>();
  for (const [i, c] of list) {
    const p = index(field, i);
    const name = getStr(errs, c.name, child(p, 'name'));
    if (!name) required(errs, child(p, 'name'));
    else {
      for (const m of isDNS1123Label(name)) invalid(errs, child(p, 'name'), name, m);
      if (names.has(name)) duplicate(errs, child(p, 'name'), name);
      names.add(name);
    }
    const image = getStr(errs, c.image, child(p, 'image'));
    if (!image) required(errs, child(p, 'image'));
    else if (image.trim() !== image) invalid(errs, child(p, 'image'), image, 'must not have leading or trailing whitespace');
    validatePorts(errs, c.ports, child(p, 'ports'), hostPorts);
    validateEnv(errs, c.env, child(p, 'env'));
    validateEnvFrom(errs, c.envFrom, child(p, 'envFrom'));
    validateVolumeMounts(errs, c.volumeMounts, child(p, 'volumeMounts'), volumes);
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      if (c[probe] === undefined || c[probe] === null) continue;
      // Sidecars (restartable init containers) may have every probe; other init containers none (validateInitContainers).
      if (init && c.restartPolicy !== 'Always') forbidden(errs, child(p, probe), 'may not be set for init containers without restartPolicy=Always');
      validateProbe(errs, c[probe], child(p, probe), probe !== 'readinessProbe');
    }
    getObj(errs, c.resources, child(p, 'resources'));
    getObj(errs, c.securityContext, child(p, 'securityContext'));
    for (const f of ['command', 'args']) getArr(errs, c[f], child(p, f))?.forEach((s, j) => getStr(errs, s, index(child(p, f), j)));
    const pull = getStr(errs, c.imagePullPolicy, child(p, 'imagePullPolicy'));
    if (!pull) required(errs, child(p, 'imagePullPolicy'));
    else if (!PULL_POLICIES.includes(pull)) notSupported(errs, child(p, 'imagePullPolicy'), pull, PULL_POLICIES);
    const tmp = getStr(errs, c.terminationMessagePolicy, child(p, 'terminationMessagePolicy'));
    if (!tmp) required(errs, child(p, 'terminationMessagePolicy'));
    else if (!TERMINATION_POLICIES.includes(tmp)) notSupported(errs, child(p, 'terminationMessagePolicy'), tmp, TERMINATION_POLICIES);
  }
}

function validatePorts(errs: Errs, v: unknown, field: string, hostPorts: Set<string>): void {
  const names = new Set<string>();
  for (const [i, port] of getObjList(errs, v, field)) {
    const p = index(field, i);
    const name = getStr(errs, port.name, child(p, 'name'));
    if (name) {
      const msgs = isValidPortName(name);
      for (const m of msgs) invalid(errs, child(p, 'name'), name, m);
      if (msgs.length === 0) {
        if (names.has(name)) duplicate(errs, child(p, 'name'), name);
        names.add(name);
      }
    }
    const cp = getInt(errs, port.containerPort, child(p, 'containerPort'));
    if (!cp) {
      if (port.containerPort === undefined || port.containerPort === null || port.containerPort === 0) required(errs, child(p, 'containerPort'));
    } else for (const m of isValidPortNum(cp)) invalid(errs, child(p, 'containerPort'), cp, m);
    const hp = getInt(errs, port.hostPort, child(p, 'hostPort'));
    if (hp) for (const m of isValidPortNum(hp)) invalid(errs, child(p, 'hostPort'), hp, m);
    const proto = getStr(errs, port.protocol, child(p, 'protocol'));
    if (!proto) required(errs, child(p, 'protocol'));
    else if (!PROTOCOLS.includes(proto)) notSupported(errs, child(p, 'protocol'), proto, PROTOCOLS);
    if (hp) {
      const k = `${hp}/${proto ?? ''}`;
      if (hostPorts.has(k)) duplicate(errs, child(p, 'hostPort'), k);
      hostPorts.add(k);
    }
  }
}

function validateEnv(errs: Errs, v: unknown, field: string): void {
  for (const [i, env] of getObjList(errs, v, field)) {
    const p = index(field, i);
    const name = getStr(errs, env.name, child(p, 'name'));
    if (!name) required(errs, child(p, 'name'));
    else for (const m of isEnvVarName(name)) invalid(errs, child(p, 'name'), name, m);
    const value = getStr(errs, env.value, child(p, 'value'));
    const from = getObj(errs, env.valueFrom, child(p, 'valueFrom'));
    if (!from) continue;
    const fp = child(p, 'valueFrom');
    let n = 0;
    const field2 = getObj(errs, from.fieldRef, child(fp, 'fieldRef'));
    if (field2) {
      n++;
      if (!getStr(errs, field2.fieldPath, child(fp, 'fieldRef.fieldPath'))) required(errs, child(fp, 'fieldRef.fieldPath'));
    }
    const res = getObj(errs, from.resourceFieldRef, child(fp, 'resourceFieldRef'));
    if (res) {
      n++;
      if (!getStr(errs, res.resource, child(fp, 'resourceFieldRef.resource'))) required(errs, child(fp, 'resourceFieldRef.resource'));
    }
    for (const ref of ['configMapKeyRef', 'secretKeyRef']) {
      const r = getObj(errs, from[ref], child(fp, ref));
      if (!r) continue;
      n++;
      const rp = child(fp, ref);
      const rname = getStr(errs, r.name, child(rp, 'name'));
      if (!rname) required(errs, child(rp, 'name'));
      else for (const m of isDNS1123Subdomain(rname)) invalid(errs, child(rp, 'name'), rname, m);
      const k = getStr(errs, r.key, child(rp, 'key'));
      if (!k) required(errs, child(rp, 'key'));
      else for (const m of isConfigMapKey(k)) invalid(errs, child(rp, 'key'), k, m);
    }
    if (n === 0) invalid(errs, fp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`');
    else if (n > 1) invalid(errs, fp, '', 'may not have more than one field specified at a time');
    if (value) invalid(errs, fp, '', 'may not be specified when `value` is not empty');
  }
}

function validateEnvFrom(errs: Errs, v: unknown, field: string): void {
  for (const [i, ef] of getObjList(errs, v, field)) {
    const p = index(field, i);
    const prefix = getStr(errs, ef.prefix, child(p, 'prefix'));
    if (prefix) for (const m of isEnvVarName(prefix)) invalid(errs, child(p, 'prefix'), prefix, m);
    let n = 0;
    for (const ref of ['configMapRef', 'secretRef']) {
      const r = getObj(errs, ef[ref], child(p, ref));
      if (!r) continue;
      n++;
      const rname = getStr(errs, r.name, child(p, `${ref}.name`));
      if (!rname) required(errs, child(p, `${ref}.name`));
      else for (const m of isDNS1123Subdomain(rname)) invalid(errs, child(p, `${ref}.name`), rname, m);
    }
    if (n === 0) invalid(errs, p, '', 'must specify one of: `configMapRef` or `secretRef`');
    else if (n > 1) invalid(errs, p, '', 'may not have more than one field specified at a time');
  }
}

function validateVolumeMounts(errs: Errs, v: unknown, field: string, volumes: Set<string>): void {
  const mountPoints = new Set<string>();
  for (const [i, m] of getObjList(errs, v, field)) {
    const p = index(field, i);
    const name = getStr(errs, m.name, child(p, 'name'));
    if (!name) required(errs, child(p, 'name'));
    else if (!volumes.has(name)) notFound(errs, child(p, 'name'), name);
    const mp = getStr(errs, m.mountPath, child(p, 'mountPath'));
    if (!mp) required(errs, child(p, 'mountPath'));
    else {
      if (mountPoints.has(mp)) invalid(errs, child(p, 'mountPath'), mp, 'must be unique');
      mountPoints.add(mp);
    }
    const sub = getStr(errs, m.subPath, child(p, 'subPath'));
    if (sub) {
      if (sub.startsWith('/')) invalid(errs, child(field, 'subPath'), sub, 'must be a relative path');
      if (sub.split('/').includes('..')) invalid(errs, child(field, 'subPath'), sub, "must not contain '..'");
    }
  }
}

const HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];

/** Validates a probe (validateProbe + handler); liveness/startup probes need successThreshold 1. */
export function validateProbe(errs: Errs, v: unknown, field: string, mustSucceedOnce: boolean): void {
  const probe = getObj(errs, v, field);
  if (!probe) return;
  validateHandler(errs, probe, field, HANDLERS);
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    nonNegative(errs, probe[f], child(field, f));
  }
  const tgp = getInt(errs, probe.terminationGracePeriodSeconds, child(field, 'terminationGracePeriodSeconds'));
  if (tgp !== undefined && tgp <= 0) invalid(errs, child(field, 'terminationGracePeriodSeconds'), tgp, 'must be greater than 0');
  if (mustSucceedOnce && probe.successThreshold !== undefined && probe.successThreshold !== null && probe.successThreshold !== 1) {
    invalid(errs, child(field, 'successThreshold'), probe.successThreshold, 'must be 1');
  }
}

/** Validates a ProbeHandler / LifecycleHandler: exactly one handler of `kinds`. */
export function validateHandler(errs: Errs, h: Obj, field: string, kinds: string[]): void {
  let n = 0;
  for (const k of kinds) {
    const sub = getObj(errs, h[k], child(field, k));
    if (!sub) continue;
    if (n++ > 0) {
      forbidden(errs, child(field, k), 'may not specify more than 1 handler type');
      continue;
    }
    const p = child(field, k);
    if (k === 'exec') {
      const cmd = getArr(errs, sub.command, child(p, 'command'));
      if (!cmd || cmd.length === 0) required(errs, child(p, 'command'));
    } else if (k === 'httpGet') {
      if (!getStr(errs, sub.path, child(p, 'path'))) required(errs, child(p, 'path'));
      validatePortNumOrName(errs, sub.port, child(p, 'port'));
      if (sub.port === undefined || sub.port === null) required(errs, child(p, 'port'));
      const scheme = getStr(errs, sub.scheme, child(p, 'scheme'));
      if (scheme !== undefined && scheme !== 'HTTP' && scheme !== 'HTTPS') notSupported(errs, child(p, 'scheme'), scheme, ['HTTP', 'HTTPS']);
    } else if (k === 'tcpSocket') {
      validatePortNumOrName(errs, sub.port, child(p, 'port'));
      if (sub.port === undefined || sub.port === null) required(errs, child(p, 'port'));
    } else if (k === 'grpc') {
      const port = getInt(errs, sub.port, child(p, 'port'));
      if (port !== undefined) for (const m of isValidPortNum(port)) invalid(errs, child(p, 'port'), port, m);
    }
  }
  if (n === 0) required(errs, field, 'must specify a handler type');
}
