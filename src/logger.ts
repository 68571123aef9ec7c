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
