/**
 * The floor of any Node proxy, for bench/mesh.ts: a raw-socket HTTP/1.1 forwarder with none of a
 * sidecar's work. It finds the end of each request head, adds two headers (x-forwarded-proto,
 * x-request-id) and writes the head to an idle keep-alive upstream connection (a LIFO pool); it
 * reads the response head's Content-Length, waits for the whole body and writes head (plus
 * `server: envoy`) and body back in one latin1 string. GET-style requests without bodies and
 * Content-Length responses only: what the benchmark sends and the backend answers. One write and
 * one read per direction, as a sidecar and HAProxy make, with the sidecar's direct I/O
 * (direct-io.mjs). Usage: node raw-floor.mjs IP PORT UPSTREAM_IP UPSTREAM_PORT
 */
import net from 'node:net';
import { connectDirect, readAccepted, send } from './direct-io.mjs';

const [ip, port, upIp, upPort] = process.argv.slice(2);
const idle = [];
let ids = 0;

/** Bytes of a head or body split across reads are copied out of the shared buffer (keep) until the rest comes (gather). */
function gather(s, view) {
  if (!s.buf) return view;
  const b = Buffer.concat([s.buf, view]);
  s.buf = null;
  return b;
}

function keep(s, bytes) {
  s.buf = Buffer.from(bytes);
  return true;
}

function onResponse(u, view) {
  const buf = gather(u, view);
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return keep(u, buf);
  const head = buf.latin1Slice(0, end);
  const m = /\r\ncontent-length: *(\d+)/i.exec(head);
  const total = end + 4 + (m ? Number(m[1]) : 0);
  if (buf.length < total) return keep(u, buf);
  const d = u.down;
  u.down = null;
  idle.push(u);
  send(d, `${head}\r\nserver: envoy\r\n\r\n${buf.latin1Slice(end + 4, total)}`);
  return true;
}

function upstream() {
  const idleOne = idle.pop();
  if (idleOne) return idleOne;
  const u = connectDirect(upIp, Number(upPort), onResponse);
  u.setNoDelay(true);
  u.buf = null;
  u.down = null;
  u.on('error', () => {});
  u.on('close', () => {
    const i = idle.indexOf(u);
    if (i >= 0) idle.splice(i, 1);
    if (u.down) u.down.destroy();
  });
  return u;
}

function onRequest(d, view) {
  const buf = gather(d, view);
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return keep(d, buf);
  if (end + 4 < buf.length) keep(d, buf.subarray(end + 4));
  const u = upstream();
  u.down = d;
  send(u, `${buf.latin1Slice(0, end)}\r\nx-forwarded-proto: http\r\nx-request-id: ${(++ids).toString(16)}\r\n\r\n`);
  return true;
}

net
  .createServer({ noDelay: true }, (d) => {
    d.buf = null;
    d.on('error', () => {});
    readAccepted(d, onRequest);
  })
  .listen(Number(port), ip, () => console.log('ready'));
