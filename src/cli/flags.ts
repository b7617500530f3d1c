/** Flags of `skiff up`, apart so `skiff --help` needs no heavy import. */
import type { FlagSpec } from './args.ts';

export const upFlags: FlagSpec[] = [
  { name: 'data-dir', type: 'string', env: 'SKIFF_DATA_DIR', help: 'where state, certificates and the kubeconfig live (default ~/.skiff, env SKIFF_DATA_DIR)' },
  { name: 'api-port', type: 'number', help: 'HTTPS port of the Kubernetes API (default 6443; 0 picks a free port)' },
  { name: 'ingress-port', type: 'number', help: 'port of the ingress controller (default 80 when allowed, else 8080)' },
  { name: 'host', type: 'string', help: 'address the API listens on (default 127.0.0.1)' },
  { name: 'tracing-url', type: 'string', env: 'SKIFF_TRACING_URL', help: 'send proxies\' trace spans here: Zipkin (http://127.0.0.1:9411) or OTLP/HTTP (.../v1/traces, port 4318)' },
  { name: 'tracing-sampling', type: 'string', help: 'percent of new traces sampled when --tracing-url is set (default 1, as Istio; the demo profile uses 100)' },
];
