/** Test helpers the built-in apps share: a free loopback port, and `skiff app <id>` as a process. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

/** A port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `skiff app <id>` from the sources on 127.0.0.1:port, as a pod would; output() is its stdout so far. */
export function spawnApp(id: string, port: number, env: Record<string, string> = {}): { child: ChildProcess; output(): string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'app', id], {
    cwd: new URL('../../', import.meta.url),
    env: { ...process.env, PORT: String(port), POD_IP: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c));
  return { child, output: () => out };
}
