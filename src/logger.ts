import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * One root logger; every component takes `root.child({ component })`. The redact list is a
 * second line of defence: code never passes secrets to the logger in the first place.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gridmint' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'password', '*.password', 'secret', '*.secret', 'secretKey', '*.secretKey', 'token', '*.token',
          'req.headers.authorization', 'headers.authorization', 'authorization', 'JWT_SECRET', '*.JWT_SECRET',
          'MQTT_PASSWORD', '*.MQTT_PASSWORD',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/**
 * The daemon's stdout log: written asynchronously. Under load a synchronous write per line was
 * the largest single cost of logging (one blocking syscall per line on the event loop, bench:api
 * profile); here lines that arrive while a write is in flight go out together in the next one,
 * and lines are gathered up to 4 KiB (or 100 ms, whichever comes first) per write: at 1,000 API
 * requests a second one write per access-log line was still ~5 % of the gateway's CPU (an fs
 * write through the libuv thread pool each). pino flushes what is pending when the process
 * exits. A reader that stops reading (a stuck pipe) makes lines past 16 MiB of backlog dropped
 * rather than blocking ingest and the API.
 */
export function asyncStdout(): pino.DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 100, maxLength: 16 * 1024 * 1024 });
}
