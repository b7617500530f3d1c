// Skiff's built-in implementation of Istio's Bookinfo sample: productpage, details, reviews
// (v1/v2/v3) and ratings, answering like the images docker.io/istio/examples-bookinfo-*.
import { detailsHandler } from './details.ts';
import type { Handler } from './http.ts';
import { AppServer } from './http.ts';
import { productpageHandler } from './productpage.ts';
import { ratingsHandler } from './ratings.ts';
import { reviewsConfig, reviewsHandler } from './reviews.ts';

export { PROPAGATED_HEADERS } from './http.ts';
export { UpstreamError, proxyFor, upstreamRequest } from './upstream.ts';
export type { UpstreamErrorCode } from './upstream.ts';

/** How Skiff starts a built-in app. */
export interface AppOptions {
  host: string;
  port: number;
  env: Record<string, string | undefined>;
  log?: (line: string) => void;
}

/** The four Bookinfo services. */
export type BookinfoService = 'productpage' | 'details' | 'reviews' | 'ratings';

/** Timeouts and tries of outbound calls; undefined reviewsRatingsMs means by star colour (black 10 s, else 2.5 s). */
export interface BookinfoTimeouts {
  detailsMs: number;
  reviewsMs: number;
  reviewsTries: number;
  ratingsMs: number;
  reviewsRatingsMs: number | undefined;
}

/** The original apps' values. */
export const BOOKINFO_DEFAULTS: Readonly<BookinfoTimeouts> = Object.freeze({
  detailsMs: 3000,
  reviewsMs: 3000,
  reviewsTries: 2,
  ratingsMs: 3000,
  reviewsRatingsMs: undefined,
});

/** Options for start(): the service, its version and optional overrides of BOOKINFO_DEFAULTS. */
export type StartOptions = AppOptions & { service: BookinfoService; version?: string; timeouts?: Partial<BookinfoTimeouts> };

/** A running Bookinfo service. */
export interface RunningApp {
  port: number;
  close(): Promise<void>;
}

/** Starts one Bookinfo service (reviews takes version 'v1'|'v2'|'v3' from opts.version or env SERVICE_VERSION); resolves once it listens. */
export async function start(opts: StartOptions): Promise<RunningApp> {
  const server = await AppServer.listen(handlerFor(opts), { host: opts.host, port: opts.port, log: opts.log });
  return { port: server.port, close: () => server.close() };
}

/** The service and version an image name stands for, e.g. docker.io/istio/examples-bookinfo-reviews-v2:1.20.2 → {service:'reviews', version:'v2'}; undefined for other images. */
export function bookinfoImage(image: string): { service: BookinfoService; version: string } | undefined {
  // Drop digest and tag (a colon after the last slash), then look at the repository's last segment.
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const repo = colon > slash ? noDigest.slice(0, colon) : noDigest;
  const m = /^examples-bookinfo-(productpage|details|reviews|ratings)-(v[a-z0-9-]*)$/.exec(repo.slice(slash + 1));
  if (!m) return undefined;
  const service = m[1] as BookinfoService;
  const version = m[2]!;
  return KNOWN_VERSIONS[service].includes(version) ? { service, version } : undefined;
}

// The images Istio publishes (samples/bookinfo/src/docker-bake.hcl).
const KNOWN_VERSIONS: Record<BookinfoService, readonly string[]> = {
  productpage: ['v1', 'v-flooding'],
  details: ['v1', 'v2'],
  reviews: ['v1', 'v2', 'v3'],
  ratings: ['v1', 'v2', 'v-faulty', 'v-delayed', 'v-unavailable', 'v-unhealthy'],
};

/** Builds the request handler for the requested service, with defaults applied once. */
function handlerFor(opts: StartOptions): Handler {
  const t: BookinfoTimeouts = { ...BOOKINFO_DEFAULTS, ...definedOnly(opts.timeouts ?? {}) };
  const version = opts.version ?? opts.env.SERVICE_VERSION ?? 'v1';
  switch (opts.service) {
    case 'details':
      return detailsHandler();
    case 'ratings':
      return ratingsHandler({ version });
    case 'reviews':
      return reviewsHandler(reviewsConfig(version, opts.env, { ratingsTimeoutMs: t.reviewsRatingsMs, log: opts.log }));
    case 'productpage': {
      const flood = Number.parseInt(opts.env.FLOOD_FACTOR ?? (version === 'v-flooding' ? '100' : '0'), 10);
      return productpageHandler({
        env: opts.env,
        detailsTimeoutMs: t.detailsMs,
        reviewsTimeoutMs: t.reviewsMs,
        reviewsTries: t.reviewsTries,
        ratingsTimeoutMs: t.ratingsMs,
        floodFactor: Number.isFinite(flood) && flood > 0 ? flood : 0,
        log: opts.log,
      });
    }
    default:
      throw new TypeError(`cannot start Bookinfo service "${String(opts.service)}": expected productpage, details, reviews or ratings`);
  }
}

/** Drops keys whose value is undefined so they do not override defaults. */
function definedOnly<T extends object>(o: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
