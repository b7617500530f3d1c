/**
 * CronJob schedules, as Kubernetes reads them (robfig/cron v3's standard parser): five fields
 * (minute, hour, day of month, month, day of week) with `*`, `?`, lists, ranges, steps and
 * JAN–DEC / SUN–SAT names, or a descriptor (@yearly, @annually, @monthly, @weekly, @daily,
 * @midnight, @hourly). When both day fields are restricted a day matches either, as cron does.
 * Parse errors read like robfig's, which the API server puts into its Invalid message.
 */

export interface Schedule {
  minute: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  month: Set<number>;
  dow: Set<number>;
  domStar: boolean;
  dowStar: boolean;
}

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const months: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const days: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const fields: Bounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: months },
  { min: 0, max: 6, names: days },
];

const descriptors: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A schedule's parse error, worded as robfig/cron's. */
export class CronError extends Error {}

function number(s: string, b: Bounds): number {
  const named = b.names?.[s.toLowerCase()];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(s)) throw new CronError(`failed to parse int from ${s}: strconv.Atoi: parsing "${s}": invalid syntax`);
  return Number(s);
}

function parseField(text: string, b: Bounds): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  let star = false;
  for (const part of text.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined) throw new CronError(`too many slashes: ${part}`);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      lo = b.min;
      hi = b.max;
      if (stepText === undefined) star = true;
    } else {
      const [a, z, more] = range.split('-');
      if (more !== undefined) throw new CronError(`too many hyphens: ${range}`);
      lo = number(a, b);
      hi = z === undefined ? (stepText === undefined ? lo : b.max) : number(z, b);
    }
    let step = 1;
    if (stepText !== undefined) {
      step = Number(/^\d+$/.test(stepText) ? stepText : NaN);
      if (!Number.isInteger(step)) throw new CronError(`failed to parse int from ${stepText}: strconv.Atoi: parsing "${stepText}": invalid syntax`);
      if (step <= 0) throw new CronError(`step of range should be a positive number: ${part}`);
    }
    if (lo < b.min) throw new CronError(`beginning of range (${lo}) below minimum (${b.min}): ${part}`);
    if (hi > b.max) throw new CronError(`end of range (${hi}) above maximum (${b.max}): ${part}`);
    if (lo > hi) throw new CronError(`beginning of range (${lo}) beyond end of range (${hi}): ${part}`);
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, star };
}

/** Parses a schedule; throws CronError. */
export function parseSchedule(text: string): Schedule {
  const spec = descriptors[text.trim().toLowerCase()] ?? text;
  if (spec.startsWith('@')) throw new CronError(`unrecognized descriptor: ${spec}`);
  const parts = spec.trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 5) throw new CronError(`expected exactly 5 fields, found ${parts.length}: [${parts.join(' ')}]`);
  const [mi, h, dom, mo, dow] = parts.map((p, i) => parseField(p, fields[i]));
  return { minute: mi.values, hour: h.values, dom: dom.values, month: mo.values, dow: dow.values, domStar: dom.star, dowStar: dow.star };
}

/** Calendar fields of an instant in a time zone (undefined: this process's local zone). */
interface Fields {
  minute: number;
  hour: number;
  dom: number;
  month: number;
  dow: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** True when `zone` is an IANA time zone this runtime knows. */
export function validTimeZone(zone: string): boolean {
  try {
    zoneFormatter(zone);
    return true;
  } catch {
    return false;
  }
}

function zoneFormatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', minute: 'numeric', hour: 'numeric', day: 'numeric', month: 'numeric', weekday: 'short' });
    formatters.set(zone, f);
  }
  return f;
}

function fieldsAt(t: number, zone: string | undefined): Fields {
  if (zone === undefined) {
    const d = new Date(t);
    return { minute: d.getMinutes(), hour: d.getHours(), dom: d.getDate(), month: d.getMonth() + 1, dow: d.getDay() };
  }
  const out: Fields = { minute: 0, hour: 0, dom: 1, month: 1, dow: 0 };
  for (const p of zoneFormatter(zone).formatToParts(t)) {
    if (p.type === 'minute') out.minute = Number(p.value);
    else if (p.type === 'hour') out.hour = Number(p.value);
    else if (p.type === 'day') out.dom = Number(p.value);
    else if (p.type === 'month') out.month = Number(p.value);
    else if (p.type === 'weekday') out.dow = days[p.value.toLowerCase()] ?? 0;
  }
  return out;
}

function dayMatches(s: Schedule, f: Fields): boolean {
  const dom = s.dom.has(f.dom);
  const dow = s.dow.has(f.dow);
  return s.domStar || s.dowStar ? dom && dow : dom || dow;
}

const MINUTE = 60_000;

/**
 * The first scheduled instant strictly after `after` (ms), or undefined when none comes within five
 * years (a schedule such as `0 0 30 2 *`). Whole minutes are tested in the zone's wall time; a day or
 * hour that cannot match is skipped whole.
 */
export function nextAfter(s: Schedule, after: number, zone?: string): number | undefined {
  let t = Math.floor(after / MINUTE) * MINUTE + MINUTE;
  const end = after + 5 * 366 * 24 * 60 * MINUTE;
  while (t <= end) {
    const f = fieldsAt(t, zone);
    if (!s.month.has(f.month) || !dayMatches(s, f)) {
      // To the next midnight (wall time; a DST day is set right by the next test).
      t += ((23 - f.hour) * 60 + (60 - f.minute)) * MINUTE;
      continue;
    }
    if (!s.hour.has(f.hour)) {
      t += (60 - f.minute) * MINUTE;
      continue;
    }
    if (!s.minute.has(f.minute)) {
      t += MINUTE;
      continue;
    }
    return t;
  }
  return undefined;
}
