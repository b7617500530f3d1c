import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { KObject } from '../../api/types.ts';
import { analyze, validateIstioObject, webhookDenialMessage, WEBHOOK_DENIAL_STATUS } from './index.ts';
import { checkRE2 } from './validate-re2.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const COURSE = join(HERE, '..', '..', '..', '..', 'shared', 'fixtures', 'course', 'istio');

type Spec = Record<string, unknown>;

function obj(kind: string, spec: Spec, meta: Record<string, unknown> = {}): KObject {
  const group = kind === 'AuthorizationPolicy' || kind === 'PeerAuthentication' || kind === 'RequestAuthentication'
    ? 'security.istio.io/v1'
    : kind === 'Telemetry' ? 'telemetry.istio.io/v1' : 'networking.istio.io/v1';
  return { apiVersion: group, kind, metadata: { name: 'x', namespace: 'user11', ...meta }, spec };
}

const route = (host = 'reviews', extra: Spec = {}): Spec => ({ route: [{ destination: { host } }], ...extra });
const vs = (spec: Spec, meta?: Record<string, unknown>): KObject => obj('VirtualService', { hosts: ['reviews'], ...spec }, meta);

function errors(o: KObject): string[] {
  return validateIstioObject(o).errors;
}

/** Asserts that some error contains each fragment. */
function rejects(o: KObject, ...fragments: string[]): void {
  const errs = errors(o);
  for (const f of fragments) assert.ok(errs.some((e) => e.includes(f)), `expected an error containing ${JSON.stringify(f)}, got ${JSON.stringify(errs)}`);
}

function accepts(o: KObject): void {
  assert.deepEqual(errors(o), []);
}

describe('webhook denial', () => {
  test('webhookDenialMessage() renders one error bare and several as a go-multierror list', () => {
    assert.equal(
      webhookDenialMessage(['gateway must have at least one server']),
      'admission webhook "validation.istio.io" denied the request: configuration is invalid: gateway must have at least one server',
    );
    assert.equal(
      webhookDenialMessage(['a', 'b']),
      'admission webhook "validation.istio.io" denied the request: configuration is invalid: 2 errors occurred:\n\t* a\n\t* b\n\n',
    );
    assert.deepEqual(WEBHOOK_DENIAL_STATUS, { code: 400, status: 'Failure', reason: '' });
  });

  test('a lone error Istio builds with multierror.Append renders as "1 error occurred"', () => {
    const r = validateIstioObject(vs({ http: [route('reviews', { retries: { attempts: -1 } })] }));
    assert.equal(r.message, 'configuration is invalid: 1 error occurred:\n\t* attempts cannot be negative\n\n');
    assert.equal(webhookDenialMessage(r), `admission webhook "validation.istio.io" denied the request: ${r.message}`);
  });

  test('a denied object carries no warnings; an accepted one carries them as they are', () => {
    const bad = validateIstioObject(vs({ gateways: ['gw.user11', 'mesh'], http: [] }));
    assert.equal(bad.warnings.length, 0);
    const ok = validateIstioObject(vs({ gateways: ['gw.user11'], hosts: ['reviews.example.com'], http: [route()] }));
    assert.deepEqual(ok.errors, []);
    assert.deepEqual(ok.warnings, ['using legacy gatewayName format "gw.user11"; prefer the <namespace>/<name> format: "user11/gw"']);
  });

  test('validateIstioObject() passes objects of other kinds untouched', () => {
    assert.deepEqual(validateIstioObject({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { bogus: 1 } }), {
      errors: [], warnings: [], message: '',
    });
    assert.deepEqual(errors({ apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', metadata: { name: 'e' }, spec: {} }), []);
  });

  test('the istio.io/dry-run annotation is only for ALLOW/DENY AuthorizationPolicies', () => {
    rejects(vs({ http: [route()] }, { annotations: { 'istio.io/dry-run': 'true' } }), 'user11/x has unsupported annotation istio.io/dry-run');
    rejects(obj('AuthorizationPolicy', {}, { annotations: { 'istio.io/dry-run': 'maybe' } }), 'strconv.ParseBool: parsing "maybe": invalid syntax');
    accepts(obj('AuthorizationPolicy', {}, { annotations: { 'istio.io/dry-run': 'true' } }));
  });
});

describe('VirtualService', () => {
  test('needs at least one of http, tcp or tls', () => rejects(vs({}), 'http, tcp or tls must be provided in virtual service'));

  test('without hosts it is a delegate: no gateways, tls or tcp', () => {
    accepts(obj('VirtualService', { http: [route()] }));
    rejects(obj('VirtualService', { gateways: ['gw'], http: [route()] }), 'delegate virtual service must have no gateways specified');
    rejects(obj('VirtualService', { tcp: [route()] }), 'delegate virtual service must have no tcp route specified');
  });

  test('host * is rejected for the mesh gateway and allowed for a gateway-only service', () => {
    rejects(vs({ hosts: ['*'], http: [route()] }), 'wildcard host * is not allowed for virtual services bound to the mesh gateway');
    rejects(vs({ hosts: ['*'], gateways: ['mesh', 'gw'], http: [route()] }), 'wildcard host * is not allowed');
    accepts(vs({ hosts: ['*'], gateways: ['bookinfo-gateway'], http: [route()] }));
  });

  test('duplicate and overlapping hosts are rejected', () => {
    rejects(vs({ hosts: ['*.foo.com', 'a.foo.com'], http: [route()] }), 'duplicate hosts in virtual service: *.foo.com & a.foo.com');
    rejects(vs({ hosts: ['reviews', 'reviews'], http: [route()] }), 'duplicate hosts in virtual service: reviews & reviews');
  });

  test('a route destination needs a host, and not *', () => {
    rejects(vs({ http: [{ route: [{ weight: 1 }] }] }), 'destination is required');
    rejects(vs({ http: [route('')] }), 'empty domain name not allowed');
    rejects(vs({ http: [route('*')] }), 'invalid destination host *');
    rejects(vs({ http: [route('bad_host')] }), 'domain name "bad_host" invalid (label "bad_host" invalid)');
  });

  test('weights may not be negative nor all zero', () => {
    rejects(vs({ http: [{ route: [{ destination: { host: 'a' }, weight: -1 }] }] }), 'weight -1 < 0');
    rejects(vs({ http: [{ route: [{ destination: { host: 'a' } }, { destination: { host: 'b' } }] }] }), 'total destination weight = 0');
    accepts(vs({ http: [{ route: [{ destination: { host: 'a', subset: 'v1' }, weight: 50 }, { destination: { host: 'a', subset: 'v3' }, weight: 50 }] }] }));
  });

  test('subset names are DNS-1123 labels', () => {
    rejects(vs({ http: [{ route: [{ destination: { host: 'a', subset: 'v_1' } }] }] }), 'subset name is invalid: v_1');
  });

  test('redirect and direct responses exclude routes', () => {
    rejects(vs({ http: [route('a', { redirect: { uri: '/x' } })] }), 'HTTP route cannot contain both route and redirect');
    rejects(vs({ http: [{ redirect: { uri: '/x' }, directResponse: { status: 200 } }] }), 'HTTP route rule cannot contain both direct_response and redirect');
    rejects(vs({ http: [route('a', { directResponse: { status: 503 } })] }), 'HTTP route cannot contain both route and direct_response');
    rejects(vs({ http: [{ match: [{ uri: { prefix: '/' } }] }] }), 'HTTP route, redirect or direct_response is required');
    rejects(vs({ http: [{ redirect: {} }] }), 'redirect must specify URI, authority, scheme, or port');
    rejects(vs({ http: [{ redirect: { uri: '/a', redirectCode: 200 } }] }), '200 is not a valid redirect code, must be 3xx');
    accepts(vs({ http: [{ redirect: { uri: '/a', redirectCode: 302 } }] }));
  });

  test('retries: attempts not negative, nothing else when attempts is 0, known retryOn policies', () => {
    rejects(vs({ http: [route('a', { retries: { attempts: -1 } })] }), 'attempts cannot be negative');
    rejects(vs({ http: [route('a', { retries: { attempts: 0, perTryTimeout: '2s' } })] }), 'http retry policy configured when attempts are set to 0 (disabled)');
    rejects(vs({ http: [route('a', { retries: { attempts: 3, retryOn: '5xx,bogus' } })] }), '"bogus" is not a valid retryOn policy');
    rejects(vs({ http: [route('a', { retries: { attempts: 3, perTryTimeout: '0s' } })] }), 'duration must be greater than 1ms');
    accepts(vs({ http: [route('a', { retries: { attempts: 3, perTryTimeout: '2s', retryOn: 'gateway-error,connect-failure,503' } })] }));
  });

  test('durations are at least 1ms, in whole milliseconds', () => {
    rejects(vs({ http: [route('a', { timeout: '500us' })] }), 'duration must be greater than 1ms');
    rejects(vs({ http: [route('a', { timeout: '1.5ms' })] }), 'only durations to ms precision are supported');
    accepts(vs({ http: [route('a', { timeout: '1m30s' })] }));
  });

  test('fault injection: abort and/or delay, percentages 0 or 0.0001..100, HTTP status 200..600', () => {
    rejects(vs({ http: [route('a', { fault: {} })] }), 'HTTP fault injection must have an abort and/or a delay');
    rejects(vs({ http: [route('a', { fault: { delay: { fixedDelay: '1s', percentage: { value: 101 } } } })] }), 'percentage 101 is neither 0.0, nor in range [0.0001, 100.0]');
    rejects(vs({ http: [route('a', { fault: { abort: { httpStatus: 500, percentage: { value: 0.00001 } } } })] }), 'percentage 1e-05 is neither 0.0, nor in range [0.0001, 100.0]');
    rejects(vs({ http: [route('a', { fault: { abort: { httpStatus: 700 } } })] }), 'HTTP status 700 is not in range 200-599');
    rejects(vs({ http: [route('a', { fault: { abort: { grpcStatus: 'NOPE' } } })] }), 'gRPC status "NOPE" is not supported');
    rejects(vs({ http: [route('a', { fault: { delay: { fixedDelay: '0.5ms' } } })] }), 'duration must be greater than 1ms');
    // As in Istio: 600 passes (the message says 599), and a delay without fixedDelay is accepted (it never fires).
    accepts(vs({ http: [route('a', { fault: { abort: { httpStatus: 600, percentage: { value: 0 } } } })] }));
    accepts(vs({ http: [route('a', { fault: { delay: { percentage: { value: 100 } } } })] }));
  });

  test('header match names must be valid header names (Istio does not require lower case)', () => {
    rejects(vs({ http: [route('a', { match: [{ headers: { 'end user': { exact: 'jason' } } }] })] }), 'header name end user is not a valid header name');
    rejects(vs({ http: [route('a', { match: [{ headers: { 'end-user': { prefix: '' } } }] })] }), '"headers": prefix string match should not be empty');
    rejects(vs({ http: [route('a', { match: [{ headers: { 'end-user': null } }] })] }), 'header match end-user cannot be null');
    accepts(vs({ http: [route('a', { match: [{ headers: { 'End-User': { exact: 'jason' }, ':method': { exact: 'GET' } } }] })] }));
  });

  test('JWT claim routing is only for gateways', () => {
    rejects(vs({ http: [route('a', { match: [{ headers: { '@request.auth.claims.group': { exact: 'x' } } }] })] }),
      'JWT claim based routing (key: @request.auth.claims.group) is only supported for gateway, found no gateways: []');
  });

  test('regexes must compile as RE2 (Go syntax errors) and stay within 1024 characters', () => {
    rejects(vs({ http: [route('a', { match: [{ uri: { regex: '/api/(v1' } }] })] }),
      '"uri": error parsing regexp: missing closing ): `/api/(v1`; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)');
    rejects(vs({ http: [route('a', { match: [{ headers: { u: { regex: '(?=x)' } } }] })] }), 'invalid or unsupported Perl syntax: `(?=`');
    rejects(vs({ http: [route('a', { match: [{ uri: { regex: 'a'.repeat(1025) } }] })] }), '"uri": regex is too large, max length allowed is 1024');
    rejects(vs({ http: [route('a', { match: [{ uri: { regex: '' } }] })] }), '"uri": regex string match should not be empty');
    accepts(vs({ http: [route('a', { match: [{ uri: { regex: '(?i)/API/v[0-9]+/.*' }, headers: { u: { regex: '\\pL+' } } }] })] }));
  });

  test('port numbers are 1..65535', () => {
    rejects(vs({ http: [{ route: [{ destination: { host: 'a', port: { number: 70000 } } }] }] }), 'port number 70000 must be in the range 1..65535');
    rejects(vs({ http: [route('a', { match: [{ port: 65536 }] })] }), 'port number 65536 must be in the range 1..65535');
  });

  test('gateway names: ns/name labels, legacy name.namespace only warns', () => {
    rejects(vs({ gateways: ['user11/Bad_Gw'], http: [route()] }), 'invalid value for gateway name: "Bad_Gw"');
    rejects(vs({ gateways: ['/gw'], http: [route()] }), 'config namespace and gateway name cannot be empty');
    const r = validateIstioObject(vs({ hosts: ['a.example.com'], gateways: ['gw.istio-system'], http: [route()] }));
    assert.deepEqual(r.errors, []);
    assert.match(r.warnings[0]!, /using legacy gatewayName format "gw.istio-system"; prefer the <namespace>\/<name> format: "istio-system\/gw"/);
  });

  test('mirror percentages are 0..100', () => {
    rejects(vs({ http: [route('a', { mirror: { host: 'b' }, mirrorPercentage: { value: 150 } })] }), 'mirror_percentage must have a max value of 100 (it has 150.000000)');
    rejects(vs({ http: [route('a', { mirrors: [{ destination: { host: 'b' }, percentage: { value: -1 } }] })] }), 'mirror percentage must have a min value of 0 (it has -1.000000)');
    rejects(vs({ http: [route('a', { mirror: { host: 'b' }, mirrors: [{ destination: { host: 'c' } }] })] }), 'HTTP route cannot contain both mirror and mirrors');
  });

  test('a rule after a catch-all is reported as a warning', () => {
    const r = validateIstioObject(vs({ http: [route('a'), route('b', { match: [{ uri: { prefix: '/x' } }] })] }));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, ['virtualService rule #1 not used (route without matches defined before)']);
  });
});

describe('DestinationRule', () => {
  const dr = (spec: Spec): KObject => obj('DestinationRule', { host: 'reviews', ...spec });

  test('host is required and a (wildcard) domain', () => {
    rejects(obj('DestinationRule', {}), 'empty domain name not allowed');
    // As in Istio, the message names the part after the first label.
    rejects(dr({ host: 'a..b' }), 'domain name ".b" invalid (label "" invalid)');
  });

  test('subsets need unique DNS-1123 names and valid labels', () => {
    rejects(dr({ subsets: [{ labels: { version: 'v1' } }] }), 'subset name cannot be empty');
    rejects(dr({ subsets: [{ name: 'v1' }, { name: 'v1' }] }), 'duplicate subset names: v1');
    rejects(dr({ subsets: [{ name: 'v1', labels: { 'bad key': 'v1' } }] }), 'invalid tag key: "bad key"');
    rejects(dr({ subsets: [{ name: 'v1', labels: { version: 'v 1' } }] }), 'invalid tag value: "v 1"');
  });

  test('load balancer settings: cookie names, maglev table sizes', () => {
    rejects(dr({ trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { ttl: '1s' } } } } }), 'name required for HttpCookie');
    rejects(dr({ trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: 4 } } } } }), 'tableSize must be a prime number for maglev');
    rejects(dr({ trafficPolicy: { loadBalancer: { localityLbSetting: { distribute: [{ from: 'r1/*', to: { 'r1/*': 50 } }] } } } }), 'total locality weight 50 != 100');
  });

  test('connection pools: at least one field, no negative limits', () => {
    rejects(dr({ trafficPolicy: { connectionPool: {} } }), 'connection pool must have at least one field');
    rejects(dr({ trafficPolicy: { connectionPool: { http: { http1MaxPendingRequests: -1 }, tcp: { maxConnections: -5 } } } }),
      'http1 max pending requests must be non-negative', 'max connections must be non-negative');
    accepts(dr({ trafficPolicy: { connectionPool: { tcp: { idleTimeout: '0s' } } } }));
  });

  test('outlier detection: percentages in range, durations, deprecated consecutiveErrors warns', () => {
    rejects(dr({ trafficPolicy: { outlierDetection: { maxEjectionPercent: 150 } } }), 'percentage 150 is not in range 0..100');
    rejects(dr({ trafficPolicy: { outlierDetection: { interval: '0s' } } }), 'duration must be greater than 1ms');
    rejects(dr({ trafficPolicy: { outlierDetection: { consecutiveLocalOriginFailures: 2 } } }), 'split external local origin errors is set to false');
    const r = validateIstioObject(dr({ trafficPolicy: { outlierDetection: { consecutiveErrors: 3 } } }));
    assert.deepEqual(r.warnings, ['outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead']);
  });

  test('port-level settings need a port and a policy', () => {
    rejects(dr({ trafficPolicy: { portLevelSettings: [{ connectionPool: { tcp: { maxConnections: 1 } } }] } }), 'portTrafficPolicy must have valid port');
    rejects(dr({ trafficPolicy: { portLevelSettings: [{ port: { number: 80 } }] } }), 'port traffic policy must have at least one field');
  });

  test('client TLS: MUTUAL needs certificates unless a credentialName supplies them', () => {
    rejects(dr({ trafficPolicy: { tls: { mode: 'MUTUAL' } } }), 'client certificate required for mutual tls', 'private key required for mutual tls');
    rejects(dr({ trafficPolicy: { tls: { mode: 'SIMPLE', credentialName: 'c', caCertificates: '/ca.pem' } } }), 'cannot specify client certificates or CA certificate or CA CRL If credentialName is set');
    accepts(dr({ trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } }));
  });

  test('an empty traffic policy is rejected', () => rejects(dr({ trafficPolicy: {} }), 'traffic policy must have at least one field'));
});

describe('Gateway', () => {
  const server = (extra: Spec = {}): Spec => ({ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'], ...extra });
  const gw = (servers: unknown[], name = 'gw'): KObject => obj('Gateway', { selector: { istio: 'ingressgateway' }, servers }, { name });

  test('needs servers, each with a valid port and hosts', () => {
    rejects(gw([]), 'gateway must have at least one server');
    rejects(gw([{ hosts: ['*'] }]), 'port is required');
    rejects(gw([server({ port: { number: 0, name: 'http', protocol: 'HTTP' } })]), 'port number 0 must be in the range 1..65535');
    rejects(gw([server({ port: { number: 80, name: 'http', protocol: 'FTP' } })]), 'invalid protocol "FTP", supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP');
    rejects(gw([server({ port: { number: 80, protocol: 'HTTP' } })]), 'port name must be set: number:80 protocol:"HTTP"');
    rejects(gw([server({ port: { number: 80, name: 'http', protocol: 'HTTP', targetPort: 8080 } })]), 'targetPort has no impact on Gateways');
    rejects(gw([server({ hosts: [] })]), 'server config must contain at least one host');
  });

  test('hosts: FQDNs or ns/dnsName, no short names, no partial wildcards', () => {
    rejects(gw([server({ hosts: ['bookinfo'] })]), 'short names (non FQDN) are not allowed');
    rejects(gw([server({ hosts: ['Bad_NS/foo.example.com'] })]), 'invalid namespace value "Bad_NS" in gateway');
    rejects(gw([server({ hosts: ['*foo.example.com'] })]), 'partial wildcard "*foo.example.com" not allowed');
    rejects(gw([server({ hosts: ['user11/'] })]), 'config namespace and dnsName in host entry cannot be empty');
    accepts(gw([server({ hosts: ['user11/*.example.com', './bookinfo.example.com', '*/*', '10.1.2.3'] })]));
  });

  test('HTTPS needs TLS settings; plain HTTP may only redirect', () => {
    rejects(gw([server({ port: { number: 443, name: 'https', protocol: 'HTTPS' } })]), 'server must have TLS settings for HTTPS/TLS protocols');
    rejects(gw([server({ port: { number: 443, name: 'https', protocol: 'HTTPS' }, tls: { mode: 'SIMPLE' } })]),
      'SIMPLE TLS requires a server certificate', 'SIMPLE TLS requires a private key');
    rejects(gw([server({ tls: { mode: 'SIMPLE', credentialName: 'c' } })]), 'server cannot have TLS settings for plain text HTTP ports');
    accepts(gw([server({ tls: { httpsRedirect: true } }), server({ port: { number: 443, name: 'https', protocol: 'HTTPS' }, tls: { mode: 'SIMPLE', credentialName: 'cert' } })]));
  });

  test('port names are unique and the gateway name is a DNS label', () => {
    rejects(gw([server(), server({ port: { number: 8080, name: 'http', protocol: 'HTTP' } })]), 'port names in servers must be unique: duplicate name http');
    rejects(gw([server()], 'my.gateway'), 'invalid gateway name: "my.gateway"');
  });
});

describe('ServiceEntry, Sidecar and security kinds', () => {
  const se = (spec: Spec): KObject => obj('ServiceEntry', { hosts: ['api.example.com'], ...spec });

  test('ServiceEntry: hosts, resolution and endpoints agree, ports are valid and unique', () => {
    rejects(obj('ServiceEntry', { hosts: [] }), 'service entry must have at least one host');
    rejects(se({ hosts: ['*'] }), 'invalid host *');
    rejects(se({ endpoints: [{ address: '1.2.3.4' }] }), 'no endpoints should be provided for resolution type none');
    rejects(se({ hosts: ['*.example.com'], resolution: 'DNS' }), 'hosts must be FQDN if no endpoints are provided for resolution mode DNS');
    rejects(se({ resolution: 'STATIC', endpoints: [{ address: 'not-an-ip' }] }), 'endpoint address "not-an-ip" is not a valid IP address');
    rejects(se({ ports: [{ number: 80, name: 'http', protocol: 'HTTP' }, { number: 80, name: 'http', protocol: 'FOO' }] }),
      'service entry port name "http" already defined', 'service entry port 80 already defined', 'unsupported protocol: FOO');
    rejects(se({ hosts: ['a.example.com', 'b.example.com'], resolution: 'DNS', ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }] }),
      'multiple hosts provided with non-HTTP, non-TLS ports');
    accepts(se({ resolution: 'DNS', location: 'MESH_EXTERNAL', ports: [{ number: 443, name: 'tls', protocol: 'TLS' }] }));
  });

  test('Sidecar: egress hosts are namespace/dnsName', () => {
    rejects(obj('Sidecar', { egress: [{ hosts: ['foo.example.com'] }] }), 'host must be of form namespace/dnsName');
    rejects(obj('Sidecar', { egress: [{ hosts: ['./reviews'] }] }), 'short names (non FQDN) are not allowed');
    rejects(obj('Sidecar', { egress: [{ hosts: [] }] }), 'sidecar: egress listener must contain at least one host');
    rejects(obj('Sidecar', {}), 'sidecar: empty configuration provided');
    accepts(obj('Sidecar', { egress: [{ hosts: ['./*', 'istio-system/*', '*/api.example.com'] }] }));
  });

  test('PeerAuthentication: port-level mTLS needs a workload selector', () => {
    rejects(obj('PeerAuthentication', { mtls: { mode: 'STRICT' }, portLevelMtls: { 8080: { mode: 'DISABLE' } } }),
      'mesh/namespace peer authentication cannot have port level mTLS');
    rejects(obj('PeerAuthentication', { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 0: { mode: 'DISABLE' } } }), 'port must be in range 1..65535');
    accepts(obj('PeerAuthentication', { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 8080: { mode: 'DISABLE' } } }));
  });

  test('AuthorizationPolicy: action/provider rules and empty values, prefixed with the policy name', () => {
    rejects(obj('AuthorizationPolicy', { action: 'DENY' }, { name: 'deny' }), 'invalid policy deny.user11: DENY action without `rules` is meaningless');
    rejects(obj('AuthorizationPolicy', { action: 'CUSTOM', rules: [{}] }), '`provider.name` must not be empty');
    rejects(obj('AuthorizationPolicy', { provider: { name: 'ext' }, rules: [{}] }), '`provider` must not be with non CUSTOM action, found ALLOW');
    rejects(obj('AuthorizationPolicy', { rules: [{ from: [{ source: { principals: [''] } }] }] }), 'empty value not allowed, found in Principals');
    rejects(obj('AuthorizationPolicy', { rules: [{ from: [{ source: {} }] }] }), '`from.source` must not be empty, found at rule 0');
    rejects(obj('AuthorizationPolicy', { rules: [{ when: [{ key: 'foo', values: ['x'] }] }] }), 'invalid `value` for `key` foo: unknown attribute: foo');
    rejects(obj('AuthorizationPolicy', { rules: [{ to: [{ operation: { ports: ['99999'] } }] }] }), 'bad port (99999): <nil>');
    accepts(obj('AuthorizationPolicy', { selector: { matchLabels: { app: 'reviews' } }, rules: [{ from: [{ source: { principals: ['cluster.local/ns/user11/sa/bookinfo-productpage'] } }], to: [{ operation: { methods: ['GET'] } }] }] }));
  });
});

test('checkRE2() accepts RE2 that JavaScript rejects and rejects what RE2 does not support', () => {
  for (const ok of ['(?i)abc', '(?P<v>[0-9]+)', '\\pL', '[[:alpha:]]+', 'a\\z', 'x{2,3}']) assert.equal(checkRE2(ok), undefined, ok);
  assert.equal(checkRE2('a**'), 'error parsing regexp: invalid nested repetition operator: `**`');
  assert.equal(checkRE2('*a'), 'error parsing regexp: missing argument to repetition operator: `*`');
  assert.equal(checkRE2('\\1'), 'error parsing regexp: invalid escape sequence: `\\1`');
  assert.equal(checkRE2('[z-a]'), 'error parsing regexp: invalid character class range: `z-a`');
  assert.equal(checkRE2('a{2,1}'), 'error parsing regexp: invalid repeat count: `{2,1}`');
  assert.equal(checkRE2('a)'), 'error parsing regexp: unexpected ): `a)`');
});

/** Every document of every YAML file under dir. */
function loadYaml(dir: string): KObject[] {
  const out: KObject[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...loadYaml(p));
    else if (/\.ya?ml$/.test(name)) {
      for (const doc of parseAllDocuments(readFileSync(p, 'utf8'))) {
        const o = doc.toJS() as KObject | null;
        if (o && typeof o === 'object') out.push({ ...o, metadata: { namespace: 'user11', ...o.metadata } });
      }
    }
  }
  return out;
}

test('every Istio object of the course fixtures passes the webhook with no errors and no warnings', { skip: !existsSync(COURSE) && `course fixtures not found at ${COURSE}` }, () => {
  const objects = loadYaml(COURSE).filter((o) => String(o.apiVersion).includes('istio.io'));
  assert.ok(objects.length >= 15, `only ${objects.length} Istio objects found`);
  for (const o of objects) assert.deepEqual(validateIstioObject(o), { errors: [], warnings: [], message: '' }, `${o.kind} ${o.metadata.name}`);
});

// ---------------------------------------------------------------------------------------------
// Fuzzing: mutated objects must never make the validator or the analyzer throw.

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SAMPLES: KObject[] = [
  vs({ gateways: ['gw', 'mesh'], http: [{ match: [{ uri: { prefix: '/a' }, headers: { h: { regex: 'x.*' } } }], route: [{ destination: { host: 'a', subset: 'v1', port: { number: 80 } }, weight: 100 }], retries: { attempts: 2, perTryTimeout: '1s' }, fault: { abort: { httpStatus: 500, percentage: { value: 10 } } }, mirror: { host: 'b' }, corsPolicy: { allowOrigins: [{ exact: 'x' }], maxAge: '1s' }, rewrite: { uri: '/' }, timeout: '2s', headers: { request: { set: { 'x-a': '%HOSTNAME%' } } } }], tcp: [{ match: [{ port: 9000 }], route: [{ destination: { host: 'c' } }] }], tls: [{ match: [{ sniHosts: ['reviews'] }], route: [{ destination: { host: 'c' } }] }] }),
  obj('DestinationRule', { host: 'reviews', trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: 'c', ttl: '1s' } }, localityLbSetting: { failover: [{ from: 'a', to: 'b' }] } }, connectionPool: { tcp: { maxConnections: 1, connectTimeout: '1s' }, http: { http1MaxPendingRequests: 1 } }, outlierDetection: { interval: '1s', consecutive5xxErrors: 1 }, tls: { mode: 'MUTUAL', clientCertificate: 'c', privateKey: 'k' }, portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'SIMPLE' } }] }, subsets: [{ name: 'v1', labels: { version: 'v1' } }] }),
  obj('Gateway', { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['ns/a.example.com'], tls: { mode: 'MUTUAL', serverCertificate: 'a', privateKey: 'b', caCertificates: 'c', cipherSuites: ['X'] } }] }),
  obj('ServiceEntry', { hosts: ['a.example.com'], addresses: ['10.0.0.0/8'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', endpoints: [{ address: '1.2.3.4', ports: { http: 8080 }, labels: { a: 'b' } }] }),
  obj('Sidecar', { workloadSelector: { labels: { app: 'a' } }, ingress: [{ port: { number: 80, protocol: 'HTTP', name: 'http' }, defaultEndpoint: '127.0.0.1:8080' }], egress: [{ hosts: ['./*'] }], outboundTrafficPolicy: { mode: 'ALLOW_ANY', egressProxy: { host: 'a.b', port: { number: 80 } } } }),
  obj('AuthorizationPolicy', { action: 'DENY', rules: [{ from: [{ source: { ipBlocks: ['1.2.3.0/24'], namespaces: ['a'] } }], to: [{ operation: { paths: ['/{*}/x'], ports: ['80'] } }], when: [{ key: 'request.headers[x]', values: ['y'] }] }] }),
  obj('PeerAuthentication', { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 80: { mode: 'STRICT' } } }),
  obj('RequestAuthentication', { jwtRules: [{ issuer: 'i', jwksUri: 'https://x/jwks', fromHeaders: [{ name: 'h' }], timeout: '1s' }] }),
  obj('Telemetry', { tracing: [{ providers: [{ name: 'z' }], randomSamplingPercentage: 10, customTags: { a: { literal: { value: 'b' } } } }], metrics: [{ overrides: [{ tagOverrides: { t: { operation: 'REMOVE' } } }] }] }),
  obj('WorkloadGroup', { template: { ports: { http: 80 } }, probe: { httpGet: { port: 80 } } }),
];

const WEIRD: (() => unknown)[] = [
  () => null, () => -1, () => -2147483649, () => 1e21, () => 0, () => 3.5, () => true, () => '', () => [], () => ({}),
  () => 'x'.repeat(70000), () => '-'.repeat(50001) + 'a', () => '/'.repeat(40000) + 'a', () => '*.'.repeat(30000),
  () => '('.repeat(2000), () => '9'.repeat(5000), () => [null, 1, 'a'], () => ({ value: -5 }), () => '1.5ms', () => 'ns/',
  () => ({ exact: '' }), () => ({ prefix: '' }), () => ({ regex: '(' }), () => 'a\u0000b', () => '\ud800',
];

function mutate(value: unknown, pick: () => number, depth = 0): unknown {
  if (Array.isArray(value)) {
    const copy = value.map((v) => mutate(v, pick, depth + 1));
    if (pick() < 0.15) copy.splice(Math.floor(pick() * (copy.length + 1)), 0, WEIRD[Math.floor(pick() * WEIRD.length)]!());
    return copy;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = pick();
      if (r < 0.1) continue; // delete the field
      if (r < 0.22) out[k] = WEIRD[Math.floor(pick() * WEIRD.length)]!();
      else out[k] = mutate(v, pick, depth + 1);
    }
    if (pick() < 0.05) out[`k${Math.floor(pick() * 10)}`] = WEIRD[Math.floor(pick() * WEIRD.length)]!();
    return out;
  }
  return pick() < 0.1 ? WEIRD[Math.floor(pick() * WEIRD.length)]!() : value;
}

test('2,000 mutated Istio objects never make validateIstioObject() or analyze() throw', () => {
  const pick = rng(20251);
  const seeds = [...SAMPLES, ...(existsSync(COURSE) ? loadYaml(COURSE) : [])];
  const cluster: KObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'user11', labels: { 'istio-injection': 'enabled' } } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: 'user11' }, spec: { selector: { app: 'reviews' }, ports: [{ port: 9080, name: 'http' }] } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'reviews-1', namespace: 'user11', labels: { app: 'reviews', version: 'v1' } }, spec: { containers: [{ name: 'reviews' }] } },
  ];
  const batch: KObject[] = [];
  for (let i = 0; i < 2000; i++) {
    const seed = seeds[Math.floor(pick() * seeds.length)]!;
    const m = mutate(structuredClone(seed), pick) as KObject;
    const o = m && typeof m === 'object' ? m : seed;
    assert.doesNotThrow(() => validateIstioObject(o), `validate #${i}`);
    batch.push(o);
    if (batch.length === 50) {
      assert.doesNotThrow(() => analyze([...cluster, ...batch], { allNamespaces: true }), `analyze batch ending #${i}`);
      batch.length = 0;
    }
  }
});
