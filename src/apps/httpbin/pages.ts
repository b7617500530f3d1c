/** httpbin's fixed texts: pages, the teapot, and Werkzeug's error and redirect bodies. */

/** helpers.py ROBOT_TXT. */
export const ROBOTS_TXT = 'User-agent: *\nDisallow: /deny\n';

/** helpers.py ASCII_ART, the body of `/status/418`. */
export const TEAPOT = `
    -=[ teapot ]=-

       _...._
     .'  _ _ \`.
    | ."\` ^ \`". _,
    \\_;\`"---"\`|//
      |       ;/
      \\_     _/
        \`"""\`
`;

/** helpers.py ANGRY_ASCII, the body of `/deny`. */
export const ANGRY = `
          .-''''''-.
        .' _      _ '.
       /   O      O   \\
      :                :
      |                |
      :       __       :
       \\  .-"\`  \`"-.  /
        '.          .'
          '-......-'
     YOU SHOULDN'T BE HERE
`;

/** The `/json` sample document. */
export const SLIDESHOW = {
  slideshow: {
    author: 'Yours Truly',
    date: 'date of publication',
    slides: [
      { title: 'Wake up to WonderWidgets!', type: 'all' },
      { items: ['Why <em>WonderWidgets</em> are great', 'Who <em>buys</em> WonderWidgets'], title: 'Overview', type: 'all' },
    ],
    title: 'Sample Slide Show',
  },
};

/** `/html`: httpbin's Moby-Dick page, with a short paragraph of our own. */
export const MOBY = `<!DOCTYPE html>
<html>
  <head>
  </head>
  <body>
      <h1>Herman Melville - Moby-Dick</h1>

      <div>
        <p>
          The harbour lay grey and still under a low November sky, and the whalers at their moorings creaked as
          the tide turned. On the wharf an old sailor sat mending a net, and he told anyone who would stop that
          the sea keeps its own accounts: it lends a man his courage for a season and collects it, with interest,
          on some long night far from land. Nobody believed him, and every one of them signed on anyway.
        </p>
      </div>
  </body>
</html>`;

/** `/`: a short index of what this httpbin answers. */
export const INDEX = `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>httpbin.org</title></head>
<body>
<h1>httpbin(1): HTTP Request &amp; Response Service</h1>
<p>A built-in httpbin for Skiff. Endpoints:</p>
<ul>
<li><a href="/get">/get</a>, <code>/post</code>, <code>/put</code>, <code>/patch</code>, <code>/delete</code>: the request, echoed as JSON</li>
<li><a href="/anything">/anything</a>: the request, any method</li>
<li><a href="/headers">/headers</a>, <a href="/ip">/ip</a>, <a href="/user-agent">/user-agent</a>, <a href="/uuid">/uuid</a></li>
<li><code>/status/:codes</code>: a status code, or one picked from <code>200,500</code> or <code>200:0.9,500:0.1</code></li>
<li><code>/delay/:n</code>: answers after n seconds (at most 10)</li>
<li><code>/bytes/:n</code>, <code>/stream/:n</code>, <a href="/gzip">/gzip</a></li>
<li><a href="/html">/html</a>, <a href="/json">/json</a>, <a href="/robots.txt">/robots.txt</a></li>
<li><code>/response-headers?k=v</code>, <a href="/cookies">/cookies</a>, <code>/cookies/set?k=v</code>, <code>/cookies/delete?k</code></li>
<li><code>/redirect/:n</code>, <code>/relative-redirect/:n</code>, <code>/absolute-redirect/:n</code>, <code>/redirect-to?url=</code></li>
</ul>
</body>
</html>`;

const ERRORS: Record<number, [string, string]> = {
  400: ['Bad Request', 'The browser (or proxy) sent a request that this server could not understand.'],
  404: ['Not Found', 'The requested URL was not found on the server.  If you entered the URL manually please check your spelling and try again.'],
  405: ['Method Not Allowed', 'The method is not allowed for the requested URL.'],
  413: ['Request Entity Too Large', 'The data value transmitted exceeds the capacity limit.'],
  500: ['Internal Server Error', 'The server encountered an internal error and was unable to complete your request.  Either the server is overloaded or there is an error in the application.'],
};

/** Werkzeug's HTML error page for a status (400, 404, 405, 413 or 500). */
export function errorPage(status: number): string {
  const [name, description] = ERRORS[status] ?? ERRORS[500];
  return `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>${status} ${name}</title>\n<h1>${name}</h1>\n<p>${description}</p>\n`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The body Flask's redirect() sends along with a 302. */
export function redirectPage(location: string): string {
  const l = escapeHtml(location);
  return `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to target URL: <a href="${l}">${l}</a>.  If not click the link.`;
}
