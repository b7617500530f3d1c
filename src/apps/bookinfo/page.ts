// HTML for productpage, following the Bootstrap-era template of the 1.16 images (which the
// course deploys): the same sections, texts and the `<font color=...>` star markup; no static assets.
import type { BookDetails } from './details.ts';
import type { ReviewsDocument } from './reviews.ts';

/** A product as productpage lists it. */
export interface Product {
  id: number;
  title: string;
  descriptionHtml: string;
}

/** Everything the product page shows. */
export interface ProductPageModel {
  product: Product | undefined;
  detailsStatus: number;
  details: BookDetails | { error: string };
  reviewsStatus: number;
  reviews: ReviewsDocument | { error: string };
  user: string;
}

/** A node of the service tree shown on the index page. */
export interface ServiceNode {
  name: string;
  endpoint: string;
  children: ServiceNode[];
}

/** Escapes text for HTML content and attribute values (what Jinja autoescape does). */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The full /productpage document. */
export function renderProductPage(m: ProductPageModel): string {
  return layout(`${navbar(m.user)}
<div class="container-fluid">
  <div class="row">
    <div class="col-md-12">
      <h3 class="text-center text-primary">${escapeHtml(m.product?.title)}</h3>
      <p>Summary: ${m.product?.descriptionHtml ?? ''}</p>
    </div>
  </div>
  <div class="row">
    <div class="col-md-6">
${detailsSection(m)}
    </div>
    <div class="col-md-6">
${reviewsSection(m)}
    </div>
  </div>
</div>`);
}

/** The / index page: the service tree and links to the product page. */
export function renderIndex(tree: ServiceNode): string {
  return layout(`<div class="container">
  <h3>Hello! This is a simple bookstore application consisting of three services as shown below</h3>
${serviceTable(tree)}
  <p>Click on one of the links below to auto generate a request to the backend as a real user or a tester</p>
  <p><a href="/productpage?u=normal">Normal user</a></p>
  <p><a href="/productpage?u=test">Test user</a></p>
</div>`);
}

/** Page shell shared by both pages. */
function layout(body: string): string {
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Simple Bookstore App</title>
<style>
  body { font-family: sans-serif; margin: 0; }
  nav { background: #222; color: #ddd; padding: 10px 20px; display: flex; justify-content: space-between; align-items: center; }
  nav a { color: #fff; }
  .container, .container-fluid { padding: 0 20px; }
  .row { display: flex; flex-wrap: wrap; gap: 20px; }
  .col-md-12 { flex: 1 1 100%; } .col-md-6 { flex: 1 1 45%; }
  .text-center { text-align: center; } .text-primary { color: #337ab7; }
  blockquote { border-left: 5px solid #eee; margin: 0 0 20px; padding: 10px 20px; }
  table { border-collapse: collapse; } th, td { border: 1px solid lightgrey; padding: .5em; }
  .glyphicon-star::before { content: "\\2605"; } .glyphicon-star-empty::before { content: "\\2606"; }
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** The navigation bar: the signed-in user with a sign-out link, or the sign-in form. */
function navbar(user: string): string {
  const right = user
    ? `<p class="navbar-text navbar-right">
      <i class="glyphicon glyphicon-user" aria-hidden="true"></i>
      <span style="padding-left: 5px;"><b>${escapeHtml(user)}</b> ( <a href="logout">sign out</a> )</span>
    </p>`
    : `<form method="post" action="login" name="login_form" class="navbar-right">
      <input type="text" name="username" id="username" placeholder="User Name">
      <input type="password" name="passwd" placeholder="Password">
      <button type="submit" class="btn btn-default">Sign in</button>
    </form>`;
  return `<nav class="navbar navbar-inverse navbar-static-top">
  <a class="navbar-brand" href="#">BookInfo Sample</a>
  ${right}
</nav>`;
}

/** Book details, or the error the details call produced. */
function detailsSection(m: ProductPageModel): string {
  if (m.detailsStatus !== 200 || 'error' in m.details) {
    const err = 'error' in m.details ? `\n      <p>${escapeHtml(m.details.error)}</p>` : '';
    return `      <h4 class="text-center text-primary">Error fetching product details!</h4>${err}`;
  }
  const d = m.details;
  return `      <h4 class="text-center text-primary">Book Details</h4>
      <dl>
        <dt>Type:</dt>${escapeHtml(d.type)}
        <dt>Pages:</dt>${escapeHtml(d.pages)}
        <dt>Publisher:</dt>${escapeHtml(d.publisher)}
        <dt>Language:</dt>${escapeHtml(d.language)}
        <dt>ISBN-10:</dt>${escapeHtml(d['ISBN-10'])}
        <dt>ISBN-13:</dt>${escapeHtml(d['ISBN-13'])}
      </dl>`;
}

/** The reviews with their stars, or the error the reviews call produced. */
function reviewsSection(m: ProductPageModel): string {
  if (m.reviewsStatus !== 200 || 'error' in m.reviews) {
    const err = 'error' in m.reviews ? `\n      <p>${escapeHtml(m.reviews.error)}</p>` : '';
    return `      <h4 class="text-center text-primary">Error fetching product reviews!</h4>${err}`;
  }
  const doc = m.reviews;
  const items = (Array.isArray(doc.reviews) ? doc.reviews : []).map((r) => `      <blockquote>
        <p>${escapeHtml(r.text)}</p>
        <small>${escapeHtml(r.reviewer)}</small>${ratingHtml(r.rating)}
      </blockquote>`);
  const cluster = doc.clustername !== 'null' ? ` on cluster <u>${escapeHtml(doc.clustername)}</u>` : '';
  return `      <h4 class="text-center text-primary">Book Reviews</h4>
${items.join('\n')}
      <dl>
        <dt>Reviews served by:</dt>
        <u>${escapeHtml(doc.podname)}</u>${cluster}
      </dl>`;
}

/** Stars inside `<font color=...>` (full then empty, five in all), the rating error, or nothing. */
function ratingHtml(rating: unknown): string {
  if (!rating || typeof rating !== 'object') return '';
  const r = rating as { stars?: unknown; color?: unknown; error?: unknown };
  if (typeof r.stars === 'number' && r.stars > 0) {
    // Clamped so a bad upstream value cannot make the page huge.
    const full = Math.min(5, Math.floor(r.stars));
    const stars = [
      ...Array.from({ length: full }, () => '<span class="glyphicon glyphicon-star"></span>'),
      ...Array.from({ length: 5 - full }, () => '<span class="glyphicon glyphicon-star-empty"></span>'),
    ];
    return `
        <font color="${escapeHtml(r.color)}">
          ${stars.join('\n          ')}
        </font>`;
  }
  if (r.error) return `
        <p><i>${escapeHtml(r.error)}</i></p>`;
  return '';
}

/** The service tree as nested tables, like json2html renders it. */
function serviceTable(node: ServiceNode): string {
  const children = node.children.length
    ? `<ul>${node.children.map((c) => `<li>${serviceTable(c)}</li>`).join('')}</ul>`
    : '';
  return `<table class="table table-condensed table-bordered table-hover">
  <tr><th>name</th><td>${escapeHtml(node.name)}</td></tr>
  <tr><th>endpoint</th><td>${escapeHtml(node.endpoint)}</td></tr>
  <tr><th>children</th><td>${children}</td></tr>
</table>`;
}
