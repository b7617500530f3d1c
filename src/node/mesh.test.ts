import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMeshEnv, hasProxySidecar, listenIP } from './mesh.ts';

const proxy = { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.27.1', restartPolicy: 'Always' };
const app = { name: 'app', image: 'docker.io/istio/examples-bookinfo-reviews-v1:1.16.4' };
const mesh = { address: 'ws://127.0.0.1:1234', token: 't' };

test('apps of a pod with a sidecar send through the sidecar and listen on the app address', () => {
  assert.equal(hasProxySidecar([proxy, app]), true);
  assert.equal(hasProxySidecar([app]), false);
  const env: Record<string, string> = { HTTP_PROXY: 'http://127.42.1.2:15080', http_proxy: 'http://127.42.1.2:15080' };
  applyMeshEnv(env, { spec: app, podIP: '127.42.1.2', meshed: true, mesh });
  assert.equal(env.HTTP_PROXY, 'http://127.42.1.2:15001');
  assert.equal(env.http_proxy, 'http://127.42.1.2:15001');
  assert.equal(env.SKIFF_LISTEN_IP, '127.44.1.2');
  assert.equal(listenIP('127.42.1.2', true, app), '127.44.1.2');
  assert.equal(listenIP('127.42.1.2', true, proxy), '127.42.1.2');
  assert.equal(listenIP('127.42.1.2', false, app), '127.42.1.2');
});

test('the proxy container gets the control plane and no HTTP_PROXY; a pod’s own env wins', () => {
  const env: Record<string, string> = { HTTP_PROXY: 'x', http_proxy: 'x', NO_PROXY: 'y' };
  applyMeshEnv(env, { spec: proxy, podIP: '127.42.1.2', meshed: true, mesh });
  assert.equal(env.HTTP_PROXY, undefined);
  assert.equal(env.SKIFF_XDS_ADDRESS, 'ws://127.0.0.1:1234');
  assert.equal(env.SKIFF_XDS_TOKEN, 't');
  assert.equal(env.SKIFF_APP_IP, '127.44.1.2');
  const own: Record<string, string> = { HTTP_PROXY: 'http://mine:1' };
  applyMeshEnv(own, { spec: { ...app, env: [{ name: 'HTTP_PROXY', value: 'http://mine:1' }] as never[] }, podIP: '127.42.1.2', meshed: true, mesh });
  assert.equal(own.HTTP_PROXY, 'http://mine:1');
  const plain: Record<string, string> = { HTTP_PROXY: 'http://127.42.1.2:15080' };
  applyMeshEnv(plain, { spec: app, podIP: '127.42.1.2', meshed: false, mesh });
  assert.equal(plain.HTTP_PROXY, 'http://127.42.1.2:15080');
});
