import { quantile } from '../util/stats.js';

export interface LoadTestResult {
  requests: number;
  concurrency: number;
  errors: number;
  wallS: number;
  throughput: number;
  p50: number;
  p95: number;
  p99: number;
}

/**
 * A bounded closed-loop load test: `concurrency` clients each send their next request as soon as
 * the previous one is answered, until `requests` have been sent. Latency is measured client-side.
 */
export async function loadTest(url: string, bodies: string[], o: { requests: number; concurrency: number; offset?: number }): Promise<LoadTestResult> {
  const lat: number[] = [];
  let next = 0;
  let errors = 0;
  const t0 = process.hrtime.bigint();
  const client = async () => {
    while (next < o.requests) {
      const i = next++;
      const t = process.hrtime.bigint();
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[((o.offset ?? 0) + i) % bodies.length] });
      await r.arrayBuffer();
      if (!r.ok) errors++;
      lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, client));
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  return { requests: o.requests, concurrency: o.concurrency, errors, wallS, throughput: o.requests / wallS, p50: quantile(lat, 0.5), p95: quantile(lat, 0.95), p99: quantile(lat, 0.99) };
}
