// Fortio's stats package (stats/stats.go) ported faithfully: same buckets, same bucket
// assignment epsilon, same percentile interpolation and the same printed lines, so a
// histogram of the same samples prints exactly what fortio prints.
import { formatF, formatG } from './format.ts';

/** Upper bounds of fortio's histogram buckets, in units of `divider` after subtracting `offset`. */
export const BUCKET_VALUES: readonly number[] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 18, 20, 25, 30, 35, 40, 45, 50,
  60, 70, 80, 90, 100, 120, 140, 160, 180, 200, 250, 300, 350, 400, 450, 500,
  600, 700, 800, 900, 1000, 2000, 3000, 4000, 5000, 7500, 10000,
  20000, 30000, 40000, 50000, 75000, 100000,
];
const NUM_VALUES = BUCKET_VALUES.length;
const NUM_BUCKETS = NUM_VALUES + 1; // extra last bucket for values above 100000
const LAST_VALUE = BUCKET_VALUES[NUM_VALUES - 1] as number;
const ARRAY_MAX = 1000;
// O(1) lookup below 1000 like fortio's val2Bucket: index of the first bound > i.
const VAL2BUCKET = buildLookup();

function buildLookup(): Uint8Array {
  const arr = new Uint8Array(ARRAY_MAX);
  let idx = 0;
  for (let i = 0; i < ARRAY_MAX; i++) {
    if (i >= (BUCKET_VALUES[idx] as number)) idx++;
    arr[i] = idx;
  }
  return arr;
}

/** Index of the first bucket bound strictly greater than `sv` (fortio's lookUpIdx). */
function lookUpIdx(sv: number): number {
  if (sv < 0) return 0;
  if (sv < ARRAY_MAX) return VAL2BUCKET[sv] as number;
  for (let i = 43; i < NUM_VALUES; i++) if ((BUCKET_VALUES[i] as number) > sv) return i;
  return NUM_VALUES;
}

/** Count/min/max/sum/stddev accumulator (fortio's stats.Counter, including its RecordN quirk). */
export class Counter {
  count = 0;
  min = 0;
  max = 0;
  sum = 0;
  sumOfSquares = 0;

  /** Records `v`, `n` times. */
  record(v: number, n = 1): void {
    if (this.count === 0) {
      this.min = v;
      this.max = v;
    } else if (v < this.min) this.min = v;
    else if (v > this.max) this.max = v;
    this.count += n;
    const s = v * n;
    this.sum += s;
    this.sumOfSquares += s * s;
  }

  /** Average (NaN when empty, as in Go). */
  avg(): number {
    return this.sum / this.count;
  }

  /** Population standard deviation. */
  stdDev(): number {
    const n = this.count;
    return Math.sqrt((this.sumOfSquares - (this.sum * this.sum) / n) / n);
  }

  /** Fortio's one-line `msg : count N avg A +/- S min m max M sum s` rendering. */
  line(msg: string): string {
    return counterLine(msg, this.count, this.avg(), this.stdDev(), this.min, this.max, this.sum);
  }
}

/** One exported histogram interval with its cumulative percent. */
export interface Bucket { start: number; end: number; percent: number; count: number }
/** A requested percentile and its estimated value. */
export interface Percentile { percentile: number; value: number }
/** Exported histogram: flat counter fields, buckets covering [min, max] and percentiles. */
export interface HistogramData {
  count: number; min: number; max: number; sum: number; avg: number; stdDev: number;
  data: Bucket[]; percentiles: Percentile[];
}

/** Fortio's bucketed histogram (stats.Histogram) with offset and divider scaling. */
export class Histogram extends Counter {
  readonly offset: number;
  readonly divider: number;
  readonly hdata = new Int32Array(NUM_BUCKETS);

  constructor(offset: number, divider: number) {
    super();
    this.offset = offset;
    this.divider = divider;
  }

  /** Records `v`, `n` times, in the counter and in its bucket. */
  override record(v: number, n = 1): void {
    super.record(v, n);
    const scaled = (v - this.offset) / this.divider;
    let idx: number;
    if (scaled <= 0) idx = 0;
    else if (scaled > LAST_VALUE) idx = NUM_BUCKETS - 1;
    else {
      // Intervals are ]prev, cur]: a value exactly on a bound belongs to the lower bucket.
      let sv = Math.trunc(scaled);
      if (scaled - sv < 1e-12) sv--;
      idx = lookUpIdx(sv);
    }
    this.hdata[idx] = (this.hdata[idx] as number) + n;
  }

  /** Exports buckets (like fortio's Export) and computes the given percentiles. */
  export(percentiles: readonly number[] = []): HistogramData {
    const res: HistogramData = {
      count: this.count, min: this.min, max: this.max, sum: this.sum,
      avg: this.avg(), stdDev: this.stdDev(), data: [], percentiles: [],
    };
    let lastIdx = -1;
    for (let i = NUM_BUCKETS - 1; i >= 0; i--) if ((this.hdata[i] as number) > 0) { lastIdx = i; break; }
    if (lastIdx === -1) return res;
    let prev = BUCKET_VALUES[0] as number;
    let total = 0;
    for (let i = 0; i <= lastIdx; i++) {
      const c = this.hdata[i] as number;
      if (c === 0) {
        if (i < NUM_VALUES) prev = BUCKET_VALUES[i] as number;
        continue;
      }
      total += c;
      const start = res.data.length === 0 ? this.min : this.divider * prev + this.offset;
      let end: number;
      if (i < NUM_VALUES) {
        const cur = BUCKET_VALUES[i] as number;
        end = this.divider * cur + this.offset;
        prev = cur;
      } else end = this.max;
      res.data.push({ start, end, percent: (100 * total) / this.count, count: c });
    }
    (res.data[res.data.length - 1] as Bucket).end = this.max;
    if (res.count > 0) for (const p of percentiles) res.percentiles.push({ percentile: p, value: calcPercentile(res, p) });
    return res;
  }
}

/** Estimates the value at `percentile` by linear interpolation inside buckets, as fortio does. */
export function calcPercentile(e: HistogramData, percentile: number): number {
  if (e.data.length === 0) return 0;
  if (percentile >= 100) return e.max;
  let pp = 100 / e.count; // the min is at least one point, so it covers 1/count %
  if (percentile <= pp) return e.min;
  for (const cur of e.data) {
    if (percentile <= cur.percent) return cur.start + ((percentile - pp) / (cur.percent - pp)) * (cur.end - cur.start);
    pp = cur.percent;
  }
  return e.max;
}

/** Renders an exported histogram exactly like fortio's HistogramData.Print. */
export function histogramLines(e: HistogramData, msg: string): string {
  if (e.data.length === 0) return `${msg} : no data\n`;
  let out = counterLine(msg, e.count, e.avg, e.stdDev, e.min, e.max, e.sum);
  out += '# range, mid point, percentile, count\n';
  for (let i = 0; i < e.data.length; i++) {
    const b = e.data[i] as Bucket;
    out += `${i > 0 ? '>' : '>='} ${formatG(b.start, 6)} <= ${formatG(b.end, 6)} , ${formatG((b.start + b.end) / 2, 6)} , ${formatF(b.percent, 2)}, ${b.count}\n`;
  }
  out += targetLines(e.percentiles);
  return out;
}

/** The `# target P% V` lines. */
export function targetLines(percentiles: readonly Percentile[]): string {
  let out = '';
  for (const p of percentiles) out += `# target ${formatG(p.percentile)}% ${formatG(p.value, 6)}\n`;
  return out;
}

/** Fortio's counter line format: `%s : count %d avg %.8g +/- %.4g min %g max %g sum %.9g`. */
export function counterLine(msg: string, count: number, avg: number, std: number, min: number, max: number, sum: number): string {
  return `${msg} : count ${count} avg ${formatG(avg, 8)} +/- ${formatG(std, 4)} min ${formatG(min)} max ${formatG(max)} sum ${formatG(sum, 9)}\n`;
}

/** Parses a `-p` list like "50,75,90,99,99.9"; undefined when invalid or empty. */
export function parsePercentiles(s: string): number[] | undefined {
  const res: number[] = [];
  for (const part of s.split(',')) {
    const t = part.trim();
    if (t === '') continue;
    const v = Number(t);
    if (!Number.isFinite(v)) return undefined;
    res.push(v);
  }
  return res.length > 0 ? res : undefined;
}
