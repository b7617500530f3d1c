import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, calcPercentile, histogramLines, parsePercentiles } from './stats.ts';
import { formatDuration, formatG, parseDuration } from './format.ts';

// Expected values below are fortio's own (stats/stats_test.go), so the math is checked
// against fortio's algorithm, not against our reading of it.

test('calcPercentile() interpolates inside buckets like fortio TestHistogram', () => {
  const h = new Histogram(0, 10);
  for (const v of [1, 251, 501, 751, 1001]) h.record(v);
  const e = h.export();
  assert.equal(h.avg(), 501);
  const cases: Array<[number, number]> = [
    [-1, 1], [0, 1], [0.1, 1], [1, 1], [20, 1], [20.01, 250.025], [39.99, 299.975], [40, 300],
    [50, 550], [75, 775], [90, 1000.5], [99, 1000.95], [99.9, 1000.995], [100, 1001], [101, 1001],
  ];
  for (const [p, want] of cases) assert.ok(Math.abs(calcPercentile(e, p) - want) < 1e-9, `p${p}: got ${calcPercentile(e, p)} want ${want}`);
});

test('export() percentiles match fortio TestHistogramData (multi-count and negative values)', () => {
  const h = new Histogram(0, 1);
  h.record(-1);
  h.record(0, 3);
  for (const v of [1, 2, 3, 4]) h.record(v);
  h.record(5, 2);
  const e = h.export([0, 1, 10, 25, 40, 50, 60, 70, 80, 90, 99, 100]);
  assert.equal(e.count, 10);
  assert.equal(e.avg, 1.9);
  const want = [-1, -1, -1, -0.5, 0, 1, 2, 3, 4, 4.5, 4.95, 5];
  e.percentiles.forEach((p, i) => assert.ok(Math.abs(p.value - (want[i] as number)) < 1e-9, `p${p.percentile}: ${p.value}`));
});

test('export() buckets and stats match fortio TestHistogramExport1', () => {
  const h = new Histogram(0, 10);
  for (const v of [-137.4, 251, 501, 751, 1001.67]) h.record(v);
  const e = h.export([50, 99, 99.9]);
  assert.deepEqual(e.data.map((b) => [b.start, b.end, b.percent, b.count]), [
    [-137.4, 0, 20, 1], [250, 300, 40, 1], [500, 600, 60, 1], [700, 800, 80, 1], [1000, 1001.67, 100, 1],
  ]);
  assert.equal(e.sum, 2367.27);
  assert.equal(e.avg, 473.454);
  assert.equal(e.stdDev, 394.8242896074151);
  assert.deepEqual(e.percentiles.map((p) => p.value), [550, 1001.5865, 1001.66165]);
});

test('record() puts values exactly on a bound into the lower bucket', () => {
  const h = new Histogram(0, 0.001);
  h.record(0.001); // ]0, 1ms]
  h.record(0.0010001); // ]1ms, 2ms]
  const e = h.export();
  assert.deepEqual(e.data.map((b) => [b.end, b.count]), [[0.001, 1], [0.0010001, 1]]);
});

test('histogramLines() prints fortio text for synthetic latencies', () => {
  const h = new Histogram(0, 0.001);
  for (const v of [0.000499, 0.0009, 0.0015, 0.0042, 0.0144329]) h.record(v);
  const out = histogramLines(h.export([50, 90]), 'Aggregated Function Time');
  assert.equal(out, [
    'Aggregated Function Time : count 5 avg 0.00430638 +/- 0.005226 min 0.000499 max 0.0144329 sum 0.0215319',
    '# range, mid point, percentile, count',
    '>= 0.000499 <= 0.001 , 0.0007495 , 40.00, 2',
    '> 0.001 <= 0.002 , 0.0015 , 60.00, 1',
    '> 0.004 <= 0.005 , 0.0045 , 80.00, 1',
    '> 0.014 <= 0.0144329 , 0.0142165 , 100.00, 1',
    '# target 50% 0.0015',
    '# target 90% 0.0142165',
    '',
  ].join('\n'));
  assert.equal(histogramLines(new Histogram(0, 1).export(), 'Error cases'), 'Error cases : no data\n');
});

test('formatG() follows Go %g / %.Ng', () => {
  assert.equal(formatG(0.0056869), '0.0056869');
  assert.equal(formatG(1e-5), '1e-05');
  assert.equal(formatG(123456789), '1.23456789e+08');
  assert.equal(formatG(20), '20');
  assert.equal(formatG(99.9), '99.9');
  assert.equal(formatG(334.1567, 5), '334.16');
  assert.equal(formatG(100000, 6), '100000');
  assert.equal(formatG(1000000, 6), '1e+06');
  assert.equal(formatG(0.5, 6), '0.5');
  assert.equal(formatG(0.00003869, 4), '3.869e-05');
  assert.equal(formatG(NaN, 8), 'NaN');
});

test('formatDuration() and parseDuration() follow Go time.Duration', () => {
  assert.equal(formatDuration(59_812_345), '59.812345ms');
  assert.equal(formatDuration(5e9), '5s');
  assert.equal(formatDuration(2_021_188_880), '2.02118888s');
  assert.equal(formatDuration(90e9), '1m30s');
  assert.equal(formatDuration(3600e9), '1h0m0s');
  assert.equal(formatDuration(812_000), '812µs');
  assert.equal(formatDuration(0), '0s');
  assert.equal(parseDuration('1m30s'), 90e9);
  assert.equal(parseDuration('10ms'), 1e7);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('5'), undefined);
  assert.equal(parseDuration('abc'), undefined);
});

test('parsePercentiles() accepts fortio lists and rejects junk', () => {
  assert.deepEqual(parsePercentiles('50, 75,90,99,99.9'), [50, 75, 90, 99, 99.9]);
  assert.equal(parsePercentiles(''), undefined);
  assert.equal(parsePercentiles('50,x'), undefined);
});
