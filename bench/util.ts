/** Small helpers shared by the benchmarks in bench/ (never part of the test run). */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';

/** The p-th percentile of an ascending array (nearest rank, floor). */
export function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** "p50 x ms, p99 y ms" of latencies in ms. */
export function summary(lat: number[]): string {
  const s = [...lat].sort((a, b) => a - b);
  return `p50 ${pct(s, 50).toFixed(2)} ms, p99 ${pct(s, 99).toFixed(2)} ms`;
}

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

let hasTaskset: boolean | undefined;
/** Command prefix pinning a child to one CPU (`taskset -c <cpu>`), or [] when taskset is missing. */
export function pin(cpu: number): string[] {
  if (hasTaskset === undefined) {
    try {
      execFileSync('taskset', ['-V'], { stdio: 'ignore' });
      hasTaskset = true;
    } catch {
      hasTaskset = false;
    }
  }
  return hasTaskset ? ['taskset', '-c', String(cpu)] : [];
}

/**
 * `pin(cpu)` plus `nice -n -10` when running as root (BENCH_NICE=0 turns it off): the machine is
 * shared, and a foreign busy process on the same CPU otherwise takes an equal share from each
 * process under test, which biases ratios between paths with different process counts.
 */
export function pinHigh(cpu: number): string[] {
  const nice = process.getuid?.() === 0 && process.env.BENCH_NICE !== '0' ? ['nice', '-n', '-10'] : [];
  return [...pin(cpu), ...nice];
}

/** Whether pinHigh raises priority. */
export const raisedPriority = (): boolean => process.getuid?.() === 0 && process.env.BENCH_NICE !== '0';

/** Pins this process (the load generator) to one CPU, when taskset exists. */
export function pinSelf(cpu: number): void {
  if (pin(cpu).length) execFileSync('taskset', ['-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

/** Whether a program is on PATH. */
export function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** VmRSS of one process in KB (0 when gone). */
export function rssKB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Pss of one process in KB (its private pages plus its share of pages it shares, e.g. libc); 0 when gone. */
export function pssKB(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Fields of /proc/<pid>/stat after the command name (index 0 = state, 1 = ppid, 2 = pgrp, 11 = utime, 12 = stime, 13 = cutime, 14 = cstime). */
function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

const ticks = 100; // USER_HZ on Linux

/** CPU seconds (user+system, waited-for children included) of one process. */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  if (!f) return 0;
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / ticks;
}

/** CPU seconds (user+system) of one process itself, without its children. */
export function ownCpuSeconds(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / ticks : 0;
}

/** One CPU's /proc/stat counters (user nice system idle iowait irq softirq steal ...), in ticks. */
function cpuTicks(cpu: number): number[] {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  return line ? line.trim().split(/\s+/).slice(1).map(Number) : [];
}

/** Busy seconds of one CPU from /proc/stat (everything but idle, iowait and steal). */
export function cpuBusySeconds(cpu: number): number {
  const v = cpuTicks(cpu);
  if (v.length === 0) return 0;
  const total = v.reduce((a, b) => a + b, 0);
  return (total - v[3] - (v[4] ?? 0) - (v[7] ?? 0)) / ticks;
}

/** Seconds the hypervisor ran something else while one CPU wanted to run (steal, /proc/stat). */
export function cpuStealSeconds(cpu: number): number {
  return (cpuTicks(cpu)[7] ?? 0) / ticks;
}

/** A process and its live descendants (nginx's master and worker, a shell's children), from /proc. */
export function withDescendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(Number(d));
    if (!f) continue;
    const ppid = Number(f[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid)!.push(Number(d));
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

/** pid → process group of every live process. */
export function processGroups(): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(Number(d));
    if (f) out.set(Number(d), Number(f[2]));
  }
  return out;
}

/** A free TCP port on `host` (bind to 0, read it, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Every child a benchmark starts, so that one finally-block stops exactly those. */
export class Procs {
  #list: ChildProcess[] = [];

  /** Spawns `argv` (stdout piped, stderr inherited unless `stderr` says otherwise) and records it. */
  start(argv: string[], opts: { env?: NodeJS.ProcessEnv; stderr?: 'inherit' | 'ignore' | 'pipe' } = {}): ChildProcess {
    const [cmd, ...args] = argv;
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', opts.stderr ?? 'inherit'], env: opts.env ?? process.env });
    p.on('error', (e) => process.stderr.write(`${cmd}: ${e.message}\n`));
    this.#list.push(p);
    return p;
  }

  /** SIGTERM to every recorded child still running, SIGKILL after 3 s; waits for them. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.#list.splice(0).map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return resolve();
            const t = setTimeout(() => p.kill('SIGKILL'), 3000);
            p.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            p.kill('SIGTERM');
          }),
      ),
    );
  }
}

/** The first line a child prints on stdout. */
export function firstLine(p: ChildProcess, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error('no output from child')), timeoutMs);
    const on = (d: Buffer): void => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(t);
        p.stdout!.off('data', on);
        p.stdout!.resume();
        resolve(buf.slice(0, nl).trim());
      }
    };
    p.stdout!.on('data', on);
    p.once('exit', (c) => reject(new Error(`child exited (${c}) before printing`)));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A random 127.a.b.0/24 for this run's addresses (other programs on this machine use loopback too). */
export function randomNet(): string {
  return `127.${200 + Math.floor(Math.random() * 50)}.${1 + Math.floor(Math.random() * 254)}.`;
}
