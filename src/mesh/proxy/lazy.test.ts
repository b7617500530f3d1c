import assert from 'node:assert/strict';
import { constants } from 'node:http2';
import { test } from 'node:test';
import { loadHttp2, nghttp2 } from './lazy.ts';

test('the nghttp2 codes are node:http2\'s, and loadHttp2() is node:http2', () => {
  assert.equal(nghttp2.FLAG_END_STREAM, constants.NGHTTP2_FLAG_END_STREAM);
  assert.equal(nghttp2.INTERNAL_ERROR, constants.NGHTTP2_INTERNAL_ERROR);
  assert.equal(nghttp2.REFUSED_STREAM, constants.NGHTTP2_REFUSED_STREAM);
  assert.equal(nghttp2.CANCEL, constants.NGHTTP2_CANCEL);
  assert.equal(loadHttp2().constants, constants);
});
