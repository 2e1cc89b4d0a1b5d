import type { FastifyInstance, FastifyReply } from 'fastify';

/** fastify's own 4xx answers (body over the limit, a content type no parser takes) under the names both services use */
export const ERROR_CODES: Record<number, string> = { 413: 'payload_too_large', 415: 'unsupported_media_type' };

/**
 * The tail both services' error handlers share, after their own cases: another 4xx of fastify's
 * under its name (or 'bad_request'), anything else logged and answered as a 500 without details.
 */
export function sendRemainingError(app: FastifyInstance, reply: FastifyReply, err: Error & { statusCode?: number }): FastifyReply {
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: ERROR_CODES[err.statusCode] ?? 'bad_request', message: err.message });
  app.log.error(err);
  return reply.code(500).send({ error: 'internal', message: 'internal error' });
}
