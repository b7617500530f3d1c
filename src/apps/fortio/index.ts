// Skiff's built-in `fortio/fortio` image: the load tool (`fortio load|curl`) and its echo server.
import { EchoServer } from './server.ts';

/** Common options every built-in app's start() receives. */
export interface AppOptions {
  host: string;
  port: number;
  env: Record<string, string | undefined>;
  log?: (line: string) => void;
}

/** Starts fortio's server (echo server on /, /debug, /fortio/ UI stub); resolves once it listens. */
export async function start(opts: AppOptions): Promise<{ port: number; close(): Promise<void> }> {
  const server = new EchoServer({ host: opts.host, port: opts.port, log: opts.log });
  const port = await server.listen();
  return { port, close: () => server.close() };
}

export { fortioCli, type CliIO } from './cli.ts';
export { runLoad, formatResult, planLoad, formatHeader, resultJSON, LOAD_DEFAULTS, type LoadOptions, type LoadResult, type LoadPlan } from './load.ts';
export { FortioError, type FortioErrorCode, VERSION } from './errors.ts';
