/**
 * `skiff analyze`: Istio 1.27's configuration analyzers (`istioctl analyze`) over a cluster snapshot,
 * with their IST codes, levels and messages, sorted, de-duplicated and filtered by namespace the way
 * istioctl does, and printed in its log format.
 *
 * Implemented analyzers: schema validation (IST0106, IST0133, IST0130, IST0131), injection (IST0102,
 * IST0103, IST0123, IST0148), sidecar selectors (IST0101, IST0110, IST0111, IST0167), service port
 * names (IST0118, IST0150), deployment/service association (IST0116, IST0137), application UID
 * (IST0144), destination rule subsets and hosts (IST0173, IST0174) and CA certificates (IST0128,
 * IST0129), gateway ports, secrets and conflicts (IST0101, IST0162, IST0161, IST0145), virtual
 * service hosts, subsets, ports and gateways (IST0101, IST0112, IST0132, IST0140, IST0109, IST0165),
 * authorization policies (IST0127, IST0101), service entry addresses (IST0134), deprecations (IST0002).
 * Not implemented: annotation, telemetry, webhook, multicluster, Gateway API, EnvoyFilter,
 * JWT-claim-route and condition analyzers.
 */
import type { KObject } from '../../api/types.ts';
import {
  analyzeConflictingGateways, analyzeConflictingMeshHosts, analyzeDestinationHosts, analyzeDestinationRuleCaCerts,
  analyzeDestinationRuleSubsets, analyzeDestinationSubsets, analyzeGatewayPorts, analyzeGatewaySecrets,
  analyzeVirtualServiceGateways,
} from './analyze-mesh.ts';
import { AnalysisContext, goSprintf, type AnalysisLevel, type MessageName, type RawMessage } from './analyze-messages.ts';
import {
  analyzeApplicationUID, analyzeAuthorizationPolicies, analyzeDeploymentServices, analyzeDeprecations, analyzeInjection,
  analyzePortNames, analyzeSchemas, analyzeServiceEntryAddresses, analyzeSidecarSelectors,
} from './analyze-workloads.ts';

/** One finding, as `istioctl analyze` reports it. */
export interface AnalysisMessage {
  /** `IST0101`. */
  code: string;
  level: AnalysisLevel;
  /** The message type's name, e.g. `ReferencedResourceNotFound`. */
  name: MessageName;
  /** `Kind namespace/name` (`Kind name` for cluster-scoped objects), e.g. `VirtualService user11/reviews`. */
  resource: string;
  message: string;
}

/** Options of `analyze`. */
export interface AnalyzeOptions {
  /** Only report on this namespace (istioctl's `-n`); default `default`. */
  namespace?: string;
  /** Report on every namespace (istioctl's `-A`). */
  allNamespaces?: boolean;
  /** The clock certificate validity is checked against. */
  now?: Date;
}

/** The Istio kinds the webhook validates, which the schema analyzers cover. */
const ISTIO_KINDS = [
  'networking.istio.io/VirtualService', 'networking.istio.io/DestinationRule', 'networking.istio.io/Gateway',
  'networking.istio.io/ServiceEntry', 'networking.istio.io/Sidecar', 'networking.istio.io/WorkloadEntry',
  'networking.istio.io/WorkloadGroup', 'networking.istio.io/ProxyConfig', 'security.istio.io/AuthorizationPolicy',
  'security.istio.io/PeerAuthentication', 'security.istio.io/RequestAuthentication', 'telemetry.istio.io/Telemetry',
];

const LEVEL_ORDER: Record<AnalysisLevel, number> = { Error: 0, Warning: 1, Info: 2 };

/** The namespace a message is filed under (a Namespace's own name for Namespaces). */
function originNamespace(m: RawMessage): string {
  return m.resource.key === '/Namespace' ? m.resource.name : m.resource.namespace;
}

/** Runs every analyzer over `objects` (every object in the cluster) and returns istioctl's output order. */
export function analyze(objects: readonly KObject[], opts: AnalyzeOptions = {}): AnalysisMessage[] {
  const ctx = new AnalysisContext(objects);
  analyzeAuthorizationPolicies(ctx);
  analyzeDeploymentServices(ctx);
  analyzeApplicationUID(ctx);
  analyzeDestinationRuleCaCerts(ctx);
  analyzeDestinationRuleSubsets(ctx);
  analyzeDeprecations(ctx);
  analyzeGatewayPorts(ctx);
  analyzeGatewaySecrets(ctx, opts.now ?? new Date());
  analyzeConflictingGateways(ctx);
  analyzeInjection(ctx);
  analyzePortNames(ctx);
  analyzeSidecarSelectors(ctx);
  analyzeConflictingMeshHosts(ctx);
  analyzeDestinationHosts(ctx);
  analyzeDestinationSubsets(ctx);
  analyzeVirtualServiceGateways(ctx);
  analyzeServiceEntryAddresses(ctx);
  analyzeSchemas(ctx, ISTIO_KINDS);

  const namespace = opts.namespace ?? 'default';
  const kept = ctx.messages().filter((m) => {
    const ns = originNamespace(m);
    if (!opts.allNamespaces && ns !== '' && ns !== namespace) return false;
    const suppress = m.resource.annotations['galley.istio.io/analyze-suppress'];
    return !suppress || !suppress.split(',').some((c) => c === '*' || c === m.type.code);
  });
  const rows = kept.map((m) => {
    const r = m.resource;
    const message: AnalysisMessage = {
      code: m.type.code,
      level: m.type.level,
      name: m.name,
      resource: r.key === '/Namespace' || r.namespace === '' ? `${r.kind} ${r.name}` : `${r.kind} ${r.namespace}/${r.name}`,
      message: goSprintf(m.type.template, m.args),
    };
    return { message, comparator: `${r.kind}/${r.name}/${r.key === '/Namespace' ? '' : r.namespace}`, line: formatLine(message) };
  });
  // diag.Messages.Sort: level, code, resource (Kind/name/namespace), then the printed line.
  rows.sort((a, b) =>
    LEVEL_ORDER[a.message.level] - LEVEL_ORDER[b.message.level] ||
    compare(a.message.code, b.message.code) ||
    compare(a.comparator, b.comparator) ||
    compare(a.line, b.line));
  const out: AnalysisMessage[] = [];
  let last = '';
  for (const row of rows) {
    if (row.line === last) continue;
    last = row.line;
    out.push(row.message);
  }
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function formatLine(m: AnalysisMessage): string {
  return `${m.level} [${m.code}] (${m.resource}) ${m.message}`;
}

/** What istioctl calls the analyzed target: `namespace: <ns>` or `all namespaces`. */
function target(opts: AnalyzeOptions): string {
  return opts.allNamespaces ? 'all namespaces' : `namespace: ${opts.namespace ?? 'default'}`;
}

/**
 * `istioctl analyze`'s output: one `Level [CODE] (Kind ns/name) message` line per finding, or, when
 * there is none, `✔ No validation issues found when analyzing namespace: <ns>.` (istioctl prints
 * the lines on stdout and the ✔ line on stderr).
 */
export function formatAnalysis(msgs: readonly AnalysisMessage[], opts: AnalyzeOptions = {}): string {
  if (msgs.length === 0) return `\u2714 No validation issues found when analyzing ${target(opts)}.`;
  return msgs.map(formatLine).join('\n');
}

/**
 * The error istioctl ends with (exit code 1) when a finding is at Error level (its default
 * `--failure-threshold`), or undefined when analysis passes.
 */
export function analysisFailure(msgs: readonly AnalysisMessage[], opts: AnalyzeOptions = {}): string | undefined {
  if (!msgs.some((m) => m.level === 'Error')) return undefined;
  return `Analyzers found issues when analyzing ${target(opts)}.\nSee https://istio.io/v1.27/docs/reference/config/analysis for more information about causes and resolutions.`;
}
