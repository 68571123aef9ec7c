import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LogFn } from 'pino';

/**
 * A request's logger (fastify's `request.log`, bound to its request id), created only if the
 * request logs something. fastify makes one pino child per request, which costs a bindings
 * serialisation each (~5–10 µs under load, bench:api profile); the access line has its own logger
 * (app.ts AccessLog), so most requests never need theirs.
 */
// Methods on the prototype, not per-instance closures: the point is a cheap object per request.
class LazyChild implements FastifyBaseLogger {
  #real: FastifyBaseLogger | null = null;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get #log(): FastifyBaseLogger {
    return (this.#real ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string {
    return this.#log.level;
  }

  set level(l: string) {
    this.#log.level = l;
  }

  fatal(...a: Parameters<LogFn>): void {
    this.#log.fatal(...a);
  }

  error(...a: Parameters<LogFn>): void {
    this.#log.error(...a);
  }

  warn(...a: Parameters<LogFn>): void {
    this.#log.warn(...a);
  }

  info(...a: Parameters<LogFn>): void {
    this.#log.info(...a);
  }

  debug(...a: Parameters<LogFn>): void {
    this.#log.debug(...a);
  }

  trace(...a: Parameters<LogFn>): void {
    this.#log.trace(...a);
  }

  silent(...a: Parameters<LogFn>): void {
    this.#log.silent(...a);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#log.child(bindings, options);
  }
}

/** fastify's `childLoggerFactory`: the per-request logger, made on first use. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyChild(logger, bindings, options);
}
