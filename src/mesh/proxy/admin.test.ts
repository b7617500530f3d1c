import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from '../../telemetry/index.ts';
import { type AdminSource, configDump, configDumpParts } from './admin.ts';
import type { Compiled } from './compiled.ts';

/** A compiled config as far as the dump reads it. */
function compiled(version: string, host: string): Compiled {
  return {
    version,
    node: { id: 'sidecar~127.42.0.9~p.ns~ns.svc.cluster.local', namespace: 'ns', labels: { app: 'p' } },
    clusters: { [`outbound|80||${host}`]: { name: `outbound|80||${host}`, endpoints: [{ address: '127.42.0.7', port: 80 }] } },
    source: { outbound: { '80': { port: 80, protocol: 'http', routeConfig: '80' } }, inbound: [], routes: { '80': { name: '80', virtualHosts: [{ name: host, domains: [host, 'line\nbreak "quoted"'] }] } }, accessLog: { enabled: true } },
  } as unknown as Compiled;
}

/** The whole dump as the admin port sends it, less the final newline. */
function configDumpText(src: AdminSource): string {
  const { head, tail } = configDumpParts(src);
  return head + tail.toString();
}

test('the config dump text is JSON.stringify of the dump, the config part serialized once per config and the live parts fresh', () => {
  let cfg: Compiled | undefined;
  let cp = { connected: false };
  let appliedAt: number | undefined;
  let listeners = [{ name: 'outbound', address: '127.42.0.9:15001', kind: 'http', draining: false, connections: 0 }];
  const src: AdminSource = {
    ready: true, kind: 'sidecar', podIP: '127.42.0.9', startedAt: 0, now: () => 0,
    config: () => cfg, appliedAt: () => appliedAt, controlPlane: () => cp, clusters: () => [], listeners: () => listeners, registry: new Registry(),
  };
  const same = (): void => assert.equal(configDumpText(src), JSON.stringify(configDump(src), null, 2));
  same();
  cfg = compiled('1', 'a.ns.svc.cluster.local');
  appliedAt = Date.UTC(2026, 10, 26, 21, 0, 0, 123);
  same();
  assert.match(configDumpText(src), /"version": "1",\n  "lastUpdated": "2026-11-26T21:00:00\.123Z"/);
  // Live parts change without a new config.
  cp = { connected: true, lastVersion: '1' } as typeof cp;
  listeners = [...listeners, { name: 'inbound port 80', address: '127.42.0.9:80', kind: 'http', draining: true, connections: 3 }];
  same();
  assert.match(configDumpText(src), /"connections": 3/);
  // A new config is serialized anew.
  cfg = compiled('2', 'b.ns.svc.cluster.local');
  same();
  assert.match(configDumpText(src), /b\.ns\.svc\.cluster\.local/);
  assert.doesNotMatch(configDumpText(src), /a\.ns\.svc\.cluster\.local/);
  assert.deepEqual(JSON.parse(configDumpText(src)), JSON.parse(JSON.stringify(configDump(src))));
});
