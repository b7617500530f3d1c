/** What every Skiff cluster has from its first start: system namespaces, the Istio CRDs, the traefik IngressClass and the `kubernetes` Service. */
import { ApiError, type KObject, type Registry } from '../api/index.ts';
import { istioCrds } from '../mesh/config/index.ts';

/** Namespaces that exist in every Skiff cluster. */
export const systemNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'istio-system', 'istio-ingress'];

function ensure(registry: Registry, res: string, ns: string | undefined, obj: KObject): void {
  // Look first: admission of a CRD compiles its schemas, which a warm start must not pay for.
  if (registry.store.get(res, ns ?? '', obj.metadata.name ?? '')) return;
  try {
    registry.createSync(res, ns, obj);
  } catch (e) {
    if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
  }
}

const gatewayLabels = { app: 'istio-ingressgateway', istio: 'ingressgateway' };

function fieldEnv(name: string, fieldPath: string): Record<string, unknown> {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

/**
 * Istio's ingress gateway as the `default` profile installs it (here in `istio-ingress`, as the
 * course's Helm install does): a Deployment of the proxy image in router mode and a LoadBalancer
 * Service on 80, 443 and 15021 (targets 8080, 8443, 15021).
 */
function ingressGateway(): KObject[] {
  const probe = { httpGet: { path: '/healthz/ready', port: 15021, scheme: 'HTTP' }, periodSeconds: 2, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 30 };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'istio-ingressgateway', namespace: 'istio-ingress', labels: gatewayLabels } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'istio-ingressgateway', namespace: 'istio-ingress', labels: gatewayLabels },
      spec: {
        replicas: 1,
        selector: { matchLabels: gatewayLabels },
        template: {
          metadata: { labels: { ...gatewayLabels, 'sidecar.istio.io/inject': 'false', 'service.istio.io/canonical-name': 'istio-ingressgateway', 'service.istio.io/canonical-revision': 'latest' } },
          spec: {
            serviceAccountName: 'istio-ingressgateway',
            containers: [
              {
                name: 'istio-proxy',
                image: 'docker.io/istio/proxyv2:1.27.1',
                args: ['proxy', 'router', '--domain', '$(POD_NAMESPACE).svc.cluster.local', '--proxyLogLevel=warning', '--log_output_level=default:info'],
                env: [fieldEnv('POD_NAME', 'metadata.name'), fieldEnv('POD_NAMESPACE', 'metadata.namespace'), fieldEnv('INSTANCE_IP', 'status.podIP'), fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'), { name: 'ISTIO_META_WORKLOAD_NAME', value: 'istio-ingressgateway' }, { name: 'ISTIO_META_ROUTER_MODE', value: 'standard' }],
                ports: [
                  { containerPort: 15021, name: 'status-port', protocol: 'TCP' },
                  { containerPort: 8080, name: 'http2', protocol: 'TCP' },
                  { containerPort: 8443, name: 'https', protocol: 'TCP' },
                  { containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' },
                ],
                readinessProbe: probe,
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'istio-ingressgateway', namespace: 'istio-ingress', labels: gatewayLabels },
      spec: {
        type: 'LoadBalancer',
        selector: gatewayLabels,
        ports: [
          { name: 'status-port', port: 15021, protocol: 'TCP', targetPort: 15021 },
          { name: 'http2', port: 80, protocol: 'TCP', targetPort: 8080 },
          { name: 'https', port: 443, protocol: 'TCP', targetPort: 8443 },
        ],
      },
    },
  ];
}

const resourceOf: Record<string, string> = { ServiceAccount: 'serviceaccounts', Deployment: 'deployments.apps', Service: 'services' };

/** Creates whatever of the built-in objects is missing; safe to run on every start. */
export function seed(registry: Registry, opts: { apiPort: number; mesh?: boolean }): void {
  for (const name of systemNamespaces) ensure(registry, 'namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  for (const crd of istioCrds()) ensure(registry, 'customresourcedefinitions.apiextensions.k8s.io', undefined, crd);
  if (opts.mesh !== false) for (const o of ingressGateway()) ensure(registry, resourceOf[o.kind ?? ''], o.metadata.namespace, o);
  ensure(registry, 'ingressclasses.networking.k8s.io', undefined, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'traefik', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' }, labels: { 'app.kubernetes.io/name': 'traefik' } },
    spec: { controller: 'traefik.io/ingress-controller' },
  });
  ensure(registry, 'services', 'default', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP: '127.43.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: opts.apiPort }] },
  });
  // The apiserver's own endpoints follow its port, which may change between starts.
  const endpoints: KObject = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port: opts.apiPort, protocol: 'TCP' }] }],
  };
  try {
    const cur = registry.getSync('endpoints', 'default', 'kubernetes');
    if (JSON.stringify(cur.subsets) !== JSON.stringify(endpoints.subsets)) registry.writeSync('endpoints', 'default', { ...cur, subsets: endpoints.subsets }, 'main');
  } catch (e) {
    if (!(e instanceof ApiError && e.reason === 'NotFound')) throw e;
    registry.createSync('endpoints', 'default', endpoints);
  }
}
