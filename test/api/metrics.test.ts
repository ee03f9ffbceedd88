/**
 * /metrics: the egress gauges by state and namespace from a served instance over chDB with a known few
 * minutes of mesh traffic, their cardinality bound, and the process metrics' names.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fluentBitBody, meshFixture } from '../helpers/mesh-fixture.js';
import { type ServedApp, startServedApp } from '../helpers/served-app.js';

let served: ServedApp;
let app: FastifyInstance;
const NOW = Date.now();
const lines = meshFixture(NOW, 120);

beforeAll(async () => {
  // Two namespaces by traffic, the third summed as _other: the cardinality bound at work.
  served = await startServedApp({ flags: { metrics: { maxNamespaces: 2 } } });
  app = served.app;
  await served.postFluentBit(fluentBitBody(lines, NOW));
  await served.gauges.refresh();
});

afterAll(async () => {
  await served.close();
});

async function scrape(): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return res.body;
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** What the fixture holds, counted here from its own lines, not from the store. */
function expected(ns: string, kind: 'passthrough' | 'blocked'): number {
  const pattern = kind === 'passthrough' ? / PassthroughCluster / : / (BlackHoleCluster|block_all)/;
  return lines.filter((l) => l.src.ns === ns && pattern.test(l.line)).length;
}

describe('/metrics', () => {
  it('counts external requests by state and namespace, the rest of the namespaces as _other', async () => {
    const text = await scrape();
    // shop (most traffic) and billing are the top two; search becomes _other.
    expect(value(text, 'egresslens_egress_requests{state="passthrough",namespace="shop"}')).toBe(
      expected('shop', 'passthrough'),
    );
    expect(value(text, 'egresslens_egress_requests{state="blocked",namespace="billing"}')).toBe(
      expected('billing', 'blocked'),
    );
    expect(value(text, 'egresslens_egress_requests{state="blocked",namespace="_other"}')).toBe(
      expected('search', 'blocked'),
    );
    expect(value(text, 'egresslens_egress_requests{state="passthrough",namespace="search"}')).toBeUndefined();
    expect(value(text, 'egresslens_egress_destinations{state="passthrough",namespace="shop"}')).toBe(2);
    expect(value(text, 'egresslens_egress_timeouts{namespace="shop"}')).toBe(6);
    expect(value(text, 'egresslens_egress_gauges_age_seconds')).toBeLessThan(60);
  });

  it('never labels a series with a host, and has no doubled process prefix', async () => {
    const text = await scrape();
    expect(text).not.toMatch(/\bhost="/);
    expect(text).not.toContain('egresslens_process_process_');
    expect(text).toContain('egresslens_process_cpu_user_seconds_total');
    const egressSeries = text.split('\n').filter((l) => l.startsWith('egresslens_egress_'));
    // 3 namespaces at most (2 + _other) × 3 states × 2 state-labelled gauges, + timeouts per namespace, + age.
    expect(egressSeries.length).toBeLessThanOrEqual(3 * 3 * 2 + 3 + 1);
  });
});
