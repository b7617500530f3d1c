/** Runnable entry: `node --import tsx src/apps/userlist/main.ts`; listens on $POD_IP:$PORT until SIGTERM/SIGINT. */
import { DEFAULTS, start } from './index.ts';

/** Reads a TCP port from env, falling back when it is missing or not a port number. */
function portFrom(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return raw !== undefined && raw.trim() !== '' && Number.isInteger(n) && n >= 0 && n <= 65535 ? n : fallback;
}

function writeLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  const app = await start({
    host: process.env.POD_IP || '127.0.0.1',
    port: portFrom(process.env.PORT, DEFAULTS.port),
    env: process.env,
    log: writeLine,
  });
  function stop(): void {
    void app.close().then(() => process.exit(0));
  }
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`userlist: cannot start: ${err.message}\n`);
  process.exit(1);
});
