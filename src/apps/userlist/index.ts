/**
 * Built-in stand-in for `ssongman/userlist`, a Spring Boot demo from a Kubernetes course: at start it invents
 * 10 random users (so replicas differ) and serves them as JSON at `/users` and `/users/{id}`, with an HTML
 * list at `/` whose cat pictures are served from `/assets/image/cat<N>.jpg`.
 */
import http from 'node:http';
import { listen, type AppOptions } from '../serve.ts';
import os from 'node:os';
import { catJpeg } from './jpeg.ts';
import { CAT_COLOURS, homePage, inventUsers, springError, whitelabelPage, type User } from './users.ts';

/** One invented user. */
export type { User } from './users.ts';

export type { AppOptions } from '../serve.ts';

/** A started app: the port it listens on, the users it invented, and an idempotent close(). */
export interface RunningApp {
  port: number;
  users: readonly User[];
  close(): Promise<void>;
}

/** Defaults of the original image. */
export const DEFAULTS = { port: 8181, users: 10 } as const;

type RouteKind = 'home' | 'users' | 'user' | 'image';

// Compiled once; Spring matches a trailing slash too.
const ROUTES: readonly { re: RegExp; kind: RouteKind }[] = [
  { re: /^\/(?:index\.html)?$/, kind: 'home' },
  { re: /^\/users\/?$/, kind: 'users' },
  { re: /^\/users\/([^/]*)\/?$/, kind: 'user' },
  { re: /^\/assets\/image\/cat(\d{1,3})\.jpg$/, kind: 'image' },
];

// The pictures are the same for every replica, so they are encoded once per process, on first start().
let images: Buffer[] | undefined;

/** A fixed body with its headers, built once so the request path only looks things up. */
interface Prepared {
  headers: http.OutgoingHttpHeaders;
  body: Buffer;
}

function prepared(body: string | Buffer, contentType: string, hostname: string): Prepared {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  return { headers: { 'content-type': contentType, 'content-length': buf.length, 'x-hostname': hostname }, body: buf };
}

/** Starts the userlist server; resolves once it listens. */
export function start(opts: AppOptions): Promise<RunningApp> {
  const hostname = opts.env.HOSTNAME || os.hostname();
  const users = inventUsers(DEFAULTS.users);
  images ??= CAT_COLOURS.map((c) => catJpeg(c));
  const json = 'application/json';
  const home = prepared(homePage(users, hostname), 'text/html;charset=UTF-8', hostname);
  const list = prepared(JSON.stringify(users), json, hostname);
  const byId = new Map(users.map((u) => [String(u.id), prepared(JSON.stringify(u), json, hostname)]));
  const pictures = images.map((img) => prepared(img, 'image/jpeg', hostname));

  function sendError(req: http.IncomingMessage, res: http.ServerResponse, status: number, error: string, path: string): void {
    const wantsHtml = (req.headers.accept ?? '').includes('text/html');
    const body = wantsHtml ? whitelabelPage(status, error) : springError(status, error, path);
    const headers: http.OutgoingHttpHeaders = {
      'content-type': wantsHtml ? 'text/html;charset=UTF-8' : json,
      'content-length': Buffer.byteLength(body),
      'x-hostname': hostname,
    };
    if (status === 405) headers.allow = 'GET, HEAD';
    res.writeHead(status, headers);
    res.end(body);
  }

  function find(kind: RouteKind, arg: string | undefined): Prepared | undefined {
    switch (kind) {
      case 'home':
        return home;
      case 'users':
        return list;
      case 'user':
        // Only canonical decimal ids match ("01" or "1e0" are not users); anything else is a 404.
        return arg === undefined ? undefined : byId.get(arg);
      case 'image':
        return pictures[Number(arg) - 1];
    }
  }

  function onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume(); // bodies are never read; drain so keep-alive connections stay usable
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    for (const route of ROUTES) {
      const m = route.re.exec(path);
      if (m === null) continue;
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(req, res, 405, 'Method Not Allowed', path);
      const found = find(route.kind, m[1]);
      if (found === undefined) break;
      res.writeHead(200, found.headers);
      res.end(found.body);
      return;
    }
    sendError(req, res, 404, 'Not Found', path);
  }

  const server = http.createServer(onRequest);
  return listen(server, opts).then((app) => {
    opts.log?.(`userlist started on ${opts.host}:${app.port} with ${users.length} users`);
    return { ...app, users };
  });
}

