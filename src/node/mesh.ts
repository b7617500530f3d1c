/**
 * What the node agent does differently for pods with an injected sidecar (DESIGN §3, §4): the
 * `istio-proxy` container runs Skiff's proxy (`skiff proxy sidecar`), connected to the mesh control
 * plane; the app containers listen on the pod's app address (127.44.x.y) instead of the pod IP,
 * which the sidecar takes, and their HTTP_PROXY points at the sidecar's outbound listener.
 */
import { appIPFor } from '../net/index.ts';
import { builtInImage } from './images.ts';
import type { ContainerSpec } from './model.ts';

/** Where a sidecar finds the control plane; set by `skiff up` when the mesh runs. */
export interface MeshEndpoint {
  /** `http://127.0.0.1:<port>` of the control plane's config stream. */
  address: string;
  /** Bearer token the stream requires. */
  token: string;
}

/** The sidecar's outbound listener port (what HTTP_PROXY of the app containers names). */
export const sidecarOutboundPort = 15001;
/** The sidecar's admin port (drain, config dump). */
export const sidecarAdminPort = 15000;

/**
 * Node flags of proxy processes (docs/performance.md):
 * - a 1 MB young generation (V8 grows it to 16 MB under load) keeps a sidecar's resident memory
 *   ~5–8 MB lower at the same CPU per request; a proxy's per-request garbage dies young, so the
 *   smaller nursery costs no measurable CPU;
 * - one V8 worker thread instead of one per core: ~2 MB less (each worker keeps its own malloc
 *   arena), and a sidecar's concurrent marking and compiling fit one thread;
 * - no memory reducer: it runs full GCs once a process goes quiet, which for a sidecar means after
 *   every config change. Without it a one-route delta costs ~2.3 ms of CPU instead of ~3.3 ms (one
 *   delta every 0.7 s), for ~1 MB more idle RSS and the same peak under load;
 * - `gc()` exposed, for the proxy's own bound on old space under sustained load (mesh/proxy/heap.ts);
 * - no startup snapshot: every scavenge visits the snapshot's object cache as roots, and node's
 *   snapshot made that ~2,000 instructions a request (callgrind: 59,2xx -> 57,3xx a request); the
 *   sidecar also stays ~1.7 MB smaller. Starting takes ~30 ms longer (node's bootstrap runs as code).
 */
export const proxyNodeFlags = ['--max-semi-space-size=1', '--v8-pool-size=1', '--no-memory-reducer', '--expose-gc', '--no-node-snapshot'];

/** True when the container runs Skiff's proxy (image istio/proxyv2). */
export function isProxyContainer(spec: ContainerSpec): boolean {
  return builtInImage(spec.image)?.app === 'proxy';
}

/** True when the pod has a sidecar proxy container (and so its apps listen on the app address). */
export function hasProxySidecar(specs: ContainerSpec[]): boolean {
  return specs.some((s) => s.restartPolicy === 'Always' && isProxyContainer(s)) || specs.some((s) => s.name === 'istio-proxy' && isProxyContainer(s));
}

/** The address a container's processes listen on and are probed at. */
export function listenIP(podIP: string, meshed: boolean, spec: ContainerSpec): string {
  return meshed && !isProxyContainer(spec) ? appIPFor(podIP) : podIP;
}

/**
 * Adjusts a container's environment for the mesh: the proxy gets the control plane's address and
 * token and no HTTP_PROXY (it is the proxy); app containers of meshed pods send through the sidecar
 * and are told where to listen. Variables the pod spec sets itself are left alone.
 */
export function applyMeshEnv(env: Record<string, string>, opts: { spec: ContainerSpec; podIP: string; meshed: boolean; mesh: MeshEndpoint | undefined }): void {
  const own = new Set(((opts.spec.env ?? []) as Array<{ name: string }>).map((e) => e.name));
  const set = (k: string, v: string): void => {
    if (!own.has(k)) env[k] = v;
  };
  if (isProxyContainer(opts.spec)) {
    for (const k of ['HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy']) if (!own.has(k)) delete env[k];
    if (opts.mesh) {
      set('SKIFF_XDS_ADDRESS', opts.mesh.address);
      set('SKIFF_XDS_TOKEN', opts.mesh.token);
    }
    set('SKIFF_POD_IP', opts.podIP);
    set('SKIFF_APP_IP', appIPFor(opts.podIP));
    return;
  }
  if (!opts.meshed) return;
  const proxy = `http://${opts.podIP}:${sidecarOutboundPort}`;
  set('HTTP_PROXY', proxy);
  set('http_proxy', proxy);
  set('SKIFF_LISTEN_IP', appIPFor(opts.podIP));
}
