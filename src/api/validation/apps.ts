/** Deployment, ReplicaSet, Job and CronJob validation (pkg/apis/apps/validation, pkg/apis/batch/validation). */
import type { KObject } from '../types.ts';
import type { Errs, Obj } from './util.ts';
import { child, forbidden, getInt, getIntOrString, getObj, getStr, goStringMap, invalid, isObj, nonNegative, notSupported, required } from './util.ts';
import { isValidPercent } from './names.ts';
import { goLabelSelector, immutable, selectorIsEmpty, selectorMatches, validateLabelSelector } from './meta.ts';
import { validatePodTemplateSpec } from './pod.ts';
import { CronError, parseSchedule, validTimeZone } from '../cron.ts';

/** Checks selector presence/emptiness and that it matches the template labels (shared by Deployment/ReplicaSet/Job). */
function validateSelectorAndTemplate(errs: Errs, spec: Obj, kind: string, restartPolicies: string[]): void {
  let selector: Obj | undefined;
  // A Job's selector is generated from its uid (see defaults.ts); when that has not happened there is nothing for the user to fix.
  const generated = kind === 'job' && spec.manualSelector !== true;
  if (spec.selector === undefined || spec.selector === null) {
    if (!generated) required(errs, 'spec.selector');
  } else {
    selector = validateLabelSelector(errs, spec.selector, 'spec.selector');
    if (isObj(spec.selector) && selectorIsEmpty(spec.selector)) {
      invalid(errs, 'spec.selector', spec.selector, `empty selector is invalid for ${kind}`, goLabelSelector(spec.selector));
      selector = undefined;
    }
  }
  const tmpl = validatePodTemplateSpec(errs, spec.template, 'spec.template');
  if (!tmpl) return;
  const meta = isObj(tmpl.metadata) ? tmpl.metadata : {};
  const labels = isObj(meta.labels) ? meta.labels : {};
  if (selector && !selectorMatches(selector, labels)) {
    const shown = isObj(meta.labels) ? goStringMap(labels).replace('interface {}', 'string') : 'map[string]string(nil)';
    invalid(errs, 'spec.template.metadata.labels', labels, '`selector` does not match template `labels`', shown);
  }
  const tspec = isObj(tmpl.spec) ? tmpl.spec : {};
  const rp = tspec.restartPolicy ?? '';
  // As upstream, this comes on top of validatePodSpec's generic restartPolicy check.
  if (typeof rp === 'string' && !restartPolicies.includes(rp)) notSupported(errs, 'spec.template.spec.restartPolicy', rp, restartPolicies);
  if (kind !== 'job' && tspec.activeDeadlineSeconds !== undefined && tspec.activeDeadlineSeconds !== null) {
    forbidden(errs, 'spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in ReplicaSet is not Supported');
  }
}

/** Validates an int-or-percent field: percent strings or non-negative ints; returns its value (percent as number). */
function validateIntOrPercent(errs: Errs, v: unknown, field: string): number | undefined {
  const val = getIntOrString(errs, v, field);
  if (typeof val === 'string') {
    const msgs = isValidPercent(val);
    for (const m of msgs) invalid(errs, field, val, m, val);
    return msgs.length === 0 ? Number.parseInt(val, 10) : undefined;
  }
  if (typeof val === 'number' && val < 0) invalid(errs, field, val, 'must be greater than or equal to 0');
  return val;
}

function validateStrategy(errs: Errs, v: unknown): void {
  const s = getObj(errs, v, 'spec.strategy');
  if (!s) return;
  const type = getStr(errs, s.type, 'spec.strategy.type');
  if (type === 'Recreate') {
    if (s.rollingUpdate !== undefined && s.rollingUpdate !== null) forbidden(errs, 'spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'");
  } else if (type === 'RollingUpdate') {
    const ru = getObj(errs, s.rollingUpdate, 'spec.strategy.rollingUpdate');
    if (!ru) {
      required(errs, 'spec.strategy.rollingUpdate', 'this should be defaulted and never be nil');
      return;
    }
    const p = 'spec.strategy.rollingUpdate';
    const unavailable = validateIntOrPercent(errs, ru.maxUnavailable, `${p}.maxUnavailable`);
    const surge = validateIntOrPercent(errs, ru.maxSurge, `${p}.maxSurge`);
    if (typeof ru.maxUnavailable === 'string' && unavailable !== undefined && unavailable > 100) {
      invalid(errs, `${p}.maxUnavailable`, ru.maxUnavailable, 'must not be greater than 100%', ru.maxUnavailable);
    }
    if ((unavailable ?? 0) === 0 && (surge ?? 0) === 0 && ru.maxUnavailable !== undefined && ru.maxSurge !== undefined) {
      invalid(errs, `${p}.maxUnavailable`, ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0', String(ru.maxUnavailable));
    }
  } else notSupported(errs, 'spec.strategy.type', type ?? '', ['Recreate', 'RollingUpdate']);
}

/** Validates a Deployment on create. */
export function validateDeployment(errs: Errs, obj: KObject): void {
  const spec = getObj(errs, obj.spec, 'spec') ?? {};
  nonNegative(errs, spec.replicas, 'spec.replicas');
  validateSelectorAndTemplate(errs, spec, 'deployment', ['Always']);
  validateStrategy(errs, spec.strategy);
  const minReady = nonNegative(errs, spec.minReadySeconds, 'spec.minReadySeconds') ?? 0;
  nonNegative(errs, spec.revisionHistoryLimit, 'spec.revisionHistoryLimit');
  const pds = nonNegative(errs, spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds');
  if (pds !== undefined && pds <= minReady) invalid(errs, 'spec.progressDeadlineSeconds', pds, 'must be greater than minReadySeconds');
}

/** Validates a ReplicaSet on create. */
export function validateReplicaSet(errs: Errs, obj: KObject): void {
  const spec = getObj(errs, obj.spec, 'spec') ?? {};
  nonNegative(errs, spec.replicas, 'spec.replicas');
  nonNegative(errs, spec.minReadySeconds, 'spec.minReadySeconds');
  validateSelectorAndTemplate(errs, spec, 'deployment', ['Always']);
}

/** Validates a StatefulSet on create (the fields Skiff's controller reads). */
export function validateStatefulSet(errs: Errs, obj: KObject): void {
  const spec = getObj(errs, obj.spec, 'spec') ?? {};
  nonNegative(errs, spec.replicas, 'spec.replicas');
  nonNegative(errs, spec.minReadySeconds, 'spec.minReadySeconds');
  const policy = getStr(errs, spec.podManagementPolicy, 'spec.podManagementPolicy');
  if (policy !== undefined && policy !== 'OrderedReady' && policy !== 'Parallel') notSupported(errs, 'spec.podManagementPolicy', policy, ['OrderedReady', 'Parallel']);
  const us = isObj(spec.updateStrategy) ? spec.updateStrategy : undefined;
  const type = us ? getStr(errs, us.type, 'spec.updateStrategy.type') : undefined;
  if (type !== undefined && type !== 'RollingUpdate' && type !== 'OnDelete') notSupported(errs, 'spec.updateStrategy.type', type, ['OnDelete', 'RollingUpdate']);
  if (us && isObj(us.rollingUpdate)) nonNegative(errs, us.rollingUpdate.partition, 'spec.updateStrategy.rollingUpdate.partition');
  validateSelectorAndTemplate(errs, spec, 'statefulset', ['Always']);
}

/** Validates a DaemonSet on create. */
export function validateDaemonSet(errs: Errs, obj: KObject): void {
  const spec = getObj(errs, obj.spec, 'spec') ?? {};
  nonNegative(errs, spec.minReadySeconds, 'spec.minReadySeconds');
  const us = isObj(spec.updateStrategy) ? spec.updateStrategy : undefined;
  const type = us ? getStr(errs, us.type, 'spec.updateStrategy.type') : undefined;
  if (type !== undefined && type !== 'RollingUpdate' && type !== 'OnDelete') notSupported(errs, 'spec.updateStrategy.type', type, ['OnDelete', 'RollingUpdate']);
  validateSelectorAndTemplate(errs, spec, 'daemonset', ['Always']);
}

/** Validates a Job on create (selector is generated from the uid unless manualSelector). */
export function validateJob(errs: Errs, obj: KObject): void {
  const spec = getObj(errs, obj.spec, 'spec') ?? {};
  for (const f of ['parallelism', 'completions', 'backoffLimit', 'ttlSecondsAfterFinished']) nonNegative(errs, spec[f], `spec.${f}`);
  const ads = getInt(errs, spec.activeDeadlineSeconds, 'spec.activeDeadlineSeconds');
  if (ads !== undefined && ads <= 0) invalid(errs, 'spec.activeDeadlineSeconds', ads, 'must be greater than 0');
  const mode = getStr(errs, spec.completionMode, 'spec.completionMode');
  if (mode !== undefined && mode !== 'NonIndexed' && mode !== 'Indexed') notSupported(errs, 'spec.completionMode', mode, ['NonIndexed', 'Indexed']);
  if (mode === 'Indexed' && (spec.completions === undefined || spec.completions === null)) required(errs, 'spec.completions', 'when completion mode is Indexed');
  validateSelectorAndTemplate(errs, spec, 'job', ['OnFailure', 'Never']);
}

/** Deployment/ReplicaSet update: apps/v1 selectors are immutable. */
export function validateSelectorUpdate(errs: Errs, obj: KObject, old: KObject): void {
  const sel = isObj(obj.spec) ? obj.spec.selector : undefined;
  const oldSel = isObj(old.spec) ? old.spec.selector : undefined;
  immutable(errs, sel, oldSel, 'spec.selector', goLabelSelector(sel));
}

/** Job update: selector and pod template are immutable (suspended-job exceptions not modelled). */
export function validateJobUpdate(errs: Errs, obj: KObject, old: KObject): void {
  validateSelectorUpdate(errs, obj, old);
  const tmpl = isObj(obj.spec) ? obj.spec.template : undefined;
  const oldTmpl = isObj(old.spec) ? old.spec.template : undefined;
  immutable(errs, tmpl, oldTmpl, 'spec.template', 'core.PodTemplateSpec{...}');
  const comp = isObj(obj.spec) ? obj.spec.completions : undefined;
  const oldComp = isObj(old.spec) ? old.spec.completions : undefined;
  immutable(errs, comp, oldComp, 'spec.completions');
}

/** Validates a CronJob on create and update (pkg/apis/batch/validation ValidateCronJobSpec, the parts Skiff models). */
export function validateCronJob(errs: Errs, obj: KObject): void {
  const spec = getObj(errs, obj.spec, 'spec') ?? {};
  const schedule = getStr(errs, spec.schedule, 'spec.schedule');
  if (!schedule) required(errs, 'spec.schedule');
  else if (/TZ/.test(schedule)) invalid(errs, 'spec.schedule', schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
  else {
    try {
      parseSchedule(schedule);
    } catch (e) {
      if (!(e instanceof CronError)) throw e;
      invalid(errs, 'spec.schedule', schedule, e.message);
    }
  }
  const zone = getStr(errs, spec.timeZone, 'spec.timeZone');
  if (zone !== undefined) {
    if (zone === '') invalid(errs, 'spec.timeZone', zone, 'timeZone must be nil or non-empty string');
    else if (zone.toLowerCase() === 'local') invalid(errs, 'spec.timeZone', zone, 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones');
    else if (!validTimeZone(zone)) invalid(errs, 'spec.timeZone', zone, `unknown time zone ${zone}`);
  }
  const policy = getStr(errs, spec.concurrencyPolicy, 'spec.concurrencyPolicy');
  if (!policy) required(errs, 'spec.concurrencyPolicy');
  else if (!['Allow', 'Forbid', 'Replace'].includes(policy)) notSupported(errs, 'spec.concurrencyPolicy', policy, ['Allow', 'Forbid', 'Replace']);
  for (const f of ['startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit']) nonNegative(errs, spec[f], `spec.${f}`);
  const jt = getObj(errs, spec.jobTemplate, 'spec.jobTemplate');
  const jspec = jt ? getObj(errs, jt.spec, 'spec.jobTemplate.spec') : undefined;
  if (!jspec) return;
  const tmpl = validatePodTemplateSpec(errs, jspec.template, 'spec.jobTemplate.spec.template');
  const rp = tmpl && isObj(tmpl.spec) ? (tmpl.spec.restartPolicy ?? '') : undefined;
  if (typeof rp === 'string' && !['OnFailure', 'Never'].includes(rp)) notSupported(errs, 'spec.jobTemplate.spec.template.spec.restartPolicy', rp, ['OnFailure', 'Never']);
}
