/** CustomResourceDefinitions of networking.istio.io: routing, destinations, gateways and workloads. */
import type { KObject } from '../../api/types.ts';
import {
  ageColumn, arr, atMostOne, bool, crd, duration, int, labelsSelector, mapOf, matchLabels, obj, oneOfStr, open,
  percent, str, stringMatch, strings, strMap, uint32, type PrinterColumn, type Schema,
} from './schema.ts';
import {
  connectionPool, destination, headers, port, serverTls, trafficPolicy, workloadEndpoint,
} from './traffic.ts';

/** The API group of Istio's traffic management kinds. */
export const NETWORKING_GROUP = 'networking.istio.io';

// Most networking kinds are one schema served at three versions, stored at v1.
const VERSIONS = ['v1', 'v1alpha3', 'v1beta1'];

/** A weighted destination of an HTTP route (with header operations) or an L4 route (without). */
function routeDestination(withHeaders: boolean): Schema {
  return obj(
    { destination: destination(), weight: int(), ...(withHeaders ? { headers: headers() } : {}) },
    ['destination'],
  );
}

/** The conditions of one HTTP route. */
function httpMatch(): Schema {
  return obj({
    name: str(),
    uri: stringMatch(),
    scheme: stringMatch(),
    method: stringMatch(),
    authority: stringMatch(),
    headers: mapOf(stringMatch()),
    port: uint32(),
    sourceLabels: strMap(),
    gateways: strings(),
    queryParams: mapOf(stringMatch()),
    ignoreUriCase: bool(),
    withoutHeaders: mapOf(stringMatch()),
    sourceNamespace: str(),
    statPrefix: str(),
  });
}

/** One HTTP route of a VirtualService. */
function httpRoute(): Schema {
  return obj({
    name: str(),
    match: arr(httpMatch()),
    route: arr(routeDestination(true)),
    redirect: obj(
      {
        uri: str(),
        authority: str(),
        port: uint32(),
        derivePort: oneOfStr('FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT'),
        scheme: str(),
        redirectCode: uint32(),
        prefixRewrite: str(),
      },
      undefined,
      { oneOf: atMostOne('port', 'derivePort') },
    ),
    directResponse: obj(
      {
        status: uint32(),
        body: obj({ string: str(), bytes: str() }, undefined, { oneOf: atMostOne('string', 'bytes') }),
      },
      ['status'],
    ),
    delegate: obj({ name: str(), namespace: str() }),
    rewrite: obj({ uri: str(), authority: str(), uriRegexRewrite: obj({ match: str(), rewrite: str() }) }),
    timeout: duration(),
    retries: obj({
      attempts: int(),
      perTryTimeout: duration(),
      retryOn: str(),
      retryRemoteLocalities: bool(),
      retryIgnorePreviousHosts: bool(),
      backoff: duration(),
    }),
    fault: obj({
      delay: obj(
        { fixedDelay: duration(), exponentialDelay: duration(), percent: int(), percentage: percent() },
        undefined,
        { oneOf: atMostOne('fixedDelay', 'exponentialDelay') },
      ),
      abort: obj(
        { httpStatus: int(), grpcStatus: str(), http2Error: str(), percentage: percent() },
        undefined,
        { oneOf: atMostOne('httpStatus', 'grpcStatus', 'http2Error') },
      ),
    }),
    mirror: destination(),
    mirrorPercent: uint32(),
    mirror_percent: uint32(),
    mirrorPercentage: percent(),
    mirrors: arr(obj({ destination: destination(), percentage: percent() }, ['destination'])),
    corsPolicy: obj({
      allowOrigin: strings(),
      allowOrigins: arr(stringMatch()),
      allowMethods: strings(),
      allowHeaders: strings(),
      exposeHeaders: strings(),
      maxAge: duration(),
      allowCredentials: bool(),
      unmatchedPreflights: oneOfStr('UNSPECIFIED', 'FORWARD', 'IGNORE'),
    }),
    headers: headers(),
  });
}

/** L4 match attributes shared by TCP and TLS routes. */
function l4Match(): Record<string, Schema> {
  return {
    destinationSubnets: strings(),
    port: uint32(),
    sourceLabels: strMap(),
    gateways: strings(),
    sourceNamespace: str(),
  };
}

/** VirtualService: how requests to a set of hosts are routed. */
function virtualService(): KObject {
  return crd({
    group: NETWORKING_GROUP,
    kind: 'VirtualService',
    plural: 'virtualservices',
    shortNames: ['vs'],
    versions: VERSIONS,
    storage: 'v1',
    columns: [
      {
        name: 'Gateways',
        type: 'string',
        jsonPath: '.spec.gateways',
        description: 'The names of gateways and sidecars that should apply these routes',
      },
      {
        name: 'Hosts',
        type: 'string',
        jsonPath: '.spec.hosts',
        description: 'The destination hosts to which traffic is being sent',
      },
      ageColumn(),
    ],
    spec: obj({
      hosts: strings(),
      gateways: strings(),
      http: arr(httpRoute()),
      tls: arr(
        obj(
          { match: arr(obj({ ...l4Match(), sniHosts: strings() }, ['sniHosts'])), route: arr(routeDestination(false)) },
          ['match'],
        ),
      ),
      tcp: arr(obj({ match: arr(obj({ ...l4Match(), sourceSubnet: str() })), route: arr(routeDestination(false)) })),
      exportTo: strings(),
    }),
  });
}

/** DestinationRule: policies applied after routing (subsets, load balancing, pools, TLS). */
function destinationRule(): KObject {
  return crd({
    group: NETWORKING_GROUP,
    kind: 'DestinationRule',
    plural: 'destinationrules',
    shortNames: ['dr'],
    versions: VERSIONS,
    storage: 'v1',
    columns: [
      {
        name: 'Host',
        type: 'string',
        jsonPath: '.spec.host',
        description: 'The name of a service from the service registry',
      },
      ageColumn(),
    ],
    spec: obj(
      {
        host: str(),
        trafficPolicy: trafficPolicy(),
        subsets: arr(obj({ name: str(), labels: strMap(), trafficPolicy: trafficPolicy() }, ['name'])),
        exportTo: strings(),
        workloadSelector: matchLabels(),
      },
      ['host'],
    ),
  });
}

/** Gateway: a load balancer at the edge of the mesh, configured by servers. */
function gateway(): KObject {
  return crd({
    group: NETWORKING_GROUP,
    kind: 'Gateway',
    plural: 'gateways',
    shortNames: ['gw'],
    versions: VERSIONS,
    storage: 'v1',
    spec: obj({
      servers: arr(
        obj(
          {
            port: port(['number', 'protocol', 'name']),
            bind: str(),
            hosts: strings(),
            tls: serverTls(),
            defaultEndpoint: str(),
            name: str(),
          },
          ['port', 'hosts'],
        ),
      ),
      selector: strMap(),
    }),
  });
}

/** ServiceEntry: adds hosts (usually external) to the mesh's service registry. */
function serviceEntry(): KObject {
  function column(name: string, field: string, description: string): PrinterColumn {
    return { name, type: 'string', jsonPath: `.spec.${field}`, description };
  }
  return crd({
    group: NETWORKING_GROUP,
    kind: 'ServiceEntry',
    plural: 'serviceentries',
    shortNames: ['se'],
    versions: VERSIONS,
    storage: 'v1',
    required: ['spec'],
    columns: [
      column('Hosts', 'hosts', 'The hosts associated with the ServiceEntry'),
      column('Location', 'location', 'Whether the service is external to the mesh or part of the mesh (MESH_EXTERNAL or MESH_INTERNAL)'),
      column('Resolution', 'resolution', 'Service resolution mode for the hosts (NONE, STATIC, or DNS)'),
      ageColumn(),
    ],
    spec: obj(
      {
        hosts: arr(str(), { minItems: 1, maxItems: 256 }),
        addresses: arr(str({ maxLength: 64 }), { maxItems: 256 }),
        ports: arr(port(['number', 'name'], { maxLength: 256 }), { maxItems: 256 }),
        location: oneOfStr('MESH_EXTERNAL', 'MESH_INTERNAL'),
        resolution: oneOfStr('NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS'),
        endpoints: arr(workloadEndpoint(), { maxItems: 4096 }),
        workloadSelector: labelsSelector(),
        exportTo: strings(),
        subjectAltNames: strings(),
      },
      ['hosts'],
    ),
  });
}

/** Sidecar: narrows what a workload's proxy listens on and can reach. */
function sidecar(): KObject {
  function capture(): Schema {
    return oneOfStr('DEFAULT', 'IPTABLES', 'NONE');
  }
  return crd({
    group: NETWORKING_GROUP,
    kind: 'Sidecar',
    plural: 'sidecars',
    versions: VERSIONS,
    storage: 'v1',
    spec: obj({
      workloadSelector: labelsSelector(),
      ingress: arr(
        obj(
          {
            port: port(),
            bind: str(),
            captureMode: capture(),
            defaultEndpoint: str(),
            tls: serverTls(),
            connectionPool: connectionPool(),
          },
          ['port'],
        ),
      ),
      egress: arr(obj({ port: port(), bind: str(), captureMode: capture(), hosts: strings() }, ['hosts'])),
      inboundConnectionPool: connectionPool(),
      outboundTrafficPolicy: obj({ mode: oneOfStr('REGISTRY_ONLY', 'ALLOW_ANY'), egressProxy: destination() }),
    }),
  });
}

/** WorkloadEntry: a non-Kubernetes workload (VM, bare metal) as a mesh endpoint. */
function workloadEntry(): KObject {
  return crd({
    group: NETWORKING_GROUP,
    kind: 'WorkloadEntry',
    plural: 'workloadentries',
    shortNames: ['we'],
    versions: VERSIONS,
    storage: 'v1',
    required: ['spec'],
    // Upstream lists Age before Address; kept so `kubectl get we` looks the same.
    columns: [
      ageColumn(),
      { name: 'Address', type: 'string', jsonPath: '.spec.address', description: 'Address associated with the network endpoint.' },
    ],
    spec: workloadEndpoint(),
  });
}

/** WorkloadGroup: a template for WorkloadEntries that register themselves. */
function workloadGroup(): KObject {
  return crd({
    group: NETWORKING_GROUP,
    kind: 'WorkloadGroup',
    plural: 'workloadgroups',
    shortNames: ['wg'],
    versions: VERSIONS,
    storage: 'v1',
    required: ['spec'],
    columns: [ageColumn()],
    spec: obj(
      {
        metadata: obj({ labels: strMap(), annotations: strMap() }),
        template: workloadEndpoint(),
        probe: open(),
      },
      ['template'],
    ),
  });
}

/** ProxyConfig: per-workload proxy settings (concurrency, image, environment). */
function proxyConfig(): KObject {
  return crd({
    group: NETWORKING_GROUP,
    kind: 'ProxyConfig',
    plural: 'proxyconfigs',
    versions: ['v1beta1'],
    storage: 'v1beta1',
    spec: obj({
      selector: matchLabels(),
      concurrency: int({ minimum: 0 }),
      environmentVariables: strMap(),
      image: obj({ imageType: str() }),
    }),
  });
}

/** The networking.istio.io CRDs Skiff serves (EnvoyFilter is not among them). */
export function networkingCrds(): KObject[] {
  return [
    virtualService(),
    destinationRule(),
    gateway(),
    serviceEntry(),
    sidecar(),
    workloadEntry(),
    workloadGroup(),
    proxyConfig(),
  ];
}
