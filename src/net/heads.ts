/** Pure HTTP/1.1 head handling for the in-pod proxy: hop-by-hop header filtering and raw heads. */
import { STATUS_CODES } from 'node:http';

/** Which message a header list belongs to: they differ in what is hop-by-hop for us. */
export type HeadKind = 'request' | 'upgrade' | 'response';

/**
 * Headers to forward, from node's flat rawHeaders ([name, value, ...], original casing kept).
 * Drops hop-by-hop headers (RFC 9110 §7.6.1) and those the Connection header lists, plus
 * Proxy-Authorization. Keeps Connection/Upgrade on upgrade requests (the upstream must see them),
 * and Transfer-Encoding on requests (node's client then re-chunks the body it reads de-chunked);
 * on responses node's server frames the body itself, so Transfer-Encoding is dropped there.
 */
export function forwardHeaders(raw: string[], kind: HeadKind): string[] {
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 10 && raw[i].toLowerCase() === 'connection') {
      for (const tok of raw[i + 1].split(',')) {
        const t = tok.trim().toLowerCase();
        if (t && t !== 'close' && t !== 'keep-alive' && t !== 'upgrade') (listed ??= new Set()).add(t);
      }
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (dropped(name, kind) || listed?.has(name)) continue;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

function dropped(name: string, kind: HeadKind): boolean {
  switch (name) {
    case 'keep-alive':
    case 'proxy-connection':
    case 'proxy-authorization':
    case 'proxy-authenticate':
    case 'te':
    case 'trailer':
    case 'http2-settings':
      return true;
    case 'connection':
    case 'upgrade':
      return kind !== 'upgrade';
    case 'transfer-encoding':
      return kind === 'response';
    default:
      return false;
  }
}

/** True when a flat raw header list has the header (case-insensitive). */
export function hasHeader(raw: string[], lowerName: string): boolean {
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === lowerName.length && raw[i].toLowerCase() === lowerName) return true;
  return false;
}

/** A request head in origin-form, for upgrade requests written straight to a socket. */
export function requestHead(method: string, path: string, headers: string[]): string {
  let s = `${method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${s}\r\n`;
}

/** The headers of an error answer: plain text, with the stable code in `x-skiff-error`. */
export function errorHeaders(code: string, body: string): Record<string, string | number> {
  return { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-skiff-error': code };
}

/** A complete error response for a raw socket (CONNECT and upgrade paths), closing the connection. */
export function rawErrorResponse(status: number, code: string, message: string): string {
  const body = `${message}\n`;
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-skiff-error: ${code}\r\nconnection: close\r\n\r\n${body}`;
}
