import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { start } from './index.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  return { child, output: () => ({ out, err }) };
}

test('main.ts load mode exits 0 and prints the summary', async () => {
  const s = await start({ host: '127.0.0.1', port: 0, env: {} });
  try {
    const p = run(['load', '-c', '2', '-qps', '0', '-n', '10', '-loglevel', 'Warning', `http://127.0.0.1:${s.port}/get`]);
    const [code] = await once(p.child, 'exit');
    assert.equal(code, 0);
    assert.match(p.output().err, /^Code 200 : 10 \(100\.0 %\)$/m);
    assert.match(p.output().err, /^All done 10 calls \(plus 0 warmup\)/m);
  } finally {
    await s.close();
  }
});

test('main.ts with an unknown command exits 1', async () => {
  const p = run(['nope']);
  const [code] = await once(p.child, 'exit');
  assert.equal(code, 1);
  assert.match(p.output().err, /unknown command "nope"/);
});

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('main.ts server mode answers on POD_IP:PORT and exits 0 on SIGTERM', async () => {
  const port = await freePort();
  const p = run([], { POD_IP: '127.0.0.1', PORT: String(port) });
  try {
    for (let i = 0; i < 100 && !/listening/.test(p.output().err); i++) await new Promise((r) => setTimeout(r, 50));
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/debug', agent: false }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => { b += c.toString(); });
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    assert.match(body, /echo debug server/);
  } finally {
    p.child.kill('SIGTERM');
  }
  const [code] = await once(p.child, 'exit');
  assert.equal(code, 0);
});
