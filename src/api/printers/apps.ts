/** Printers for apps/v1 and batch/v1 workloads. */
import type { KObject, Printer } from '../types.ts';
import { ageColumn, ageOf, asArray, col, containerCells, formatLabels, formatSelector, nameColumn, nameOf, selectorString, templateColumns } from './columns.ts';
import { age, humanDuration, parseTime } from './duration.ts';

/** spec.replicas, which the server defaults to 1 when omitted. */
function desired(obj: KObject): number {
  return typeof obj.spec?.replicas === 'number' ? obj.spec.replicas : 1;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

/** The pod template's containers. */
function templateContainers(obj: KObject): [string, string] {
  return containerCells(obj.spec?.template?.spec?.containers);
}

/** Printer for deployments.apps. */
export const deploymentPrinter: Printer = {
  columns: [
    nameColumn(),
    col('Ready', 'Number of the pod with ready state'),
    col('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
    col('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
    ageColumn(),
    ...templateColumns(true),
  ],
  cells(d, now) {
    const [names, images] = templateContainers(d);
    // Upstream prints selector.String() here, not FormatLabelSelector, so an empty selector is "".
    return [nameOf(d), `${num(d.status?.readyReplicas)}/${desired(d)}`, num(d.status?.updatedReplicas), num(d.status?.availableReplicas), ageOf(d, now), names, images, selectorString(d.spec?.selector)];
  },
};

/** Printer for replicasets.apps. */
export const replicaSetPrinter: Printer = {
  columns: [
    nameColumn(),
    col('Desired', 'Replicas is the number of desired replicas.', { type: 'integer' }),
    col('Current', 'Replicas is the most recently observed number of replicas.', { type: 'integer' }),
    col('Ready', 'The number of ready replicas for this replica set.', { type: 'integer' }),
    ageColumn(),
    ...templateColumns(true),
  ],
  cells(rs, now) {
    const [names, images] = templateContainers(rs);
    return [nameOf(rs), desired(rs), num(rs.status?.replicas), num(rs.status?.readyReplicas), ageOf(rs, now), names, images, formatSelector(rs.spec?.selector)];
  },
};

/** Printer for statefulsets.apps. */
export const statefulSetPrinter: Printer = {
  columns: [nameColumn(), col('Ready', 'Number of the pod with ready state'), ageColumn(), ...templateColumns(false)],
  cells(ss, now) {
    const [names, images] = templateContainers(ss);
    return [nameOf(ss), `${num(ss.status?.readyReplicas)}/${desired(ss)}`, ageOf(ss, now), names, images];
  },
};

/** Printer for daemonsets.apps. */
export const daemonSetPrinter: Printer = {
  columns: [
    nameColumn(),
    col('Desired', 'The total number of nodes that should be running the daemon pod.', { type: 'integer' }),
    col('Current', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.', { type: 'integer' }),
    col('Ready', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.', { type: 'integer' }),
    col('Up-to-date', 'The total number of nodes that are running updated daemon pod', { type: 'integer' }),
    col('Available', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.', { type: 'integer' }),
    col('Node Selector', 'NodeSelector is a selector which must be true for the pod to fit on a node.'),
    ageColumn(),
    ...templateColumns(true),
  ],
  cells(ds, now) {
    const s = ds.status ?? {};
    const [names, images] = templateContainers(ds);
    return [
      nameOf(ds), num(s.desiredNumberScheduled), num(s.currentNumberScheduled), num(s.numberReady), num(s.updatedNumberScheduled), num(s.numberAvailable),
      formatLabels(ds.spec?.template?.spec?.nodeSelector), ageOf(ds, now), names, images, formatSelector(ds.spec?.selector),
    ];
  },
};

/** True when the job carries a condition of this type; upstream stops at the first match. */
function jobCondition(job: KObject, type: string): boolean {
  const c = asArray<{ type: string; status: string }>(job.status?.conditions).find((x) => x.type === type);
  return c?.status === 'True';
}

/** The Status cell of a job. */
export function jobStatus(job: KObject): string {
  if (jobCondition(job, 'Complete')) return 'Complete';
  if (jobCondition(job, 'Failed')) return 'Failed';
  if (job.metadata?.deletionTimestamp) return 'Terminating';
  if (jobCondition(job, 'Suspended')) return 'Suspended';
  if (jobCondition(job, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

/** Printer for jobs.batch. */
export const jobPrinter: Printer = {
  columns: [
    nameColumn(),
    col('Status', 'Status of the job.'),
    col('Completions', 'The number of pods which reached phase Succeeded.'),
    col('Duration', 'Time required to complete the job.'),
    ageColumn(),
    ...templateColumns(true),
  ],
  cells(job, now) {
    const spec = job.spec ?? {};
    const succeeded = num(job.status?.succeeded);
    let completions: string;
    if (typeof spec.completions === 'number') completions = `${succeeded}/${spec.completions}`;
    else {
      const parallelism = num(spec.parallelism);
      completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
    }
    const start = parseTime(job.status?.startTime);
    const end = parseTime(job.status?.completionTime);
    const duration = start === undefined ? '' : humanDuration((end ?? now) - start);
    const [names, images] = templateContainers(job);
    return [nameOf(job), jobStatus(job), completions, duration, ageOf(job, now), names, images, formatSelector(spec.selector)];
  },
};

/** Printer for cronjobs.batch. */
export const cronJobPrinter: Printer = {
  columns: [
    nameColumn(),
    col('Schedule', 'The schedule in Cron format.'),
    col('Timezone', 'The time zone name for the given schedule.'),
    col('Suspend', 'This flag tells the controller to suspend subsequent executions.', { type: 'boolean' }),
    col('Active', 'A list of pointers to currently running jobs.', { type: 'integer' }),
    col('Last Schedule', 'Information when was the last time the job was successfully scheduled.'),
    ageColumn(),
    ...templateColumns(true),
  ],
  cells(cj, now) {
    const spec = cj.spec ?? {};
    const last = cj.status?.lastScheduleTime ? age(cj.status.lastScheduleTime, now) : '<none>';
    // printBoolPtr: the pointer's value as True/False, or <unset>.
    const suspend = typeof spec.suspend === 'boolean' ? (spec.suspend ? 'True' : 'False') : '<unset>';
    const jobSpec = spec.jobTemplate?.spec ?? {};
    const [names, images] = containerCells(jobSpec.template?.spec?.containers);
    return [nameOf(cj), spec.schedule ?? '', spec.timeZone ?? '<none>', suspend, asArray(cj.status?.active).length, last, ageOf(cj, now), names, images, formatSelector(jobSpec.selector)];
  },
};
