/**
 * Skiff's built-in images: the apps the course deploys, each runnable as `skiff app <id> [args]`.
 * The node agent maps image names to these ids (src/node/images.ts); this file only runs them.
 */
// Each app is imported only when it runs: a pod's process then loads one app's code, not five
// (every pod is its own process, so this is startup time and memory per pod).
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

/** Runs a built-in app in this process until SIGTERM/SIGINT; resolves with the exit code. */
export async function runApp(id: string, args: string[], env: Env, out: (line: string) => void): Promise<number> {
  try {
    return await runAppInner(id, args, env, out);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
    // The one failure users cause most: two containers (or a host program) on one address and port.
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
      const why = err.code === 'EADDRINUSE' ? 'the port is already in use (another container of this pod, or a program on this machine, listens there)' : 'permission denied (ports below 1024 need root)';
      process.stderr.write(`${id}: cannot listen on ${err.address ?? env.SKIFF_LISTEN_IP ?? env.POD_IP ?? '127.0.0.1'}:${err.port ?? env.PORT ?? ''}: ${why}\n`);
      return 1;
    }
    throw e;
  }
}

async function runAppInner(id: string, args: string[], env: Env, out: (line: string) => void): Promise<number> {
  // In a pod with a sidecar the app listens on the pod's app address; the sidecar has the pod IP.
  const host = env.SKIFF_LISTEN_IP || env.POD_IP || '127.0.0.1';
  const port = (dflt: number): number => (env.PORT ? Number(env.PORT) : dflt);
  const log = (line: string): void => out(`${line}\n`);
  let running: { close(): Promise<void> } | undefined;
  switch (id) {
    case 'userlist':
      running = await (await import('./userlist/index.ts')).start({ host, port: port(apps.userlist.port), env, log });
      break;
    case 'httpbin':
      running = await (await import('./httpbin/index.ts')).start({ host, port: port(apps.httpbin.port), env, log });
      break;
    case 'hello':
      running = await (await import('./hello/index.ts')).start({ host, port: port(apps.hello.port), env, log });
      break;
    case 'fortio':
      // `fortio server` or no args runs the server; anything else is the CLI (load, curl, ...).
      if (args.length && args[0] !== 'server') return (await import('./fortio/index.ts')).fortioCli(args, { stdout: out, stderr: (s) => process.stderr.write(s), env });
      running = await (await import('./fortio/index.ts')).start({ host, port: port(apps.fortio.port), env, log });
      break;
    case 'bookinfo': {
      const service = args[0] as BookinfoService;
      if (!['productpage', 'details', 'reviews', 'ratings'].includes(service)) throw new Error(`unknown bookinfo service "${args[0] ?? ''}": expected productpage, details, reviews or ratings`);
      running = await (await import('./bookinfo/index.ts')).start({ host, port: port(apps.bookinfo.port), env, log, service, version: args[1] });
      break;
    }
    case 'sleep':
      break;
    default:
      throw new Error(`unknown app "${id}": built-in apps are ${Object.keys(apps).join(', ')}`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
    // A sleeping container keeps the event loop alive with one idle timer.
    if (!running) setInterval(() => {}, 1 << 30);
  });
  await running?.close();
  return 0;
}
