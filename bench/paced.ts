/**
 * An open-loop HTTP/1.1 load generator at a fixed rate, for the latency-at-1,000-rps point of
 * bench/mesh.ts: wrk (Debian's, no wrk2 `-R`) cannot pace, and fortio's histogram (ours too) has
 * 1 ms buckets below 10 ms, too coarse for added latencies of a few hundred µs. Requests are
 * scheduled every 1/rps s from the start and go out on the first idle keep-alive connection
 * (round robin, as fortio's connections each take an equal share); when none is idle the request
 * waits (counted as `queued`) and goes out as soon as a response frees one. Latency is from the
 * write of the request to the end of its response, in µs (what fortio reports); how late the
 * timer fired against the schedule is reported apart (`lateP99Us`), so a generator that could not
 * keep up shows.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { pct } from './util.ts';

export interface PacedOptions {
  host: string;
  port: number;
  /** Host header (the service name for a sidecar's outbound listener). */
  authority: string;
  path?: string;
  rps: number;
  conns: number;
  warmupMs: number;
  durationMs: number;
  /** Called once when the measured window starts (after the warm-up), e.g. to read CPU counters. */
  onMeasure?: () => void;
}

export interface PacedResult {
  /** Latencies of the measured window, µs, ascending. */
  lat: number[];
  /** Responses in the measured window per second. */
  rps: number;
  /** Non-2xx responses and requests lost with their connection (whole run). */
  errors: number;
  /** Requests not answered (or not even sent, for want of a free connection) 3 s after the last was due. */
  unfinished: number;
  /** Measured requests that had to wait for a free connection. */
  queued: number;
  /** p99 of how late the timer sent requests that found a free connection, µs (the generator's own precision). */
  lateP99Us: number;
}

interface Conn {
  sock: net.Socket;
  buf: string;
  sentAt: number;
  measured: boolean;
  busy: boolean;
}

const CRLF2 = '\r\n\r\n';

/** Length of one complete response at the start of `buf` (content-length or chunked), or -1 while incomplete. */
function responseLength(buf: string): number {
  const end = buf.indexOf(CRLF2);
  if (end < 0) return -1;
  const head = buf.slice(0, end);
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (cl) {
    const total = end + 4 + Number(cl[1]);
    return buf.length >= total ? total : -1;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const last = buf.indexOf('\r\n0\r\n\r\n', end);
    if (last >= 0) return last + 7;
    // An empty chunked body: the terminator right after the head.
    return buf.startsWith('0\r\n\r\n', end + 4) ? end + 9 : -1;
  }
  return end + 4; // no body (204/304 or a HEAD-like answer)
}

/** Runs the paced load; resolves after the measured window and its last responses. */
export async function paced(o: PacedOptions): Promise<PacedResult> {
  const req = Buffer.from(`GET ${o.path ?? '/'} HTTP/1.1\r\nHost: ${o.authority}\r\nUser-Agent: skiff-bench-paced\r\n\r\n`, 'latin1');
  const interval = 1000 / o.rps;
  const total = Math.round(((o.warmupMs + o.durationMs) / 1000) * o.rps);
  const lat: number[] = [];
  const late: number[] = [];
  let errors = 0;
  let queued = 0;
  let outstanding = 0;
  let running = true;
  const idle: Conn[] = [];
  const backlog: number[] = [];
  let measureFrom = Infinity;
  let t0 = 0;

  const send = (c: Conn, scheduled: number, fromTimer: boolean): void => {
    c.busy = true;
    c.measured = scheduled >= measureFrom;
    c.sentAt = performance.now();
    if (c.measured && fromTimer) late.push((c.sentAt - scheduled) * 1000);
    outstanding++;
    c.sock.write(req);
  };
  const free = (c: Conn): void => {
    c.busy = false;
    const next = backlog.shift();
    if (next !== undefined) send(c, next, false);
    else idle.push(c);
  };
  const open = (c: Conn): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = net.connect({ host: o.host, port: o.port, noDelay: true });
      c.sock = s;
      c.buf = '';
      s.setEncoding('latin1');
      s.once('connect', () => resolve());
      s.once('error', (e) => reject(e));
      s.on('error', () => {});
      s.on('data', (d: string) => {
        c.buf += d;
        for (;;) {
          const n = responseLength(c.buf);
          if (n < 0) break;
          const now = performance.now();
          const ok = c.buf.charCodeAt(9) === 50; // "HTTP/1.1 2xx"
          c.buf = c.buf.slice(n);
          outstanding--;
          if (!ok) errors++;
          else if (c.measured) lat.push((now - c.sentAt) * 1000);
          free(c);
        }
      });
      s.on('close', () => {
        if (c.sock !== s) return;
        if (c.busy) {
          errors++;
          outstanding--;
        }
        const i = idle.indexOf(c);
        if (i >= 0) idle.splice(i, 1);
        // The server may close a kept-alive connection: reconnect while the run lasts.
        if (running) open(c).then(() => free(c), () => (errors++, setTimeout(() => running && open(c).then(() => free(c), () => errors++), 10)));
      });
    });

  const conns: Conn[] = [];
  for (let i = 0; i < o.conns; i++) {
    const c = { buf: '', sentAt: 0, measured: false, busy: false } as Conn;
    await open(c);
    conns.push(c);
    idle.push(c);
  }

  await new Promise<void>((resolve) => {
    t0 = performance.now();
    measureFrom = t0 + o.warmupMs;
    let k = 0;
    let announced = false;
    const tick = (): void => {
      const now = performance.now();
      if (!announced && now >= measureFrom) {
        announced = true;
        o.onMeasure?.();
      }
      while (k < total && t0 + k * interval <= now) {
        const at = t0 + k * interval;
        k++;
        const c = idle.shift();
        if (c) send(c, at, true);
        else {
          backlog.push(at);
          if (at >= measureFrom) queued++;
        }
      }
      if (k < total) setTimeout(tick, Math.max(0, t0 + k * interval - performance.now()));
      else resolve();
    };
    tick();
  });
  const measuredEnd = performance.now();
  // The last responses (bounded: a stuck path counts as errors, never hangs the benchmark).
  const deadline = Date.now() + 3000;
  while ((outstanding > 0 || backlog.length > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  const unfinished = outstanding + backlog.length;
  running = false;
  for (const c of conns) c.sock.destroy();
  lat.sort((a, b) => a - b);
  late.sort((a, b) => a - b);
  return { lat, rps: lat.length / ((measuredEnd - measureFrom) / 1000), errors, unfinished, queued, lateP99Us: late.length ? pct(late, 99) : 0 };
}
