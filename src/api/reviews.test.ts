import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from './errors.ts';
import { answerReview, reviewAt } from './reviews.ts';

const ssar = reviewAt('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')!;
const rules = reviewAt('/apis/authorization.k8s.io/v1/selfsubjectrulesreviews')!;
const whoami = reviewAt('/apis/authentication.k8s.io/v1/selfsubjectreviews')!;

function fails(fn: () => unknown, reason: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ApiError && e.reason === reason && message.test(e.message));
}

test('the review paths are known, other paths are not', () => {
  assert.equal(ssar.kind, 'SelfSubjectAccessReview');
  assert.equal(rules.kind, 'SelfSubjectRulesReview');
  assert.equal(whoami.kind, 'SelfSubjectReview');
  assert.equal(reviewAt('/apis/authorization.k8s.io/v1/subjectaccessreviews'), undefined);
  assert.equal(reviewAt('/api/v1/pods'), undefined);
});

test('a SelfSubjectAccessReview is allowed and echoes its spec', () => {
  const spec = { resourceAttributes: { namespace: 'default', verb: 'create', resource: 'pods' } };
  assert.deepEqual(answerReview(ssar, 'POST', { spec }), {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec,
    status: { allowed: true },
  });
});

test('a SelfSubjectAccessReview needs exactly one of resourceAttributes and nonResourceAttributes', () => {
  fails(() => answerReview(ssar, 'POST', { spec: {} }), 'Invalid', /spec\.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified/);
  fails(
    () => answerReview(ssar, 'POST', { spec: { resourceAttributes: { verb: 'get' }, nonResourceAttributes: { path: '/x', verb: 'get' } } }),
    'Invalid',
    /spec\.nonResourceAttributes: .*cannot be specified in combination with resourceAttributes/,
  );
});

test('a SelfSubjectRulesReview lists cluster-admin rules and needs a namespace', () => {
  const r = answerReview(rules, 'POST', { spec: { namespace: 'default' } }) as { status: { resourceRules: unknown[]; nonResourceRules: unknown[] } };
  assert.deepEqual(r.status.resourceRules, [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]);
  assert.deepEqual(r.status.nonResourceRules, [{ verbs: ['*'], nonResourceURLs: ['*'] }]);
  fails(() => answerReview(rules, 'POST', { spec: {} }), 'BadRequest', /^no namespace on request$/);
});

test('a SelfSubjectReview names the admin user', () => {
  const r = answerReview(whoami, 'POST', {}) as { status: { userInfo: { username: string; groups: string[] } } };
  assert.deepEqual(r.status.userInfo, { username: 'skiff-admin', groups: ['system:masters', 'system:authenticated'] });
});

test('reviews are only created: other methods and non-object bodies are refused', () => {
  fails(() => answerReview(ssar, 'GET', undefined), 'MethodNotAllowed', /the server does not allow this method on the requested resource/);
  fails(() => answerReview(whoami, 'DELETE', undefined), 'MethodNotAllowed', /does not allow/);
  fails(() => answerReview(ssar, 'POST', [1, 2]), 'BadRequest', /must be a JSON object/);
});
