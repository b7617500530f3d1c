/**
 * Telemetry (DESIGN §5): the metrics registry and its Prometheus text exposition. The proxy records
 * Istio's standard metrics here; later parts add the scrape store, traces and OTLP export.
 */
export {
  Counter,
  CounterSeries,
  Histogram,
  HistogramSeries,
  Registry,
  escapeLabelValue,
  istioBuckets,
  prometheusContentType,
  registryDefaults,
  renderLabels,
} from './metrics.ts';
export type { Collector, RegistryOptions } from './metrics.ts';
