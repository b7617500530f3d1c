import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from './errors.ts';
import { formatSelector, matchFields, matchLabels, parseFieldSelector, parseLabelSelector, selectorRequirements } from './selectors.ts';
import type { KObject } from './types.ts';

/** True when the selector text selects objects carrying these labels. */
function sel(s: string, labels: Record<string, string> | undefined): boolean {
  return matchLabels(parseLabelSelector(s), labels);
}

function isBadRequest(e: unknown): boolean {
  return e instanceof ApiError && e.reason === 'BadRequest' && e.code === 400;
}

test('`parseLabelSelector()` reads every operator kubectl sends into ANDed requirements', () => {
  assert.deepEqual(parseLabelSelector('a=1,b==2,c!=3,d in (x, y),e notin (z),f,!g'), [
    { key: 'a', op: '=', values: ['1'] },
    { key: 'b', op: '=', values: ['2'] },
    { key: 'c', op: '!=', values: ['3'] },
    { key: 'd', op: 'in', values: ['x', 'y'] },
    { key: 'e', op: 'notin', values: ['z'] },
    { key: 'f', op: 'exists', values: [] },
    { key: 'g', op: '!exists', values: [] },
  ]);
  assert.deepEqual(parseLabelSelector(''), []);
  assert.deepEqual(parseLabelSelector(undefined), []);
  assert.deepEqual(parseLabelSelector('app.kubernetes.io/name = web'), [{ key: 'app.kubernetes.io/name', op: '=', values: ['web'] }]);
});

test('`matchLabels()` with = and == selects only objects whose label has that value', () => {
  assert.equal(sel('app=web', { app: 'web' }), true);
  assert.equal(sel('app==web', { app: 'web' }), true);
  assert.equal(sel('app=web', { app: 'db' }), false);
  assert.equal(sel('app=web', undefined), false);
});

test('`matchLabels()` with != also selects objects that lack the label', () => {
  assert.equal(sel('app!=web', { app: 'db' }), true);
  assert.equal(sel('app!=web', {}), true);
  assert.equal(sel('app!=web', { app: 'web' }), false);
});

test('`matchLabels()` with in and notin test set membership; notin also selects objects without the label', () => {
  assert.equal(sel('tier in (a,b)', { tier: 'b' }), true);
  assert.equal(sel('tier in (a,b)', { tier: 'c' }), false);
  assert.equal(sel('tier in (a,b)', {}), false);
  assert.equal(sel('tier notin (a,b)', { tier: 'c' }), true);
  assert.equal(sel('tier notin (a,b)', {}), true);
  assert.equal(sel('tier notin (a,b)', { tier: 'a' }), false);
});

test('`matchLabels()` with a bare key and with !key tests presence, even of an empty value', () => {
  assert.equal(sel('canary', { canary: '' }), true);
  assert.equal(sel('canary', { other: 'x' }), false);
  assert.equal(sel('!canary', { other: 'x' }), true);
  assert.equal(sel('!canary', { canary: '' }), false);
  assert.equal(sel('!canary', undefined), true);
});

test('`matchLabels()` ANDs comma-separated requirements, including commas inside in (...)', () => {
  assert.equal(sel('app=web,tier in (a,b),!legacy', { app: 'web', tier: 'a' }), true);
  assert.equal(sel('app=web,tier in (a,b),!legacy', { app: 'web', tier: 'a', legacy: 'y' }), false);
});

test('`parseLabelSelector()` answers bad syntax with a 400 BadRequest', () => {
  for (const bad of ['a=b=c', 'a in b', 'a in (b', ',a', 'a,', 'a b', '=x', 'a!x']) {
    assert.throws(() => parseLabelSelector(bad), isBadRequest, bad);
  }
});

test('`parseFieldSelector()` reads =, == and != on dotted paths and rejects anything else with 400', () => {
  assert.deepEqual(parseFieldSelector('metadata.name=web,status.phase!=Running,spec.nodeName==n1'), [
    { path: ['metadata', 'name'], op: '=', value: 'web' },
    { path: ['status', 'phase'], op: '!=', value: 'Running' },
    { path: ['spec', 'nodeName'], op: '=', value: 'n1' },
  ]);
  assert.deepEqual(parseFieldSelector(''), []);
  for (const bad of ['metadata.name', 'metadata name=x', '=x']) assert.throws(() => parseFieldSelector(bad), isBadRequest, bad);
});

test('`matchFields()` compares the field as text and reads a missing field as ""', () => {
  const pod: KObject = { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'n1', replicas: 3 }, status: { phase: 'Running' } };
  const m = (s: string): boolean => matchFields(parseFieldSelector(s), pod);
  assert.equal(m('metadata.name=p,metadata.namespace=ns'), true);
  assert.equal(m('metadata.name=q'), false);
  assert.equal(m('status.phase!=Pending'), true);
  assert.equal(m('status.phase!=Running'), false);
  assert.equal(m('spec.replicas=3'), true);
  assert.equal(m('spec.schedulerName='), true);
  assert.equal(m('spec.schedulerName!='), false);
});

test('`selectorRequirements()` and `formatSelector()` turn a LabelSelector object into requirements and kubectl text', () => {
  const s = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'legacy', operator: 'DoesNotExist' }, { key: 'canary', operator: 'Exists' }] };
  const reqs = selectorRequirements(s);
  assert.equal(matchLabels(reqs, { app: 'web', tier: 'b', canary: '' }), true);
  assert.equal(matchLabels(reqs, { app: 'web', tier: 'b', canary: '', legacy: '1' }), false);
  assert.equal(matchLabels(selectorRequirements({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a'] }] }), { tier: 'a' }), false);
  assert.equal(formatSelector(s), '!legacy,app=web,canary,tier in (a,b)');
  assert.equal(formatSelector(undefined), '');
});
