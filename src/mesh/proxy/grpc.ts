/**
 * gRPC awareness of the HTTP path (Envoy's Grpc::Common and Grpc::Utility): which requests are
 * gRPC, the status mappings between HTTP and gRPC, and the trailers-only shape of a local reply to a
 * gRPC client. gRPC is not a separate protocol here: it rides HTTP/2 (or HTTP/1.1) through the same
 * router, and only local replies, metrics labels and outlier reports look at it.
 */

/** Envoy's hasGrpcContentType: `application/grpc` exactly or `application/grpc+<codec>` (grpc-web is not gRPC). */
export function isGrpcContentType(ct: string | undefined): boolean {
  if (ct === undefined || !ct.startsWith('application/grpc')) return false;
  return ct.length === 16 || ct.charCodeAt(16) === 43; /* + */
}

/** Envoy's Grpc::Utility::httpToGrpcStatus (gRPC's http-grpc-status-mapping): the status of a local reply. */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** Envoy's Grpc::Utility::grpcToHttpStatus, indexed by gRPC code: what outlier detection counts a gRPC status as. */
const grpcToHttp = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

/** The HTTP status outlier detection sees for a `grpc-status` value (unknown or malformed codes: 500). */
export function grpcToHttpStatus(grpcStatus: string): number {
  const n = Number(grpcStatus);
  return Number.isInteger(n) && n >= 0 && n < grpcToHttp.length ? grpcToHttp[n] : 500;
}

/** `grpc-status` values as strings, so the request path never formats a number. */
export const grpcStatusText: readonly string[] = Array.from({ length: 17 }, (_, i) => String(i));

/** Bytes gRPC allows unescaped in grpc-message: printable ASCII except '%'. */
const plainMessage = /^[\x20-\x24\x26-\x7e]*$/;

/** grpc-message percent-encoding (gRPC PROTOCOL-HTTP2, Envoy's PercentEncoding::encode). */
export function encodeGrpcMessage(text: string): string {
  if (plainMessage.test(text)) return text;
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Headers of a local reply to a gRPC request (Envoy's sendLocalReply with is_grpc): `:status` 200,
 * `content-type: application/grpc`, `grpc-status` and the body as `grpc-message`, no body — a
 * trailers-only response. HTTP/1.1 clients also get `content-length: 0` (Envoy's HTTP/1 codec adds
 * it to a headers-only response).
 */
export function grpcReplyHeaders(grpcStatus: string, message: string, h2: boolean): string[] {
  const h = ['content-type', 'application/grpc', 'grpc-status', grpcStatus];
  if (message) h.push('grpc-message', encodeGrpcMessage(message));
  if (!h2) h.push('content-length', '0');
  return h;
}
