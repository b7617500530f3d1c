/**
 * Probes as the kubelet runs them: one timer per probe (unref'd), results reported only when they
 * flip after successThreshold / failureThreshold consecutive outcomes, and failure messages in the
 * kubelet's wording (they become `Unhealthy` events).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** The probe kinds. */
export type ProbeKind = 'liveness' | 'readiness' | 'startup';

/** A probe of a container spec (httpGet, tcpSocket, exec, grpc, and the timing fields). */
export interface ProbeSpec {
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string; httpHeaders?: Array<{ name: string; value: string }> };
  tcpSocket?: { port: number | string; host?: string };
  exec?: { command?: string[] };
  grpc?: { port: number; service?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

/** Where and how a probe reaches its container. */
export interface ProbeTarget {
  podIP: string;
  /** Resolves a port (number or the name of a containerPort) to the port the process really listens on. */
  port(p: number | string): number | undefined;
  env: Record<string, string>;
  cwd: string;
}

/** One attempt's outcome. */
export interface ProbeOutcome {
  ok: boolean;
  message: string;
}

/** Runs one probe attempt. */
export async function runProbe(spec: ProbeSpec, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  if (spec.httpGet) return httpProbe(spec.httpGet, target, timeoutMs);
  if (spec.tcpSocket) return tcpProbe(spec.tcpSocket.host || target.podIP, target.port(spec.tcpSocket.port), spec.tcpSocket.port, timeoutMs);
  // No gRPC client here: a gRPC probe checks that the port accepts connections.
  if (spec.grpc) return tcpProbe(target.podIP, target.port(spec.grpc.port), spec.grpc.port, timeoutMs);
  if (spec.exec) return execProbe(spec.exec.command ?? [], target, timeoutMs);
  return { ok: true, message: '' };
}

function httpProbe(g: NonNullable<ProbeSpec['httpGet']>, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const host = g.host || target.podIP;
  const port = target.port(g.port);
  const scheme = (g.scheme ?? 'HTTP').toLowerCase();
  let p = g.path ?? '/';
  if (!p.startsWith('/')) p = `/${p}`;
  const url = `${scheme}://${host}:${port ?? g.port}${p}`;
  if (port === undefined) return Promise.resolve({ ok: false, message: `unable to resolve port ${JSON.stringify(g.port)}` });
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
  for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
  return new Promise((resolve) => {
    const mod = scheme === 'https' ? https : http;
    const req = mod.request(url, { method: 'GET', headers, agent: false, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      const code = res.statusCode ?? 0;
      res.resume();
      res.on('end', () => {
        if (code >= 200 && code < 400) resolve({ ok: true, message: '' });
        else resolve({ ok: false, message: `HTTP probe failed with statuscode: ${code}` });
      });
      res.on('error', () => resolve({ ok: false, message: `HTTP probe failed with statuscode: ${code}` }));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, message: `Get "${url}": ${dialError(host, port, e)}` }));
    req.end();
  });
}

function dialError(host: string, port: number, e: NodeJS.ErrnoException): string {
  if (e.code === 'ECONNREFUSED') return `dial tcp ${host}:${port}: connect: connection refused`;
  if (e.code === 'ECONNRESET') return `read tcp ${host}:${port}: read: connection reset by peer`;
  if (e.code === 'EADDRNOTAVAIL') return `dial tcp ${host}:${port}: connect: cannot assign requested address`;
  return `dial tcp ${host}:${port}: ${e.message}`;
}

function tcpProbe(host: string, port: number | undefined, spec: number | string, timeoutMs: number): Promise<ProbeOutcome> {
  if (port === undefined) return Promise.resolve({ ok: false, message: `unable to resolve port ${JSON.stringify(spec)}` });
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve({ ok: true, message: '' });
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve({ ok: false, message: dialError(host, port, e) });
    });
  });
}

function execProbe(command: string[], target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    if (!command.length) return resolve({ ok: false, message: 'exec probe has no command' });
    let out = '';
    let done = false;
    const finish = (r: ProbeOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      resolve(r);
    };
    const child = spawn(command[0], command.slice(1), { env: target.env, cwd: target.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const t = setTimeout(() => {
      if (child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      finish({ ok: false, message: `command "${command.join(' ')}" timed out` });
    }, timeoutMs);
    const collect = (b: Buffer): void => {
      if (out.length < 10_240) out += b.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (e: NodeJS.ErrnoException) => {
      const msg = e.code === 'ENOENT' ? `exec: "${command[0]}": executable file not found in $PATH` : e.message;
      finish({ ok: false, message: msg });
    });
    child.on('close', (code) => finish({ ok: code === 0, message: code === 0 ? '' : out.trim() }));
  });
}

/** Runs one probe of one container on its period; tells `onChange` when the result flips and `onFailure` about each failed attempt. */
export class Prober {
  readonly kind: ProbeKind;
  #spec: ProbeSpec;
  #target: ProbeTarget;
  #onChange: (ok: boolean, message: string) => void;
  #onFailure: (message: string) => void;
  #timer: NodeJS.Timeout | undefined;
  #result: boolean | undefined;
  #successes = 0;
  #failures = 0;
  #closed = false;
  #speedMs: number;

  constructor(kind: ProbeKind, spec: ProbeSpec, target: ProbeTarget, opts: { onChange: (ok: boolean, message: string) => void; onFailure: (message: string) => void; secondMs?: number }) {
    this.kind = kind;
    this.#spec = spec;
    this.#target = target;
    this.#onChange = opts.onChange;
    this.#onFailure = opts.onFailure;
    // Tests shrink the second so periods of 1 s do not make them slow.
    this.#speedMs = opts.secondMs ?? 1000;
    this.#schedule((spec.initialDelaySeconds ?? 0) * this.#speedMs);
  }

  /** The current result (undefined before the first flip). */
  get result(): boolean | undefined {
    return this.#result;
  }

  /** Stops probing; idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#tick(), ms);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    // Timeouts stay in real seconds even when tests shrink periods: a loaded machine must not fail probes.
    const timeoutMs = Math.max(1, this.#spec.timeoutSeconds ?? 1) * 1000;
    const r = await runProbe(this.#spec, this.#target, timeoutMs);
    if (this.#closed) return;
    // Liveness and startup need one success (the API server enforces successThreshold 1 for them).
    const successThreshold = this.kind === 'readiness' ? Math.max(1, this.#spec.successThreshold ?? 1) : 1;
    const failureThreshold = Math.max(1, this.#spec.failureThreshold ?? 3);
    if (r.ok) {
      this.#failures = 0;
      this.#successes++;
      if (this.#result !== true && this.#successes >= successThreshold) {
        this.#result = true;
        this.#onChange(true, '');
      }
    } else {
      this.#successes = 0;
      this.#failures++;
      this.#onFailure(r.message);
      if (this.#result !== false && this.#failures >= failureThreshold) {
        this.#result = false;
        this.#onChange(false, r.message);
      }
    }
    // A succeeded startup probe is done; the others keep going.
    if (this.kind === 'startup' && this.#result === true) return;
    // After a liveness or startup failure the container is restarted and gets a new prober.
    if (this.kind !== 'readiness' && this.#result === false) return;
    this.#schedule(Math.max(1, this.#spec.periodSeconds ?? 10) * this.#speedMs);
  }
}
