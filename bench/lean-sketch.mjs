/**
 * A lean HTTP/1.1 sidecar sketch, for bench/mesh.ts with BENCH_LEAN=1: the raw floor's I/O
 * (direct-io.mjs, the sidecar's own) plus the per-request work a server sidecar cannot skip,
 * written straight-line with no objects or events per request beyond one exchange record:
 * - the request head parsed whole: request line, every header line checked by one regex (as
 *   h1/parser.ts does), names lowercased, values trimmed;
 * - routing: Host looked up in a map of domains, first route whose prefix matches, its cluster, an
 *   idle keep-alive connection (LIFO) or a new one;
 * - an x-request-id (UUID v4 from a pooled random buffer, as ids.ts) when the client sent none;
 * - the upstream head rebuilt without hop-by-hop headers, plus x-forwarded-proto;
 * - the response head parsed whole and rebuilt with x-envoy-upstream-service-time and
 *   `server: istio-envoy`;
 * - Istio's standard metrics: a request counter and the duration, request-size and response-size
 *   histograms of the series for (route, response code).
 * Not a proxy: only what the bench sends (GET without a body, one request per read, Content-Length
 * responses) and no retries, timeouts, outlier detection or error handling. It measures what that
 * work costs when nothing else is done per request. Usage: node lean-sketch.mjs IP PORT UPSTREAM_IP UPSTREAM_PORT
 */
import net from 'node:net';
import { randomFillSync } from 'node:crypto';
import { connectDirect, readAccepted, send } from './direct-io.mjs';

const [ip, port, upIp, upPort] = process.argv.slice(2);

const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const LINE = `${TOKEN}:[^\\x00-\\x08\\x0a-\\x1f\\x7f]*`;
const HEADER_LINES = new RegExp(`(?:${LINE}\\r\\n)*${LINE}(?=\\r\\n\\r\\n)`, 'y');
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade']);

/** Header lines of `text[pos..end)` into `raw` (name, value, ...); returns Content-Length or -1. */
function parseHeaders(text, pos, end, raw) {
  HEADER_LINES.lastIndex = pos;
  if (pos < end && !HEADER_LINES.test(text)) throw new Error('invalid header line');
  let length = -1;
  while (pos < end) {
    let eol = text.indexOf('\r\n', pos);
    if (eol < 0 || eol > end) eol = end;
    const c = text.indexOf(':', pos);
    let name = text.slice(pos, c);
    if (name !== name.toLowerCase()) name = name.toLowerCase();
    let va = c + 1;
    while (text.charCodeAt(va) === 32 || text.charCodeAt(va) === 9) va++;
    let vb = eol;
    while (vb > va && (text.charCodeAt(vb - 1) === 32 || text.charCodeAt(vb - 1) === 9)) vb--;
    const value = text.slice(va, vb);
    raw.push(name, value);
    if (name === 'content-length') length = Number(value);
    pos = eol + 2;
  }
  return length;
}

const entropy = Buffer.allocUnsafe(6144);
let taken = entropy.length;
const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function uuid() {
  if (taken + 16 > entropy.length) {
    randomFillSync(entropy);
    taken = 0;
  }
  const b = entropy;
  const o = taken;
  taken += 16;
  return `${hex[b[o]]}${hex[b[o + 1]]}${hex[b[o + 2]]}${hex[b[o + 3]]}-${hex[b[o + 4]]}${hex[b[o + 5]]}-${hex[(b[o + 6] & 15) | 64]}${hex[b[o + 7]]}-${hex[(b[o + 8] & 63) | 128]}${hex[b[o + 9]]}-${hex[b[o + 10]]}${hex[b[o + 11]]}${hex[b[o + 12]]}${hex[b[o + 13]]}${hex[b[o + 14]]}${hex[b[o + 15]]}`;
}

const durationBuckets = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
const sizeBuckets = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];
const series = new Map();

function observe(bounds, counts, v) {
  let i = 0;
  while (i < bounds.length && v > bounds[i]) i++;
  counts[i]++;
}

function record(route, code, ms, requestBytes, responseBytes) {
  const key = route.statsKey + code;
  let s = series.get(key);
  if (!s) {
    s = { requests: 0, durationSum: 0, duration: new Array(durationBuckets.length + 1).fill(0), requestSize: new Array(sizeBuckets.length + 1).fill(0), responseSize: new Array(sizeBuckets.length + 1).fill(0) };
    series.set(key, s);
  }
  s.requests++;
  s.durationSum += ms;
  observe(durationBuckets, s.duration, ms);
  observe(sizeBuckets, s.requestSize, requestBytes);
  observe(sizeBuckets, s.responseSize, responseBytes);
}

const cluster = { idle: [] };
const vhost = { routes: [{ prefix: '/', cluster, statsKey: 'reporter="destination",destination_service="backend",response_code=' }] };
const domains = new Map();
for (const h of ['backend.bench.svc.cluster.local', `backend.bench.svc.cluster.local:${upPort}`, `${ip}:${port}`]) domains.set(h, vhost);

function onResponse(u, view) {
  const n = view.length;
  const text = view.latin1Slice(0, n);
  const end = text.indexOf('\r\n\r\n');
  const x = u.exchange;
  if (end < 0 || !x) throw new Error('response split across reads (not handled by the sketch)');
  const le = text.indexOf('\r\n');
  const code = Number(text.slice(9, 12));
  const raw = [];
  const length = parseHeaders(text, le + 2, end, raw);
  const total = end + 4 + (length > 0 ? length : 0);
  if (n < total) throw new Error('body split across reads (not handled by the sketch)');
  let head = `HTTP/1.1 ${text.slice(9, le)}\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    if (!hopByHop.has(raw[i]) && raw[i] !== 'server') head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  const ms = performance.now() - x.start;
  head += `x-envoy-upstream-service-time: ${Math.round(ms)}\r\nserver: istio-envoy\r\n\r\n`;
  u.exchange = null;
  x.route.cluster.idle.push(u);
  send(x.down, head + text.slice(end + 4, total));
  record(x.route, code, ms, x.requestBytes, total);
  return true;
}

function connection(c) {
  const idle = c.idle.pop();
  if (idle) return idle;
  const u = connectDirect(upIp, Number(upPort), onResponse);
  u.setNoDelay(true);
  u.exchange = null;
  u.on('error', () => {});
  u.on('close', () => {
    const i = c.idle.indexOf(u);
    if (i >= 0) c.idle.splice(i, 1);
    if (u.exchange) u.exchange.down.destroy();
  });
  return u;
}

function onRequest(d, view) {
  const n = view.length;
  const text = view.latin1Slice(0, n);
  const end = text.indexOf('\r\n\r\n');
  if (end < 0 || end + 4 !== n) throw new Error('request split across reads or pipelined (not handled by the sketch)');
  const le = text.indexOf('\r\n');
  const sp1 = text.indexOf(' ');
  const sp2 = text.lastIndexOf(' ', le);
  const method = text.slice(0, sp1);
  const path = text.slice(sp1 + 1, sp2);
  const raw = [];
  parseHeaders(text, le + 2, end, raw);
  let host = '';
  let requestId = '';
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i] === 'host') host = raw[i + 1];
    else if (raw[i] === 'x-request-id') requestId = raw[i + 1];
  }
  const vh = domains.get(host);
  const route = vh?.routes.find((r) => path.startsWith(r.prefix));
  if (!route) {
    send(d, 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nserver: istio-envoy\r\n\r\n');
    return true;
  }
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    if (!hopByHop.has(raw[i])) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  if (!requestId) head += `x-request-id: ${uuid()}\r\n`;
  head += 'x-forwarded-proto: http\r\n\r\n';
  const u = connection(route.cluster);
  u.exchange = { down: d, route, start: performance.now(), requestBytes: n };
  send(u, head);
  return true;
}

net
  .createServer({ noDelay: true }, (d) => {
    d.on('error', () => {});
    readAccepted(d, onRequest);
  })
  .listen(Number(port), ip, () => console.log('ready'));
