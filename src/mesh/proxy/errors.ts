/** Typed errors of the proxy engine. */

/** Stable codes of the proxy's program errors (listed in docs/errors.md). */
export const proxyErrors = {
  /** apply(): the config cannot be compiled or a new listener cannot bind; the previous config stays (NACK). */
  config: 'SKIFF_ERR_PROXY_CONFIG',
  /** start(): an admin, stats, health or outbound port cannot bind. */
  listen: 'SKIFF_ERR_PROXY_LISTEN',
  /** Outbound answer (502, `x-skiff-error`): ALLOW_ANY passthrough to a name or a non-loopback address. */
  notLoopback: 'SKIFF_ERR_PROXY_NOT_LOOPBACK',
  /** Outbound answer (400, `x-skiff-error`): the request target is neither absolute-form nor origin-form with Host. */
  badRequest: 'SKIFF_ERR_PROXY_BAD_REQUEST',
} as const;

/** A config the proxy rejects; `message` says what and where (`route "x" in vhost "y": ...`). */
export class ProxyConfigError extends Error {
  readonly code = proxyErrors.config;
  constructor(message: string) {
    super(message);
    this.name = 'ProxyConfigError';
  }
}

/** A listener of the proxy's own (admin, stats, health, outbound) that cannot bind. */
export class ProxyListenError extends Error {
  readonly code = proxyErrors.listen;
  constructor(message: string) {
    super(message);
    this.name = 'ProxyListenError';
  }
}
