/**
 * Istio's standard metrics (semantics §8.1) over the telemetry registry. Label sets are split in
 * two: the peer part (reporter, source_*, destination_*, protocol, security policy), fixed per
 * (config, cluster, endpoint workload) or (inbound port, source peer), and the outcome part
 * (response code, flags). A "family" holds a peer part and caches one series set per outcome, so
 * a request costs two Map lookups and four increments, and no strings (STYLE 8–9).
 */
import { type CounterSeries, type HistogramSeries, Registry } from '../../telemetry/index.ts';
import type { CompiledInbound } from './compile.ts';
import { flagString } from './flags.ts';
import type { Cluster, ProxyNode, WorkloadMeta } from './model.ts';

const peerLabels = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_canonical_service',
  'source_canonical_revision',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_cluster',
  'request_protocol',
];

const httpLabels = [...peerLabels, 'response_code', 'grpc_response_status', 'response_flags', 'connection_security_policy'];
const tcpLabels = [...peerLabels, 'response_flags', 'connection_security_policy'];

/** The Kubernetes cluster name Istio reports when none is configured. */
const clusterId = 'Kubernetes';
const unknown = 'unknown';

/** The four HTTP series of one label set. */
export interface HttpSeries {
  requests: CounterSeries;
  duration: HistogramSeries;
  requestBytes: HistogramSeries;
  responseBytes: HistogramSeries;
}

/** The four TCP series of one label set. */
export interface TcpSeries {
  opened: CounterSeries;
  closed: CounterSeries;
  sent: CounterSeries;
  received: CounterSeries;
}

/** The metric objects of one proxy. */
export class ProxyStats {
  readonly registry: Registry;
  readonly requests;
  readonly duration;
  readonly requestBytes;
  readonly responseBytes;
  readonly tcpOpened;
  readonly tcpClosed;
  readonly tcpSent;
  readonly tcpReceived;

  constructor(registry = new Registry()) {
    this.registry = registry;
    this.requests = registry.counter('istio_requests_total', 'Requests, by source and destination workload, response code and flags.', httpLabels);
    this.duration = registry.histogram('istio_request_duration_milliseconds', 'Request duration in milliseconds.', httpLabels);
    this.requestBytes = registry.histogram('istio_request_bytes', 'Request size in bytes (headers and body).', httpLabels);
    this.responseBytes = registry.histogram('istio_response_bytes', 'Response size in bytes (headers and body).', httpLabels);
    this.tcpOpened = registry.counter('istio_tcp_connections_opened_total', 'TCP connections opened.', tcpLabels);
    this.tcpClosed = registry.counter('istio_tcp_connections_closed_total', 'TCP connections closed.', tcpLabels);
    this.tcpSent = registry.counter('istio_tcp_sent_bytes_total', 'Bytes sent to the downstream on TCP connections.', tcpLabels);
    this.tcpReceived = registry.counter('istio_tcp_received_bytes_total', 'Bytes received from the downstream on TCP connections.', tcpLabels);
  }
}

/**
 * One peer part; series per (status, flags) created on first use. gRPC requests have their own
 * series under the same peer part with `request_protocol="grpc"` and `grpc_response_status`.
 */
export class HttpFamily {
  #stats: ProxyStats;
  #peer: string[];
  #security: string;
  #byCode = new Map<number, Map<number, HttpSeries>>();
  /** gRPC series by status, flags and grpc-status (made on the first gRPC request). */
  #grpc: Map<number, Map<number, Map<string, HttpSeries>>> | undefined;

  constructor(stats: ProxyStats, peer: string[], security: string) {
    this.#stats = stats;
    this.#peer = peer;
    this.#security = security;
  }

  /** The series set for an outcome. */
  get(code: number, flags: number): HttpSeries {
    let byFlags = this.#byCode.get(code);
    if (!byFlags) this.#byCode.set(code, (byFlags = new Map()));
    let s = byFlags.get(flags);
    if (!s) {
      const v = [...this.#peer, String(code), '', flagString(flags), this.#security];
      const st = this.#stats;
      s = { requests: st.requests.series(v), duration: st.duration.series(v), requestBytes: st.requestBytes.series(v), responseBytes: st.responseBytes.series(v) };
      byFlags.set(flags, s);
    }
    return s;
  }

  /** The series set for a gRPC request's outcome (`grpcStatus` '' when the response carried none). */
  grpc(code: number, flags: number, grpcStatus: string): HttpSeries {
    const byCode = (this.#grpc ??= new Map());
    let byFlags = byCode.get(code);
    if (!byFlags) byCode.set(code, (byFlags = new Map()));
    let byStatus = byFlags.get(flags);
    if (!byStatus) byFlags.set(flags, (byStatus = new Map()));
    let s = byStatus.get(grpcStatus);
    if (!s) {
      // The peer part ends with request_protocol.
      const v = [...this.#peer.slice(0, -1), 'grpc', String(code), grpcStatus, flagString(flags), this.#security];
      const st = this.#stats;
      s = { requests: st.requests.series(v), duration: st.duration.series(v), requestBytes: st.requestBytes.series(v), responseBytes: st.responseBytes.series(v) };
      byStatus.set(grpcStatus, s);
    }
    return s;
  }
}

/** One peer part of TCP metrics; series per flags. */
export class TcpFamily {
  #stats: ProxyStats;
  #peer: string[];
  #security: string;
  #byFlags = new Map<number, TcpSeries>();

  constructor(stats: ProxyStats, peer: string[], security: string) {
    this.#stats = stats;
    this.#peer = peer;
    this.#security = security;
  }

  /** The series set for a connection's flags. */
  get(flags: number): TcpSeries {
    let s = this.#byFlags.get(flags);
    if (!s) {
      const v = [...this.#peer, flagString(flags), this.#security];
      const st = this.#stats;
      s = { opened: st.tcpOpened.series(v), closed: st.tcpClosed.series(v), sent: st.tcpSent.series(v), received: st.tcpReceived.series(v) };
      this.#byFlags.set(flags, s);
    }
    return s;
  }
}

function or(v: string | undefined): string {
  return v ? v : unknown;
}

function workloadValues(m: WorkloadMeta | ProxyNode | undefined): string[] {
  if (!m) return [unknown, unknown, unknown, unknown, unknown];
  return [or(m.workload), or(m.namespace), or(m.principal), or(m.app), or(m.version)];
}

function sourceValues(m: WorkloadMeta | ProxyNode | undefined): string[] {
  return [...workloadValues(m), or(m?.canonicalService), or(m?.canonicalRevision), m ? clusterId : unknown];
}

function destValues(m: WorkloadMeta | ProxyNode | undefined, svc: { host: string; name: string; namespace: string } | undefined): string[] {
  return [...workloadValues(m), or(svc?.host), or(svc?.name), or(svc?.namespace), or(m?.canonicalService), or(m?.canonicalRevision), m ? clusterId : unknown];
}

const cacheLimit = 1000;
const none = {};

/**
 * Families of one config and reporter, cached by the objects that determine them: for the source
 * reporter (sidecar outbound, gateways) the cluster config and the endpoint's workload; for the
 * destination reporter (sidecar inbound) the inbound port and the source peer. A new config
 * brings new objects, hence fresh families; the series themselves live on in the registry.
 */
export class StatsScope {
  #stats: ProxyStats;
  #node: ProxyNode;
  #byCluster = new WeakMap<Cluster, Map<object, HttpFamily>>();
  #byHost = new Map<string, HttpFamily>();
  #byInbound = new WeakMap<CompiledInbound, Map<object, HttpFamily>>();
  #tcpByCluster = new WeakMap<Cluster, Map<object, TcpFamily>>();
  #tcpByInbound = new WeakMap<CompiledInbound, TcpFamily>();

  constructor(stats: ProxyStats, node: ProxyNode) {
    this.#stats = stats;
    this.#node = node;
  }

  #service(c: Cluster, host: string | undefined): { host: string; name: string; namespace: string } | undefined {
    if (c.service) return c.service;
    // Catch-all clusters report themselves as the service name, the requested host as the service.
    return { host: host ?? unknown, name: c.name, namespace: unknown };
  }

  /** Source-reporter family for a request sent to (or failed at) a cluster; `meta` is the chosen endpoint's workload. */
  upstream(c: Cluster, meta: WorkloadMeta | undefined, host?: string): HttpFamily {
    let m = this.#byCluster.get(c);
    if (!m) this.#byCluster.set(c, (m = new Map()));
    // Catch-all clusters differ per requested host; everything else is fixed by the cluster.
    const key: object = meta ?? (c.service ? none : this.#hostKey(host));
    let f = m.get(key);
    if (!f) {
      if (m.size >= cacheLimit) m.clear();
      f = new HttpFamily(this.#stats, ['source', ...sourceValues(this.#node), ...destValues(meta, this.#service(c, host)), 'http'], unknown);
      m.set(key, f);
    }
    return f;
  }

  #hostKeys = new Map<string, object>();
  #hostKey(host: string | undefined): object {
    const h = host ?? '';
    let k = this.#hostKeys.get(h);
    if (!k) {
      if (this.#hostKeys.size >= cacheLimit) this.#hostKeys.clear();
      this.#hostKeys.set(h, (k = {}));
    }
    return k;
  }

  /** Source-reporter family for a local reply without a cluster (NR, NC, faults): destination_service is the Host. */
  local(host: string): HttpFamily {
    let f = this.#byHost.get(host);
    if (!f) {
      if (this.#byHost.size >= cacheLimit) this.#byHost.clear();
      f = new HttpFamily(this.#stats, ['source', ...sourceValues(this.#node), ...destValues(undefined, { host, name: unknown, namespace: unknown }), 'http'], unknown);
      this.#byHost.set(host, f);
    }
    return f;
  }

  /** Destination-reporter family for an inbound port and the calling peer (from x-skiff-peer). */
  inbound(inb: CompiledInbound, peer: WorkloadMeta | undefined): HttpFamily {
    let m = this.#byInbound.get(inb);
    if (!m) this.#byInbound.set(inb, (m = new Map()));
    const key: object = peer ?? none;
    let f = m.get(key);
    if (!f) {
      if (m.size >= cacheLimit) m.clear();
      f = new HttpFamily(this.#stats, ['destination', ...sourceValues(peer), ...destValues(this.#node, inb.service), 'http'], 'none');
      m.set(key, f);
    }
    return f;
  }

  /** Source-reporter TCP family. */
  tcpUpstream(c: Cluster, meta: WorkloadMeta | undefined, host?: string): TcpFamily {
    let m = this.#tcpByCluster.get(c);
    if (!m) this.#tcpByCluster.set(c, (m = new Map()));
    const key: object = meta ?? (c.service ? none : this.#hostKey(host));
    let f = m.get(key);
    if (!f) {
      if (m.size >= cacheLimit) m.clear();
      f = new TcpFamily(this.#stats, ['source', ...sourceValues(this.#node), ...destValues(meta, this.#service(c, host)), 'tcp'], unknown);
      m.set(key, f);
    }
    return f;
  }

  /** Destination-reporter TCP family (no peer metadata on plain TCP: source is unknown). */
  tcpInbound(inb: CompiledInbound): TcpFamily {
    let f = this.#tcpByInbound.get(inb);
    if (!f) {
      f = new TcpFamily(this.#stats, ['destination', ...sourceValues(undefined), ...destValues(this.#node, inb.service), 'tcp'], 'none');
      this.#tcpByInbound.set(inb, f);
    }
    return f;
  }
}
