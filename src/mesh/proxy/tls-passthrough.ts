/**
 * TLS passthrough routing (semantics §2.15, §4 PASSTHROUGH): a connection's ClientHello is peeked
 * (sni.ts), its SNI picks a VirtualService `tls[]` rule, and the bytes are piped to that rule's
 * weighted cluster without decryption. Sidecars do this for CONNECT tunnels to TLS ports that have
 * rules; gateways for PASSTHROUGH servers. No rule for the SNI closes the connection, as Envoy does
 * when no filter chain matches (a TLS port without rules never gets here: it is plain TCP).
 *
 * Rule choice follows Envoy's filter-chain match order rather than list order: the most specific
 * destination subnet first (rules without subnets last), then among those an exact SNI name, the
 * longest `*.suffix`, then a rule without names; ties go to the first rule.
 */
import type net from 'node:net';
import type { CompiledDest, CompiledTlsRoute } from './compiled.ts';
import type { Compiler } from './compile-route.ts';
import { parseCidr } from './compile-route.ts';
import type { ListenerCtx, Live } from './engine.ts';
import type { TlsRoute } from './model.ts';
import { type HelloInfo, peekClientHello } from './sni.ts';
import { TcpSession } from './tunnel.ts';

/** Compiles the TLS rules of one host or gateway server; throws ProxyConfigError naming the rule. */
export function compileTlsRoutes(c: Compiler, list: TlsRoute[], where: string): CompiledTlsRoute[] {
  return list.map((t, i) => {
    const at = `${where} tls rule #${i}`;
    const { dests, total } = c.dests(t.clusters, undefined, at);
    const exact = new Set<string>();
    const suffixes: string[] = [];
    let anyName = !t.sniHosts?.length;
    for (const raw of t.sniHosts ?? []) {
      const h = raw.toLowerCase();
      if (h === '*') anyName = true;
      else if (h.startsWith('*.')) suffixes.push(h.slice(1));
      else exact.add(h);
    }
    const subnets = (t.destinationSubnets ?? []).map((cidr): [number, number, number] => {
      const [net, mask] = parseCidr(cidr, at);
      let bits = 0;
      for (let m = mask; m; m = (m << 1) >>> 0) bits++;
      return [net, mask, bits];
    });
    return { exact, suffixes, anyName, subnets, dests, total };
  });
}

/** Compiles per-host TLS rules (sidecar outbound ports). */
export function compileTlsHosts(c: Compiler, byHost: Record<string, TlsRoute[]>, where: string): Map<string, CompiledTlsRoute[]> {
  const out = new Map<string, CompiledTlsRoute[]>();
  for (const [host, rules] of Object.entries(byHost)) out.set(host.toLowerCase(), compileTlsRoutes(c, rules, `${where}, host "${host}"`));
  return out;
}

function ipNum(ip: string): number | undefined {
  const m = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

/** How specifically a rule's subnets contain `ip`: the longest prefix, 0 for "any destination", -1 for no match. */
function subnetScore(r: CompiledTlsRoute, ip: number | undefined): number {
  if (!r.subnets.length) return 0;
  if (ip === undefined) return -1;
  let best = -1;
  for (const [net, mask, bits] of r.subnets) if (((ip & mask) >>> 0) === net && bits + 1 > best) best = bits + 1;
  return best;
}

/** How specifically a rule's names match `sni`: exact beats the longest suffix beats no names; -1 for no match. */
function nameScore(r: CompiledTlsRoute, sni: string): number {
  if (sni && r.exact.has(sni)) return 1 << 20;
  let best = r.anyName ? 0 : -1;
  if (sni) for (const s of r.suffixes) if (s.length + 1 > best && sni.length > s.length && sni.endsWith(s)) best = s.length + 1;
  return best;
}

/** The rule for a connection to `ip` (undefined when not an IP) with `sni` ('' when none), in Envoy's order. */
export function pickTlsRoute(rules: CompiledTlsRoute[], ip: string | undefined, sni: string): CompiledTlsRoute | undefined {
  const n = ip === undefined ? undefined : ipNum(ip);
  let bestSubnet = -1;
  for (const r of rules) {
    const s = subnetScore(r, n);
    if (s > bestSubnet) bestSubnet = s;
  }
  if (bestSubnet < 0) return undefined;
  let pick: CompiledTlsRoute | undefined;
  let bestName = -1;
  for (const r of rules) {
    if (subnetScore(r, n) !== bestSubnet) continue;
    const s = nameScore(r, sni);
    if (s > bestName) {
      bestName = s;
      pick = r;
    }
  }
  return pick;
}

function pick(dests: CompiledDest[], total: number, random: () => number): CompiledDest {
  if (dests.length === 1) return dests[0];
  const x = random() * total;
  for (const d of dests) if (x < d.cum) return d;
  return dests[dests.length - 1];
}

/** One connection waiting for its ClientHello: what routing needs once the SNI is known. */
interface Pending {
  lst: ListenerCtx;
  live: Live;
  sessions: Set<TcpSession>;
  socket: net.Socket;
  rules: CompiledTlsRoute[];
  /** The destination as the client named it (CONNECT host) or the gateway's own address. */
  host: string;
  /** The destination IP for subnet matches. */
  ip: string | undefined;
}

function route(p: Pending, hello: HelloInfo, bytes: Buffer): void {
  const { lst, live, socket } = p;
  if (socket.destroyed) return;
  const r = pickTlsRoute(p.rules, p.ip, hello.sni);
  const dest = r && pick(r.dests, r.total, lst.engine.random);
  const cluster = dest?.cluster;
  // No filter chain for this SNI (or a rule naming a cluster that does not exist): Envoy closes the connection.
  if (!cluster) return void socket.destroy();
  const host = hello.sni || p.host;
  new TcpSession(
    {
      lst,
      live,
      client: socket,
      dest,
      cluster,
      stats: { tcp: (h) => live.source.tcpUpstream(cluster.config, h?.endpoint.workload, host) },
      head: bytes,
      serverName: hello.sni,
    },
    p.sessions,
  ).connect();
}

/**
 * A sidecar CONNECT tunnel to a host whose TLS port has SNI rules. The tunnel is confirmed before
 * the upstream is chosen, since a client sends its ClientHello only after `200 Connection
 * established`; an upstream that then cannot be reached closes the tunnel instead of answering 503.
 */
export function onTlsConnect(lst: ListenerCtx, live: Live, sessions: Set<TcpSession>, socket: net.Socket, head: Buffer, host: string, rules: CompiledTlsRoute[]): void {
  socket.setNoDelay(true);
  socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
  const p: Pending = { lst, live, sessions, socket, rules, host, ip: ipNum(host) === undefined ? undefined : host };
  peekClientHello(socket, head, (hello, bytes) => route(p, hello, bytes));
}

/** A connection to a gateway PASSTHROUGH server: routed by SNI, or closed. */
export function onTlsPassthrough(lst: ListenerCtx, live: Live, sessions: Set<TcpSession>, socket: net.Socket, rules: CompiledTlsRoute[]): void {
  socket.setNoDelay(true);
  const local = socket.localAddress ?? '';
  const p: Pending = { lst, live, sessions, socket, rules, host: local, ip: local };
  peekClientHello(socket, Buffer.alloc(0), (hello, bytes) => route(p, hello, bytes));
}
