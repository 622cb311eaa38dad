// Structured logging (pino), the only place that imports it. Services log with topic,
// partition, offset, request id, experiment and variant as fields; pure code never logs.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(
  service: string,
  level: string = process.env['DYNAB_LOG_LEVEL'] ?? 'info',
): Logger {
  return pino({ name: service, level, base: { service } }, pino.destination(2));
}
