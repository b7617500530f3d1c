import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKubeProtobuf, isKubeProtobuf, ProtobufError } from './index.ts';
import { encodeKubeBody, lenField, varint } from './encode.test-helper.ts';
import { captures } from './fixtures.test-helper.ts';
import { seededRandom } from '../../seeded.test-helper.ts';

type Json = Record<string, unknown>;

const MAGIC = [0x6b, 0x38, 0x73, 0x00];
const ascii = (s: string): number[] => [...Buffer.from(s)];
const tag = (field: number, wire: number): number[] => varint((field << 3) | wire);
/** A hand-built body: magic + Unknown{typeMeta{apiVersion, kind}, raw}. */
function body(apiVersion: string, kind: string, raw: number[]): Uint8Array {
  const typeMeta = [...lenField(1, ascii(apiVersion)), ...lenField(2, ascii(kind))];
  return Uint8Array.from([...MAGIC, ...lenField(1, typeMeta), ...lenField(2, raw)]);
}
function isProtobufError(err: unknown): boolean {
  return err instanceof ProtobufError && err.code === 'SKIFF_ERR_PROTOBUF';
}

test('isKubeProtobuf() recognises the k8s\\0 magic only', () => {
  assert.equal(isKubeProtobuf(Uint8Array.from([...MAGIC, 0x0a])), true);
  assert.equal(isKubeProtobuf(Uint8Array.from(MAGIC)), true);
  assert.equal(isKubeProtobuf(Buffer.from('{"kind":"Namespace"}')), false);
  assert.equal(isKubeProtobuf(Uint8Array.from([0x6b, 0x38, 0x73])), false);
});

test('decodeKubeProtobuf() reads a byte-for-byte hand-written Namespace', () => {
  const bytes = Uint8Array.from([
    0x6b, 0x38, 0x73, 0x00, // magic
    0x0a, 0x0f, // Unknown.typeMeta(1), 15 bytes
    0x0a, 0x02, 0x76, 0x31, // TypeMeta.apiVersion(1) "v1"
    0x12, 0x09, ...ascii('Namespace'), // TypeMeta.kind(2)
    0x12, 0x0a, // Unknown.raw(2), 10 bytes
    0x0a, 0x08, // Namespace.metadata(1)
    0x0a, 0x06, ...ascii('user12'), // ObjectMeta.name(1)
    0x1a, 0x00, 0x22, 0x00, // contentEncoding(3) "", contentType(4) ""
  ]);
  assert.deepEqual(decodeKubeProtobuf(bytes), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'user12' } });
});

test('decodeKubeProtobuf() reads hand-written Secret, Service and Job field numbers', () => {
  // Secret: metadata(1){name(1), namespace(3), labels(11)}, data(2) map<string,bytes>, type(3).
  const secret = [
    ...lenField(1, [...lenField(1, ascii('s1')), ...lenField(3, ascii('ns')), ...lenField(11, [...lenField(1, ascii('a')), ...lenField(2, [])])]),
    ...lenField(2, [...lenField(1, ascii('k')), ...lenField(2, [0x00, 0xff, 0x10])]),
    ...lenField(3, ascii('Opaque')),
  ];
  assert.deepEqual(decodeKubeProtobuf(body('v1', 'Secret', secret)), {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1', namespace: 'ns', labels: { a: '' } }, data: { k: 'AP8Q' }, type: 'Opaque',
  });
  // ServiceSpec.ports(1) ServicePort{name(1), protocol(2), port(3), targetPort(4) IntOrString{type(1), intVal(2), strVal(3)}, nodePort(5)}.
  const port = (target: number[]): number[] => lenField(1, [...lenField(1, ascii('p')), ...lenField(2, ascii('TCP')), ...tag(3, 0), 80, ...lenField(4, target), ...tag(5, 0), 0]);
  const svc = [...lenField(2, [
    ...port([...tag(1, 0), 0, ...tag(2, 0), ...varint(8080), ...lenField(3, [])]),
    ...port([...tag(1, 0), 1, ...tag(2, 0), 0, ...lenField(3, ascii('http'))]),
    ...lenField(2, [...lenField(1, ascii('app')), ...lenField(2, ascii('web'))]), // selector(2)
    ...lenField(4, ascii('ClusterIP')), // type(4)
  ])];
  assert.deepEqual(decodeKubeProtobuf(body('v1', 'Service', svc)), {
    apiVersion: 'v1', kind: 'Service',
    spec: {
      ports: [{ name: 'p', protocol: 'TCP', port: 80, targetPort: 8080 }, { name: 'p', protocol: 'TCP', port: 80, targetPort: 'http' }],
      selector: { app: 'web' }, type: 'ClusterIP',
    },
  });
  // JobSpec: parallelism(1) and backoffLimit(7) are Go pointers, so a zero on the wire is kept; creationTimestamp(8) is a Time.
  const job = [
    ...lenField(1, [...lenField(1, ascii('j')), ...lenField(8, [...tag(1, 0), ...varint(1700000000)]), ...tag(7, 0), 0]),
    ...lenField(2, [...tag(1, 0), 0, ...tag(7, 0), 0, ...tag(2, 0), 3]),
  ];
  assert.deepEqual(decodeKubeProtobuf(body('batch/v1', 'Job', job)), {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', creationTimestamp: '2023-11-14T22:13:20Z' },
    spec: { parallelism: 0, backoffLimit: 0, completions: 3 },
  });
});

test('decodeKubeProtobuf() turns every captured kubectl 1.32 body into the JSON kubectl stands for', () => {
  for (const c of captures) {
    assert.deepEqual(decodeKubeProtobuf(Buffer.from(c.hex, 'hex')), c.json, c.command);
  }
});

const roundTrips: Array<[string, Json]> = [
  ['Deployment', {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'userlist2', namespace: 'user11', labels: { app: 'userlist2' } },
    spec: { replicas: 2, selector: { matchLabels: { app: 'userlist2' } }, template: { metadata: { labels: { app: 'userlist2' } }, spec: { containers: [{ name: 'userlist', image: 'ssongman/userlist:v1' }] } } },
  }],
  ['Deployment', {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'zero' },
    spec: { replicas: 0, selector: { matchLabels: { app: 'zero' } }, template: { spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  }],
  ['Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'user12' } }],
  ['Secret', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { password: Buffer.from('s3cr3t\u0000\u00ff').toString('base64'), empty: '' }, type: 'Opaque' }],
  ['ConfigMap', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', annotations: { note: 'x' } }, data: { a: '1', b: '' }, binaryData: { bin: 'AQID' }, immutable: false }],
  ['Service', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' },
    spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ name: 'a', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30080 }, { name: 'b', port: 81, targetPort: 'http' }] },
  }],
  ['Ingress', {
    apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'ing' },
    spec: {
      ingressClassName: 'nginx', tls: [{ hosts: ['foo.com'], secretName: 'cert' }],
      rules: [{ host: 'foo.com', http: { paths: [{ path: '/bar', pathType: 'Prefix', backend: { service: { name: 'svc1', port: { number: 8080 } } } }] } }],
    },
  }],
  ['Pod', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', creationTimestamp: '2024-05-01T10:20:30Z' },
    spec: {
      restartPolicy: 'Always', nodeSelector: { disk: 'ssd' }, automountServiceAccountToken: false,
      volumes: [{ name: 'cache', emptyDir: {} }, { name: 'cfg', configMap: { name: 'cm', items: [{ key: 'k', path: 'p' }], defaultMode: 420 } }, { name: 'sec', secret: { secretName: 's', optional: true } }],
      initContainers: [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'true'] }],
      containers: [{
        name: 'app', image: 'nginx', args: ['-v'], ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
        env: [{ name: 'A', value: '1' }, { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
        envFrom: [{ configMapRef: { name: 'cm' } }, { prefix: 'X_', secretRef: { name: 's', optional: false } }],
        resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '100m' } },
        volumeMounts: [{ name: 'cache', mountPath: '/cache', readOnly: true }],
        livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 3, periodSeconds: 10 },
        readinessProbe: { tcpSocket: { port: 80 } },
        securityContext: { runAsUser: 0, runAsNonRoot: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        imagePullPolicy: 'IfNotPresent',
      }],
    },
  }],
  ['Job', {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' },
    spec: { backoffLimit: 0, completions: 1, parallelism: 1, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'j', image: 'busybox' }] } } },
  }],
  ['HorizontalPodAutoscaler', {
    apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'h' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'd' }, minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50 },
  }],
  ['ResourceQuota', { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { cpu: '1', pods: '2' }, scopes: ['BestEffort'] } }],
  ['ServiceAccount', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa' }, automountServiceAccountToken: true }],
  ['TokenRequest', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['api'], expirationSeconds: 600, boundObjectRef: { kind: 'Pod', name: 'p', uid: 'u' } } }],
  // What `kubectl auth can-i create pods`, `can-i get /healthz`, `can-i --list` and `auth whoami` send.
  ['SelfSubjectAccessReview', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace: 'default', verb: 'create', resource: 'pods' } } }],
  ['SelfSubjectAccessReview', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { nonResourceAttributes: { path: '/healthz', verb: 'get' } } }],
  ['SelfSubjectRulesReview', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: 'default' } }],
  ['SelfSubjectReview', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: { name: 'me' } }],
];

for (const [message, obj] of roundTrips) {
  test(`decodeKubeProtobuf() round-trips a ${message} ${JSON.stringify(obj.metadata ?? {})}, with and without Go zero values`, () => {
    assert.deepEqual(decodeKubeProtobuf(encodeKubeBody(obj, message)), obj);
    assert.deepEqual(decodeKubeProtobuf(encodeKubeBody(obj, message, { goZeros: true })), obj);
  });
}

test('decodeKubeProtobuf() skips unknown fields of every wire type', () => {
  const unknown = [...tag(99, 0), ...varint(-1), ...tag(98, 1), 1, 2, 3, 4, 5, 6, 7, 8, ...tag(97, 5), 1, 2, 3, 4, ...lenField(96, [1, 2, 3])];
  const raw = [...unknown, ...lenField(1, [...unknown, ...lenField(1, ascii('user12')), ...unknown])];
  // A known field with the wrong wire type is unknown too (name(1) as a varint); metadata sent twice is merged.
  raw.push(...lenField(1, [...tag(1, 0), 5]));
  assert.deepEqual(decodeKubeProtobuf(body('v1', 'Namespace', raw)), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'user12' } });
});

test('decodeKubeProtobuf() keeps map keys such as __proto__ as plain data', () => {
  const raw = lenField(1, lenField(11, [...lenField(1, ascii('__proto__')), ...lenField(2, ascii('x'))]));
  const out = decodeKubeProtobuf(body('v1', 'Namespace', raw)) as { metadata: { labels: Json } };
  assert.equal(Object.getPrototypeOf(out.metadata.labels), Object.prototype);
  assert.deepEqual(Object.keys(out.metadata.labels), ['__proto__']);
});

test('decodeKubeProtobuf() rejects bad input with ProtobufError', () => {
  const cases: Array<[Uint8Array, RegExp]> = [
    [Buffer.from('{}'), /does not start with/],
    [body('apps/v1', 'ControllerRevision', []), /unsupported kind "apps\/v1, Kind=ControllerRevision"/],
    [body('', '', []), /missing typeMeta/],
    [Uint8Array.from([...MAGIC, 0x0a, 0x20, 0x0a]), /truncated/],
    [Uint8Array.from([...MAGIC, 0x0a, 0x02, 0x0a]), /truncated/],
    [Uint8Array.from([...MAGIC, 0x0b]), /unsupported wire type 3/],
    [Uint8Array.from([...MAGIC, ...Array(11).fill(0xff)]), /longer than 10 bytes/],
    [Uint8Array.from([...MAGIC, 0x00]), /invalid field number at byte 4/],
    [body('v1', 'Namespace', lenField(1, lenField(8, [...tag(1, 0), ...varint(1e15)]))), /time at byte \d+ is out of range/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => decodeKubeProtobuf(bytes), (err: unknown) => isProtobufError(err) && message.test((err as Error).message), String(message));
  }
  assert.match(String(captureError(Uint8Array.from([...MAGIC, 0x0a, 0x20]))), /^ProtobufError: cannot decode protobuf body: /);
});

function captureError(bytes: Uint8Array): unknown {
  try {
    decodeKubeProtobuf(bytes);
  } catch (err) {
    return err;
  }
  return undefined;
}

test('decodeKubeProtobuf() either decodes or throws ProtobufError on 5,000 random and mutated bodies', () => {
  const rand = seededRandom(0x5eed);
  const int = (n: number): number => Math.floor(rand() * n);
  const seeds = [...captures.map((c) => Buffer.from(c.hex, 'hex')), ...roundTrips.map(([m, o]) => Buffer.from(encodeKubeBody(o, m, { goZeros: true })))];
  const kinds = roundTrips.map(([, o]) => [String(o.apiVersion), String(o.kind)]);
  const started = performance.now();
  let decoded = 0;
  for (let i = 0; i < 5000; i++) {
    let bytes: Uint8Array;
    const mode = i % 5;
    const noise = (): number[] => Array.from({ length: int(200) }, () => int(256));
    if (mode === 0) bytes = Uint8Array.from([...MAGIC, ...noise()]);
    else if (mode === 4) {
      // Random bytes as the raw object of a supported kind reach deep into the message decoder.
      const [apiVersion, kind] = kinds[int(kinds.length)];
      bytes = body(apiVersion, kind, noise());
    } else {
      const b = Uint8Array.from(seeds[int(seeds.length)]);
      if (mode === 1) for (let k = 1 + int(4); k > 0; k--) b[4 + int(b.length - 4)] ^= 1 << int(8);
      else if (mode === 2) for (let k = 1 + int(4); k > 0; k--) b[4 + int(b.length - 4)] = int(256);
      bytes = mode === 3 ? b.subarray(0, 4 + int(b.length - 4)) : b;
    }
    try {
      decodeKubeProtobuf(bytes);
      decoded++;
    } catch (err) {
      if (!isProtobufError(err)) assert.fail(`body ${i} (${Buffer.from(bytes).toString('hex')}) threw ${String(err)}`);
    }
  }
  assert.ok(decoded > 0, 'some mutated bodies should still decode');
  assert.ok(performance.now() - started < 5000, 'fuzzing should take well under five seconds');
});
