import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import net from 'node:net';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import * as x509 from '@peculiar/x509';
import type { Proxy } from './index.ts';
import type { ProxyConfig } from './model.ts';
import { closeAll, cluster, emptyConfig, freePort, meta, node, send, startProxy, until } from './proxy.test-helper.ts';
import { parseClientHello } from './sni.ts';

// This file's addresses: 127.77.20.0/24. Sidecar .1 (app .2), gateway .10, TLS servers .4 (A), .5 (B), .6 (default).
const SIDECAR = '127.77.20.1';
const GATEWAY = '127.77.20.10';
const A_IP = '127.77.20.4';
const B_IP = '127.77.20.5';
const C_IP = '127.77.20.6';
const A = 'outbound|443||a.example.com';
const B = 'outbound|443||b.example.com';
const C = 'outbound|443||edge.default.svc.cluster.local';

let certPem = '';
let sidecar: Proxy;
let gateway: Proxy;
let sidecarLogs: string[];
let out: number;
let sidecarAgent: number;
let gwPort: number;
const servers: net.Server[] = [];
const ports: Record<string, number> = {};

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** A self-signed certificate for a.example.com and *.example.com (the backends terminate TLS, never the proxy). */
async function selfSigned(): Promise<{ cert: string; key: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=example.com',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'a.example.com' }, { type: 'dns', value: '*.example.com' }, { type: 'dns', value: 'x.other.org' }])],
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert: cert.toString('pem'), key: `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n` };
}

/** A TLS server that answers its name and the SNI it saw, then closes. */
async function tlsServer(ip: string, name: string, creds: { cert: string; key: string }): Promise<number> {
  const s = tls.createServer(creds, (c) => c.end(`${name}:${(c as tls.TLSSocket & { servername?: string }).servername}`));
  s.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => s.listen(0, ip, resolve));
  servers.push(s);
  return (s.address() as net.AddressInfo).port;
}

function tcpCluster(name: string, ip: string, port: number, workload: string) {
  const host = name.split('|')[3];
  return cluster(name, [{ address: ip, port, workload: meta(workload) }], { protocol: 'tcp', service: { host, name: host.split('.')[0], namespace: 'default', port: 443 } });
}

before(async () => {
  const creds = await selfSigned();
  certPem = creds.cert;
  ports.A = await tlsServer(A_IP, 'A', creds);
  ports.B = await tlsServer(B_IP, 'B', creds);
  ports.C = await tlsServer(C_IP, 'C', creds);
  const clusters = { [A]: tcpCluster(A, A_IP, ports.A, 'a-v1'), [B]: tcpCluster(B, B_IP, ports.B, 'b-v1'), [C]: tcpCluster(C, C_IP, ports.C, 'edge-v1') };

  const s = await startProxy({ podIP: SIDECAR, appIP: '127.77.20.2' });
  sidecar = s.proxy;
  sidecarLogs = s.logs;
  out = s.out;
  sidecarAgent = s.agent;
  const cfg: ProxyConfig = { ...emptyConfig(node('client', SIDECAR)), clusters };
  cfg.outbound['443'] = {
    port: 443,
    protocol: 'tcp',
    // Plain TCP to the service's own cluster for hosts without TLS rules (and for HTTP sent to the port).
    tcp: { edge: [{ clusters: [{ cluster: C, weight: 100 }] }], plain: [{ clusters: [{ cluster: C, weight: 100 }] }] },
    tls: {
      edge: [
        { sniHosts: ['*.example.com'], clusters: [{ cluster: B, weight: 100 }] },
        { sniHosts: ['a.example.com'], clusters: [{ cluster: A, weight: 100 }] },
        { sniHosts: ['c.example.com'], destinationSubnets: ['127.43.0.0/16'], clusters: [{ cluster: C, weight: 100 }] },
      ],
    },
  };
  await sidecar.apply(cfg, 's1');

  gwPort = await freePort(GATEWAY);
  const g = await startProxy({ podIP: GATEWAY, kind: 'gateway' });
  gateway = g.proxy;
  const gcfg: ProxyConfig = {
    ...emptyConfig(node('istio-ingressgateway', GATEWAY, { kind: 'gateway', namespace: 'istio-system' })),
    gateway: [{ port: 443, bindPort: gwPort, protocol: 'tcp', tls: [{ sniHosts: ['a.example.com'], clusters: [{ cluster: A, weight: 100 }] }] }],
    clusters,
  };
  await gateway.apply(gcfg, 'g1');
});

after(async () => {
  await Promise.all([sidecar.close(), gateway.close()]);
  await closeAll(servers);
});

/** Opens a CONNECT tunnel through the sidecar; resolves with the socket once the proxy answered 200. */
async function tunnel(target: string): Promise<net.Socket> {
  const sock = net.connect({ host: SIDECAR, port: out });
  sock.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  let got = '';
  const onData = (d: Buffer) => {
    got += d.toString('latin1');
  };
  sock.on('data', onData);
  await until(() => got.includes('\r\n\r\n'));
  sock.off('data', onData);
  assert.match(got, /^HTTP\/1.1 200 Connection established\r\n\r\n$/);
  return sock;
}

/** Speaks TLS with `servername` over `sock` (verifying the backend's certificate); resolves with what the backend said, '' when the proxy closed. */
function speakTls(sock: net.Socket, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const t = tls.connect({ socket: sock, servername, ca: certPem });
    let got = '';
    t.on('data', (d: Buffer) => {
      got += d.toString();
    });
    t.on('error', () => resolve(got));
    t.on('close', () => resolve(got));
  });
}

function sample(text: string, metric: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('parseClientHello() reads the SNI of a real ClientHello, byte by byte and split over two records', async () => {
  const grab = net.createServer();
  await new Promise<void>((resolve) => grab.listen(0, SIDECAR, resolve));
  try {
    const first = new Promise<Buffer>((resolve) => grab.once('connection', (s) => s.once('data', resolve)));
    const t = tls.connect({ host: SIDECAR, port: (grab.address() as net.AddressInfo).port, servername: 'Shop.Example.COM', rejectUnauthorized: false });
    t.on('error', () => {});
    const hello = await first;
    t.destroy();
    assert.deepEqual(parseClientHello(hello), { tls: true, sni: 'shop.example.com' });
    for (let i = 0; i < hello.length; i++) assert.equal(parseClientHello(hello.subarray(0, i)), undefined, `complete after ${i} of ${hello.length} bytes`);
    // The same handshake message cut into two records.
    const msg = hello.subarray(5, 5 + hello.readUInt16BE(3));
    const rec = (b: Buffer) => Buffer.concat([Buffer.from([0x16, 3, 1, b.length >> 8, b.length & 255]), b]);
    assert.deepEqual(parseClientHello(Buffer.concat([rec(msg.subarray(0, 40)), rec(msg.subarray(40))])), { tls: true, sni: 'shop.example.com' });
    assert.deepEqual(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')), { tls: false, sni: '' });
    const noSni = new Promise<Buffer>((resolve) => grab.once('connection', (s) => s.once('data', resolve)));
    const ip = tls.connect({ host: SIDECAR, port: (grab.address() as net.AddressInfo).port, rejectUnauthorized: false });
    ip.on('error', () => {});
    assert.deepEqual(parseClientHello(await noSni), { tls: true, sni: '' });
    ip.destroy();
  } finally {
    grab.close();
  }
});

test('a sidecar CONNECT tunnel to a TLS port is routed by SNI: exact name before *.suffix, whatever the rule order', async () => {
  assert.equal(await speakTls(await tunnel('edge:443'), 'a.example.com'), 'A:a.example.com');
  assert.equal(await speakTls(await tunnel('edge:443'), 'b.example.com'), 'B:b.example.com');
  // c.example.com's own rule needs a destination in 127.43.0.0/16: a name is not, so *.example.com takes it.
  assert.equal(await speakTls(await tunnel('edge:443'), 'c.example.com'), 'B:c.example.com');
  await until(() => sidecarLogs.some((l) => / a\.example\.com -$/.test(l)));
  assert.match(sidecarLogs.find((l) => / a\.example\.com -$/.test(l))!, / outbound\|443\|\|a\.example\.com /);
});

test('no rule for the SNI closes the tunnel; a host without TLS rules is plain TCP to its cluster', async () => {
  assert.equal(await speakTls(await tunnel('edge:443'), 'x.other.org'), '');
  assert.equal(await speakTls(await tunnel('plain:443'), 'x.other.org'), 'C:x.other.org');
});

test('TLS passthrough records TCP metrics against the cluster the SNI chose', async () => {
  const before = sample((await send(SIDECAR, sidecarAgent, '/stats/prometheus')).body, 'istio_tcp_connections_opened_total', { destination_workload: 'a-v1' }) ?? 0;
  assert.equal(await speakTls(await tunnel('edge:443'), 'a.example.com'), 'A:a.example.com');
  // Byte counters are flushed when the session closes, which follows the backend's close: poll for it.
  let prom = '';
  for (let i = 0; i < 200 && (sample(prom, 'istio_tcp_connections_closed_total', { destination_workload: 'a-v1' }) ?? 0) <= before; i++) {
    if (i) await new Promise((r) => setTimeout(r, 10));
    prom = (await send(SIDECAR, sidecarAgent, '/stats/prometheus')).body;
  }
  const labels = { reporter: 'source', source_workload: 'client', destination_workload: 'a-v1', destination_service: 'a.example.com', request_protocol: 'tcp', response_flags: '-' };
  assert.equal(sample(prom, 'istio_tcp_connections_opened_total', labels), before + 1);
  assert.ok((sample(prom, 'istio_tcp_received_bytes_total', labels) ?? 0) > 100, 'the ClientHello peeked is counted as received');
  assert.ok((sample(prom, 'istio_tcp_sent_bytes_total', labels) ?? 0) > 100);
});

test('a gateway PASSTHROUGH server routes by SNI without terminating TLS, and closes unknown names', async () => {
  const direct = (servername: string) => speakTls(net.connect({ host: GATEWAY, port: gwPort }), servername);
  assert.equal(await direct('a.example.com'), 'A:a.example.com');
  assert.equal(await direct('b.example.com'), '');
  // Not TLS at all: no SNI, no rule.
  const raw = net.connect({ host: GATEWAY, port: gwPort });
  raw.write('GET / HTTP/1.1\r\nhost: a.example.com\r\n\r\n');
  let got = '';
  raw.on('data', (d: Buffer) => (got += d.toString()));
  await new Promise((r) => raw.on('close', r));
  assert.equal(got, '');
});
