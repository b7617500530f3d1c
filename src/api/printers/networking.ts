/** Printers for networking.k8s.io and discovery.k8s.io kinds. */
import type { Printer } from '../types.ts';
import { ageColumn, ageOf, asArray, col, listWithMore, nameColumn, nameOf } from './columns.ts';
import { loadBalancerAddresses } from './core.ts';

/** Rule hosts joined by commas, at most three then ` + N more...`; `*` when no rule names a host. */
export function ingressHosts(rules: unknown): string {
  const list: string[] = [];
  const all = asArray<{ host?: string }>(rules);
  const max = 3;
  let more = false;
  // Mirrors upstream exactly, including counting host-less rules in the "more" total.
  for (const rule of all) {
    if (list.length === max) more = true;
    if (!more && rule.host) list.push(rule.host);
  }
  if (list.length === 0) return '*';
  const ret = list.join(',');
  return more ? `${ret} + ${all.length - max} more...` : ret;
}

/** Printer for ingresses.networking.k8s.io. */
export const ingressPrinter: Printer = {
  columns: [
    nameColumn(),
    col('Class', 'The name of the IngressClass resource that should be used for additional configuration'),
    col('Hosts', 'Hosts that incoming requests are matched against before the ingress rule'),
    col('Address', 'Address is a list containing ingress points for the load-balancer'),
    col('Ports', 'Ports of TLS configurations that open'),
    ageColumn(),
  ],
  cells(ing, now) {
    const spec = ing.spec ?? {};
    const ports = asArray(spec.tls).length > 0 ? '80, 443' : '80';
    return [nameOf(ing), spec.ingressClassName ?? '<none>', ingressHosts(spec.rules), loadBalancerAddresses(ing.status?.loadBalancer), ports, ageOf(ing, now)];
  },
};

/** Printer for ingressclasses.networking.k8s.io. */
export const ingressClassPrinter: Printer = {
  columns: [
    nameColumn(),
    col('Controller', 'Controller that is responsible for handling this class'),
    col('Parameters', 'A reference to a resource with additional parameters'),
    ageColumn(),
  ],
  cells(ic, now) {
    const p = ic.spec?.parameters as { kind?: string; apiGroup?: string; name?: string } | undefined;
    let params = '<none>';
    if (p) params = `${p.kind ?? ''}${p.apiGroup ? `.${p.apiGroup}` : ''}/${p.name ?? ''}`;
    return [nameOf(ic), ic.spec?.controller ?? '', params, ageOf(ic, now)];
  },
};

/** Printer for endpointslices.discovery.k8s.io. */
export const endpointSlicePrinter: Printer = {
  columns: [
    nameColumn(),
    col('AddressType', 'addressType specifies the type of address carried by this EndpointSlice.'),
    col('Ports', 'ports specifies the list of network ports exposed by each endpoint in this slice.'),
    col('Endpoints', 'endpoints is a list of unique endpoints in this slice.'),
    ageColumn(),
  ],
  cells(es, now) {
    const ports = asArray<{ port?: number | null; name?: string | null }>(es.ports).map((p) =>
      typeof p.port === 'number' ? String(p.port) : (p.name ?? '*'),
    );
    const addresses = asArray<{ addresses?: string[] }>(es.endpoints).flatMap((e) => e.addresses ?? []);
    return [nameOf(es), (es.addressType as string | undefined) ?? '', listWithMore(ports, ports.length, 3), listWithMore(addresses, addresses.length, 3), ageOf(es, now)];
  },
};
