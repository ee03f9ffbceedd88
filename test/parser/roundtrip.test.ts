/**
 * Round trip: random field values rendered through a format string, as Envoy would write them, must
 * parse back to the same values.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, PRESETS } from '../../parser/index.js';
import { clusterArb, intArb, userAgentArb, valuesArb } from './arbitraries.js';
import { expectRecord, ok, render } from './render.js';

const RUNS = 300;

/** `%s.%3f` text of an epoch millisecond. */
function epochText(ms: number, digits: number): string {
  return `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}${'0'.repeat(digits - 3)}`;
}

describe('round trip through the presets', () => {
  it.each(PRESETS.map((p) => [p.name, p.format] as const))('%s', (name, format) => {
    const parser = compile(name);
    fc.assert(
      fc.property(valuesArb, (values) => {
        const line = render(format, values);
        const record = ok(parser.parse(line));
        expect(record.format).toBe(name);
        expectRecord(record, format, values);
        expect(record.start_time_ms).toBe(Date.parse(String(values.start_time)));
        if (format.includes('istio.mixer:status')) {
          expect(record.extra?.istio_policy_status).toBe(values.istio_policy_status);
        }
      }),
      { numRuns: name === 'istio' || name === 'envoy' ? RUNS * 2 : RUNS },
    );
  });
});

describe('round trip through custom formats', () => {
  it('%START_TIME(%s.%3f)% %RESPONSE_CODE% "%REQ(USER-AGENT)%" %UPSTREAM_CLUSTER%', () => {
    const format = '%START_TIME(%s.%3f)% %RESPONSE_CODE% "%REQ(USER-AGENT)%" %UPSTREAM_CLUSTER%';
    const parser = compile(format);
    // Start times from Envoy's lifetime (2016 on); precision over a wider range is tested on its own below.
    const msArb = fc.integer({ min: Date.UTC(2016, 0, 1), max: Date.UTC(2037, 11, 31) });
    fc.assert(
      fc.property(msArb, intArb, userAgentArb, clusterArb, (ms, code, ua, cluster) => {
        const values = {
          start_time: epochText(ms, 3),
          response_code: code,
          user_agent: ua,
          upstream_cluster: cluster,
        };
        const record = ok(parser.parse(render(format, values)));
        expect(record.format).toBe('custom');
        expect(record.start_time_ms).toBe(ms);
        expectRecord(record, format, values);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  // Known counterexamples run first, so the property fails the same way on every run while it fails at all.
  const KNOWN: Record<number, Array<[number, number]>> = {
    3: [[1092878915722, 0]],
    6: [[2155799521107, 0]],
    9: [[1704067200000, 999999]],
  };
  for (const digits of [3, 6, 9]) {
    it(`%START_TIME(%s.%${digits}f)% gives the exact millisecond (truncated) for 1970-2100`, () => {
      const parser = compile(`%START_TIME(%s.%${digits}f)% %DURATION%`);
      const subMs = fc.nat({ max: 10 ** (digits - 3) - 1 });
      fc.assert(
        fc.property(fc.integer({ min: 0, max: Date.UTC(2100, 0, 1) }), subMs, (ms, sub) => {
          const line = `${epochText(ms, 3)}${digits > 3 ? String(sub).padStart(digits - 3, '0') : ''} 5`;
          expect(ok(parser.parse(line)).start_time_ms, line).toBe(ms);
        }),
        { numRuns: 2000, examples: KNOWN[digits] },
      );
    });
  }

  it('key=value style with literal text between every field', () => {
    const format =
      'start=%START_TIME% status=%RESPONSE_CODE% flags=%RESPONSE_FLAGS% dur=%DURATION%ms ua="%REQ(USER-AGENT)%" xff="%REQ(X-FORWARDED-FOR)%" cluster=%UPSTREAM_CLUSTER% route=%ROUTE_NAME%';
    const parser = compile(format);
    fc.assert(
      fc.property(valuesArb, (values) => {
        const record = ok(parser.parse(render(format, values)));
        expectRecord(record, format, values);
      }),
      { numRuns: RUNS },
    );
  });

  it('a format whose only client field is not the user agent still round-trips', () => {
    const format = '[%START_TIME%] %RESPONSE_CODE% "%REQ(:AUTHORITY)%" %UPSTREAM_HOST% %BYTES_SENT%';
    const parser = compile(format);
    fc.assert(
      fc.property(valuesArb, (values) => {
        const record = ok(parser.parse(render(format, values)));
        expectRecord(record, format, values);
      }),
      { numRuns: RUNS },
    );
  });
});
