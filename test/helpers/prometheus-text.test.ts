import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parsePrometheusText, sampleValue } from './prometheus-text.js';

test('the Prometheus text parser reads types, help, escaped labels, special values and histogram suffixes', () => {
  const exp = parsePrometheusText(
    [
      '# HELP m_requests_total Requests',
      '# TYPE m_requests_total counter',
      'm_requests_total{path="/a\\"b\\\\c",code="200"} 3',
      '# TYPE m_latency_seconds histogram',
      'm_latency_seconds_bucket{le="0.1"} 1',
      'm_latency_seconds_bucket{le="+Inf"} 2',
      'm_latency_seconds_sum 0.5',
      'm_latency_seconds_count 2',
      'm_up NaN 1700000000000',
      '',
    ].join('\n'),
  );
  assert.equal(exp.get('m_requests_total')?.type, 'counter');
  assert.equal(exp.get('m_requests_total')?.help, 'Requests');
  assert.equal(sampleValue(exp, 'm_requests_total', { path: '/a"b\\c' }), 3);
  assert.equal(exp.get('m_latency_seconds')?.samples.length, 4);
  assert.equal(sampleValue(exp, 'm_latency_seconds_bucket', { le: '+Inf' }), 2);
  assert.ok(Number.isNaN(sampleValue(exp, 'm_up')));
});

test('the Prometheus text parser refuses malformed lines', () => {
  assert.throws(() => parsePrometheusText('m{a="1"'));
  assert.throws(() => parsePrometheusText('m one'));
  assert.throws(() => parsePrometheusText('# TYPE m gauges'));
});
