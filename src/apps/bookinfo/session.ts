// The productpage login session: a signed cookie holding the user name, standing in for
// Flask's signed `session` cookie.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Cookie name, the same as Flask's. */
export const SESSION_COOKIE = 'session';

// A fixed key, like the original's hard-coded app.secret_key, so every productpage replica
// accepts the cookie any other replica signed. It guards nothing secret: it is a demo login.
const DEFAULT_SECRET = 'skiff-bookinfo-productpage';

/** The cookie value for a session of `user`: base64url JSON, a dot, and its HMAC. */
export function signSession(user: string, secret = DEFAULT_SECRET): string {
  const payload = Buffer.from(JSON.stringify({ user })).toString('base64url');
  return `${payload}.${mac(payload, secret)}`;
}

/** The user of a valid session cookie value, or '' when it is missing, tampered with or malformed. */
export function verifySession(value: string | undefined, secret = DEFAULT_SECRET): string {
  if (!value) return '';
  const dot = value.lastIndexOf('.');
  if (dot <= 0) return '';
  const payload = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1));
  const want = Buffer.from(mac(payload, secret));
  if (given.length !== want.length || !timingSafeEqual(given, want)) return '';
  try {
    const doc = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { user?: unknown };
    return typeof doc.user === 'string' ? doc.user : '';
  } catch {
    return '';
  }
}

/** The value of cookie `name` in a Cookie header, if present. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** HMAC-SHA256 of `payload`, base64url. */
function mac(payload: string, secret: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}
