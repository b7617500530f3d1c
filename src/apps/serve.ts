/** What the built-in HTTP apps share: their start options, and listening with an idempotent close. */
import type http from 'node:http';

/** What every built-in app is started with. */
export interface AppOptions {
  host: string;
  port: number;
  env: Record<string, string | undefined>;
  log?: (line: string) => void;
}

/** A started app: the port it listens on, and an idempotent close(). */
export interface RunningApp {
  port: number;
  close(): Promise<void>;
}

/** Listens on host:port; close() is idempotent and drops open keep-alive connections. */
export function listen(server: http.Server, opts: AppOptions): Promise<RunningApp> {
  return new Promise((resolve, reject) => {
    function onListenError(err: Error): void {
      reject(err);
    }
    function onRuntimeError(err: Error): void {
      opts.log?.(`server error: ${err.message}`);
    }
    let closing: Promise<void> | undefined;
    function close(): Promise<void> {
      closing ??= new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
      return closing;
    }
    server.once('error', onListenError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onListenError);
      server.on('error', onRuntimeError);
      const addr = server.address();
      resolve({ port: typeof addr === 'object' && addr !== null ? addr.port : opts.port, close });
    });
  });
}
