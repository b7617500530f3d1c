/**
 * Controllers: level-triggered loops that make the cluster match its objects (DESIGN §1). Each one
 * lists and watches through the one Client, keeps per-key work queues and never blocks the others.
 */
import type { Client, Closeable, Registry, ResourceInfo } from '../api/index.ts';
import { CronJobController } from './cronjob.ts';
import { DaemonSetController } from './daemonset.ts';
import { DeploymentController } from './deployment.ts';
import { EndpointsController } from './endpoints.ts';
import { EventCleaner, EventRecorder } from './events.ts';
import { GarbageCollector } from './gc.ts';
import { JobController } from './job.ts';
import { Informers } from './informer.ts';
import { NamespaceController, namespaceAdmission, ServiceAccountController } from './namespace.ts';
import { NodeController } from './node.ts';
import { ReplicaSetController } from './replicaset.ts';
import { limitRangeAdmission } from './limitrange.ts';
import { quotaAdmission, quotaResources, ResourceQuotaController } from './quota.ts';
import { Scheduler } from './scheduler.ts';
import { StatefulSetController } from './statefulset.ts';
import { LoadBalancerController, serviceAdmission } from './service-ips.ts';
import type { Log } from './util.ts';

export { recordEvent, EventRecorder, EventCleaner, eventDefaults } from './events.ts';
export type { EventType } from './events.ts';
export { computeHash, podTemplateHashLabel } from './hash.ts';
export { serviceDefaults } from './service-ips.ts';
export { nodeDefaults } from './node.ts';
export { Informer, Informers } from './informer.ts';
export type { ChangeHandler, ChangeType } from './informer.ts';
export { WorkQueue } from './queue.ts';

/** Options of startControllers. */
export interface ControllerOptions {
  /** The name of this machine's Node object. */
  nodeName: string;
  /** The in-process registry, when there is one: lets namespace deletion and the GC see every resource, CRDs included. */
  registry?: Registry;
  /** Structured log sink; nothing is printed without it. */
  log?: Log;
  /** Controllers to leave out (e.g. `node` when a real kubelet reports the node). */
  disable?: Array<'namespace' | 'serviceaccount' | 'deployment' | 'replicaset' | 'statefulset' | 'daemonset' | 'job' | 'cronjob' | 'resourcequota' | 'gc' | 'endpoints' | 'loadbalancer' | 'node' | 'events' | 'scheduler'>;
}

/** Admission hooks that belong to controllers' domain (cluster IP and NodePort allocation, namespace label). Called once at startup. */
export function installAdmission(registry: Registry): void {
  registry.addAdmission('namespaces', (obj, old) => namespaceAdmission(obj, old));
  registry.addAdmission('services', serviceAdmission(registry));
  // LimitRanger mutates (before injection and other mutating hooks); quota validates at the end, so it
  // counts what is finally stored, sidecars included, as the API server orders its plugins.
  registry.addAdmission('pods', limitRangeAdmission(registry));
  for (const res of quotaResources) registry.addValidation(res, quotaAdmission(registry, res));
}

/** Starts every controller; close() stops them (idempotent). */
export function startControllers(client: Client, opts: ControllerOptions): Closeable {
  const log = opts.log;
  const off = new Set(opts.disable ?? []);
  const catalog: { all(): ResourceInfo[] } | undefined = opts.registry?.catalog;
  const informers = new Informers(client, { log });
  const events = new EventRecorder(client, { log });
  const parts: Closeable[] = [];
  if (!off.has('namespace')) parts.push(new NamespaceController(client, informers, { log, catalog }));
  if (!off.has('serviceaccount')) parts.push(new ServiceAccountController(client, informers, { log }));
  if (!off.has('deployment')) parts.push(new DeploymentController(client, informers, events, { log }));
  if (!off.has('replicaset')) parts.push(new ReplicaSetController(client, informers, events, { log }));
  if (!off.has('statefulset')) parts.push(new StatefulSetController(client, informers, events, { log }));
  if (!off.has('daemonset')) parts.push(new DaemonSetController(client, informers, events, { log }));
  if (!off.has('job')) parts.push(new JobController(client, informers, events, { log }));
  if (!off.has('resourcequota') && opts.registry) parts.push(new ResourceQuotaController(client, opts.registry, informers, events, { log }));
  if (!off.has('cronjob')) parts.push(new CronJobController(client, informers, events, { log }));
  if (!off.has('gc')) parts.push(new GarbageCollector(client, informers, { log, catalog }));
  if (!off.has('endpoints')) parts.push(new EndpointsController(client, informers, { log }));
  if (!off.has('loadbalancer')) parts.push(new LoadBalancerController(client, informers, { log }));
  if (!off.has('node')) parts.push(new NodeController(client, informers, { nodeName: opts.nodeName, log }));
  if (!off.has('events')) parts.push(new EventCleaner(client, { log }));
  if (!off.has('scheduler')) parts.push(new Scheduler(client, informers, events, { nodeName: opts.nodeName, log }));
  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      for (const p of parts) p.close();
      events.close();
      informers.close();
    },
  };
}
