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

/** Creates whatever of the built-in objects is missing; safe to run on every start. */
export function seed(registry: Registry, opts: { apiPort: number }): void {
  for (const name of systemNamespaces) ensure(registry, 'namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  for (const crd of istioCrds()) ensure(registry, 'customresourcedefinitions.apiextensions.k8s.io', undefined, crd);
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
