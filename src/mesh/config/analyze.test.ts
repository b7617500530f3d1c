import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { KObject } from '../../api/types.ts';
import { analysisFailure, analyze, formatAnalysis, type AnalysisMessage } from './index.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const BOOKINFO = join(HERE, '..', '..', '..', '..', 'shared', 'fixtures', 'course', 'istio', 'bookinfo');
const NS = 'user11';
const PROXY = { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.27.1' };

type Spec = Record<string, unknown>;

function namespace(name: string, labels: Record<string, string> = { 'istio-injection': 'enabled' }): KObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

function service(name: string, ports: Spec[] = [{ name: 'http', port: 9080 }], selector: Record<string, string> = { app: name }, ns = NS): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector, ports } };
}

function pod(name: string, labels: Record<string, string>, ns = NS, proxy = true): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels }, spec: { containers: [{ name: 'app', image: 'app' }, ...(proxy ? [PROXY] : [])] } };
}

function istio(kind: string, name: string, spec: Spec, ns = NS, meta: Record<string, unknown> = {}): KObject {
  const group = kind === 'AuthorizationPolicy' ? 'security.istio.io/v1' : 'networking.istio.io/v1';
  return { apiVersion: group, kind, metadata: { name, namespace: ns, ...meta }, spec };
}

/** The ingress gateway Istio installs: a proxy pod in istio-system behind a LoadBalancer Service (80→8080, 443→8443). */
function ingressGateway(): KObject[] {
  const labels = { app: 'istio-ingressgateway', istio: 'ingressgateway' };
  return [
    namespace('istio-system', {}),
    { ...pod('istio-ingressgateway-5d8f', labels, 'istio-system', false), spec: { containers: [PROXY] } },
    service('istio-ingressgateway', [
      { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' },
      { name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP' },
      { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
    ], labels, 'istio-system'),
  ];
}

/** A small reviews app: Service, three versioned pods and a DestinationRule with their subsets. */
function reviewsApp(): KObject[] {
  return [
    namespace(NS),
    service('reviews'),
    pod('reviews-v1-a', { app: 'reviews', version: 'v1' }),
    pod('reviews-v2-a', { app: 'reviews', version: 'v2' }),
    pod('reviews-v3-a', { app: 'reviews', version: 'v3' }),
    istio('DestinationRule', 'reviews', { host: 'reviews', subsets: ['v1', 'v2', 'v3'].map((v) => ({ name: v, labels: { version: v } })) }),
  ];
}

const toV = (subset: string, host = 'reviews'): Spec => ({ route: [{ destination: { host, subset } }] });

function lines(msgs: AnalysisMessage[]): string[] {
  return formatAnalysis(msgs, { namespace: NS }).split('\n');
}

describe('virtual service analyzers', () => {
  test('a clean app analyzes clean, with istioctl\'s ✔ line', () => {
    const msgs = analyze([...reviewsApp(), istio('VirtualService', 'reviews', { hosts: ['reviews'], http: [toV('v1')] })], { namespace: NS });
    assert.deepEqual(msgs, []);
    assert.equal(formatAnalysis(msgs, { namespace: NS }), '✔ No validation issues found when analyzing namespace: user11.');
    assert.equal(formatAnalysis([], { allNamespaces: true }), '✔ No validation issues found when analyzing all namespaces.');
    assert.equal(analysisFailure(msgs), undefined);
  });

  test('a VirtualService naming subset v4 gets IST0101 for host+subset', () => {
    const msgs = analyze([...reviewsApp(), istio('VirtualService', 'reviews', { hosts: ['reviews'], http: [toV('v4')] })], { namespace: NS });
    assert.deepEqual(lines(msgs), ['Error [IST0101] (VirtualService user11/reviews) Referenced host+subset in destinationrule not found: "reviews+v4"']);
    assert.equal(msgs[0]!.name, 'ReferencedResourceNotFound');
    assert.equal(analysisFailure(msgs, { namespace: NS }),
      'Analyzers found issues when analyzing namespace: user11.\nSee https://istio.io/v1.27/docs/reference/config/analysis for more information about causes and resolutions.');
  });

  test('an unknown destination host or port gets IST0101; an ambiguous port gets IST0112', () => {
    const objs = [
      ...reviewsApp(),
      service('ratings', [{ name: 'http', port: 9080 }, { name: 'grpc', port: 9090 }]),
      istio('VirtualService', 'reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews2' } }] }, { route: [{ destination: { host: 'reviews', port: { number: 8080 } } }] }] }),
      istio('VirtualService', 'ratings', { hosts: ['ratings'], http: [{ route: [{ destination: { host: 'ratings' } }] }] }),
    ];
    assert.deepEqual(lines(analyze(objs, { namespace: NS })), [
      'Error [IST0101] (VirtualService user11/reviews) Referenced host not found: "reviews2"',
      'Error [IST0101] (VirtualService user11/reviews) Referenced host:port not found: "reviews:8080"',
      'Error [IST0112] (VirtualService user11/ratings) This VirtualService routes to a service "ratings" that exposes multiple ports [9080 9090]. Specifying a port in the destination is required to disambiguate.',
      'Warning [IST0130] (VirtualService user11/reviews) VirtualService rule #1 not used (only the last rule can have no matches).',
    ]);
  });

  test('a DestinationRule for host nosuch gets IST0174 (Istio 1.27 reports unknown DR hosts as UnknownDestinationRuleHost)', () => {
    const msgs = analyze([...reviewsApp(), istio('DestinationRule', 'nosuch', { host: 'nosuch' })], { namespace: NS });
    assert.deepEqual(lines(msgs), ['Warning [IST0174] (DestinationRule user11/nosuch) The host nosuch defined in the DestinationRule does not match any services in the mesh.']);
  });

  test('two mesh VirtualServices for the same host get IST0109', () => {
    const objs = [...reviewsApp(), istio('VirtualService', 'reviews', { hosts: ['reviews'], http: [toV('v1')] }), istio('VirtualService', 'reviews-canary', { hosts: ['reviews'], http: [toV('v2')] })];
    const text = 'The VirtualServices user11/reviews,user11/reviews-canary associated with mesh gateway define the same host */reviews.user11.svc.cluster.local which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.';
    // istioctl orders by Kind/name/namespace: "reviews-canary/" sorts before "reviews/".
    assert.deepEqual(lines(analyze(objs, { namespace: NS })), [
      `Error [IST0109] (VirtualService user11/reviews-canary) ${text}`,
      `Error [IST0109] (VirtualService user11/reviews) ${text}`,
    ]);
  });

  test('a rule after a catch-all gets IST0130, a repeated match IST0131', () => {
    const objs = [...reviewsApp(), istio('VirtualService', 'reviews', {
      hosts: ['reviews'],
      http: [
        { match: [{ headers: { 'end-user': { exact: 'jason' } } }], ...toV('v2') },
        { match: [{ headers: { 'end-user': { exact: 'jason' } } }, { uri: { prefix: '/x' } }], ...toV('v3') },
        toV('v1'),
        { name: 'late', match: [{ uri: { prefix: '/' } }], ...toV('v3') },
      ],
    })];
    assert.deepEqual(lines(analyze(objs, { namespace: NS })), [
      'Warning [IST0130] (VirtualService user11/reviews) VirtualService rule "late" not used (route without matches defined before).',
      'Info [IST0131] (VirtualService user11/reviews) VirtualService rule #1 match #0 is not used (duplicate/overlapping match in rule #0).',
    ]);
  });

  test('an unknown gateway gets IST0101 and IST0132; a host the gateway does not serve IST0132', () => {
    const objs = [
      ...reviewsApp(), ...ingressGateway(),
      istio('Gateway', 'gw', { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['shop.example.com'] }] }),
      istio('VirtualService', 'edge', { hosts: ['bookinfo.example.com'], gateways: ['gw', 'missing-gw'], http: [{ route: [{ destination: { host: 'reviews', port: { number: 9080 } } }] }] }),
    ];
    assert.deepEqual(lines(analyze(objs, { namespace: NS })), [
      'Error [IST0101] (VirtualService user11/edge) Referenced gateway not found: "missing-gw"',
      'Warning [IST0132] (VirtualService user11/edge) one or more host [bookinfo.example.com] defined in VirtualService user11/edge not found in Gateway user11/gw.',
      'Warning [IST0132] (VirtualService user11/edge) one or more host [bookinfo.example.com] defined in VirtualService user11/edge not found in Gateway user11/missing-gw.',
    ]);
  });

  test('a gateway without its workload gets IST0101; a port its Service lacks IST0162', () => {
    const gw = istio('Gateway', 'gw', { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 9443, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] });
    assert.deepEqual(lines(analyze([namespace(NS), gw], { namespace: NS })), ['Error [IST0101] (Gateway user11/gw) Referenced selector not found: "istio=ingressgateway"']);
    assert.deepEqual(lines(analyze([namespace(NS), ...ingressGateway(), gw], { namespace: NS })), [
      'Warning [IST0162] (Gateway user11/gw) The gateway is listening on a target port (port 9443) that is not defined in the Service associated with its workload instances (Pod selector istio=ingressgateway). If you need to access the gateway port through the gateway Service, it will not be available.',
    ]);
  });

  test('a credentialName secret that is missing gets IST0101, one without a valid certificate IST0161', () => {
    const gw = istio('Gateway', 'gw', { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['*'], tls: { mode: 'SIMPLE', credentialName: 'shop-cert' } }] });
    assert.deepEqual(lines(analyze([namespace(NS), ...ingressGateway(), gw], { namespace: NS })), ['Error [IST0101] (Gateway user11/gw) Referenced credentialName not found: "shop-cert"']);
    assert.deepEqual(lines(analyze([namespace(NS), ...ingressGateway(), gw, secretFor('shop-cert')], { namespace: NS })), [
      'Error [IST0161] (Gateway user11/gw) The credential referenced by the Gateway gw in namespace istio-system is invalid, which can cause the traffic not to work as expected.',
    ]);
  });

  test('the same host and port on two gateways of one workload gets IST0145', () => {
    const gw = (ns: string): KObject => istio('Gateway', 'bookinfo-gateway', { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] }, ns);
    const msgs = analyze([namespace('user01'), namespace(NS), ...ingressGateway(), gw('user01'), gw(NS)], { namespace: NS });
    assert.deepEqual(lines(msgs), ['Error [IST0145] (Gateway user11/bookinfo-gateway) Conflict with gateways user01/bookinfo-gateway (workload selector istio=ingressgateway, port 80, hosts *).']);
  });
});

/** A TLS Secret whose certificate does not parse. */
function secretFor(name: string): KObject {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'istio-system' }, data: { 'tls.crt': b64('not a certificate'), 'tls.key': b64('k') } };
}

describe('destination rule analyzers', () => {
  test('a subset whose labels select no pod gets IST0173', () => {
    const objs = [...reviewsApp(), istio('DestinationRule', 'reviews', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v9', labels: { version: 'v9' } }] })];
    assert.deepEqual(lines(analyze(objs, { namespace: NS })), [
      'Error [IST0173] (DestinationRule user11/reviews) The Subset v9 defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).',
    ]);
  });

  test('SIMPLE TLS without CA certificates gets IST0128', () => {
    const objs = [...reviewsApp(), istio('DestinationRule', 'reviews', { host: 'reviews', trafficPolicy: { tls: { mode: 'SIMPLE' } } })];
    assert.deepEqual(lines(analyze(objs, { namespace: NS })), [
      'Warning [IST0128] (DestinationRule user11/reviews) DestinationRule user11/reviews in namespace user11 has TLS mode set to SIMPLE but no caCertificates are set to validate server identity for host: reviews',
    ]);
  });

  test('webhook validation errors surface as IST0106', () => {
    const objs = [...reviewsApp(), istio('DestinationRule', 'reviews', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v1', labels: { version: 'v1' } }] })];
    assert.deepEqual(lines(analyze(objs, { namespace: NS })), ['Error [IST0106] (DestinationRule user11/reviews) Schema validation error: duplicate subset names: v1']);
  });
});

describe('workload analyzers', () => {
  test('a namespace without the injection label gets IST0102; a pod without proxy in an injected one IST0103', () => {
    const objs = [namespace('plain', {}), namespace(NS), pod('hello', { app: 'hello' }, NS, false), pod('other', { app: 'o' }, 'plain', false)];
    assert.deepEqual(lines(analyze(objs, { namespace: NS })), [
      'Warning [IST0103] (Pod user11/hello) The pod user11/hello is missing the Istio proxy. This can often be resolved by restarting or redeploying the workload.',
    ]);
    assert.deepEqual(formatAnalysis(analyze(objs, { namespace: 'plain' }), { namespace: 'plain' }).split('\n'), [
      "Info [IST0102] (Namespace plain) The namespace is not enabled for Istio injection. Run 'kubectl label namespace plain istio-injection=enabled' to enable it, or 'kubectl label namespace plain istio-injection=disabled' to explicitly mark it as not needing injection.",
    ]);
  });

  test('sidecars: unmatched selectors (IST0101), overlaps (IST0110), several namespace-wide (IST0111)', () => {
    const sc = (name: string, labels?: Record<string, string>): KObject =>
      istio('Sidecar', name, { ...(labels ? { workloadSelector: { labels } } : {}), egress: [{ hosts: ['./*'] }] });
    const objs = [...reviewsApp(), sc('a', { app: 'reviews' }), sc('b', { version: 'v1' }), sc('c', { app: 'nothing' }), sc('d'), sc('e')];
    assert.deepEqual(lines(analyze(objs, { namespace: NS })), [
      'Error [IST0101] (Sidecar user11/c) Referenced selector not found: "app=nothing"',
      'Error [IST0110] (Sidecar user11/a) The Sidecars [a b] in namespace "user11" select the same workload pod "reviews-v1-a", which can lead to undefined behavior.',
      'Error [IST0110] (Sidecar user11/b) The Sidecars [a b] in namespace "user11" select the same workload pod "reviews-v1-a", which can lead to undefined behavior.',
      'Error [IST0111] (Sidecar user11/d) The Sidecars [d e] in namespace "user11" have no workload selector, which can lead to undefined behavior.',
      'Error [IST0111] (Sidecar user11/e) The Sidecars [d e] in namespace "user11" have no workload selector, which can lead to undefined behavior.',
    ]);
  });

  test('a port name Istio cannot read a protocol from gets IST0118', () => {
    const objs = [namespace(NS), service('web', [{ name: 'web', port: 8080, targetPort: 80 }, { name: 'http-web', port: 8081 }, { port: 3306 }])];
    assert.deepEqual(lines(analyze(objs, { namespace: NS })), [
      "Info [IST0118] (Service user11/web) Port name web (port: 8080, targetPort: 80) doesn't follow the naming convention of Istio port.",
    ]);
  });

  test('a deployment behind two services with one port and two protocols gets IST0116', () => {
    const deployment: KObject = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'dns', namespace: NS },
      spec: { template: { metadata: { labels: { app: 'dns' } }, spec: { containers: [{ name: 'dns' }] } } },
    };
    const objs = [namespace(NS), deployment, service('dns-tcp', [{ name: 'tcp-dns', port: 53, protocol: 'TCP' }], { app: 'dns' }), service('dns-udp', [{ name: 'udp-dns', port: 53, protocol: 'UDP' }], { app: 'dns' })];
    assert.deepEqual(lines(analyze(objs, { namespace: NS })), [
      'Warning [IST0116] (Deployment user11/dns) This deployment dns is associated with multiple services using port 53 but different protocols: [user11/dns-tcp user11/dns-udp]',
    ]);
  });

  test('policies and entries: IST0127, IST0134, IST0002 and IST0144', () => {
    const uid: KObject = { ...pod('root', { app: 'r' }), spec: { containers: [{ name: 'app', securityContext: { runAsUser: 1337 } }, PROXY] } };
    const objs = [
      ...reviewsApp(), uid,
      istio('AuthorizationPolicy', 'ratings', { selector: { matchLabels: { app: 'ratings' } }, rules: [{}] }),
      istio('ServiceEntry', 'db', { hosts: ['db.example.com'], ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }], resolution: 'DNS' }),
      istio('VirtualService', 'reviews', { hosts: ['reviews'], http: [{ fault: { delay: { fixedDelay: '1s', percent: 50 } }, ...toV('v1') }] }),
    ];
    assert.deepEqual(lines(analyze(objs, { namespace: NS })), [
      'Warning [IST0002] (VirtualService user11/reviews) Deprecated: HTTPRoute.fault.delay.percent is deprecated; use HTTPRoute.fault.delay.percentage',
      'Warning [IST0127] (AuthorizationPolicy user11/ratings) No matching workloads for this resource with the following labels: app=ratings',
      'Warning [IST0134] (ServiceEntry user11/db) ServiceEntry addresses are required for this protocol.',
      'Warning [IST0144] (Pod user11/root) User ID (UID) 1337 is reserved for the sidecar proxy.',
    ]);
  });
});

describe('output', () => {
  test('messages sort by level, code and resource, filter by namespace, and honour the suppress annotation', () => {
    const objs = [
      namespace('a', {}), namespace('b'),
      istio('VirtualService', 'z', { hosts: ['x'], http: [{ route: [{ destination: { host: 'nope' } }] }] }, 'b'),
      istio('VirtualService', 'y', { hosts: ['w'], http: [{ route: [{ destination: { host: 'nope' } }] }] }, 'b', { annotations: { 'galley.istio.io/analyze-suppress': 'IST0101' } }),
      istio('DestinationRule', 'q', { host: 'nosuch' }, 'b'),
    ];
    const all = analyze(objs, { allNamespaces: true });
    assert.deepEqual(all.map((m) => `${m.level} ${m.code} ${m.resource}`), [
      'Error IST0101 VirtualService b/z',
      'Warning IST0174 DestinationRule b/q',
      'Info IST0102 Namespace a',
    ]);
    assert.deepEqual(analyze(objs, { namespace: 'a' }).map((m) => m.code), ['IST0102']);
    assert.deepEqual(analyze(objs).map((m) => m.code), [], 'default namespace has nothing');
  });
});

/** Every document of a course file, placed in the user namespace. */
function course(file: string): KObject[] {
  return parseAllDocuments(readFileSync(join(BOOKINFO, file), 'utf8'))
    .map((d) => d.toJS() as KObject | null)
    .filter((o): o is KObject => !!o)
    .map((o) => ({ ...o, metadata: { namespace: NS, ...o.metadata } }));
}

/** The course's bookinfo as a cluster runs it: the manifests plus one injected pod per Deployment. */
function bookinfoCluster(files: string[]): KObject[] {
  const objs: KObject[] = [namespace(NS), ...ingressGateway()];
  for (const f of files) objs.push(...course(f));
  for (const d of objs.filter((o) => o.kind === 'Deployment')) {
    const t = d.spec.template;
    // Skiff injects the proxy as a native sidecar (an init container with restartPolicy Always), as Istio 1.27 does.
    const spec = { ...t.spec, initContainers: [{ ...PROXY, restartPolicy: 'Always' }] };
    objs.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${d.metadata.name}-7d9f`, namespace: NS, labels: t.metadata.labels }, spec });
  }
  return objs;
}

const skip = !existsSync(BOOKINFO) && `course fixtures not found at ${BOOKINFO}`;

test('the course bookinfo app, gateway and DestinationRules analyze as on Istio 1.27: only the undeployed ratings subsets', { skip }, () => {
  const objs = bookinfoCluster(['11.bookinfo.yaml', '12.bookinfo-gw-vs.yaml', '13.destination-rule-all.yaml']);
  // destination-rule-all.yaml defines ratings v2-mysql and v2-mysql-vm, which bookinfo.yaml never deploys.
  assert.deepEqual(lines(analyze(objs, { namespace: NS })), [
    'Error [IST0173] (DestinationRule user11/ratings) The Subset v2-mysql defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).',
    'Error [IST0173] (DestinationRule user11/ratings) The Subset v2-mysql-vm defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).',
  ]);
  const withoutMysql = objs.map((o) => (o.kind === 'DestinationRule' && o.metadata.name === 'ratings'
    ? { ...o, spec: { ...o.spec, subsets: o.spec.subsets.filter((s: { name: string }) => !s.name.includes('mysql')) } }
    : o));
  assert.equal(formatAnalysis(analyze(withoutMysql, { namespace: NS }), { namespace: NS }), '✔ No validation issues found when analyzing namespace: user11.');
});

test('each course VirtualService step analyzes without errors on the bookinfo app', { skip }, () => {
  const base = ['11.bookinfo.yaml', '12.bookinfo-gw-vs.yaml', '13.destination-rule-all.yaml'];
  for (const step of ['21.virtual-service-all-v1.yaml', '22.virtual-service-reviews-50-v3.yaml', '23.virtual-service-reviews-v3.yaml',
    '24.virtual-service-reviews-test-v2.yaml', '25.virtual-service-ratings-test-delay.yaml', '26.virtual-service-ratings-test-abort.yaml',
    '27.virtual-service-ratings-500-fi-rate.yaml']) {
    const msgs = analyze(bookinfoCluster([...base, step]), { namespace: NS }).filter((m) => m.code !== 'IST0173');
    // virtual-service-all-v1 routes productpage to subset v1, which the gateway's route (no subset) bypasses.
    const expected = step.startsWith('21.')
      ? ['Warning [IST0140] (VirtualService user11/bookinfo) Subset in virtual service user11/productpage has no effect on ingress gateway user11/bookinfo requests']
      : [];
    assert.deepEqual(msgs.map((m) => `${m.level} [${m.code}] (${m.resource}) ${m.message}`), expected, step);
  }
});
