import { createCanvas } from '@napi-rs/canvas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledFashionMnist } from '../src/data/fmnist.js';
import { openCacheTarget, startEngine } from '../src/earlyexit/setup.js';
import { buildCacheServer } from '../src/serve/cache-server.js';
import { loadTest } from '../src/serve/loadtest.js';
import { Rng } from '../src/util/random.js';

const set = bundledFashionMnist();
const pixels = (i: number) => [...set.pixels.subarray(i * 784, (i + 1) * 784)];
let app: ReturnType<typeof buildCacheServer>;

beforeAll(async () => {
  const t = await openCacheTarget('fmnist');
  const { engine } = await startEngine(t, { minCalibration: 50 });
  app = buildCacheServer(engine, t.spec);
  await app.ready();
}, 60_000);
afterAll(() => app?.close());

describe('HTTP service: latencylab cache serve', () => {
  it('POST /v1/classify with JSON pixels answers label, class and exit point', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/classify', payload: { width: 28, height: 28, pixels: pixels(0) } });
    expect(r.statusCode, r.body).toBe(200);
    const b = r.json();
    expect(b.label).toBeGreaterThanOrEqual(0);
    expect(b.label).toBeLessThan(10);
    expect(typeof b.class).toBe('string');
    expect(b.exit === 'backbone' || typeof b.exit.cache === 'number').toBe(true);
  });

  it('accepts an image/png body (RGB is converted to grey)', async () => {
    const c = createCanvas(28, 28);
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(28, 28);
    pixels(1).forEach((v, p) => img.data.set([v, v, v, 255], p * 4));
    ctx.putImageData(img, 0, 0);
    const png = c.toBuffer('image/png');
    const viaPng = await app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/png' }, payload: png });
    const viaJson = await app.inject({ method: 'POST', url: '/v1/classify', payload: { width: 28, height: 28, pixels: pixels(1) } });
    expect(viaPng.statusCode, viaPng.body).toBe(200);
    expect(viaPng.json().label).toBe(viaJson.json().label);
  });

  const bad: Array<[string, object, RegExp]> = [
    ['wrong size', { width: 32, height: 32, pixels: Array(1024).fill(0) }, /image is 32×32, this model takes 28×28/],
    ['pixel count mismatch', { width: 28, height: 28, pixels: [1, 2, 3] }, /pixels: has 3 values, expected .* = 784/],
    ['pixel out of range', { width: 28, height: 28, pixels: [...Array(783).fill(0), 300] }, /pixels: value 300 at index 783 is not an integer in 0\.\.255/],
    ['missing field', { width: 28, pixels: [] }, /must have required property 'height'/],
    ['unknown field', { width: 28, height: 28, pixels: pixels(0), colour: 'red' }, /must NOT have additional properties/],
    ['bad channels', { width: 28, height: 28, channels: 2, pixels: Array(1568).fill(0) }, /channels/],
  ];
  for (const [what, payload, msg] of bad) {
    it(`400 with a message: ${what}`, async () => {
      const r = await app.inject({ method: 'POST', url: '/v1/classify', payload });
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json().message).toMatch(msg);
    });
  }

  it('400 for an undecodable PNG and for a wrong content type', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/png' }, payload: Buffer.from('not a png at all') });
    expect(r.statusCode).toBe(400);
    expect(r.json().message).toMatch(/not a decodable PNG/);
    const t = await app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    expect(t.statusCode).toBe(415);
    expect(t.json().error).toBe('unsupported_media_type');
  });

  it('a pixel sent as a string is refused, not coerced', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/classify', payload: { width: 28, height: 28, pixels: ['1', ...pixels(0).slice(1)] } });
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json().message).toMatch(/pixels\/0 must be number/);
  });

  it('an oversized body is refused with 413 before it is parsed', async () => {
    const big = '{"width":28,"height":28,"pixels":[' + '0,'.repeat(16 << 20) + '0]}';
    const r = await app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'application/json' }, payload: big });
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({ error: 'payload_too_large' });
  });

  it('fuzz: random content types and bodies get 4xx with a message, never 5xx', async () => {
    const rng = new Rng(21);
    const types = ['application/json', 'application/json; charset=utf-8', 'image/png', 'image/jpeg', 'text/plain', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'image/gif', 'nonsense'];
    const bodies = [() => '', () => '{}', () => 'null', () => '[1,2]', () => '{"width":28,"height":28,"pixels":"abc"}', () => Buffer.from(Array.from({ length: rng.int(0, 300) }, () => rng.int(0, 255))), () => '\u0000\u0001'];
    for (let k = 0; k < 80; k++) {
      const type = types[rng.int(0, types.length - 1)]!;
      const payload = bodies[rng.int(0, bodies.length - 1)]!();
      const r = await app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': type }, payload });
      expect(r.statusCode, `${type} → ${r.body}`).toBeGreaterThanOrEqual(400);
      expect(r.statusCode, `${type} → ${r.body}`).toBeLessThan(500);
      expect(typeof r.json().message, r.body).toBe('string');
    }
  });

  it('fuzzed request bodies get 4xx, never 5xx', async () => {
    const rng = new Rng(8);
    const values = [null, true, -1, 0, 1.5, 1e9, 'x', [], {}, [1, 2], { a: 1 }];
    const pick = () => values[rng.int(0, values.length - 1)];
    for (let k = 0; k < 60; k++) {
      const body: Record<string, unknown> = {};
      for (const f of ['width', 'height', 'channels', 'pixels', 'extra']) if (rng.next() < 0.6) body[f] = pick();
      const payload = rng.next() < 0.2 ? '{"width": 28, "pix' : JSON.stringify(body);
      const r = await app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'application/json' }, payload });
      expect(r.statusCode, `${payload} → ${r.body}`).toBeGreaterThanOrEqual(400);
      expect(r.statusCode, `${payload} → ${r.body}`).toBeLessThan(500);
    }
  });

  it('GET /v1/stats reports hit rates, FLOPs saved, latency percentiles', async () => {
    for (let i = 2; i < 40; i++) await app.inject({ method: 'POST', url: '/v1/classify', payload: { width: 28, height: 28, pixels: pixels(i) } });
    const s = (await app.inject({ method: 'GET', url: '/v1/stats' })).json();
    expect(s.requests).toBeGreaterThanOrEqual(40);
    expect(s.caches.length).toBeGreaterThanOrEqual(5);
    expect(s.caches[0]).toHaveProperty('hitRate');
    expect(s.latencyMs.p50).toBeGreaterThan(0);
    expect(s.latencyMs.p99).toBeGreaterThanOrEqual(s.latencyMs.p50);
    expect(typeof s.flopsSaved).toBe('number');
  });

  it('GET /v1/stats reports how long the serving thread kept requests waiting (event-loop delay)', async () => {
    // the thread busy for 60 ms, as a long maintenance step would keep it
    const until = performance.now() + 60;
    while (performance.now() < until);
    await new Promise((r) => setTimeout(r, 40));
    const d = (await app.inject({ method: 'GET', url: '/v1/stats' })).json().process.eventLoopDelayMs;
    expect(d.samples).toBeGreaterThan(0);
    expect(d.max).toBeGreaterThanOrEqual(40);
    expect(d.p99).toBeGreaterThanOrEqual(d.p50);
  });
});

describe('load test client', () => {
  it('sends every request once over at most `concurrency` sockets, counts non-2xx answers as errors', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const good = JSON.stringify({ width: 28, height: 28, pixels: pixels(0) });
    const bad = JSON.stringify({ width: 28, height: 28, pixels: ['1'] });
    const sockets = new Set<unknown>();
    app.server.on('connection', (s) => sockets.add(s));
    const r = await loadTest(`http://127.0.0.1:${port}/v1/classify`, [good, good, bad], { requests: 30, concurrency: 3 });
    expect(r.requests).toBe(30);
    expect(r.errors).toBe(10);
    expect(sockets.size).toBeLessThanOrEqual(3);
    expect(r.p50).toBeGreaterThan(0);
    expect(r.p95).toBeGreaterThanOrEqual(r.p50);
    // nothing listening: every request an error, no throw
    const down = await loadTest('http://127.0.0.1:9/v1/classify', [good], { requests: 4, concurrency: 2 });
    expect(down.errors).toBe(4);
  }, 60_000);
});
