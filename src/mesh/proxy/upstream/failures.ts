/**
 * Stream failures with Envoy's wording. Envoy reports a refused connect as the transport failure
 * reason `delayed connect error: <strerror(errno)>` (`Connection refused`; older Envoy printed
 * the errno, `111`), a bind failure as `failed to bind to <addr>: <strerror>`.
 */
import type { StreamFailure } from './types.ts';

/** The overflow failure: one frozen object, returned on every circuit-breaker rejection. */
export const OVERFLOW: StreamFailure = Object.freeze({ reason: 'overflow' });

/** Connect timeout failure (Envoy: `upstream_cx_connect_timeout`, reset reason connection timeout). */
export const CONNECT_TIMEOUT: StreamFailure = Object.freeze({ reason: 'connect-timeout', detail: 'connect timeout' });

/** glibc's strerror() texts for the errors a connect can end with. */
const STRERROR: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ECONNABORTED: 'Software caused connection abort',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  EHOSTDOWN: 'Host is down',
  ENETUNREACH: 'Network is unreachable',
  ENETDOWN: 'Network is down',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EADDRINUSE: 'Address already in use',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EINVAL: 'Invalid argument',
  EPIPE: 'Broken pipe',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
};

/** The connect-failure for a socket error, worded as Envoy words it. */
export function connectFailure(err: NodeJS.ErrnoException, localAddress: string | undefined): StreamFailure {
  const text = (err.code && STRERROR[err.code]) || err.code || err.message;
  if (err.syscall === 'bind') return { reason: 'connect-failure', detail: `failed to bind to ${localAddress}:0: ${text}` };
  return { reason: 'connect-failure', detail: `delayed connect error: ${text}` };
}

/** A connection that closed before it was established without saying why. */
export const CONNECT_CLOSED: StreamFailure = Object.freeze({ reason: 'connect-failure', detail: 'delayed connect error: Connection reset by peer' });

/** Requests still pending when their cluster is closed. */
export const POOL_CLOSED: StreamFailure = Object.freeze({ reason: 'connect-failure', detail: 'connection pool closed' });
