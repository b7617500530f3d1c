/** Printers for cluster plumbing (CRDs, RBAC, leases) and the fallbacks for everything else. */
import type { KObject, Printer } from '../types.ts';
import { ageColumn, ageOf, asArray, col, createdAtColumn, nameColumn, nameOf } from './columns.ts';

/** The creationTimestamp as upstream's default convertor prints it: RFC 3339 in UTC, no fraction. */
function createdAt(obj: KObject): string {
  const t = Date.parse(obj.metadata?.creationTimestamp ?? '');
  // A zero time.Time formats as year 1 in Go.
  return Number.isNaN(t) ? '0001-01-01T00:00:00Z' : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Upstream's default table convertor (Name, Created At), used for CRDs, roles and clusterroles. */
export const createdAtPrinter: Printer = {
  columns: [nameColumn(), createdAtColumn()],
  cells(obj) {
    return [nameOf(obj), createdAt(obj)];
  },
};

/** Skiff's fallback for kinds without a printer: Name, Age. */
export const defaultPrinter: Printer = {
  columns: [nameColumn(), ageColumn()],
  cells(obj, now) {
    return [nameOf(obj), ageOf(obj, now)];
  },
};

/** Users, groups and service accounts of a binding, as rbac.SubjectsStrings. */
function subjects(obj: KObject): [string, string, string] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const s of asArray<{ kind: string; name: string; namespace?: string }>(obj.subjects)) {
    if (s.kind === 'User') users.push(s.name);
    else if (s.kind === 'Group') groups.push(s.name);
    else if (s.kind === 'ServiceAccount') sas.push(s.namespace ? `${s.namespace}/${s.name}` : s.name);
  }
  return [users.join(', '), groups.join(', '), sas.join(', ')];
}

/** Printer for rolebindings and clusterrolebindings. */
export const bindingPrinter: Printer = {
  columns: [
    nameColumn(),
    col('Role', 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.'),
    ageColumn(),
    col('Users', 'Users in the roleBinding', { priority: 1 }),
    col('Groups', 'Groups in the roleBinding', { priority: 1 }),
    col('ServiceAccounts', 'ServiceAccounts in the roleBinding', { priority: 1 }),
  ],
  cells(b, now) {
    const ref = (b.roleRef ?? {}) as { kind?: string; name?: string };
    return [nameOf(b), `${ref.kind ?? ''}/${ref.name ?? ''}`, ageOf(b, now), ...subjects(b)];
  },
};

/** Printer for leases.coordination.k8s.io. */
export const leasePrinter: Printer = {
  columns: [nameColumn(), col('Holder', 'holderIdentity contains the identity of the holder of a current lease.'), ageColumn()],
  cells(l, now) {
    return [nameOf(l), l.spec?.holderIdentity ?? '', ageOf(l, now)];
  },
};
