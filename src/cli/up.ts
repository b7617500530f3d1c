/**
 * `skiff up`: opens the store, starts the API server and controllers, writes a kubeconfig, and runs
 * until SIGINT/SIGTERM. A lock file keeps two Skiffs off one data dir.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Store } from '../store/index.ts';
import { AdmissionDenied, ApiServer, Registry, ensurePki } from '../api/index.ts';
import { installAdmission, startControllers } from '../controllers/index.ts';
import { NodeAgent } from '../node/index.ts';
import { installPodStreams } from '../node/streams/index.ts';
import { ServiceProxy } from '../net/index.ts';
import { IngressController } from '../net/ingress/index.ts';
import { realpathSync } from 'node:fs';
import { seed } from './seed.ts';
import { ControlPlane, injectionAdmission, MeshSettingsError, tracingSettings, type MeshWorld } from '../mesh/control/index.ts';
import { istioCrds, validateIstioObject, webhookDenialMessage } from '../mesh/config/index.ts';

import { parseFlags, UsageError } from './args.ts';
import { upFlags } from './flags.ts';


/** Defaults for `skiff up`, applied once. */
export const upDefaults = { apiPort: 6443, host: '127.0.0.1' };

export interface SkiffOptions {
  dataDir: string;
  apiPort: number;
  host: string;
  ingressPort?: number;
  /** Mesh-wide settings (tracing collector and sampling). */
  mesh?: MeshWorld['mesh'];
}

/** A running Skiff: close() stops everything it started; idempotent. */
export interface Skiff {
  apiPort: number;
  ingressPort: number;
  kubeconfig: string;
  close(): Promise<void>;
}

class DataDirLock {
  #path: string;
  #held = false;
  constructor(dir: string) {
    this.#path = join(dir, 'skiff.lock');
  }

  acquire(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.#path, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        this.#held = true;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const pid = Number(readFileSync(this.#path, 'utf8').trim());
        if (pid && pid !== process.pid && alive(pid)) {
          throw new UsageError(`data dir ${resolve(this.#path, '..')} is in use by another skiff (pid ${pid}); stop it first, or pass --data-dir for a separate cluster`);
        }
        // Left behind by a Skiff that was killed: take it over.
        rmSync(this.#path, { force: true });
      }
    }
    throw new UsageError(`cannot lock data dir: ${this.#path}`);
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    rmSync(this.#path, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function kubeconfigText(server: string, caPem: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: skiff',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'contexts:',
    '- name: skiff',
    '  context:',
    '    cluster: skiff',
    '    user: skiff-admin',
    'current-context: skiff',
    'preferences: {}',
    'users:',
    '- name: skiff-admin',
    '  user:',
    `    token: ${token}`,
    '',
  ].join('\n');
}

/** The program pods' built-in apps run as: this very skiff (bin/skiff.js), wherever it was started from. */
function skiffBinPath(): string {
  return process.env.SKIFF_BIN ?? realpathSync(process.argv[1]);
}

/** Starts Skiff in this process. */
export async function startSkiff(opts: SkiffOptions): Promise<Skiff> {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const lock = new DataDirLock(opts.dataDir);
  lock.acquire();
  const closers: Array<() => unknown> = [() => lock.release()];
  const close = async (): Promise<void> => {
    while (closers.length) await closers.pop()!();
  };
  try {
    const tokenPath = join(opts.dataDir, 'token');
    if (!existsSync(tokenPath)) writeFileSync(tokenPath, randomBytes(24).toString('hex'), { mode: 0o600 });
    const token = readFileSync(tokenPath, 'utf8').trim();
    const connectHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
    const pkiPromise = ensurePki(opts.dataDir, { dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', hostname()], ips: [...new Set(['127.0.0.1', '127.43.0.1', connectHost])] });
    const store = new Store(join(opts.dataDir, 'skiff.db'));
    closers.push(() => store.close());
    const registry = new Registry(store);
    installAdmission(registry);
    // Istio's validating webhook (validation.istio.io) on every Istio kind, on create and update.
    for (const crd of istioCrds()) {
      registry.addValidation(`${crd.spec?.names?.plural}.${crd.spec?.group}`, (obj) => {
        const r = validateIstioObject(obj);
        if (r.errors.length) throw new AdmissionDenied(webhookDenialMessage(r));
      });
    }
    registry.addAdmission('pods', injectionAdmission((ns) => {
      try {
        return registry.getSync('namespaces', undefined, ns).metadata.labels;
      } catch {
        return undefined;
      }
    }));
    const nodeName = hostname().toLowerCase().replace(/[^a-z0-9.-]/g, '-') || 'skiff';
    const pki = await pkiPromise;
    const server = new ApiServer(registry, { host: opts.host, port: opts.apiPort, tls: { key: pki.keyPem, cert: pki.certPem }, tokens: [token] });
    const apiPort = await server.listen();
    closers.push(() => server.close());
    seed(registry, { apiPort });
    const controllers = startControllers(registry, { nodeName, registry });
    closers.push(() => controllers.close());
    // Networking before the node agent, so a pod's proxy and its services answer as soon as it runs.
    const net = new ServiceProxy({ client: registry });
    await net.start();
    closers.push(() => net.close());
    const ingress = new IngressController({ client: registry, picker: net, port: opts.ingressPort });
    const ingressPort = await ingress.start();
    closers.push(() => ingress.close());
    // The mesh control plane before the node agent: sidecars connect to it as soon as they start.
    const mesh = new ControlPlane({ client: registry, mesh: opts.mesh });
    await mesh.start();
    closers.push(() => mesh.close());
    const agent = new NodeAgent({ client: registry, nodeName, dataDir: opts.dataDir, skiffBin: skiffBinPath(), mesh: { address: mesh.address, token: mesh.token }, reaper: true });
    installPodStreams(server, { client: registry, runtime: agent });
    await agent.start();
    // Closed first of all (closers run last-in first-out): every pod process ends before the rest.
    closers.push(() => agent.close());
    const kubeconfig = join(opts.dataDir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigText(`https://${connectHost.includes(':') ? `[${connectHost}]` : connectHost}:${apiPort}`, pki.caPem, token), { mode: 0o600 });
    return { apiPort, ingressPort, kubeconfig, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** `skiff up`: runs until a signal, then shuts down cleanly. */
export async function up(argv: string[]): Promise<number> {
  // A closed stdout (`skiff up | head`) must not take the cluster down with EPIPE.
  process.stdout.on('error', () => {});
  const { flags, rest } = parseFlags(argv, upFlags);
  if (rest.length) throw new UsageError(`unexpected argument: ${rest[0]}`);
  const dataDir = resolve(String(flags['data-dir'] ?? join(homedir(), '.skiff')));
  const started = Date.now();
  // Signals are caught from the start: a stop asked for while Skiff is still starting waits for the
  // start to finish and then closes everything, so no pod process it spawned meanwhile is left behind.
  let stopRequested: (() => void) | undefined;
  let stopEarly = false;
  const onSignal = (): void => {
    if (stopRequested) stopRequested();
    else stopEarly = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let mesh: SkiffOptions['mesh'];
  try {
    if (flags['tracing-url']) mesh = tracingSettings(String(flags['tracing-url']), { samplingPercent: flags['tracing-sampling'] === undefined ? undefined : Number(flags['tracing-sampling']) });
  } catch (e) {
    if (e instanceof MeshSettingsError) throw new UsageError(e.message);
    throw e;
  }
  const skiff = await startSkiff({
    mesh,
    dataDir,
    apiPort: (flags['api-port'] as number | undefined) ?? upDefaults.apiPort,
    host: (flags.host as string | undefined) ?? upDefaults.host,
    ingressPort: flags['ingress-port'] as number | undefined,
  });
  process.stdout.write(
    [
      `Skiff is up in ${Date.now() - started} ms: Kubernetes API v1.32 at https://${(flags.host as string | undefined) ?? upDefaults.host}:${skiff.apiPort}`,
      `  data dir: ${dataDir}`,
      `  ingress:  http://127.0.0.1:${skiff.ingressPort} (route by Host header, e.g. curl -H 'Host: app.user11.127.0.0.1.nip.io' ...)`,
      '',
      'Point kubectl at it:',
      `  export KUBECONFIG=${skiff.kubeconfig}`,
      '  kubectl get ns',
      '',
      'Stop with Ctrl-C.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolveStop) => {
    let stopping = false;
    stopRequested = (): void => {
      if (stopping) return;
      stopping = true;
      skiff.close().then(resolveStop, resolveStop);
    };
    if (stopEarly) stopRequested();
  });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.stdout.write('Skiff stopped.\n');
  return 0;
}
