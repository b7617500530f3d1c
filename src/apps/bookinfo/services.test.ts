import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bookinfoImage, proxyFor, start, upstreamRequest } from './index.ts';
import type { RunningApp } from './index.ts';
import { request } from './testing.ts';
import { bypassesProxy } from './upstream.ts';

const host = '127.0.0.1';

describe('details', () => {
  let app: RunningApp;
  before(async () => { app = await start({ service: 'details', host, port: 0, env: {} }); });
  after(() => app.close());

  test('/details/{id} answers the book details of the original', async () => {
    const r = await request(app.port, '/details/0');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /application\/json/);
    assert.equal(r.body, JSON.stringify({ id: 0, author: 'William Shakespeare', year: 1595, type: 'paperback', pages: 200, publisher: 'PublisherA', language: 'English', 'ISBN-10': '1234567890', 'ISBN-13': '123-1234567890' }));
    assert.equal(JSON.parse((await request(app.port, '/details/7')).body).id, 7);
  });

  test('/details/{id} answers 400 when the id is not numeric', async () => {
    const r = await request(app.port, '/details/abc');
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), { error: 'please provide numeric product id' });
  });

  test('/health answers healthy', async () => {
    const r = await request(app.port, '/health');
    assert.deepEqual([r.status, JSON.parse(r.body)], [200, { status: 'Details is healthy' }]);
  });
});

describe('ratings', () => {
  let app: RunningApp;
  before(async () => { app = await start({ service: 'ratings', host, port: 0, env: {} }); });
  after(() => app.close());

  test('/ratings/{id} answers two reviewer ratings', async () => {
    const r = await request(app.port, '/ratings/0');
    assert.equal(r.status, 200);
    assert.equal(r.body, '{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}');
  });

  test('/ratings/{id} answers 400 when the id is not numeric', async () => {
    const r = await request(app.port, '/ratings/abc');
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), { error: 'please provide numeric product ID' });
  });

  test('POST /ratings/{id} stores ratings that GET then returns', async () => {
    const p = await request(app.port, '/ratings/3', { method: 'POST', body: '{"Reviewer1":1,"Reviewer2":2}' });
    assert.equal(p.status, 200);
    assert.deepEqual(JSON.parse((await request(app.port, '/ratings/3')).body), { id: 3, ratings: { Reviewer1: 1, Reviewer2: 2 } });
  });

  test('/health answers healthy', async () => {
    assert.deepEqual(JSON.parse((await request(app.port, '/health')).body), { status: 'Ratings is healthy' });
  });
});

describe('reviews', () => {
  test('v1 answers the two reviews without ratings, podname from HOSTNAME', async () => {
    const app = await start({ service: 'reviews', version: 'v1', host, port: 0, env: { HOSTNAME: 'reviews-v1-abc12' } });
    try {
      const r = await request(app.port, '/reviews/0');
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), {
        id: '0',
        podname: 'reviews-v1-abc12',
        clustername: 'null',
        reviews: [
          { reviewer: 'Reviewer1', text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!' },
          { reviewer: 'Reviewer2', text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.' },
        ],
      });
      assert.deepEqual(JSON.parse((await request(app.port, '/health')).body), { status: 'Reviews is healthy' });
    } finally {
      await app.close();
    }
  });

  test('v2 takes ratings from RATINGS_HOSTNAME/RATINGS_SERVICE_PORT and colours stars black', async () => {
    const ratings = await start({ service: 'ratings', host, port: 0, env: {} });
    const env = { RATINGS_HOSTNAME: '127.0.0.1', RATINGS_SERVICE_PORT: String(ratings.port) };
    const app = await start({ service: 'reviews', host, port: 0, env: { ...env, SERVICE_VERSION: 'v2' } });
    try {
      const doc = JSON.parse((await request(app.port, '/reviews/0')).body);
      assert.deepEqual(doc.reviews.map((r: { rating: unknown }) => r.rating), [{ stars: 5, color: 'black' }, { stars: 4, color: 'black' }]);
    } finally {
      await Promise.all([app.close(), ratings.close()]);
    }
  });

  test('v3 reports the rating error when ratings does not answer in time', async () => {
    // A server that accepts and never answers stands in for a delayed ratings.
    const silent = await import('node:http').then((h) => h.createServer(() => {}));
    await new Promise<void>((r) => silent.listen(0, host, r));
    const port = (silent.address() as { port: number }).port;
    const app = await start({ service: 'reviews', version: 'v3', host, port: 0, env: { RATINGS_HOSTNAME: host, RATINGS_SERVICE_PORT: String(port) }, timeouts: { reviewsRatingsMs: 200 } });
    try {
      const t0 = Date.now();
      const doc = JSON.parse((await request(app.port, '/reviews/0')).body);
      assert.ok(Date.now() - t0 < 2000);
      assert.deepEqual(doc.reviews[0].rating, { error: 'Ratings service is currently unavailable' });
    } finally {
      await app.close();
      silent.closeAllConnections();
      silent.close();
    }
  });
});

describe('bookinfoImage()', () => {
  test('maps Bookinfo images to service and version', () => {
    assert.deepEqual(bookinfoImage('docker.io/istio/examples-bookinfo-reviews-v2:1.20.2'), { service: 'reviews', version: 'v2' });
    assert.deepEqual(bookinfoImage('docker.io/istio/examples-bookinfo-productpage-v1:1.16.4'), { service: 'productpage', version: 'v1' });
    assert.deepEqual(bookinfoImage('istio/examples-bookinfo-details-v1'), { service: 'details', version: 'v1' });
    assert.deepEqual(bookinfoImage('examples-bookinfo-ratings-v1@sha256:abc'), { service: 'ratings', version: 'v1' });
    assert.deepEqual(bookinfoImage('localhost:5000/examples-bookinfo-reviews-v3'), { service: 'reviews', version: 'v3' });
    assert.deepEqual(bookinfoImage('docker.io/istio/examples-bookinfo-ratings-v-faulty:1.20.2'), { service: 'ratings', version: 'v-faulty' });
  });

  test('answers undefined for other images', () => {
    assert.equal(bookinfoImage('docker.io/library/nginx:1.25'), undefined);
    assert.equal(bookinfoImage('docker.io/istio/examples-bookinfo-reviews-v9'), undefined);
    assert.equal(bookinfoImage('docker.io/istio/examples-helloworld-v1'), undefined);
  });
});

describe('upstream', () => {
  test('proxyFor() honours http_proxy/HTTP_PROXY and NO_PROXY', () => {
    const u = new URL('http://reviews:9080/reviews/0');
    assert.equal(proxyFor(u, {}), undefined);
    assert.equal(proxyFor(u, { HTTP_PROXY: 'http://127.0.0.1:15001' })?.port, '15001');
    assert.equal(proxyFor(u, { http_proxy: '127.0.0.1:3128' })?.host, '127.0.0.1:3128');
    assert.equal(proxyFor(u, { HTTP_PROXY: 'http://p:1', NO_PROXY: 'localhost,reviews' }), undefined);
    assert.equal(bypassesProxy(new URL('http://a.svc.cluster.local/'), '.cluster.local'), true);
    assert.equal(bypassesProxy(new URL('http://reviews:9080/'), 'reviews:80'), false);
    assert.equal(bypassesProxy(new URL('http://x/'), '*'), true);
  });

  test('upstreamRequest() rejects with SKIFF_ERR_UPSTREAM_CONNECT when nothing listens', async () => {
    const probe = await start({ service: 'details', host, port: 0, env: {} });
    const port = probe.port;
    await probe.close();
    await assert.rejects(upstreamRequest(`http://127.0.0.1:${port}/`, { env: {}, timeoutMs: 1000 }), { code: 'SKIFF_ERR_UPSTREAM_CONNECT' });
  });
});
