import Fastify, { type FastifyInstance } from 'fastify';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CacheEngine } from '../earlyexit/engine.js';
import { isUserError } from '../util/errors.js';
import { decodePng, rawFromJson, toModelInput, type InputSpec, type RawImage } from './images.js';
import { sendRemainingError } from './http-errors.js';

const classifyJsonSchema = {
  type: 'object',
  required: ['width', 'height', 'pixels'],
  additionalProperties: false,
  properties: {
    width: { type: 'integer', minimum: 1, maximum: 4096 },
    height: { type: 'integer', minimum: 1, maximum: 4096 },
    channels: { type: 'integer', enum: [1, 3, 4] },
    pixels: { type: 'array', items: { type: 'number' }, maxItems: 4096 * 4096 },
  },
} as const;

/** Serialises work on the engine: ONNX sessions and the cache state are used by one request at a time. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * The HTTP face of a cache engine:
 *   POST /v1/classify  image (JSON pixels, or an image/png body) → label + exit point
 *   GET  /v1/stats     hit rate per cache, FLOPs saved, latency percentiles, agreement estimate
 *   GET  /healthz
 * Training runs in the engine's trainer process; re-planning after a response is sent, never inside a request.
 */
/**
 * The largest body a request for this model can need: a fixed-size model's image as JSON (≤ 5
 * bytes a value, 4 channels) or PNG, with room to spare; a model that resizes its input takes up
 * to 8 MiB. Fastify checks it against the declared length and the bytes as they stream in, so an
 * oversized body is refused (413) before it is read or parsed.
 */
export function bodyLimitFor(spec: InputSpec): number {
  return spec.fit === 'exact' ? Math.max(1 << 20, spec.width * spec.height * 4 * 5 + (64 << 10)) : 8 << 20;
}


export function buildCacheServer(engine: CacheEngine, spec: InputSpec, o: { logger?: boolean; maintenanceDuty?: number; maintenanceSliceMs?: number; bodyLimit?: number } = {}): FastifyInstance {
  // removeAdditional: false — an unknown field is a client mistake worth a 400, not something to drop
  // silently; coerceTypes: false — a pixel sent as the string "1" is a client mistake too
  const app = Fastify({ logger: o.logger ?? false, bodyLimit: o.bodyLimit ?? bodyLimitFor(spec), ajv: { customOptions: { removeAdditional: false, coerceTypes: false } } });
  app.removeContentTypeParser('text/plain');
  const lock = new Mutex();
  let maintenancePending = false;
  // maintenance on the serving thread is capped at this share of wall time, so a busy server keeps
  // most of its throughput while the caches keep learning
  const duty = o.maintenanceDuty ?? 0.2;
  // …and done in slices of about this long: the next request waits at most one slice (one audit's
  // rest of the backbone, typically), not for a backlog (10–25 ms at 1 client, session 52)
  const sliceMs = o.maintenanceSliceMs ?? 0.5;
  let nextMaintenanceAt = 0;
  app.addContentTypeParser(['image/png', 'image/jpeg'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((error: Error, _req, reply) => {
    if (isUserError(error)) return reply.code(400).send({ error: 'bad_request', message: error.message });
    const err = error as Error & { statusCode?: number; validation?: unknown };
    if (err.validation) return reply.code(400).send({ error: 'bad_request', message: `request body ${err.message}` });
    return sendRemainingError(app, reply, err);
  });

  app.post('/v1/classify', {
    schema: {
      body: {
        content: {
          'application/json': { schema: classifyJsonSchema },
          'image/png': { schema: {} },
          'image/jpeg': { schema: {} },
        },
      },
    },
    handler: async (req, reply) => {
      if (!Buffer.isBuffer(req.body) && (typeof req.body !== 'object' || req.body === null)) {
        return reply.code(415).send({ error: 'unsupported_media_type', message: 'send application/json {width, height, channels?, pixels} or an image/png body' });
      }
      const img: RawImage = Buffer.isBuffer(req.body) ? await decodePng(req.body) : rawFromJson(req.body as { width: number; height: number; pixels: number[]; channels?: number });
      const input = toModelInput(img, spec);
      const r = await lock.run(() => engine.classify(input));
      if (!maintenancePending && performance.now() >= nextMaintenanceAt) {
        maintenancePending = true;
        // maintenance runs outside the lock; a due training round starts in the engine's trainer
        // process and is not waited for (its heads and their thresholds go live together when it
        // ends): what is timed and capped here is the work left on this thread — finishing audits,
        // re-planning, rebuilding sessions
        setImmediate(() => {
          const t0 = performance.now();
          void engine.maintain({ background: true, sliceMs }).finally(() => {
            const took = performance.now() - t0;
            nextMaintenanceAt = performance.now() + (took * (1 - duty)) / duty;
            maintenancePending = false;
          });
        });
      }
      return {
        label: r.label,
        class: spec.classes?.[r.label] ?? String(r.label),
        confidence: r.confidence,
        exit: r.exitTensor === null ? 'backbone' : { cache: r.exit, tensor: r.exitTensor },
        audited: r.audited,
        flops: r.flops,
        latencyMs: r.latencyMs,
      };
    },
  });

  // how long the serving thread was busy when a request could have started (maintenance, re-plans
  // building sessions, GC): what a request's wait behind other work looks like, since start
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  app.addHook('onClose', async () => loopDelay.disable());
  const delayMs = (ns: number) => (Number.isFinite(ns) && loopDelay.count > 0 ? ns / 1e6 : 0);
  // the serving process's own CPU time and memory beside the engine's figures (the trainer
  // process's are in maintenance), so a load test can report the whole compute bill
  app.get('/v1/stats', async () => {
    const u = process.cpuUsage();
    const eventLoopDelayMs = { p50: delayMs(loopDelay.percentile(50)), p99: delayMs(loopDelay.percentile(99)), max: delayMs(loopDelay.max), samples: loopDelay.count };
    return { ...engine.stats(), process: { cpuSeconds: (u.user + u.system) / 1e6, rssBytes: process.memoryUsage().rss, eventLoopDelayMs } };
  });
  app.get('/healthz', async () => ({ ok: true }));
  return app;
}
