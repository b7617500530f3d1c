// Renders a load result as fortio's text report (periodic.go Run, httprunner.go RunHTTPTest,
// fortio_main.go fortioLoad), honouring the log level the same way fortio does.
import os from 'node:os';
import { formatDuration, formatF, formatG } from './format.ts';
import { counterLine, histogramLines, targetLines, type HistogramData } from './stats.ts';
import { LogLevel } from './log.ts';
import type { LoadPlan, LoadResult } from './load.ts';
import { VERSION } from './errors.ts';

/** Rendering options: `level` gates sections like fortio's -loglevel; `header` includes the banner and Starting lines. */
export interface ReportOptions { level?: LogLevel; header?: boolean }

function displayURL(url: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
}

/** Fortio's banner: `Fortio 1.x running at Q queries per second, P->P procs, for N calls: URL`. */
export function formatHeader(plan: LoadPlan): string {
  let out = `Fortio ${VERSION} running at ${formatG(plan.qps)} queries per second, ${plan.gomax}->${plan.gomax} procs`;
  const url = displayURL(plan.url);
  if (plan.exactly > 0) out += `, for ${plan.exactly} calls: ${url}\n`;
  else if (plan.durationMs <= 0) out += `, until interrupted: ${url}\n`;
  else out += `, for ${formatDuration(plan.durationMs * 1e6)}: ${url}\n`;
  return out;
}

/** The `Starting at ...` line (printed once warmup succeeded). */
export function formatStart(plan: LoadPlan, level: LogLevel = LogLevel.Info): string {
  const { threads, gomax, exactly, perThread, leftOver } = plan;
  const warn = level <= LogLevel.Warning;
  const dur = formatDuration(plan.durationMs * 1e6);
  if (plan.qps > 0) {
    const q = formatG(plan.qps);
    if (exactly <= 0 && plan.durationMs <= 0) return `Starting at ${q} qps with ${threads} thread(s) [gomax ${gomax}] until interrupted\n`;
    if (!warn) return '';
    if (exactly > 0) {
      return `Starting at ${q} qps with ${threads} thread(s) [gomax ${gomax}] : exactly ${exactly}, ${perThread} calls each (total ${perThread * threads} + ${leftOver})\n`;
    }
    return `Starting at ${q} qps with ${threads} thread(s) [gomax ${gomax}] for ${dur} : ${perThread} calls each (total ${perThread * threads})\n`;
  }
  if (exactly <= 0 && plan.durationMs <= 0) return `Starting at max qps with ${threads} thread(s) [gomax ${gomax}] until interrupted\n`;
  if (!warn) return '';
  if (exactly > 0) {
    return `Starting at max qps with ${threads} thread(s) [gomax ${gomax}] for exactly ${exactly} calls (${perThread} per thread + ${leftOver})\n`;
  }
  return `Starting at max qps with ${threads} thread(s) [gomax ${gomax}] for ${dur}\n`;
}

/** Fortio's Occurrence.AggregateAndToString: a single entry prints bare, several as `[a (n), b (m)]`. */
function ipList(m: Map<string, number>): string {
  if (m.size === 1) return m.keys().next().value as string;
  return `[${[...m].map(([k, v]) => `${k} (${v})`).join(', ')}]`;
}

/** The whole text report, line for line what `fortio load` writes (to stderr). */
export function formatResult(r: LoadResult, opts: ReportOptions = {}): string {
  const level = opts.level ?? LogLevel.Info;
  const warn = level <= LogLevel.Warning;
  const plan = r.plan;
  let out = '';
  if (opts.header ?? true) out += formatHeader(plan) + formatStart(plan, level);
  if (warn) out += `Ended after ${formatDuration(r.durationNs)} : ${r.duration.count} calls. qps=${formatG(r.actualQPS, 5)}\n`;
  if (r.sleep) {
    const s = r.sleep;
    const percentNegative = (100 * (s.hdata[0] as number)) / s.count;
    if (percentNegative > 5) {
      out += histogramLines(s.export([50]), 'Aggregated Sleep Time');
      out += `WARNING ${formatF(percentNegative, 2)}% of sleep were falling behind\n`;
    } else if (level <= LogLevel.Verbose) out += histogramLines(s.export([50]), 'Aggregated Sleep Time');
    else if (warn) out += s.line('Sleep times');
  }
  if (warn) {
    out += histogramLines(r.duration, 'Aggregated Function Time');
    out += histogramLines(r.errors, 'Error cases');
  } else {
    out += dataCounterLine(r.duration, 'Aggregated Function Time') + targetLines(r.duration.percentiles);
    out += dataCounterLine(r.errors, 'Error cases');
  }
  out += '# Socket and IP used for each connection:\n';
  for (let i = 0; i < r.sockets.length; i++) {
    const c = r.perThreadConnect[i];
    out += `[${i}] ${String(r.sockets[i]).padStart(3)} socket used, resolved to ${ipList(r.perThreadIPs[i] ?? new Map())}`;
    out += c ? c.line(', connection timing') : '\n';
  }
  if (level <= LogLevel.Info) out += histogramLines(r.connectStats, 'Connection time histogram (s)');
  else if (warn) out += dataCounterLine(r.connectStats, 'Connection time (s)');
  out += `Sockets used: ${r.socketCount} (for perfect keepalive, would be ${plan.threads})\n`;
  out += 'Uniform: false, Jitter: false, Catchup allowed: true\n';
  out += 'IP addresses distribution:\n';
  for (const [ip, n] of [...r.ipCount].sort((a, b) => b[1] - a[1])) out += `${ip}: ${n}\n`;
  const total = r.duration.count;
  for (const [code, n] of r.retCodes) out += `Code ${String(code).padStart(3)} : ${n} (${formatF((100 * n) / total, 1)} %)\n`;
  if (level <= LogLevel.Verbose) {
    out += histogramLines(r.headerSizes.export(), 'Response Header Sizes Histogram');
    out += histogramLines(r.sizes.export(), 'Response Body/Total Sizes Histogram');
  } else if (warn) {
    out += r.headerSizes.line('Response Header Sizes');
    out += r.sizes.line('Response Body/Total Sizes');
  }
  out += `All done ${total} calls (plus ${r.warmup} warmup) ${formatF(1000 * r.duration.avg, 3)} ms avg, ${formatF(r.actualQPS, 1)} qps\n`;
  return out;
}

function dataCounterLine(e: HistogramData, msg: string): string {
  return counterLine(msg, e.count, e.avg, e.stdDev, e.min, e.max, e.sum);
}

function histJSON(e: HistogramData): Record<string, unknown> {
  const out: Record<string, unknown> = {
    Count: e.count, Min: e.min, Max: e.max, Sum: e.sum, Avg: nanSafe(e.avg), StdDev: nanSafe(e.stdDev),
    Data: e.data.map((b) => ({ Start: b.start, End: b.end, Percent: b.percent, Count: b.count })),
  };
  if (e.percentiles.length > 0) out.Percentiles = e.percentiles.map((p) => ({ Percentile: p.percentile, Value: p.value }));
  return out;
}

function nanSafe(v: number): number {
  return Number.isFinite(v) ? v : 0;
}

/** A JSON document shaped like fortio's HTTPRunnerResults (the subset we measure). */
export function resultJSON(r: LoadResult): Record<string, unknown> {
  const p = r.plan;
  const url = displayURL(p.url);
  return {
    RunType: 'HTTP',
    Labels: `${url.replace(/^https?:\/\//, '')} , ${os.hostname().split('.')[0]}`,
    StartTime: r.startTime.toISOString(),
    RequestedQPS: p.qps > 0 ? formatG(p.qps, 9) : 'max',
    RequestedDuration: p.exactly > 0 ? `exactly ${p.exactly} calls${r.interrupted ? `, interrupted after ${r.duration.count}` : ''}`
      : p.durationMs > 0 ? formatDuration(p.durationMs * 1e6) : 'until stop',
    ActualQPS: r.actualQPS,
    ActualDuration: r.durationNs,
    NumThreads: p.threads,
    Version: r.version,
    DurationHistogram: histJSON(r.duration),
    ErrorsDurationHistogram: histJSON(r.errors),
    Exactly: p.exactly,
    Jitter: false,
    Uniform: false,
    NoCatchUp: false,
    RunID: 0,
    URL: url,
    RetCodes: Object.fromEntries([...r.retCodes].map(([k, v]) => [String(k), v])),
    IPCountMap: Object.fromEntries(r.ipCount),
    Sizes: histJSON(r.sizes.export()),
    HeaderSizes: histJSON(r.headerSizes.export()),
    Sockets: r.sockets,
    SocketCount: r.socketCount,
    ConnectionStats: histJSON(r.connectStats),
    AbortOn: 0,
  };
}
