/** `skiff <command>`: the program's entry. */
import { UsageError } from './args.ts';
import { upFlags } from './flags.ts';

const usage = `Skiff: a pocket Kubernetes with a built-in service mesh.

Usage:
  skiff up [flags]          start the cluster (API server, store, controllers, node agent)
  skiff app <id> [args]     run a built-in image's app in the foreground (what pods run)
  skiff load [flags] URL    fortio-compatible HTTP load generator (as \`fortio load\`)
  skiff analyze [-n NS|-A]  Istio's config analysis of the cluster (as \`istioctl analyze\`)
  skiff proxy sidecar|router  the mesh proxy of a pod (what istio/proxyv2 containers run)
  skiff version             print the version

Flags for up:
${upFlags.map((f) => `  --${f.name.padEnd(14)} ${f.help}`).join('\n')}
`;

/** Commands whose own flags are Skiff's (app and load pass theirs to the app, as fortio reads -h itself). */
const ownFlags = new Set(['up', 'analyze', 'proxy', 'version']);

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (ownFlags.has(cmd) && rest.some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(usage);
    return 0;
  }
  switch (cmd) {
    case 'up':
      return (await import('./up.ts')).up(rest);
    case 'app': {
      const [id, ...args] = rest;
      if (!id) throw new UsageError('skiff app needs an app id, e.g. skiff app userlist');
      return (await import('../apps/index.ts')).runApp(id, args, process.env, (s) => process.stdout.write(s));
    }
    case 'app-host': {
      // Started by the node agent: the built-in server apps of many containers in this one process.
      const [{ serveAppHost }, { startApp }] = await Promise.all([import('../node/apphost/index.ts'), import('../apps/index.ts')]);
      return serveAppHost(startApp);
    }
    case 'reap': {
      // Started by `skiff up`'s watch once that Skiff is gone: kills the pod processes it left (reaper.ts).
      const [dataDir, owner] = rest;
      if (!dataDir) throw new UsageError('skiff reap needs a data dir');
      await (await import('../node/reaper.ts')).reap(dataDir, Number(owner));
      return 0;
    }
    case 'analyze':
      return (await import('./analyze.ts')).analyzeMain(rest);
    case 'proxy':
      return (await import('./proxy.ts')).proxyMain(rest);
    case 'load':
      return (await import('../apps/index.ts')).runApp('fortio', ['load', ...rest], process.env, (s) => process.stdout.write(s));
    case 'version':
    case '--version':
      process.stdout.write('skiff 0.1.0 (Kubernetes API v1.32)\n');
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return 0;
    default:
      process.stderr.write(`error: unknown command "${cmd}"\n\n${usage}`);
      return 2;
  }
}

try {
  const code = await main(process.argv.slice(2));
  if (code !== 0) process.exitCode = code;
} catch (e) {
  if (e instanceof UsageError) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`error: ${(e as Error).message ?? String(e)}\n`);
    process.exitCode = 1;
  }
}
