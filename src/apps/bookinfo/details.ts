// details (Ruby/WEBrick in the original): static book details for any numeric id.
import type { Handler } from './http.ts';
import { sendJson } from './http.ts';

/** The details document the original returns for a product id. */
export interface BookDetails {
  id: number;
  author: string;
  year: number;
  type: string;
  pages: number;
  publisher: string;
  language: string;
  'ISBN-10': string;
  'ISBN-13': string;
}

/** Book details for `id`; every id gets the same book, as in the original (its TODO included). */
export function bookDetails(id: number): BookDetails {
  return {
    id,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  };
}

/** The details request handler: `/health` and `/details/{id}` (400 for a non-numeric id). */
export function detailsHandler(): Handler {
  return function handleDetails(_req, res, url) {
    const path = url.pathname;
    if (path === '/health') {
      sendJson(res, 200, { status: 'Details is healthy' });
      return;
    }
    // WEBrick mounts /details as a prefix and takes the last path segment as the id.
    if (path === '/details' || path.startsWith('/details/')) {
      const last = path.split('/').filter((s) => s !== '').pop() ?? '';
      if (!/^[+-]?\d+$/.test(last)) {
        sendJson(res, 400, { error: 'please provide numeric product id' });
        return;
      }
      sendJson(res, 200, bookDetails(Number.parseInt(last, 10)));
      return;
    }
    sendJson(res, 404, { error: `no route for "${path}"` });
  };
}
