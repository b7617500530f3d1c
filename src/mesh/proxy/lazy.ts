/**
 * Node modules a proxy loads only when it first needs them. An HTTP/1.1-only sidecar never touches
 * node:http2 (about 3 MB of RSS per process) nor node:https (tls, for an https trace collector).
 */
import type * as Http2 from 'node:http2';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);
let h2: typeof Http2 | undefined;
let tls: typeof Https | undefined;

/** node:http2, loaded on the first HTTP/2 connection (either side). */
export function loadHttp2(): typeof Http2 {
  return (h2 ??= load('node:http2') as typeof Http2);
}

/** node:https, loaded on the first report to an https collector. */
export function loadHttps(): typeof Https {
  return (tls ??= load('node:https') as typeof Https);
}

/** The nghttp2 codes the proxy uses (nghttp2.h; http2.constants), without loading node:http2. */
export const nghttp2 = { FLAG_END_STREAM: 0x1, INTERNAL_ERROR: 0x2, REFUSED_STREAM: 0x7, CANCEL: 0x8 } as const;
