/**
 * `GET pods/X/log`: reads the container's log file (lines `<RFC3339Nano> <line>`), applies tailLines,
 * sinceSeconds/sinceTime, timestamps and limitBytes, and with follow=true keeps streaming appended
 * lines until the container stops, as the kubelet does.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SubresourceHandler } from '../../api/index.ts';
import type { StreamDeps } from './exec.ts';
import { StreamError, badRequest, containerStatus, flag, pickContainer } from './target.ts';

/** How often a follow re-checks that the container still runs (and catches writes fs.watch missed). */
const followPollMs = 250;

/** The parsed query of a log request. */
export interface LogQuery {
  container: string | null;
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  /** Lines older than this (ms since the epoch) are left out. */
  since?: number;
  limitBytes?: number;
}

/** Parses and validates the query parameters kubectl sends. */
export function parseLogQuery(q: URLSearchParams, now = Date.now()): LogQuery {
  const int = (name: string, min: number): number | undefined => {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw badRequest(`${name}: Invalid value: ${JSON.stringify(v)}: must be an integer greater than or equal to ${min}`);
    return n;
  };
  const sinceSeconds = int('sinceSeconds', 1);
  const sinceTime = q.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTime) throw badRequest('at most one of sinceTime or sinceSeconds may be specified');
  let since: number | undefined;
  if (sinceSeconds !== undefined) since = now - sinceSeconds * 1000;
  else if (sinceTime) {
    since = Date.parse(sinceTime);
    if (Number.isNaN(since)) throw badRequest(`sinceTime: Invalid value: ${JSON.stringify(sinceTime)}: must be an RFC3339 time`);
  }
  return {
    container: q.get('container'),
    follow: flag(q, 'follow'),
    previous: flag(q, 'previous'),
    timestamps: flag(q, 'timestamps'),
    tailLines: int('tailLines', 0),
    since,
    limitBytes: int('limitBytes', 1),
  };
}

/** Turns stored lines into output lines: since filter, then the timestamp prefix kept or stripped. */
export function formatLines(lines: readonly string[], o: { since?: number; timestamps: boolean }): string {
  let out = '';
  for (const line of lines) {
    const sp = line.indexOf(' ');
    const ts = sp > 0 ? Date.parse(line.slice(0, sp)) : NaN;
    // A line without a timestamp (written by something else) is kept whole and never filtered out.
    if (Number.isNaN(ts)) {
      out += `${line}\n`;
      continue;
    }
    if (o.since !== undefined && ts < o.since) continue;
    out += o.timestamps ? `${line}\n` : `${line.slice(sp + 1)}\n`;
  }
  return out;
}

/** Splits file text into complete lines and the unfinished rest. */
export function splitLines(text: string): { lines: string[]; rest: string } {
  const lines = text.split('\n');
  const rest = lines.pop() ?? '';
  return { lines, rest };
}

/** Which file to read, after the kubelet's checks on the container's state. */
function logFile(deps: StreamDeps, ns: string, pod: string, container: string, status: Record<string, any> | undefined, previous: boolean): string { // eslint-disable-line @typescript-eslint/no-explicit-any
  const files = deps.runtime.logFiles(ns, pod, container);
  if (previous) {
    if (!files?.previous) throw badRequest(`previous terminated container "${container}" in pod "${pod}" not found`);
    return files.previous;
  }
  const state = status?.state ?? {};
  const lastTerminated = status?.lastState?.terminated;
  if (!files || (!state.running && !state.terminated && !lastTerminated)) {
    const reason = state.waiting?.reason ?? 'ContainerCreating';
    throw badRequest(`container "${container}" in pod "${pod}" is waiting to start: ${reason}`);
  }
  return files.current;
}

/** The `log` subresource handler. */
export function logHandler(deps: StreamDeps): SubresourceHandler {
  return async (route, req, res, url) => {
    let q: LogQuery;
    let file: string;
    let container: string;
    try {
      q = parseLogQuery(url.searchParams);
      const pod = await deps.client.get('pods', route.ns, route.name);
      container = pickContainer(pod, q.container).name;
      // An unbound pod has no node to ask: upstream answers with an empty log.
      if (!(pod.spec as { nodeName?: string } | undefined)?.nodeName && !q.previous) {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 0 });
        res.end();
        return;
      }
      file = logFile(deps, route.ns, route.name, container, containerStatus(pod, container), q.previous);
    } catch (e) {
      if (!(e instanceof StreamError)) throw e;
      const body = JSON.stringify(e.toStatus());
      res.writeHead(e.code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    await serveLog(deps, { ns: route.ns, pod: route.name, container }, file, q, req, res);
  };
}

/** Writes the log; with follow, keeps the response open until the container stops or the client leaves. */
async function serveLog(deps: StreamDeps, who: { ns: string; pod: string; container: string }, file: string, q: LogQuery, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    text = '';
  }
  let offset = Buffer.byteLength(text);
  const { lines, rest } = splitLines(text);
  // Without follow, a line still being written is shown as it is (the kubelet shows partial lines too).
  if (!q.follow && rest) lines.push(rest);
  const tail = q.tailLines !== undefined ? lines.slice(Math.max(0, lines.length - q.tailLines)) : lines;
  let left = q.limitBytes ?? Infinity;
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', ...(q.follow ? { 'Transfer-Encoding': 'chunked' } : {}) });
  res.socket?.setNoDelay(true);
  /** Writes within limitBytes; false once the limit is reached. */
  const emit = (s: string): boolean => {
    if (!s) return left > 0;
    const b = Buffer.from(s);
    if (b.length >= left) {
      res.write(b.subarray(0, left));
      left = 0;
      return false;
    }
    left -= b.length;
    res.write(b);
    return true;
  };
  if (!emit(formatLines(tail, q)) || !q.follow) {
    res.end();
    return;
  }
  res.flushHeaders();

  // Follow: read appended bytes on every change notice and on a slow poll; one read at a time.
  let partial = Buffer.from(rest);
  let ended = false;
  let reading = false;
  let again = false;
  let finalWanted = false;
  let watcher: FSWatcher | undefined;
  const stop = (): void => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    watcher?.close();
    res.end();
  };
  const readMore = async (final: boolean): Promise<void> => {
    if (ended) return;
    if (final) finalWanted = true;
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      const fh = await open(file, 'r');
      try {
        for (;;) {
          const { size } = await fh.stat();
          if (size <= offset) break;
          const buf = Buffer.allocUnsafe(Math.min(size - offset, 1 << 20));
          const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
          if (bytesRead === 0) break;
          offset += bytesRead;
          const chunk = Buffer.concat([partial, buf.subarray(0, bytesRead)]);
          const nl = chunk.lastIndexOf(0x0a);
          partial = nl < 0 ? chunk : chunk.subarray(nl + 1);
          if (nl >= 0 && !emit(formatLines(chunk.subarray(0, nl).toString().split('\n'), q))) return stop();
        }
      } finally {
        await fh.close();
      }
    } catch {
      // The file went away (pod deleted): treat as the end below.
      finalWanted = true;
    } finally {
      reading = false;
    }
    if (finalWanted) {
      if (partial.length) emit(formatLines([partial.toString()], q));
      return stop();
    }
    if (again) {
      again = false;
      return readMore(false);
    }
  };
  const check = (): void => {
    const info = deps.runtime.container(who.ns, who.pod, who.container);
    const files = deps.runtime.logFiles(who.ns, who.pod, who.container);
    // `kubectl logs -f` ends when the container stops; a restart writes a new file for a new follow.
    const over = q.previous || !info?.running || files?.current !== file;
    void readMore(over);
  };
  try {
    watcher = watch(file, () => void readMore(false));
    watcher.on('error', () => undefined);
  } catch {
    // No inotify (or the file is gone): the poll below still works.
  }
  const timer = setInterval(check, followPollMs);
  req.on('close', stop);
  res.on('error', stop);
  check();
}
