// reviews (Java/Liberty in the original): two fixed reviews; v2 and v3 add star ratings fetched
// from the ratings service (black stars for v2, red for v3).
import type { Handler } from './http.ts';
import { forwardHeaders, sendJson } from './http.ts';
import type { Env } from './upstream.ts';
import { upstreamRequest } from './upstream.ts';

/** How one reviews instance behaves; build it with reviewsConfig(). */
export interface ReviewsConfig {
  enableRatings: boolean;
  starColor: string;
  /** Base URL of the ratings endpoint, e.g. http://ratings:9080/ratings */
  ratingsUrl: string;
  ratingsTimeoutMs: number;
  podname: string;
  clustername: string;
  env: Env;
  log?: (line: string) => void;
}

/** A review rating: stars and colour, or the error shown when ratings could not be read. */
export type Rating = { stars: number; color: string } | { error: string };

/** One review as the reviews service returns it. */
export interface Review {
  reviewer: string;
  text: string;
  rating?: Rating;
}

/** The reviews document for one product. */
export interface ReviewsDocument {
  id: string;
  podname: string;
  clustername: string;
  reviews: Review[];
}

const REVIEWS: readonly { reviewer: string; text: string }[] = [
  { reviewer: 'Reviewer1', text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!' },
  { reviewer: 'Reviewer2', text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.' },
];

/** Reviews settings for `version` (v1: no ratings, v2: black, v3: red), overridable by ENABLE_RATINGS / STAR_COLOR like the image's ENV. */
export function reviewsConfig(version: string, env: Env, opts: { ratingsTimeoutMs?: number; log?: (line: string) => void } = {}): ReviewsConfig {
  const enableRatings = env.ENABLE_RATINGS !== undefined ? env.ENABLE_RATINGS.toLowerCase() === 'true' : version !== 'v1';
  const starColor = env.STAR_COLOR ?? (version === 'v3' ? 'red' : 'black');
  const domain = env.SERVICES_DOMAIN ? `.${env.SERVICES_DOMAIN}` : '';
  const host = env.RATINGS_HOSTNAME ?? 'ratings';
  const port = env.RATINGS_SERVICE_PORT ?? '9080';
  return {
    enableRatings,
    starColor,
    ratingsUrl: `http://${host}${domain}:${port}/ratings`,
    // The original gives black stars (v2) 10 s and any other colour 2.5 s.
    ratingsTimeoutMs: opts.ratingsTimeoutMs ?? (starColor === 'black' ? 10_000 : 2_500),
    // Java prints a missing variable as "null"; the page template relies on that for clustername.
    podname: env.HOSTNAME ?? 'null',
    clustername: env.CLUSTER_NAME ?? 'null',
    env,
    log: opts.log,
  };
}

/** Builds the reviews document from the stars per reviewer (-1 = unknown) the way the original does. */
export function reviewsDocument(cfg: ReviewsConfig, id: string, stars: readonly number[]): ReviewsDocument {
  return {
    id,
    podname: cfg.podname,
    clustername: cfg.clustername,
    reviews: REVIEWS.map((r, i) => {
      if (!cfg.enableRatings) return { ...r };
      const s = stars[i] ?? -1;
      const rating: Rating = s !== -1 ? { stars: s, color: cfg.starColor } : { error: 'Ratings service is currently unavailable' };
      return { ...r, rating };
    }),
  };
}

/** The reviews request handler: `/health` and `/reviews/{id}`. */
export function reviewsHandler(cfg: ReviewsConfig): Handler {
  return async function handleReviews(req, res, url) {
    const path = url.pathname;
    if (path === '/health') {
      sendJson(res, 200, { status: 'Reviews is healthy' });
      return;
    }
    // JAX-RS binds {productId} to an int; anything else does not match the route.
    const m = /^\/reviews\/([+-]?\d+)$/.exec(path);
    const id = m ? Number.parseInt(m[1]!, 10) : Number.NaN;
    if (req.method !== 'GET' || !Number.isSafeInteger(id) || Math.abs(id) > 2 ** 31 - 1) {
      sendJson(res, 404, { error: `no route for "${req.method} ${path}"` });
      return;
    }
    const stars = cfg.enableRatings ? await fetchStars(cfg, String(id), forwardHeaders(req)) : [-1, -1];
    sendJson(res, 200, reviewsDocument(cfg, String(id), stars));
  };
}

/** Reads Reviewer1/Reviewer2 stars from ratings; -1 for each one it cannot get. */
async function fetchStars(cfg: ReviewsConfig, id: string, headers: Record<string, string>): Promise<number[]> {
  const url = `${cfg.ratingsUrl}/${id}`;
  try {
    const res = await upstreamRequest(url, { env: cfg.env, timeoutMs: cfg.ratingsTimeoutMs, headers: { ...headers, accept: 'application/json' } });
    if (res.status !== 200) {
      cfg.log?.(`Error: unable to contact ${cfg.ratingsUrl} got status of ${res.status}`);
      return [-1, -1];
    }
    const doc = JSON.parse(res.body) as { ratings?: Record<string, unknown> };
    return ['Reviewer1', 'Reviewer2'].map((name) => {
      const v = doc.ratings?.[name];
      return typeof v === 'number' && Number.isInteger(v) ? v : -1;
    });
  } catch (err) {
    cfg.log?.(`Error: unable to contact ${cfg.ratingsUrl} got exception ${err instanceof Error ? err.message : String(err)}`);
    return [-1, -1];
  }
}
