/**
 * Strategic-merge metadata for built-in kinds: which lists merge, by which key, and which maps use
 * retainKeys. It mirrors the `patchStrategy` / `patchMergeKey` struct tags of k8s.io/api v0.32 and
 * is compiled once at module load into one tree per resource key, so a patch only walks maps.
 */

/** Patch metadata of one field; list elements share the node of their list (paths have no indices). */
export interface SchemaNode {
  /** patchStrategy "merge": merge the list (by mergeKey, or as a set of primitives when there is none). */
  readonly merge: boolean;
  readonly mergeKey: string;
  /** patchStrategy "retainKeys"; informational, since the `$retainKeys` directive itself drives the work. */
  readonly retainKeys: boolean;
  readonly fields: ReadonlyMap<string, SchemaNode>;
}

interface MutableNode extends SchemaNode {
  fields: Map<string, MutableNode>;
  /** Shared subtrees (pod spec, object meta) are sealed so grafting one cannot change another resource. */
  sealed: boolean;
}

/** Unknown fields: maps merge, lists are replaced wholesale. */
export const EMPTY_NODE: SchemaNode = { merge: false, mergeKey: '', retainKeys: false, fields: new Map() };

type Spec = { key?: string; merge?: boolean; retainKeys?: boolean };

function node(spec: Spec, fields: Record<string, MutableNode> = {}): MutableNode {
  return {
    merge: spec.merge ?? spec.key !== undefined,
    mergeKey: spec.key ?? '',
    retainKeys: spec.retainKeys ?? false,
    fields: new Map(Object.entries(fields)),
    sealed: true,
  };
}

function plain(fields: Record<string, MutableNode>): MutableNode {
  return node({}, fields);
}

/** Builds a tree from dotted paths, each ending in a (possibly shared) subtree. */
function tree(entries: Record<string, MutableNode>): MutableNode {
  const root: MutableNode = { ...plain({}), sealed: false };
  for (const [path, sub] of Object.entries(entries)) {
    const parts = path.split('.');
    let cur = root;
    for (const part of parts.slice(0, -1)) {
      let next = cur.fields.get(part);
      if (next === undefined) {
        next = { ...plain({}), sealed: false };
        cur.fields.set(part, next);
      }
      if (next.sealed) throw new Error(`schema path "${path}" descends into a shared subtree at "${part}"`);
      cur = next;
    }
    const last = parts[parts.length - 1];
    if (cur.fields.has(last)) throw new Error(`schema path "${path}" is defined twice`);
    cur.fields.set(last, sub);
  }
  return root;
}

const OBJECT_META = plain({
  ownerReferences: node({ key: 'uid' }),
  finalizers: node({ merge: true }), // primitive set-merge
});

const CONDITIONS = node({ key: 'type' });

const CONTAINER_FIELDS = {
  ports: node({ key: 'containerPort' }),
  env: node({ key: 'name' }),
  volumeMounts: node({ key: 'mountPath' }),
  volumeDevices: node({ key: 'devicePath' }),
};

const POD_SPEC = plain({
  containers: node({ key: 'name' }, CONTAINER_FIELDS),
  initContainers: node({ key: 'name' }, CONTAINER_FIELDS),
  ephemeralContainers: node({ key: 'name' }, CONTAINER_FIELDS),
  volumes: node({ key: 'name', retainKeys: true }),
  imagePullSecrets: node({ key: 'name' }),
  hostAliases: node({ key: 'ip' }),
  topologySpreadConstraints: node({ key: 'topologyKey' }),
  resourceClaims: node({ key: 'name', retainKeys: true }),
  schedulingGates: node({ key: 'name' }),
  // tolerations, readinessGates, affinity term lists: no patch strategy, replaced wholesale.
});

const POD_STATUS = {
  'status.podIPs': node({ key: 'ip' }),
  'status.hostIPs': node({ key: 'ip' }),
  'status.resourceClaimStatuses': node({ key: 'name', retainKeys: true }),
};

const POD_TEMPLATE = plain({ metadata: OBJECT_META, spec: POD_SPEC });

/** Every built-in object has ObjectMeta, and every status.conditions in k8s.io/api merges by `type`. */
function resource(entries: Record<string, MutableNode> = {}): MutableNode {
  return tree({ metadata: OBJECT_META, 'status.conditions': CONDITIONS, ...entries });
}

/** Where each workload keeps its pod template. */
const TEMPLATE = { 'spec.template': POD_TEMPLATE };

const RESOURCES = new Map<string, SchemaNode>([
  ['pods', resource({ spec: POD_SPEC, ...POD_STATUS })],
  ['podtemplates', resource({ template: POD_TEMPLATE })],
  ['replicationcontrollers', resource(TEMPLATE)],
  ['deployments.apps', resource({ ...TEMPLATE, 'spec.strategy': node({ retainKeys: true }) })],
  ['replicasets.apps', resource(TEMPLATE)],
  ['daemonsets.apps', resource(TEMPLATE)],
  // volumeClaimTemplates is atomic upstream; only the embedded ObjectMeta of each claim gets keys.
  ['statefulsets.apps', resource({ ...TEMPLATE, 'spec.volumeClaimTemplates': plain({ metadata: OBJECT_META }) })],
  ['jobs.batch', resource(TEMPLATE)],
  ['cronjobs.batch', resource({ 'spec.jobTemplate.metadata': OBJECT_META, 'spec.jobTemplate.spec.template': POD_TEMPLATE })],
  ['services', resource({ 'spec.ports': node({ key: 'port' }) })],
  ['nodes', resource({ 'spec.podCIDRs': node({ merge: true }), 'status.addresses': node({ key: 'type' }) })],
  ['serviceaccounts', resource({ secrets: node({ key: 'name' }) })],
  ['mutatingwebhookconfigurations.admissionregistration.k8s.io', resource({ webhooks: node({ key: 'name' }) })],
  ['validatingwebhookconfigurations.admissionregistration.k8s.io', resource({ webhooks: node({ key: 'name' }) })],
]);

/** Resources with only ObjectMeta and status.conditions keys (configmaps, secrets, namespaces, ingresses, endpoints, ...). */
const GENERIC = resource();

/** The compiled strategic-merge schema of a resource key such as `deployments.apps` or `pods`. */
export function schemaFor(resourceKey: string): SchemaNode {
  return RESOURCES.get(resourceKey) ?? GENERIC;
}

/** The child schema of `field` under `parent`; unknown fields get EMPTY_NODE. */
export function childSchema(parent: SchemaNode, field: string): SchemaNode {
  return parent.fields.get(field) ?? EMPTY_NODE;
}

/** Resource keys with a dedicated table (all others use the generic ObjectMeta-only one). */
export function knownResourceKeys(): string[] {
  return [...RESOURCES.keys()];
}
