// ratings (Node in the original): two reviewer ratings per product, in memory. The
// SERVICE_VERSION variants v-faulty, v-delayed, v-unavailable and v-unhealthy are kept because
// the Istio fault and observability tasks use their images.
import type { Handler } from './http.ts';
import { readBody, sendJson } from './http.ts';

/** Ratings behaviour knobs; the defaults are the original's. */
export interface RatingsOptions {
  version: string;
  /** v-delayed: how long the slow half of responses waits. */
  delayMs?: number;
  /** v-unavailable / v-unhealthy: how long each available/unavailable phase lasts. */
  flipMs?: number;
  random?: () => number;
  now?: () => number;
}

/** The ratings document for one product. */
export interface Ratings {
  id: number;
  ratings: Record<string, number>;
}

const FLIP_MS: Record<string, number> = { 'v-unavailable': 60_000, 'v-unhealthy': 900_000 };

/** The ratings request handler for `opts.version`: GET/POST `/ratings/{id}` and `/health`. */
export function ratingsHandler(opts: RatingsOptions): Handler {
  const version = opts.version;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? Date.now;
  const delayMs = opts.delayMs ?? 7000;
  const flipMs = opts.flipMs ?? FLIP_MS[version];
  const started = now();
  const added = new Map<number, Ratings>();
  // The original toggles a flag on an interval; computing the phase from the clock needs no timer to stop.
  function inBadPhase(): boolean {
    return flipMs !== undefined && Math.floor((now() - started) / flipMs) % 2 === 1;
  }

  return async function handleRatings(req, res, url) {
    const path = url.pathname;
    if (path === '/health' && req.method === 'GET') {
      if (version === 'v-unhealthy' && inBadPhase()) sendJson(res, 500, { status: 'Ratings is not healthy' });
      else sendJson(res, 200, { status: 'Ratings is healthy' });
      return;
    }
    if (!/^\/ratings\/[0-9]*/.test(path) || (req.method !== 'GET' && req.method !== 'POST')) {
      sendJson(res, 404, { error: `no route for "${req.method} ${path}"` });
      return;
    }
    const id = Number.parseInt(path.split('/').pop() ?? '', 10);
    if (Number.isNaN(id)) {
      sendJson(res, 400, { error: 'please provide numeric product ID' });
      return;
    }
    if (req.method === 'POST') {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch {
        sendJson(res, 400, { error: 'please provide valid ratings JSON' });
        return;
      }
      added.set(id, { id, ratings: body as Record<string, number> });
      sendJson(res, 200, added.get(id));
      return;
    }
    const ratings = added.get(id) ?? { id, ratings: { Reviewer1: 5, Reviewer2: 4 } };
    if (version === 'v-faulty' && random() <= 0.5) {
      sendJson(res, 503, { error: 'Service unavailable' });
    } else if (version === 'v-delayed' && random() <= 0.5) {
      // unref: a pending slow answer must not keep a closing process alive.
      setTimeout(() => { if (!res.destroyed) sendJson(res, 200, ratings); }, delayMs).unref();
    } else if ((version === 'v-unavailable' || version === 'v-unhealthy') && inBadPhase()) {
      sendJson(res, 503, { error: 'Service unavailable' });
    } else {
      sendJson(res, 200, ratings);
    }
  };
}
