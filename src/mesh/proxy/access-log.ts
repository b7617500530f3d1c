/**
 * Istio's default TEXT access log format (semantics §8.4), field for field:
 *
 * [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
 * %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
 * "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
 * %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
 * "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW%
 * %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
 * %REQUESTED_SERVER_NAME% %ROUTE_NAME%
 *
 * Missing values print `-`. The line is built only when access logging is on.
 */
import { flagString } from './flags.ts';

/** One access-log record; strings may be undefined or empty for "missing". */
export interface AccessRecord {
  /** Start time, epoch milliseconds. */
  start: number;
  method?: string;
  /** x-envoy-original-path when set, else the path (with query). */
  path?: string;
  /** HTTP/1.1, HTTP/1.0; undefined for TCP. */
  protocol?: string;
  status: number;
  flags: number;
  details?: string;
  terminationDetails?: string;
  transportFailure?: string;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstreamServiceTime?: string;
  forwardedFor?: string;
  userAgent?: string;
  requestId?: string;
  authority?: string;
  upstreamHost?: string;
  upstreamCluster?: string;
  upstreamLocal?: string;
  downstreamLocal?: string;
  downstreamRemote?: string;
  serverName?: string;
  routeName?: string;
}

function d(v: string | undefined): string {
  return v ? v : '-';
}

/** The formatted line (no trailing newline). */
export function formatAccessLog(r: AccessRecord): string {
  // Envoy's default START_TIME is %Y-%m-%dT%H:%M:%E3SZ, which is exactly toISOString().
  return (
    `[${new Date(r.start).toISOString()}] "${d(r.method)} ${d(r.path)} ${d(r.protocol)}" ${r.status} ${flagString(r.flags)} ${d(r.details)} ${d(r.terminationDetails)} ` +
    `"${d(r.transportFailure)}" ${r.bytesReceived} ${r.bytesSent} ${Math.round(r.durationMs)} ${d(r.upstreamServiceTime)} "${d(r.forwardedFor)}" "${d(r.userAgent)}" ` +
    `"${d(r.requestId)}" "${d(r.authority)}" "${d(r.upstreamHost)}" ${d(r.upstreamCluster)} ${d(r.upstreamLocal)} ${d(r.downstreamLocal)} ${d(r.downstreamRemote)} ` +
    `${d(r.serverName)} ${d(r.routeName)}`
  );
}
