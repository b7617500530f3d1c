import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry, escapeLabelValue, istioBuckets } from './index.ts';

test('counter series are keyed once and exposed with # HELP and # TYPE', () => {
  const r = new Registry();
  const c = r.counter('requests_total', 'Requests.', ['code', 'path']);
  const a = c.series(['200', '/a']);
  assert.equal(c.series(['200', '/a']), a, 'same values, same series object');
  a.inc();
  a.inc(2);
  c.series(['503', '/b']).inc();
  const text = r.expose();
  assert.match(text, /^# HELP requests_total Requests\.\n# TYPE requests_total counter\n/m);
  assert.match(text, /^requests_total\{code="200",path="\/a"\} 3$/m);
  assert.match(text, /^requests_total\{code="503",path="\/b"\} 1$/m);
});

test('histogram exposes cumulative buckets with le, +Inf, _sum and _count', () => {
  const r = new Registry();
  const h = r.histogram('duration_ms', 'Durations.', ['svc']);
  const s = h.series(['a']);
  s.observe(0.2);
  s.observe(3);
  s.observe(7);
  s.observe(4000000);
  const text = r.expose();
  assert.match(text, /^# TYPE duration_ms histogram$/m);
  assert.match(text, /^duration_ms_bucket\{svc="a",le="0.5"\} 1$/m);
  assert.match(text, /^duration_ms_bucket\{svc="a",le="1"\} 1$/m);
  assert.match(text, /^duration_ms_bucket\{svc="a",le="5"\} 2$/m);
  assert.match(text, /^duration_ms_bucket\{svc="a",le="10"\} 3$/m);
  assert.match(text, /^duration_ms_bucket\{svc="a",le="3600000"\} 3$/m);
  assert.match(text, /^duration_ms_bucket\{svc="a",le="\+Inf"\} 4$/m);
  assert.match(text, /^duration_ms_sum\{svc="a"\} 4000010.2$/m);
  assert.match(text, /^duration_ms_count\{svc="a"\} 4$/m);
  assert.equal(istioBuckets.length, 19);
});

test('label values are escaped', () => {
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const r = new Registry();
  r.counter('x_total', 'X.', ['v']).series(['say "hi"']).inc();
  assert.match(r.expose(), /x_total\{v="say \\"hi\\""\} 1/);
});

test('series past maxSeries are dropped and counted, never thrown', () => {
  const r = new Registry({ maxSeries: 2 });
  const c = r.counter('c_total', 'C.', ['k']);
  c.series(['1']).inc();
  c.series(['2']).inc();
  const extra = c.series(['3']);
  extra.inc();
  assert.equal(c.size, 2);
  const text = r.expose();
  assert.doesNotMatch(text, /k="3"/);
  assert.match(text, /^skiff_telemetry_series_dropped_total 1$/m);
});

test('metrics without series are left out; collectors append their lines', () => {
  const r = new Registry();
  r.counter('unused_total', 'Unused.', ['a']);
  r.collect((out) => out.push('# TYPE g gauge', 'g 5'));
  const text = r.expose();
  assert.doesNotMatch(text, /unused_total/);
  assert.match(text, /^g 5$/m);
  assert.throws(() => r.counter('unused_total', 'Again.', []), /already registered/);
});
