/** Server-side Table printers: per-resource column sets and cells matching upstream Kubernetes, CRD printers, and Table building. */
import type { Printer } from '../types.ts';
import { cronJobPrinter, daemonSetPrinter, deploymentPrinter, jobPrinter, replicaSetPrinter, statefulSetPrinter } from './apps.ts';
import { bindingPrinter, createdAtPrinter, defaultPrinter, leasePrinter } from './cluster.ts';
import {
  configMapPrinter, endpointsPrinter, eventPrinter, namespacePrinter, nodePrinter, resourceQuotaPrinter, secretPrinter, serviceAccountPrinter, servicePrinter,
} from './core.ts';
import { endpointSlicePrinter, ingressClassPrinter, ingressPrinter } from './networking.ts';
import { podPrinter } from './pods.ts';

export { crdPrinter } from './crd.ts';
export type { CrdColumn } from './crd.ts';
export { toTable, tableDefaults } from './table.ts';
export type { TableOptions } from './table.ts';
export { humanDuration, age } from './duration.ts';

/** Built-in printers by resource key; built once at module load, shared by every request. */
const PRINTERS: ReadonlyMap<string, Printer> = new Map<string, Printer>([
  ['pods', podPrinter],
  ['services', servicePrinter],
  ['endpoints', endpointsPrinter],
  ['namespaces', namespacePrinter],
  ['nodes', nodePrinter],
  ['configmaps', configMapPrinter],
  ['secrets', secretPrinter],
  ['resourcequotas', resourceQuotaPrinter],
  ['serviceaccounts', serviceAccountPrinter],
  ['events', eventPrinter],
  ['deployments.apps', deploymentPrinter],
  ['replicasets.apps', replicaSetPrinter],
  ['statefulsets.apps', statefulSetPrinter],
  ['daemonsets.apps', daemonSetPrinter],
  ['jobs.batch', jobPrinter],
  ['cronjobs.batch', cronJobPrinter],
  ['ingresses.networking.k8s.io', ingressPrinter],
  ['ingressclasses.networking.k8s.io', ingressClassPrinter],
  ['endpointslices.discovery.k8s.io', endpointSlicePrinter],
  ['leases.coordination.k8s.io', leasePrinter],
  ['rolebindings.rbac.authorization.k8s.io', bindingPrinter],
  ['clusterrolebindings.rbac.authorization.k8s.io', bindingPrinter],
  // These have no printer upstream, so they get the default convertor's Name / Created At.
  ['customresourcedefinitions.apiextensions.k8s.io', createdAtPrinter],
  ['roles.rbac.authorization.k8s.io', createdAtPrinter],
  ['clusterroles.rbac.authorization.k8s.io', createdAtPrinter],
]);

/** The printer for a resource key (`pods`, `deployments.apps`, ...), or the default Name/Age printer. */
export function printerFor(resourceKey: string): Printer {
  return PRINTERS.get(resourceKey) ?? defaultPrinter;
}
