// The logger tests inject: silent unless MESHD_TEST_LOGS is set (then debug JSON on stderr).
import { pino } from 'pino';
import type { Logger } from '../../src/util/log.js';

export function testLogger(name = 'test'): Logger {
  const level = process.env.MESHD_TEST_LOGS ? 'debug' : 'silent';
  return pino({ level, name }, pino.destination(2));
}
