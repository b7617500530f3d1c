/** A raw HTTPS client for tests that need to send what kubectl never would (bad bodies, floods). */
import { request as httpsRequest, Agent } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface RawClient {
  send(method: string, path: string, body?: string | Buffer, headers?: Record<string, string>): Promise<RawResponse>;
  close(): void;
}

/** A client for the Skiff whose data dir and port are given; keeps connections alive. */
export function rawClient(dataDir: string, port: number, opts: { token?: string } = {}): RawClient {
  const ca = readFileSync(join(dataDir, 'ca.crt'), 'utf8');
  const token = opts.token ?? readFileSync(join(dataDir, 'token'), 'utf8').trim();
  const agent = new Agent({ keepAlive: true, maxSockets: 32, ca });
  return {
    send(method, path, body, headers = {}) {
      return new Promise((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port, method, path, agent, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json', ...headers } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
