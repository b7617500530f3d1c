// Go-compatible text formatting, so our output lines are byte-for-byte the ones fortio
// prints with fmt's %g / %.Ng / %v(time.Duration) verbs.

/** Formats like Go's `%g` (prec undefined = shortest) or `%.<prec>g`. */
export function formatG(v: number, prec?: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const neg = v < 0;
  const exp = prec === undefined ? Math.abs(v).toExponential() : Math.abs(v).toExponential(Math.max(prec, 1) - 1);
  const [mant, expStr] = exp.split('e') as [string, string];
  const digits = mant.replace('.', '').replace(/0+$/, '') || '0';
  const x = Number(expStr); // exponent of the first digit
  const eprec = prec === undefined ? 6 : digits.length < Math.max(prec, 1) && digits.length >= x + 1 ? digits.length : Math.max(prec, 1);
  let out: string;
  if (x < -4 || x >= eprec) {
    const frac = digits.slice(1);
    const ex = Math.abs(x);
    out = `${digits[0]}${frac ? '.' + frac : ''}e${x < 0 ? '-' : '+'}${ex < 10 ? '0' : ''}${ex}`;
  } else if (x < 0) {
    out = '0.' + '0'.repeat(-x - 1) + digits;
  } else if (digits.length <= x + 1) {
    out = digits + '0'.repeat(x + 1 - digits.length);
  } else {
    out = digits.slice(0, x + 1) + '.' + digits.slice(x + 1);
  }
  return neg ? '-' + out : out;
}

/** Formats like Go's `%.<prec>f` (NaN as Go prints it). */
export function formatF(v: number, prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  return v.toFixed(prec);
}

/** Formats an integer nanosecond count like Go's time.Duration.String(): `59.812345ms`, `2.5s`, `1m30s`. */
export function formatDuration(ns: number): string {
  let u = Math.round(Math.abs(ns));
  const sign = ns < 0 ? '-' : '';
  if (u === 0) return '0s';
  if (u < 1e9) {
    if (u < 1e3) return `${sign}${u}ns`;
    if (u < 1e6) return `${sign}${fracString(u, 3)}µs`;
    return `${sign}${fracString(u, 6)}ms`;
  }
  const h = Math.floor(u / 3600e9);
  u -= h * 3600e9;
  const m = Math.floor(u / 60e9);
  u -= m * 60e9;
  let out = `${fracString(u, 9)}s`;
  if (h > 0 || m > 0) out = `${m}m${out}`;
  if (h > 0) out = `${h}h${out}`;
  return sign + out;
}

/** Integer part and trailing-zero-trimmed fraction of `v / 10^digits`, as Go's fmtFrac does. */
function fracString(v: number, digits: number): string {
  const scale = 10 ** digits;
  const whole = Math.floor(v / scale);
  const frac = String(v - whole * scale).padStart(digits, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : String(whole);
}

const UNIT_NS: Record<string, number> = {
  ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9, d: 86400e9, w: 7 * 86400e9,
};

/** Parses a Go duration (`5s`, `1m30s`, `100ms`, plus fortio's `d`/`w`) into nanoseconds; undefined when invalid. */
export function parseDuration(s: string): number | undefined {
  const str = s.trim();
  if (str === '0' || str === '+0' || str === '-0') return 0;
  const m = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h|d|w))+$/.exec(str);
  if (!m) return undefined;
  let total = 0;
  for (const part of str.replace(/^[-+]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)/g)) {
    total += Number(part[1]) * (UNIT_NS[part[2] as string] as number);
  }
  return m[1] === '-' ? -total : total;
}
