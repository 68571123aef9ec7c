import { createLogger, type Logger } from '../../src/logger.js';

/** Silent unless TEST_LOG_LEVEL is set (e.g. TEST_LOG_LEVEL=debug to watch a failing test). */
export const testLogger: Logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

export interface CapturedLog {
  /** every line written so far */
  lines: string[];
  logger: Logger;
}

/** A logger at `level` whose every JSON line is kept in `lines`, for tests that read the logs. */
export function captureLog(level = 'info'): CapturedLog {
  const lines: string[] = [];
  const stream = { write: (s: string) => void lines.push(...s.split('\n').filter(Boolean)) };
  return { lines, logger: createLogger(level, stream as never) };
}
