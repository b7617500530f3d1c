/** Shared shapes of the API layer: objects, resource descriptions, errors, printers and the client interface. */

/** Kubernetes object metadata, as stored and served. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any Kubernetes object; kind-specific fields are left open on purpose (validated at the boundary). */
export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  status?: any;
  [key: string]: unknown;
}

/**
 * A served resource. `key` is the group-qualified plural as Kubernetes writes it in
 * messages: `pods`, `deployments.apps`, `virtualservices.networking.istio.io`.
 */
export interface ResourceInfo {
  key: string;
  group: string; // "" for core
  version: string; // the storage / preferred version
  versions: string[]; // all served versions, preferred first
  resource: string; // plural
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  subresources: string[]; // "status", "scale"
  /** True for resources defined by a CustomResourceDefinition. */
  custom: boolean;
  /** Discovery's verbs, when not every verb (the create-only reviews); default all. */
  verbs?: string[];
}

/** One cause of an Invalid (422) error, as in metav1.StatusCause. */
export interface Cause {
  reason: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported' | 'FieldValueDuplicate' | 'FieldValueForbidden' | 'FieldValueTooLong' | 'FieldValueTypeInvalid';
  message: string;
  field: string;
}

/** A column of a server-side Table (meta.k8s.io/v1). */
export interface ColumnDefinition {
  name: string;
  type: string; // string | integer | number | boolean | date
  format: string; // "name" for the name column, else ""
  description: string;
  priority: number; // 0 default, 1 for -o wide
}

/** Turns objects of one resource into Table rows. */
export interface Printer {
  columns: ColumnDefinition[];
  /** The cells of one row; `now` is ms since epoch, used for ages. */
  cells(obj: KObject, now: number): unknown[];
}

/** Options for list and watch. */
export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KObject;
}

export interface ObjectList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: KObject[];
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** Something long-lived with an idempotent close. */
export interface Closeable {
  close(): void;
}

/**
 * The one client interface every component uses (DESIGN rule 2). `res` is a ResourceInfo key such as
 * `pods` or `deployments.apps`; `ns` is ignored for cluster-scoped resources.
 * Errors are thrown as ApiError (see errors.ts) with Kubernetes Status reasons.
 */
export interface Client {
  get(res: string, ns: string | undefined, name: string): Promise<KObject>;
  list(res: string, ns: string | undefined, opts?: ListOptions): Promise<ObjectList>;
  /** Watch from opts.resourceVersion (exclusive); the handler gets every later event in order. */
  watch(res: string, ns: string | undefined, opts: ListOptions, handler: (ev: WatchEvent) => void): Closeable;
  create(res: string, ns: string | undefined, obj: KObject, opts?: WriteOptions): Promise<KObject>;
  update(res: string, ns: string | undefined, obj: KObject, opts?: WriteOptions): Promise<KObject>;
  /** Replaces only the status of an object (the status subresource). */
  updateStatus(res: string, ns: string | undefined, obj: KObject, opts?: WriteOptions): Promise<KObject>;
  patch(res: string, ns: string | undefined, name: string, type: PatchType, patch: unknown, opts?: WriteOptions & { subresource?: string }): Promise<KObject>;
  delete(res: string, ns: string | undefined, name: string, opts?: DeleteOptions): Promise<KObject>;
}
