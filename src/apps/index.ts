/**
 * Skiff's built-in images: the apps the course deploys, each runnable as `skiff app <id> [args]`.
 * The node agent maps image names to these ids (src/node/images.ts); this file only runs them, either
 * one app per process (runApp) or many in one process (startApp, used by the node agent's app host).
 */
// Each app is imported only when it runs: a `skiff app` process then loads one app's code, not five.
import type { BookinfoService } from './bookinfo/index.ts';

type Env = Record<string, string | undefined>;

/** The app ids `skiff app` runs, with the port each listens on by default. */
export const apps: Record<string, { port: number; about: string }> = {
  userlist: { port: 8181, about: 'ssongman/userlist: the course user list (JSON API and HTML page)' },
  httpbin: { port: 80, about: 'httpbin: HTTP request and response service' },
  hello: { port: 8080, about: 'honester/hello-server: Hello server - VERSION, RANDOM_ERROR, LOG' },
  fortio: { port: 8080, about: 'fortio/fortio: echo server; `fortio load|curl` client' },
  bookinfo: { port: 9080, about: 'Istio Bookinfo: productpage, details, reviews v1-v3, ratings' },
  sleep: { port: 0, about: 'tool images (curl, busybox, alpine, ubuntu) with no command: sleeps' },
};

/** Where an app writes what its process would print. */
export interface AppIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** A started server app: stopping it closes its listener and drops its connections. */
export interface StartedApp {
  close(): Promise<void>;
}

const bookinfoServices = ['productpage', 'details', 'reviews', 'ratings'];

/**
 * True when `id args` is a long-running server that listens and answers until stopped (what the app
 * host can run next to others); false for clients that run to completion (`fortio load ...`).
 */
export function serverApp(id: string, args: readonly string[]): boolean {
  switch (id) {
    case 'userlist':
    case 'httpbin':
    case 'hello':
      return true;
    case 'fortio':
      return !args.length || args[0] === 'server';
    case 'bookinfo':
      return bookinfoServices.includes(args[0] ?? '');
    default:
      return false;
  }
}

/**
 * Starts a built-in app with its env: a server resolves once it listens (its handle), a client resolves
 * with its exit code when done. A listen failure is written to io.stderr as the standalone app prints
 * it, and resolves 1. Env comes only from `env`: several apps may share one process.
 */
export async function startApp(id: string, args: string[], env: Env, io: AppIO): Promise<StartedApp | number> {
  try {
    return await startInner(id, args, env, io);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
    // The one failure users cause most: two containers (or a host program) on one address and port.
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
      const why = err.code === 'EADDRINUSE' ? 'the port is already in use (another container of this pod, or a program on this machine, listens there)' : 'permission denied (ports below 1024 need root)';
      io.stderr(`${id}: cannot listen on ${err.address ?? env.SKIFF_LISTEN_IP ?? env.POD_IP ?? '127.0.0.1'}:${err.port ?? env.PORT ?? ''}: ${why}\n`);
      return 1;
    }
    throw e;
  }
}

/** Runs a built-in app in this process until SIGTERM/SIGINT; resolves with the exit code. */
export async function runApp(id: string, args: string[], env: Env, out: (line: string) => void): Promise<number> {
  const started = await startApp(id, args, env, { stdout: out, stderr: (s) => process.stderr.write(s) });
  if (typeof started === 'number') return started;
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
    // A sleeping container keeps the event loop alive with one idle timer.
    if (id === 'sleep') setInterval(() => {}, 1 << 30);
  });
  await started.close();
  return 0;
}

const nothingToClose: StartedApp = { close: () => Promise.resolve() };

async function startInner(id: string, args: string[], env: Env, io: AppIO): Promise<StartedApp | number> {
  // In a pod with a sidecar the app listens on the pod's app address; the sidecar has the pod IP.
  const host = env.SKIFF_LISTEN_IP || env.POD_IP || '127.0.0.1';
  const port = (dflt: number): number => (env.PORT ? Number(env.PORT) : dflt);
  const log = (line: string): void => io.stdout(`${line}\n`);
  switch (id) {
    case 'userlist':
      return (await import('./userlist/index.ts')).start({ host, port: port(apps.userlist.port), env, log });
    case 'httpbin':
      return (await import('./httpbin/index.ts')).start({ host, port: port(apps.httpbin.port), env, log });
    case 'hello':
      return (await import('./hello/index.ts')).start({ host, port: port(apps.hello.port), env, log });
    case 'fortio':
      // `fortio server` or no args runs the server; anything else is the CLI (load, curl, ...).
      if (!serverApp(id, args)) return (await import('./fortio/index.ts')).fortioCli(args, { stdout: io.stdout, stderr: io.stderr, env });
      return (await import('./fortio/index.ts')).start({ host, port: port(apps.fortio.port), env, log });
    case 'bookinfo': {
      if (!serverApp(id, args)) throw new Error(`unknown bookinfo service "${args[0] ?? ''}": expected productpage, details, reviews or ratings`);
      return (await import('./bookinfo/index.ts')).start({ host, port: port(apps.bookinfo.port), env, log, service: args[0] as BookinfoService, version: args[1] });
    }
    case 'sleep':
      return nothingToClose;
    default:
      throw new Error(`unknown app "${id}": built-in apps are ${Object.keys(apps).join(', ')}`);
  }
}
