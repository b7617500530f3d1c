// Process entry for the built-in fortio image:
//   node --import tsx src/apps/fortio/main.ts            → echo server on $POD_IP:$PORT
//   node --import tsx src/apps/fortio/main.ts load ...   → the fortio CLI
// This is the one file allowed to touch process streams, signals and exit codes.
import process from 'node:process';
import { fortioCli, start } from './index.ts';

/** Runs the entry point and resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    if (argv.length === 0) {
      const env = process.env;
      const server = await start({
        host: env.POD_IP || '127.0.0.1',
        port: Number(env.PORT || 8080),
        env,
        log: (line) => process.stderr.write(line + '\n'),
      });
      await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
      await server.close();
      return 0;
    }
    return await fortioCli(argv, {
      stdout: (s) => process.stdout.write(s),
      stderr: (s) => process.stderr.write(s),
      env: process.env,
      signal: stop.signal,
    });
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // exitCode (not exit()) lets piped stdout/stderr drain; every handle is closed by now.
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fortio: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
