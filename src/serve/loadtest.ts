import http from 'node:http';
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
 *
 * The client shares the machine with the servers it measures, so it is kept cheap: `node:http`
 * over keep-alive sockets, not `fetch` — on this 2-core VM fetch cost 390–740 µs of client CPU
 * a request against 70–170 µs (scratch/client-cpu.mjs, 3,000 requests, 4 clients, a trivial
 * server), as much as the model itself, and that CPU was taken from both servers alike.
 */
export async function loadTest(url: string, bodies: string[], o: { requests: number; concurrency: number; offset?: number }): Promise<LoadTestResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  const post = (body: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  const lat: number[] = [];
  let next = 0;
  let errors = 0;
  const t0 = process.hrtime.bigint();
  const client = async () => {
    while (next < o.requests) {
      const i = next++;
      const t = process.hrtime.bigint();
      const status = await post(bodies[((o.offset ?? 0) + i) % bodies.length]!).catch(() => 0);
      if (status < 200 || status >= 300) errors++;
      lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  };
  try {
    await Promise.all(Array.from({ length: o.concurrency }, client));
  } finally {
    agent.destroy();
  }
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  return { requests: o.requests, concurrency: o.concurrency, errors, wallS, throughput: o.requests / wallS, p50: quantile(lat, 0.5), p95: quantile(lat, 0.95), p99: quantile(lat, 0.99) };
}
