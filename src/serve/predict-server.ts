import Fastify, { type FastifyInstance } from 'fastify';
import type { Store } from '../store/db.js';
import type { InputOverrides } from '../ir/onnx-load.js';
import { isUserError, UserError } from '../util/errors.js';
import { WHOLE_MODEL_DEVICES } from '../wholemodel/fusion.js';
import { modelFromBytes } from '../wholemodel/model-file.js';
import { settingKey, WholeModelPredictor, type WholeModelSetting } from '../wholemodel/predictor.js';
import { predictionRecord } from '../wholemodel/report.js';
import { loadSelected, predictSelected } from '../select/autoselect.js';
import { ERROR_CODES, sendRemainingError } from './http-errors.js';

/** ONNX files are large (ResNet-50: ~100 MB); a body over this is refused before it is read */
export const DEFAULT_MODEL_BODY_LIMIT = 512 << 20;

const predictQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    device: { type: 'string', enum: [...WHOLE_MODEL_DEVICES] },
    threads: { type: 'integer', minimum: 1, maximum: 256 },
    inputShape: { type: 'string', pattern: '^[1-9][0-9]*(,[1-9][0-9]*)*$', maxLength: 200 },
    // symbolic input dims by name, as --dim: sequence=128,batch=1
    dims: { type: 'string', pattern: '^[^,=]+=[1-9][0-9]*(,[^,=]+=[1-9][0-9]*)*$', maxLength: 1000 },
    top: { type: 'integer', minimum: 0 },
  },
} as const;

const moduleBodySchema = {
  type: 'object',
  required: ['dataset', 'params'],
  additionalProperties: false,
  properties: {
    dataset: { type: 'string', minLength: 1, maxLength: 200 },
    params: { type: 'object' },
    threads: { type: 'integer', minimum: 1, maximum: 256 },
    loadWorkers: { type: 'integer', minimum: 0, maximum: 64 },
    loadDuty: { type: 'number', minimum: 0, maximum: 1 },
  },
} as const;

interface ModuleQuery {
  dataset: string;
  params: Record<string, unknown>;
  threads?: number;
  loadWorkers?: number;
  loadDuty?: number;
}

interface PredictQuery {
  device?: string;
  threads?: number;
  inputShape?: string;
  dims?: string;
  top?: number;
}

/** an answer other than 400 with its own error code */
class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

interface AjvError {
  instancePath?: string;
  message?: string;
  params?: { additionalProperty?: string; allowedValues?: unknown[] };
}

/** an ajv error as a sentence naming the parameter */
function describeAjvError(e: AjvError | undefined): string {
  if (!e) return 'invalid';
  if (e.params?.additionalProperty) return `unknown parameter '${e.params.additionalProperty}' (expected ${Object.keys(predictQuerySchema.properties).join(', ')})`;
  const allowed = e.params?.allowedValues ? `: ${e.params.allowedValues.join(', ')}` : '';
  return `${(e.instancePath ?? '').replace(/^\//, '') || 'query'} ${e.message ?? 'is invalid'}${allowed}`;
}

/**
 * Values loaded from the store once per key and kept until another process writes to it
 * (`train`, `calibrate`: SQLite's data_version moves), then loaded again on their next use.
 */
function versionedCache<A, T>(store: Store, load: (arg: A) => T): (key: string, arg: A) => T {
  const held = new Map<string, { version: number; value: T }>();
  return (key, arg) => {
    const version = store.dataVersion();
    const h = held.get(key);
    if (h && h.version === version) return h.value;
    const value = load(arg);
    held.set(key, { version, value });
    return value;
  };
}

/** the loader speaks the CLI's language (--dim, --input-shape); here the dims come in the query */
function httpWording(message: string): string {
  return message
    .replace(/^(request body|--dim|--input-shape): /, '')
    .replace(/give ((?:--dim \S+=<n> ?)+), or --input-shape/, (_m, flags: string) => `give the dims query parameter (${flags.trim().split(/ ?--dim /).filter(Boolean).join(',')}), or the inputShape query parameter`)
    .replace('give --input-shape', 'give the inputShape query parameter')
    .replace(/--dim\b/g, 'dims')
    .replace(/--input-shape\b/g, 'inputShape');
}

const contentType = (ct: string | undefined) => JSON.stringify(ct ?? 'none');


/**
 * Whole-model prediction over HTTP, from the predictors in a store:
 *   POST /v1/predict?device=ort-cpu&threads=1&inputShape=1,3,640,640&top=20   (or dims=sequence=128,…)
 *        body: the .onnx file (application/octet-stream) → `predict --json`'s record
 *   POST /v1/predict-module  {dataset, params, threads?, loadWorkers?, loadDuty?} → one module
 *        configuration with the dataset's selected RM (`predict --dataset … --params … --json`)
 *   GET  /healthz
 * A setting's predictors (and a dataset's RM) are loaded on its first request and kept, with the
 * module predictions they remember (a search that asks about many similar networks gets faster);
 * they are reloaded when another process has written to the store since (`train`, `calibrate`).
 */
export function buildPredictServer(store: Store, o: { logger?: boolean; bodyLimit?: number } = {}): FastifyInstance {
  // coerceTypes: query strings are strings; ajv turns "2" into the integer 2 and refuses "two"
  const app = Fastify({ logger: o.logger ?? false, bodyLimit: o.bodyLimit ?? DEFAULT_MODEL_BODY_LIMIT, ajv: { customOptions: { removeAdditional: false, coerceTypes: true } } });
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const wholeModel = versionedCache(store, (setting: WholeModelSetting) => {
    try {
      return WholeModelPredictor.open(store, setting);
    } catch (e) {
      // a setting without trained predictors: the message says which commands would train them
      if (isUserError(e) && e.where === 'device') throw new HttpError(404, 'not_trained', e.message);
      throw e;
    }
  });
  const selected = versionedCache(store, (dataset: string) => loadSelected(store, dataset));

  app.setErrorHandler((error: Error, req, reply) => {
    if (error instanceof HttpError) return reply.code(error.status).send({ error: error.code, message: error.message });
    if (isUserError(error)) return reply.code(400).send({ error: 'bad_request', field: error.where, message: error.message });
    const err = error as Error & { statusCode?: number; validation?: unknown };
    if (err.validation) return reply.code(400).send({ error: 'bad_request', message: err.message });
    if (err.statusCode === 415) return reply.code(415).send({ error: ERROR_CODES[415], message: `unsupported content type ${contentType(req.headers['content-type'])}: /v1/predict takes the .onnx file as application/octet-stream, /v1/predict-module application/json` });
    return sendRemainingError(app, reply, err);
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}; POST /v1/predict with the .onnx file as application/octet-stream, or POST /v1/predict-module with JSON` }));

  app.post<{ Querystring: PredictQuery; Body: Buffer }>('/v1/predict', {
    schema: { querystring: predictQuerySchema },
    // fastify validates the query after reading the body: another content type or a bad parameter
    // is refused before a model of hundreds of MB is read
    preParsing: async (req, _reply, payload) => {
      if (req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() !== 'application/octet-stream') {
        throw new HttpError(415, ERROR_CODES[415]!, `send the .onnx file as the request body with content-type application/octet-stream (got ${contentType(req.headers['content-type'])})`);
      }
      const validate = req.getValidationFunction('querystring');
      if (validate && !validate(req.query)) throw new UserError(describeAjvError(validate.errors?.[0]), 'querystring');
      return payload;
    },
  }, async (req) => {
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw new UserError('send the .onnx file as the request body (content-type application/octet-stream)', 'body');
    const q = req.query;
    const dims = Object.fromEntries((q.dims ? q.dims.split(',') : []).map((p) => [p.slice(0, p.lastIndexOf('=')), Number(p.slice(p.lastIndexOf('=') + 1))]));
    const spec: InputOverrides = { shapes: q.inputShape ? { '': q.inputShape.split(',').map(Number) } : {}, dims };
    const t0 = performance.now();
    // the model first: a broken file is named before any predictor is loaded
    let mf: ReturnType<typeof modelFromBytes>;
    try {
      mf = modelFromBytes(new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength), 'request body', spec);
    } catch (e) {
      // the loader speaks the CLI's language; here the dims come in the query
      if (isUserError(e)) throw new UserError(httpWording(e.message), 'request body');
      throw e;
    }
    const setting = { device: q.device ?? 'ort-cpu', threads: q.threads ?? 1 };
    const p = wholeModel(settingKey(setting), setting).predict(mf.imported);
    return { ...predictionRecord(p, q.top ?? Infinity), predictMs: performance.now() - t0 };
  });
  // one module configuration with a dataset's selected RM (`latencylab predict --dataset … --params …`)
  app.post<{ Body: ModuleQuery }>('/v1/predict-module', { schema: { body: moduleBodySchema }, bodyLimit: 64 << 10 }, async (req) => {
    const b = req.body;
    return predictSelected(selected(b.dataset, b.dataset), b.dataset, b.params, { threads: b.threads ?? 1, optLevel: 'all', loadWorkers: b.loadWorkers ?? 0, loadDuty: b.loadDuty ?? 0 });
  });
  app.get('/healthz', async () => ({ ok: true }));
  return app;
}
