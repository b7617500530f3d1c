import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildIndex, buildProxyConfig, MeshSettingsError, type MeshWorld, tracingSettings } from './translate.ts';
import { podNamed, testdata, worldOf } from './translate.test-helper.ts';

describe('tracing settings', () => {
  const configFor = (mesh: MeshWorld['mesh']) => {
    const w = worldOf(testdata('bookinfo.yaml', 'default'), { mesh });
    return buildProxyConfig(buildIndex(w), podNamed(w, 'productpage'));
  };

  it('gives proxies no collector by default, and Istio\'s 1 % sampling when the user names a collector without a rate', () => {
    assert.deepEqual(configFor(undefined).tracing, { samplingPerMillion: 10000 });
    assert.deepEqual(configFor(tracingSettings('http://127.0.0.1:9411')).tracing, { samplingPerMillion: 10000, collector: { kind: 'zipkin', url: 'http://127.0.0.1:9411' } });
    assert.deepEqual(configFor(tracingSettings('http://127.0.0.1:9411', { samplingPercent: 100 })).tracing.samplingPerMillion, 1000000);
    assert.deepEqual(configFor(tracingSettings('http://127.0.0.1:9411', { samplingPercent: 0.5 })).tracing.samplingPerMillion, 5000);
  });

  it('tracingSettings() infers OTLP from /v1/traces or port 4318, and rejects what proxies could not use', () => {
    assert.equal(tracingSettings('http://127.0.0.1:4318').tracingCollector!.kind, 'otlp');
    assert.equal(tracingSettings('http://collector:8080/v1/traces').tracingCollector!.kind, 'otlp');
    assert.equal(tracingSettings('http://collector:8080/', { kind: 'otlp' }).tracingCollector!.kind, 'otlp');
    assert.equal(tracingSettings('http://127.0.0.1:9411/api/v2/spans').tracingCollector!.kind, 'zipkin');
    assert.throws(() => tracingSettings('collector:9411'), (e: unknown) => e instanceof MeshSettingsError && e.code === 'SKIFF_ERR_MESH_SETTINGS');
    assert.throws(() => tracingSettings('ftp://x'), MeshSettingsError);
    assert.throws(() => tracingSettings('http://x', { samplingPercent: 101 }), /a percentage from 0 to 100/);
  });
});
