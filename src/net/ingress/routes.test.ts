import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../../api/index.ts';
import { compileRoutes, matchRoute, normalizeHost, requestPath, servesIngress } from './routes.ts';

function ing(name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'default', creationTimestamp: '2024-01-01T00:00:00Z', ...meta }, spec };
}

function svc(name: string, port: number | string = 80): Record<string, unknown> {
  return { service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } };
}

function rule(host: string | undefined, paths: Array<[string, string, string]>): Record<string, unknown> {
  return { ...(host ? { host } : {}), http: { paths: paths.map(([path, pathType, s]) => ({ path, pathType, backend: svc(s) })) } };
}

function to(table: ReturnType<typeof compileRoutes>, host: string, path: string): string | undefined {
  return matchRoute(table, host, path)?.service;
}

test('matchRoute() matches Prefix paths element-wise', () => {
  const t = compileRoutes([ing('a', { rules: [rule('a.com', [['/foo', 'Prefix', 'foo'], ['/', 'Prefix', 'root']])] })]);
  assert.equal(to(t, 'a.com', '/foo'), 'foo');
  assert.equal(to(t, 'a.com', '/foo/'), 'foo');
  assert.equal(to(t, 'a.com', '/foo/bar'), 'foo');
  assert.equal(to(t, 'a.com', '/foobar'), 'root');
  assert.equal(to(t, 'a.com', '/'), 'root');
});

test('matchRoute() ignores a trailing slash of a Prefix path, as the spec says', () => {
  const t = compileRoutes([ing('a', { rules: [rule('a.com', [['/foo/', 'Prefix', 'foo']])] })]);
  assert.equal(to(t, 'a.com', '/foo'), 'foo');
  assert.equal(to(t, 'a.com', '/foo/x'), 'foo');
  assert.equal(to(t, 'a.com', '/foox'), undefined);
});

test('matchRoute() takes the longest path, Exact before Prefix at equal length', () => {
  const t = compileRoutes([ing('a', { rules: [rule('a.com', [['/a', 'Prefix', 'short'], ['/a/b', 'Prefix', 'long'], ['/a/b', 'Exact', 'exact'], ['/a/b/c', 'ImplementationSpecific', 'impl']])] })]);
  assert.equal(to(t, 'a.com', '/a/b'), 'exact');
  assert.equal(to(t, 'a.com', '/a/b/'), 'long');
  assert.equal(to(t, 'a.com', '/a/bx'), 'short');
  assert.equal(to(t, 'a.com', '/a/b/c/d'), 'impl');
});

test('matchRoute() prefers exact hosts to wildcards to hostless rules, wildcards covering one label', () => {
  const t = compileRoutes([
    ing('a', { rules: [rule('*.x.localhost', [['/', 'Prefix', 'wild']]), rule('app.x.localhost', [['/', 'Prefix', 'exact']]), rule(undefined, [['/', 'Prefix', 'any']])] }),
  ]);
  assert.equal(to(t, 'app.x.localhost', '/'), 'exact');
  assert.equal(to(t, 'other.x.localhost', '/'), 'wild');
  assert.equal(to(t, 'a.b.x.localhost', '/'), 'any');
  assert.equal(to(t, 'x.localhost', '/'), 'any');
});

test('matchRoute() falls through to less specific hosts when no path of the host matches', () => {
  const t = compileRoutes([ing('a', { rules: [rule('a.com', [['/only', 'Exact', 'exact']]), rule(undefined, [['/', 'Prefix', 'any']])] })]);
  assert.equal(to(t, 'a.com', '/only'), 'exact');
  assert.equal(to(t, 'a.com', '/else'), 'any');
});

test('matchRoute() uses the oldest default backend when no rule matches, and the oldest rule on conflicts', () => {
  const t = compileRoutes([
    ing('young', { defaultBackend: svc('young-default'), rules: [rule('a.com', [['/', 'Prefix', 'young']])] }, { creationTimestamp: '2024-02-01T00:00:00Z' }),
    ing('old', { defaultBackend: svc('old-default'), rules: [rule('a.com', [['/', 'Prefix', 'old']])] }),
  ]);
  assert.equal(to(t, 'a.com', '/x'), 'old');
  assert.equal(to(t, 'b.com', '/x'), 'old-default');
});

test('compileRoutes() keeps named ports and marks resource backends as unservable', () => {
  const t = compileRoutes([
    ing('a', { rules: [{ host: 'a.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('s', 'http') }, { path: '/r', pathType: 'Prefix', backend: { resource: { kind: 'Bucket', name: 'b' } } }] } }] }),
  ]);
  assert.deepEqual(matchRoute(t, 'a.com', '/'), { ingress: 'default/a', namespace: 'default', service: 's', port: 'http' });
  assert.equal(matchRoute(t, 'a.com', '/r')?.service, '');
});

test('servesIngress() accepts its class, no class, and the legacy annotation', () => {
  assert.equal(servesIngress(ing('a', { ingressClassName: 'traefik' })), true);
  assert.equal(servesIngress(ing('a', {})), true);
  assert.equal(servesIngress(ing('a', { ingressClassName: 'nginx' })), false);
  assert.equal(servesIngress(ing('a', {}, { annotations: { 'kubernetes.io/ingress.class': 'nginx' } })), false);
  assert.equal(servesIngress(ing('a', {}, { annotations: { 'kubernetes.io/ingress.class': 'traefik' } })), true);
});

test('normalizeHost() strips the port and trailing dot and lower-cases', () => {
  assert.equal(normalizeHost('UserList.Example.COM:8080'), 'userlist.example.com');
  assert.equal(normalizeHost('a.com.'), 'a.com');
  assert.equal(normalizeHost('[::1]:80'), '[::1]');
  assert.equal(normalizeHost(undefined), '');
});

test('requestPath() drops the query and handles absolute-form targets', () => {
  assert.equal(requestPath('/a/b?x=1'), '/a/b');
  assert.equal(requestPath('?x'), '/');
  assert.equal(requestPath('http://a.com/p?q'), '/p');
  assert.equal(requestPath('http://a.com'), '/');
});
