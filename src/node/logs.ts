/**
 * Container logs: one file per run, `<dataDir>/logs/<ns>_<pod>_<uid>/<container>/<restartCount>.log`,
 * as the kubelet lays them out. Each line is prefixed with an RFC3339Nano timestamp (fixed 9 digits,
 * as the kubelet prints them) and one space, so `--timestamps` and `--since` need no second file.
 * A file stops growing at maxBytes with one closing note (no rotation: a run that writes 10 MiB is
 * rare in a pocket cluster, and a fixed cap keeps `kubectl logs` simple and the disk bounded).
 */
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Log defaults, applied once. */
export const logDefaults = {
  /** Cap of one run's file. */
  maxBytes: 10 * 1024 * 1024,
};

// Wall-clock nanoseconds from a monotonic clock: Date has only milliseconds, and log lines of one
// container must never go back in time.
const baseNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Now as RFC3339 with nanoseconds, e.g. 2024-05-01T10:00:00.123456789Z. */
export function nanoStamp(): string {
  const ns = baseNs + process.hrtime.bigint();
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac}Z`;
}

/** The log folder of a pod. */
export function podLogDir(logsRoot: string, ns: string, pod: string, uid: string): string {
  return path.join(logsRoot, `${ns}_${pod}_${uid}`);
}

/** Path of one run's log file. */
export function logFilePath(logsRoot: string, ns: string, pod: string, uid: string, container: string, restartCount: number): string {
  return path.join(podLogDir(logsRoot, ns, pod, uid), container, `${restartCount}.log`);
}

/** Writes one container run's stdout and stderr, line by line with timestamps. */
export class LogWriter {
  readonly file: string;
  #fd: number | undefined;
  #bytes = 0;
  #max: number;
  // A partial last line per stream, so a line written in two chunks gets one timestamp.
  #partial = { out: '', err: '' };

  /**
   * Opens (truncating) the run's file and deletes runs older than the previous one. With append, opens
   * a file another writer prepared (the app host writes a run the node agent created) and deletes nothing.
   */
  constructor(file: string, opts: { maxBytes?: number; append?: boolean } = {}) {
    this.file = file;
    this.#max = opts.maxBytes ?? logDefaults.maxBytes;
    if (opts.append) {
      this.#fd = openSync(file, 'a');
      return;
    }
    const dir = path.dirname(file);
    mkdirSync(dir, { recursive: true });
    const run = Number(path.basename(file, '.log'));
    for (const f of readdirSync(dir)) {
      const n = Number(path.basename(f, '.log'));
      if (f.endsWith('.log') && Number.isInteger(n) && n < run - 1) rmSync(path.join(dir, f), { force: true });
    }
    this.#fd = openSync(file, 'w');
  }

  /** Appends a chunk of a stream. */
  write(stream: 'out' | 'err', chunk: Buffer | string): void {
    if (this.#fd === undefined) return;
    const text = this.#partial[stream] + chunk.toString();
    const nl = text.lastIndexOf('\n');
    if (nl < 0) {
      this.#partial[stream] = text;
      // A process printing without newlines must not hold memory forever.
      if (text.length > 64 * 1024) this.#flushPartial(stream);
      return;
    }
    this.#partial[stream] = text.slice(nl + 1);
    this.#emit(text.slice(0, nl + 1));
  }

  /** Writes pending partial lines and closes the file; idempotent. */
  close(): void {
    if (this.#fd === undefined) return;
    this.#flushPartial('out');
    this.#flushPartial('err');
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  #flushPartial(stream: 'out' | 'err'): void {
    const p = this.#partial[stream];
    this.#partial[stream] = '';
    if (p) this.#emit(`${p}\n`);
  }

  #emit(lines: string): void {
    if (this.#fd === undefined || this.#bytes >= this.#max) return;
    const stamp = nanoStamp();
    let out = '';
    let start = 0;
    for (let i = lines.indexOf('\n'); i >= 0; i = lines.indexOf('\n', start)) {
      out += `${stamp} ${lines.slice(start, i + 1)}`;
      start = i + 1;
    }
    const buf = Buffer.from(out);
    if (this.#bytes + buf.length > this.#max) {
      const note = Buffer.from(`${stamp} [skiff] log file reached ${this.#max} bytes; further output of this run is dropped\n`);
      writeSync(this.#fd, note);
      this.#bytes = this.#max;
      return;
    }
    writeSync(this.#fd, buf);
    this.#bytes += buf.length;
  }
}
