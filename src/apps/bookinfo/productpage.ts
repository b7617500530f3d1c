// productpage (Python/Flask in the original): the page and API in front of details and reviews.
import type http from 'node:http';
import type { Handler } from './http.ts';
import { forwardHeaders, readBody, sendJson, sendText } from './http.ts';
import type { Product, ServiceNode } from './page.ts';
import { renderIndex, renderProductPage } from './page.ts';
import { SESSION_COOKIE, cookieValue, signSession, verifySession } from './session.ts';
import type { Env } from './upstream.ts';
import { upstreamRequest } from './upstream.ts';

/** Settings for productpage; the timeouts and tries default to the original's (3 s, two tries toward reviews). */
export interface ProductPageOptions {
  env: Env;
  detailsTimeoutMs: number;
  reviewsTimeoutMs: number;
  reviewsTries: number;
  ratingsTimeoutMs: number;
  /** Extra reviews calls per page view (the v-flooding image uses 100). */
  floodFactor: number;
  log?: (line: string) => void;
}

/** Base URLs of the services productpage calls. */
export interface ServiceUrls {
  details: string;
  reviews: string;
  ratings: string;
}

/** Result of calling a backend: its status (500 when there was no response) and the parsed body on 200. */
interface CallResult {
  status: number;
  body?: unknown;
}

/** The one product the store sells. */
export const PRODUCTS: readonly Product[] = [
  {
    id: 0,
    title: 'The Comedy of Errors',
    descriptionHtml:
      '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare\'s</b> early plays. It is his shortest and one of his most farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition to puns and word play.',
  },
];

const ERR_DETAILS = 'Sorry, product details are currently unavailable for this book.';
const ERR_REVIEWS = 'Sorry, product reviews are currently unavailable for this book.';
const ERR_RATINGS = 'Sorry, product ratings are currently unavailable for this book.';

/** Service base URLs from SERVICES_DOMAIN and {DETAILS,REVIEWS,RATINGS}_HOSTNAME / _SERVICE_PORT, defaulting to name:9080. */
export function serviceUrls(env: Env): ServiceUrls {
  const domain = env.SERVICES_DOMAIN ? `.${env.SERVICES_DOMAIN}` : '';
  function url(name: string, prefix: string): string {
    return `http://${env[`${prefix}_HOSTNAME`] ?? name}${domain}:${env[`${prefix}_SERVICE_PORT`] ?? '9080'}`;
  }
  return { details: url('details', 'DETAILS'), reviews: url('reviews', 'REVIEWS'), ratings: url('ratings', 'RATINGS') };
}

/** The productpage request handler: UI, login/logout, JSON API, health and metrics. */
export function productpageHandler(opts: ProductPageOptions): Handler {
  const urls = serviceUrls(opts.env);
  const counts = new Map<string, number>();
  async function call(app: keyof ServiceUrls, id: string, headers: Record<string, string>): Promise<CallResult> {
    const timeoutMs = app === 'details' ? opts.detailsTimeoutMs : app === 'reviews' ? opts.reviewsTimeoutMs : opts.ratingsTimeoutMs;
    // Only reviews is tried twice: the original's deliberate "bug" for the fault-injection task.
    const tries = app === 'reviews' ? opts.reviewsTries : 1;
    const result = await callService(`${urls[app]}/${app}/${encodeURIComponent(id)}`, { env: opts.env, headers, timeoutMs, tries });
    const key = `${app} ${result.status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return result;
  }
  const tree: ServiceNode = {
    name: urls.details,
    endpoint: 'details',
    children: [
      { name: urls.details, endpoint: 'details', children: [] },
      { name: urls.reviews, endpoint: 'reviews', children: [{ name: urls.ratings, endpoint: 'ratings', children: [] }] },
    ],
  };

  return async function handleProductPage(req, res, url) {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/login') {
      if (method !== 'POST') return sendText(res, 405, 'Method Not Allowed');
      const form = new URLSearchParams(await readBody(req));
      const user = form.get('username') ?? url.searchParams.get('username') ?? '';
      const cookie = user
        ? `${SESSION_COOKIE}=${signSession(user)}; HttpOnly; Path=/`
        : `${SESSION_COOKIE}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/`;
      return redirect(res, req, cookie);
    }
    if (method !== 'GET' && method !== 'HEAD') return sendText(res, 405, 'Method Not Allowed');
    if (path === '/logout') {
      return redirect(res, req, `${SESSION_COOKIE}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/`);
    }
    if (path === '/' || path === '/index.html') return sendText(res, 200, renderIndex(tree), 'text/html; charset=utf-8');
    if (path === '/health') return sendText(res, 200, 'Product page is healthy', 'text/html; charset=utf-8');
    if (path === '/metrics') return sendText(res, 200, metricsText(counts), 'text/plain; version=0.0.4; charset=utf-8');

    const user = verifySession(cookieValue(req.headers.cookie, SESSION_COOKIE));
    const headers = outboundHeaders(req, user);
    if (path === '/productpage') {
      const productId = 0; // the original's TODO: always product 0
      const d = await call('details', String(productId), headers);
      if (opts.floodFactor > 0) {
        await Promise.all(Array.from({ length: opts.floodFactor }, () => call('reviews', String(productId), headers)));
      }
      const r = await call('reviews', String(productId), headers);
      const html = renderProductPage({
        product: PRODUCTS[productId],
        detailsStatus: d.status,
        details: d.status === 200 ? (d.body as never) : { error: ERR_DETAILS },
        reviewsStatus: r.status,
        reviews: r.status === 200 ? (r.body as never) : { error: ERR_REVIEWS },
        user,
      });
      return sendText(res, 200, html, 'text/html; charset=utf-8');
    }
    if (path === '/api/v1/products') return sendJson(res, 200, PRODUCTS);
    const m = /^\/api\/v1\/products\/([^/]+)(?:\/(reviews|ratings))?$/.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1]!);
      if (m[2] === 'reviews') return apiAnswer(res, await call('reviews', id, headers), ERR_REVIEWS);
      if (m[2] === 'ratings') return apiAnswer(res, await call('ratings', id, headers), ERR_RATINGS);
      return apiAnswer(res, await call('details', id, headers), ERR_DETAILS);
    }
    sendText(res, 404, '<!doctype html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n', 'text/html; charset=utf-8');
  };
}

/** Calls a backend up to `tries` times; a 200 with a JSON body wins, otherwise the last status (500 for no response). */
async function callService(url: string, o: { env: Env; headers: Record<string, string>; timeoutMs: number; tries: number }): Promise<CallResult> {
  let status = 500;
  for (let i = 0; i < o.tries; i++) {
    try {
      const res = await upstreamRequest(url, { env: o.env, headers: o.headers, timeoutMs: o.timeoutMs });
      status = res.status || 500;
      if (res.status === 200) return { status: 200, body: JSON.parse(res.body) };
    } catch {
      // No response (timeout, refused) or a 200 that is not JSON: counts as a failed try.
      status = 500;
    }
  }
  return { status };
}

/** Headers for calls to details/reviews/ratings: the propagated set plus end-user from the session. */
function outboundHeaders(req: http.IncomingMessage, user: string): Record<string, string> {
  const headers = forwardHeaders(req);
  // productpage does not pass on an incoming end-user; only its own session decides it.
  delete headers['end-user'];
  if (user) headers['end-user'] = user;
  return headers;
}

/** Writes an API answer: the backend body on 200, else its status with the error message. */
function apiAnswer(res: http.ServerResponse, r: CallResult, error: string): void {
  sendJson(res, r.status, r.status === 200 ? r.body : { error });
}

/** 302 back to the referring page (as the original), or to /productpage when there is none. */
function redirect(res: http.ServerResponse, req: http.IncomingMessage, cookie: string): void {
  const location = req.headers.referer || '/productpage';
  res.writeHead(302, { location, 'set-cookie': cookie, 'content-type': 'text/html; charset=utf-8', 'content-length': 0 });
  res.end();
}

/** Prometheus text for the request_result counter. */
function metricsText(counts: Map<string, number>): string {
  const lines = ['# HELP request_result_total Results of requests', '# TYPE request_result_total counter'];
  for (const [key, n] of counts) {
    const [app, code] = key.split(' ');
    lines.push(`request_result_total{destination_app="${app}",response_code="${code}"} ${n}.0`);
  }
  return `${lines.join('\n')}\n`;
}
