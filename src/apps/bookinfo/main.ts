// Runs one Bookinfo service as a process: main.ts <service> [version].
// Reads POD_IP (default 127.0.0.1) and PORT (default 9080); SIGTERM/SIGINT close it and exit 0.
import type { BookinfoService } from './index.ts';
import { start } from './index.ts';

const SERVICES: readonly string[] = ['productpage', 'details', 'reviews', 'ratings'];

/** Starts the service named on the command line and wires signals to a clean exit. */
async function main(argv: readonly string[]): Promise<void> {
  const [service, version] = argv;
  if (!service || !SERVICES.includes(service)) {
    process.stderr.write(`usage: main.ts <productpage|details|reviews|ratings> [version]: got "${service ?? ''}"\n`);
    process.exit(2);
  }
  const host = process.env.POD_IP || '127.0.0.1';
  const port = Number.parseInt(process.env.PORT || '9080', 10);
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const app = await start({ service: service as BookinfoService, version, host, port, env: process.env, log });
  log(`${service} ${version ?? process.env.SERVICE_VERSION ?? 'v1'} listening on http://${host}:${app.port}`);
  const stop = (signal: string): void => {
    log(`${signal} received`);
    app.close().then(() => process.exit(0), () => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`cannot start Bookinfo service: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
