import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CronError, nextAfter, parseSchedule, validTimeZone } from './cron.ts';

const at = (s: string): number => Date.parse(s);
const iso = (t: number | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString());

test('parseSchedule reads lists, ranges, steps, names and descriptors', () => {
  const s = parseSchedule('*/15 9-17 * JAN-MAR,dec mon-fri');
  assert.deepEqual([...s.minute], [0, 15, 30, 45]);
  assert.deepEqual([...s.hour], [9, 10, 11, 12, 13, 14, 15, 16, 17]);
  assert.deepEqual([...s.month], [1, 2, 3, 12]);
  assert.deepEqual([...s.dow], [1, 2, 3, 4, 5]);
  assert.equal(s.domStar, true);
  assert.deepEqual([...parseSchedule('5/20 * * * *').minute], [5, 25, 45]);
  assert.deepEqual(parseSchedule('@daily'), parseSchedule('0 0 * * *'));
  assert.deepEqual(parseSchedule('@hourly'), parseSchedule('0 * * * *'));
});

test('parseSchedule rejects what robfig/cron rejects, in its words', () => {
  const cases: Array<[string, RegExp]> = [
    ['bad', /^expected exactly 5 fields, found 1: \[bad\]$/],
    ['* * * *', /^expected exactly 5 fields, found 4/],
    ['60 * * * *', /^end of range \(60\) above maximum \(59\): 60$/],
    ['* * 0 * *', /^beginning of range \(0\) below minimum \(1\): 0$/],
    ['5-1 * * * *', /^beginning of range \(5\) beyond end of range \(1\): 5-1$/],
    ['*/0 * * * *', /^step of range should be a positive number: \*\/0$/],
    ['x * * * *', /^failed to parse int from x: strconv\.Atoi: parsing "x": invalid syntax$/],
    ['* * * * 7', /above maximum \(6\)/],
    ['@every', /^unrecognized descriptor: @every$/],
  ];
  for (const [text, msg] of cases) assert.throws(() => parseSchedule(text), (e: unknown) => e instanceof CronError && msg.test(e.message), text);
});

test('nextAfter finds the next minute that matches, in UTC or a named zone', () => {
  assert.equal(iso(nextAfter(parseSchedule('* * * * *'), at('2026-11-26T10:00:30Z'), 'UTC')), '2026-11-26T10:01:00.000Z');
  assert.equal(iso(nextAfter(parseSchedule('*/15 * * * *'), at('2026-11-26T10:15:00Z'), 'UTC')), '2026-11-26T10:30:00.000Z');
  assert.equal(iso(nextAfter(parseSchedule('0 0 1 1 *'), at('2026-11-26T10:00:00Z'), 'UTC')), '2027-01-01T00:00:00.000Z');
  // Monday to Friday at 09:00: from a Friday evening, the next is Monday.
  assert.equal(iso(nextAfter(parseSchedule('0 9 * * 1-5'), at('2026-11-27T18:00:00Z'), 'UTC')), '2026-11-30T09:00:00.000Z');
  // Both day fields restricted: either matches (the 1st of the month, or a Sunday).
  assert.equal(iso(nextAfter(parseSchedule('0 0 1 * 0'), at('2026-11-26T00:00:00Z'), 'UTC')), '2026-11-29T00:00:00.000Z');
  // 09:00 in Tokyo is 00:00 UTC.
  assert.equal(iso(nextAfter(parseSchedule('0 9 * * *'), at('2026-11-26T10:00:00Z'), 'Asia/Tokyo')), '2026-11-27T00:00:00.000Z');
  assert.equal(nextAfter(parseSchedule('0 0 30 2 *'), at('2026-01-01T00:00:00Z'), 'UTC'), undefined);
});

test('validTimeZone knows IANA names only', () => {
  assert.equal(validTimeZone('Europe/Berlin'), true);
  assert.equal(validTimeZone('Mars/Olympus'), false);
});
