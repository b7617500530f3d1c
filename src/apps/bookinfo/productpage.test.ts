import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { start } from './index.ts';
import type { RunningApp } from './index.ts';
import { TestProxy, request } from './testing.ts';

const host = '127.0.0.1';

// The whole sample wired through a recording proxy, the way Skiff wires pods through sidecars:
// every app gets HTTP_PROXY and calls plain service names.
describe('productpage with details, reviews v1/v2/v3 and ratings behind a proxy', () => {
  let proxy: TestProxy;
  let page: RunningApp;
  const apps: RunningApp[] = [];
  const reviews: Record<string, number> = {};
  let silent: http.Server;

  before(async () => {
    proxy = await TestProxy.start();
    const env = { HTTP_PROXY: proxy.url };
    const details = await start({ service: 'details', host, port: 0, env });
    const ratings = await start({ service: 'ratings', host, port: 0, env });
    apps.push(details, ratings);
    for (const v of ['v1', 'v2', 'v3']) {
      const app = await start({ service: 'reviews', version: v, host, port: 0, env: { ...env, HOSTNAME: `reviews-${v}-pod` } });
      apps.push(app);
      reviews[v] = app.port;
    }
    // Short timeouts so the slow-reviews case stays fast; the defaults are the original's 3 s.
    page = await start({ service: 'productpage', host, port: 0, env, timeouts: { reviewsMs: 300, detailsMs: 300 } });
    apps.push(page);
    proxy.routes.set('details', details.port);
    proxy.routes.set('ratings', ratings.port);
    silent = http.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, host, r));
  });

  after(async () => {
    await Promise.all(apps.map((a) => a.close()));
    silent.closeAllConnections();
    silent.close();
    await proxy.close();
  });

  beforeEach(() => {
    proxy.seen.length = 0;
    proxy.routes.set('reviews', reviews.v1!);
    proxy.routes.set('ratings', apps[1]!.port);
    proxy.routes.set('details', apps[0]!.port);
  });

  test('/productpage shows the title, book, details and v1 reviews without stars', async () => {
    const r = await request(page.port, '/productpage');
    assert.equal(r.status, 200);
    assert.match(r.body, /<title>Simple Bookstore App<\/title>/);
    assert.match(r.body, /The Comedy of Errors/);
    assert.match(r.body, /<dt>Publisher:<\/dt>PublisherA/);
    assert.match(r.body, /<dt>ISBN-10:<\/dt>1234567890/);
    assert.match(r.body, /An extremely entertaining play by Shakespeare/);
    assert.match(r.body, /reviews-v1-pod/);
    assert.doesNotMatch(r.body, /<font color=/);
    assert.deepEqual(proxy.seen.map((s) => `${s.host}${s.path}`), ['details/details/0', 'reviews/reviews/0']);
  });

  test('/productpage shows black stars from reviews v2', async () => {
    proxy.routes.set('reviews', reviews.v2!);
    const r = await request(page.port, '/productpage');
    assert.match(r.body, /<font color="black">/);
    assert.equal((r.body.match(/glyphicon-star"/g) ?? []).length, 9);
    assert.equal(proxy.to('ratings').length, 1);
  });

  test('/productpage shows red stars from reviews v3', async () => {
    proxy.routes.set('reviews', reviews.v3!);
    const r = await request(page.port, '/productpage');
    assert.match(r.body, /<font color="red">/);
  });

  test('/productpage says ratings are unavailable when ratings is down', async () => {
    proxy.routes.set('reviews', reviews.v2!);
    proxy.routes.set('ratings', 'down');
    const r = await request(page.port, '/productpage');
    assert.match(r.body, /Ratings service is currently unavailable/);
    assert.doesNotMatch(r.body, /<font color=/);
  });

  test('/productpage says reviews are unavailable after two failed tries', async () => {
    proxy.routes.set('reviews', 'down');
    const r = await request(page.port, '/productpage');
    assert.equal(r.status, 200);
    assert.match(r.body, /Sorry, product reviews are currently unavailable for this book\./);
    assert.equal(proxy.to('reviews').length, 2);
    assert.match(r.body, /<dt>Type:<\/dt>paperback/);
  });

  test('/productpage gives up on reviews slower than the timeout, twice', async () => {
    proxy.routes.set('reviews', (silent.address() as AddressInfo).port);
    const t0 = Date.now();
    const r = await request(page.port, '/productpage');
    const took = Date.now() - t0;
    assert.match(r.body, /Sorry, product reviews are currently unavailable for this book\./);
    assert.equal(proxy.to('reviews').length, 2);
    assert.ok(took >= 550 && took < 2000, `took ${took} ms`);
  });

  test('/productpage says details are unavailable when details is down', async () => {
    proxy.routes.set('details', 'down');
    const r = await request(page.port, '/productpage');
    assert.match(r.body, /Sorry, product details are currently unavailable for this book\./);
    assert.match(r.body, /Book Reviews/);
  });

  test('login as jason sets the session, shows jason and sends end-user: jason down the chain', async () => {
    proxy.routes.set('reviews', reviews.v2!);
    const login = await request(page.port, '/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=jason&passwd=jason',
    });
    assert.equal(login.status, 302);
    assert.equal(login.headers.location, '/productpage');
    const setCookie = String(login.headers['set-cookie']);
    assert.match(setCookie, /^session=[^;]+/);
    const cookie = setCookie.split(';')[0]!;

    const r = await request(page.port, '/productpage', { headers: { cookie, 'x-request-id': 'req-1', 'x-b3-traceid': 'abc' } });
    assert.match(r.body, /<b>jason<\/b>/);
    assert.match(r.body, /sign out/);
    const toReviews = proxy.to('reviews')[0]!;
    assert.equal(toReviews.headers['end-user'], 'jason');
    assert.equal(toReviews.headers['x-request-id'], 'req-1');
    assert.equal(toReviews.headers['x-b3-traceid'], 'abc');
    // reviews passes end-user on, which is what the course's ratings fault rules match.
    assert.equal(proxy.to('ratings')[0]!.headers['end-user'], 'jason');

    const out = await request(page.port, '/logout', { headers: { cookie } });
    assert.equal(out.status, 302);
    assert.match(String(out.headers['set-cookie']), /^session=;/);
  });

  test('a forged session cookie is ignored', async () => {
    proxy.seen.length = 0;
    const r = await request(page.port, '/productpage', { headers: { cookie: 'session=eyJ1c2VyIjoiamFzb24ifQ.bad' } });
    assert.doesNotMatch(r.body, /<b>jason<\/b>/);
    assert.equal(proxy.to('reviews')[0]!.headers['end-user'], undefined);
  });

  test('the API answers products, details, reviews and ratings', async () => {
    const products = JSON.parse((await request(page.port, '/api/v1/products')).body);
    assert.equal(products[0].title, 'The Comedy of Errors');
    assert.equal(products[0].id, 0);
    assert.match(products[0].descriptionHtml, /Wikipedia Summary/);
    assert.equal(JSON.parse((await request(page.port, '/api/v1/products/0')).body).publisher, 'PublisherA');
    assert.equal(JSON.parse((await request(page.port, '/api/v1/products/0/reviews')).body).reviews.length, 2);
    assert.deepEqual(JSON.parse((await request(page.port, '/api/v1/products/0/ratings')).body).ratings, { Reviewer1: 5, Reviewer2: 4 });
    proxy.routes.set('ratings', 'down');
    const failed = await request(page.port, '/api/v1/products/0/ratings');
    assert.deepEqual([failed.status, JSON.parse(failed.body)], [503, { error: 'Sorry, product ratings are currently unavailable for this book.' }]);
  });

  test('/, /health and /metrics answer', async () => {
    assert.match((await request(page.port, '/')).body, /simple bookstore application/);
    assert.equal((await request(page.port, '/health')).body, 'Product page is healthy');
    assert.match((await request(page.port, '/metrics')).body, /request_result_total\{destination_app="details",response_code="200"\}/);
  });
});

describe('productpage without a proxy', () => {
  test('calls the hosts and ports from DETAILS_/REVIEWS_ HOSTNAME and SERVICE_PORT directly', async () => {
    const details = await start({ service: 'details', host, port: 0, env: {} });
    const reviews = await start({ service: 'reviews', host, port: 0, env: {} });
    const page = await start({
      service: 'productpage', host, port: 0,
      env: { DETAILS_HOSTNAME: host, DETAILS_SERVICE_PORT: String(details.port), REVIEWS_HOSTNAME: host, REVIEWS_SERVICE_PORT: String(reviews.port) },
    });
    try {
      const r = await request(page.port, '/productpage');
      assert.match(r.body, /<dt>Pages:<\/dt>200/);
      assert.match(r.body, /Absolutely fun and entertaining/);
    } finally {
      await Promise.all([page.close(), details.close(), reviews.close()]);
    }
  });
});
