/**
 * The self-review endpoints behind `kubectl auth can-i` (SelfSubjectAccessReview; --list sends a
 * SelfSubjectRulesReview) and `kubectl auth whoami` (SelfSubjectReview). Skiff has one user, the
 * admin of its kubeconfig, and no RBAC: every access is allowed, as for a member of system:masters
 * on a real cluster. Reviews are answered, never stored; only POST is served, as upstream.
 */
import { ApiError, badRequest, invalid } from './errors.ts';
import type { ResourceInfo } from './types.ts';

/** Who the kubeconfig's token authenticates as. */
export const adminUser = { username: 'skiff-admin', groups: ['system:masters', 'system:authenticated'] } as const;

function review(group: string, resource: string, kind: string): ResourceInfo {
  return {
    key: `${resource}.${group}`,
    group,
    version: 'v1',
    versions: ['v1'],
    resource,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced: false,
    shortNames: [],
    categories: [],
    subresources: [],
    custom: false,
    verbs: ['create'],
  };
}

/** The review resources, for discovery (create only). */
export const reviewResources: ResourceInfo[] = [
  review('authentication.k8s.io', 'selfsubjectreviews', 'SelfSubjectReview'),
  review('authorization.k8s.io', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview'),
  review('authorization.k8s.io', 'selfsubjectrulesreviews', 'SelfSubjectRulesReview'),
];

const byPath = new Map(reviewResources.map((r) => [`/apis/${r.group}/v1/${r.resource}`, r]));

/** The review resource a path names, or undefined. */
export function reviewAt(path: string): ResourceInfo | undefined {
  return byPath.get(path);
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The answer to a review `body` POSTed to `r` (201), or an ApiError as the real API server words it. */
export function answerReview(r: ResourceInfo, method: string, body: unknown): object {
  if (method !== 'POST') throw new ApiError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
  if (!isObj(body)) throw badRequest(`the body of a ${r.kind} must be a JSON object`);
  const spec = isObj(body.spec) ? body.spec : {};
  const head = { kind: r.kind, apiVersion: `${r.group}/v1`, metadata: { creationTimestamp: null } };
  switch (r.resource) {
    case 'selfsubjectreviews':
      return { ...head, status: { userInfo: { username: adminUser.username, groups: [...adminUser.groups] } } };
    case 'selfsubjectaccessreviews': {
      const res = spec.resourceAttributes;
      const non = spec.nonResourceAttributes;
      if (res != null && non != null) {
        throw invalid(r, '', [{ reason: 'FieldValueInvalid', field: 'spec.nonResourceAttributes', message: `Invalid value: ${JSON.stringify(non)}: cannot be specified in combination with resourceAttributes` }]);
      }
      if (res == null && non == null) {
        throw invalid(r, '', [{ reason: 'FieldValueInvalid', field: 'spec.resourceAttributes', message: 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified' }]);
      }
      return { ...head, spec, status: { allowed: true } };
    }
    default: {
      // selfsubjectrulesreviews: what cluster-admin may do, for the namespace asked about.
      if (typeof spec.namespace !== 'string' || spec.namespace === '') throw badRequest('no namespace on request');
      return {
        ...head,
        spec: {},
        status: {
          resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
          nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
          incomplete: false,
        },
      };
    }
  }
}
