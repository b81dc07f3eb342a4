// Logging: pino everywhere. Only the CLI creates the root logger; library code receives a child
// logger per component ({component, peer}). Hot paths log at debug at most.
import { pino, type Logger } from 'pino';

export type { Logger };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** A logger that writes nothing; the default for tests unless MESHD_TEST_LOGS is set. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Child logger for one component; `fields` may add e.g. {peer: 'ab12cd34'}. */
export function componentLogger(parent: Logger, component: string, fields: Record<string, unknown> = {}): Logger {
  return parent.child({ component, ...fields });
}
