/**
 * `skiff proxy sidecar|router`: the data-plane process (what Istio's `pilot-agent proxy` + Envoy
 * are). The node agent runs it for `istio/proxyv2` containers with the pod's address and the
 * control plane's stream in its environment; it serves with its last good config whenever the
 * control plane is away, and reconnects.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { boundHeap } from '../mesh/proxy/heap.ts';
import { Proxy, type ProxyConfig } from '../mesh/proxy/index.ts';
import { StreamClient } from '../mesh/stream/index.ts';
import { UsageError } from './args.ts';

/** Structured log line on stderr (the container log), in the spirit of Istio's `<time> <level> <msg>`. */
function event(e: Record<string, unknown>): void {
  const { level = 'info', msg = '', ...rest } = e;
  const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
  process.stderr.write(`${new Date().toISOString()}\t${String(level)}\t${String(msg)}${extra}\n`);
}

/** Runs the proxy until SIGTERM/SIGINT; resolves with the exit code. */
export async function proxyMain(argv: string[]): Promise<number> {
  const mode = argv[0];
  if (mode !== 'sidecar' && mode !== 'router') throw new UsageError(`skiff proxy needs a mode: "sidecar" or "router", not ${JSON.stringify(mode ?? '')}`);
  const env = process.env;
  const podIP = env.SKIFF_POD_IP || env.INSTANCE_IP || env.POD_IP;
  const namespace = env.POD_NAMESPACE;
  const pod = env.POD_NAME || env.HOSTNAME;
  if (!podIP || !namespace || !pod) throw new UsageError('skiff proxy runs inside a pod: SKIFF_POD_IP (or INSTANCE_IP), POD_NAMESPACE and POD_NAME must be set');
  // `--config FILE`: a static ProxyConfig (JSON) instead of the control plane, for benchmarks and for
  // trying a config by hand; the proxy then serves it until stopped.
  const at = argv.indexOf('--config');
  const staticFile = at >= 0 ? argv[at + 1] : undefined;
  if (at >= 0 && !staticFile) throw new UsageError('--config needs a file: a ProxyConfig as JSON');
  const address = env.SKIFF_XDS_ADDRESS;
  const token = env.SKIFF_XDS_TOKEN ?? '';
  if (!address && !staticFile) throw new UsageError('skiff proxy needs the control plane: SKIFF_XDS_ADDRESS is not set (the node agent of `skiff up` sets it), or --config FILE');
  const proxy = new Proxy({
    podIP,
    appIP: mode === 'sidecar' ? env.SKIFF_APP_IP : undefined,
    kind: mode === 'sidecar' ? 'sidecar' : 'gateway',
    log: (line) => process.stdout.write(`${line}\n`),
    logEvent: event,
  });
  // node gives gc() with --expose-gc (the node agent's proxy flags): old space stays within a few MB
  // of what is live under sustained load (mesh/proxy/heap.ts).
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) boundHeap({ gc });
  await proxy.start();
  if (staticFile) await proxy.apply(JSON.parse(readFileSync(staticFile, 'utf8')) as ProxyConfig, 'static');
  const stream = address === undefined ? undefined : new StreamClient({
    address,
    token,
    namespace,
    pod,
    apply: (config, version) => proxy.apply(config, version),
    onState: (s) => proxy.setControlPlaneState(s),
    // While a config is applied, what V8 compiles for the first time becomes baseline (Sparkplug)
    // code instead of staying in the interpreter. The config path runs once per mesh change, never
    // often enough to tier up, and every sidecar of a node runs it on every change. Only then: the
    // flag for the whole process cost 1.9 MB of RSS, and turned on after start-up still 1 MB under
    // load, next to a 60 MB target (docs/performance.md).
    busy: (on) => setFlagsFromString(on ? '--always-sparkplug' : '--no-always-sparkplug'),
    log: event,
  });
  // On from here until the first config is applied (see `busy` above), so that the stream's
  // connection, reads and ACK writes are baseline code as well.
  if (stream) setFlagsFromString('--always-sparkplug');
  stream?.start();
  event({ msg: `proxy ${mode} started`, pod: `${namespace}/${pod}`, podIP });
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  event({ msg: 'proxy stopping: draining' });
  stream?.close();
  await proxy.drainInbound();
  await proxy.close();
  // Pooled keep-alive sockets or timers of the app side must not keep a stopped proxy alive.
  setTimeout(() => process.exit(0), 500).unref();
  return 0;
}
