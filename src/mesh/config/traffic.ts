/**
 * Schemas shared by several networking kinds: DestinationRule's traffic policy, connection pools
 * (also Sidecar's inbound pool), ports, destinations, header operations and TLS settings.
 */
import {
  arr, atMostOne, bool, duration, int, mapOf, num, obj, oneOfStr, open, str, strings, strMap, uint32,
  type Schema,
} from './schema.ts';

/** A `{number}` port selector, as destinations and port-level settings write it. */
export function portSelector(): Schema {
  return obj({ number: uint32() });
}

/** A destination: service host (required), subset and port. */
export function destination(): Schema {
  return obj({ host: str(), subset: str(), port: portSelector() }, ['host']);
}

/** A service port; `required` differs per kind (Gateway: number, protocol, name; ServiceEntry: number, name). */
export function port(required?: string[], extra: Schema = {}): Schema {
  return obj({ number: uint32(), protocol: str(extra), name: str(extra), targetPort: uint32() }, required);
}

/** Header set/add/remove operations for requests and responses. */
export function headers(): Schema {
  const ops = obj({ set: strMap(), add: strMap(), remove: strings() });
  return obj({ request: ops, response: structuredClone(ops) });
}

/** Connection pool limits for TCP and HTTP. */
export function connectionPool(): Schema {
  return obj({
    tcp: obj({
      maxConnections: int(),
      connectTimeout: duration(),
      tcpKeepalive: obj({ probes: uint32(), time: duration(), interval: duration() }),
      maxConnectionDuration: duration(),
      idleTimeout: duration(),
    }),
    http: obj({
      http1MaxPendingRequests: int(),
      http2MaxRequests: int(),
      maxRequestsPerConnection: int(),
      maxRetries: int(),
      idleTimeout: duration(),
      h2UpgradePolicy: oneOfStr('DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'),
      useClientProtocol: bool(),
      maxConcurrentStreams: int(),
      http2KeepAlive: obj({ interval: duration(), timeout: duration() }),
    }),
  });
}

/** Locality failover rules; the shape is rarely written, so its items are kept open. */
function localityFailover(): Record<string, Schema> {
  return { enabled: bool(), failover: arr(open()), failoverPriority: strings() };
}

/** Load balancer choice: a simple algorithm, consistent hashing or backend utilization. */
export function loadBalancer(): Schema {
  const consistentHash = obj(
    {
      httpHeaderName: str(),
      httpCookie: obj({ name: str(), path: str(), ttl: duration(), attributes: arr(open()) }, ['name']),
      useSourceIp: bool(),
      httpQueryParameterName: str(),
      ringHash: obj({ minimumRingSize: int({ minimum: 0 }) }),
      maglev: obj({ tableSize: int({ minimum: 0 }) }),
      minimumRingSize: int({ minimum: 0 }),
    },
    undefined,
    {
      allOf: [
        { oneOf: atMostOne('httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName') },
        { oneOf: atMostOne('ringHash', 'maglev') },
      ],
    },
  );
  return obj(
    {
      simple: oneOfStr('UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'),
      consistentHash,
      backendUtilization: open(),
      localityLbSetting: obj({ ...localityFailover(), distribute: arr(open()) }),
      zoneAwareLbSetting: obj({ ...localityFailover(), minClusterSize: int({ minimum: 1 }) }),
      warmupDurationSecs: duration(),
      warmup: obj(
        { duration: duration(), minimumPercent: num({ minimum: 0, maximum: 100 }), aggression: num({ minimum: 0 }) },
        ['duration'],
      ),
    },
    undefined,
    { oneOf: atMostOne('simple', 'consistentHash', 'backendUtilization') },
  );
}

/** Outlier detection (passive health checking) settings. */
export function outlierDetection(): Schema {
  return obj({
    splitExternalLocalOriginErrors: bool(),
    consecutiveLocalOriginFailures: uint32(),
    consecutiveGatewayErrors: uint32(),
    consecutive5xxErrors: uint32(),
    consecutiveErrors: int(),
    interval: duration(),
    baseEjectionTime: duration(),
    maxEjectionPercent: int(),
    minHealthPercent: int(),
    outlierDetectionHttpErrorCodes: arr(int({ minimum: 100, maximum: 599 })),
  });
}

/** Client-side TLS settings for connections to a destination. */
export function clientTls(): Schema {
  return obj({
    mode: oneOfStr('DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'),
    clientCertificate: str(),
    privateKey: str(),
    caCertificates: str(),
    credentialName: str(),
    subjectAltNames: strings(),
    sni: str(),
    insecureSkipVerify: bool(),
    caCrl: str(),
  });
}

/** Server-side TLS settings of a Gateway server or a Sidecar ingress listener. */
export function serverTls(): Schema {
  const version = oneOfStr('TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3');
  const certificate = obj({ serverCertificate: str(), privateKey: str(), caCertificates: str() });
  return obj({
    httpsRedirect: bool(),
    mode: oneOfStr('PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL'),
    serverCertificate: str(),
    privateKey: str(),
    caCertificates: str(),
    caCrl: str(),
    credentialName: str(),
    credentialNames: arr(str(), { minItems: 1, maxItems: 2 }),
    tlsCertificates: arr(certificate, { minItems: 1, maxItems: 2 }),
    subjectAltNames: strings(),
    verifyCertificateSpki: strings(),
    verifyCertificateHash: strings(),
    minProtocolVersion: version,
    maxProtocolVersion: structuredClone(version),
    cipherSuites: strings(),
    ecdhCurves: strings(),
    caCertCredentialName: str(),
    insecureSkipVerify: bool(),
  });
}

/** The policy fields a port-level setting may override. */
function policyCore(): Record<string, Schema> {
  return {
    loadBalancer: loadBalancer(),
    connectionPool: connectionPool(),
    outlierDetection: outlierDetection(),
    tls: clientTls(),
  };
}

/** DestinationRule's traffic policy, used at the top level and per subset. */
export function trafficPolicy(): Schema {
  return obj({
    ...policyCore(),
    portLevelSettings: arr(obj({ port: portSelector(), ...policyCore() }), { maxItems: 4096 }),
    tunnel: obj({ protocol: str(), targetHost: str(), targetPort: uint32() }, ['targetHost', 'targetPort']),
    proxyProtocol: obj({ version: oneOfStr('V1', 'V2') }),
    retryBudget: obj({
      percent: num({ minimum: 0, maximum: 100 }),
      minRetryConcurrency: uint32(),
      budgetInterval: duration(),
    }),
  });
}

/** A workload's network endpoint: WorkloadEntry's spec, a ServiceEntry endpoint, WorkloadGroup's template. */
export function workloadEndpoint(): Schema {
  return obj({
    address: str({ maxLength: 256 }),
    ports: mapOf(uint32()),
    labels: strMap(),
    network: str({ maxLength: 2048 }),
    locality: str({ maxLength: 2048 }),
    weight: uint32(),
    serviceAccount: str({ maxLength: 253 }),
  });
}
