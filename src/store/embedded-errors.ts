/**
 * Embedded PostgreSQL could not start. The message is one line — what failed, why, what to do —
 * because it is what the operator sees (`gridmint: <message>`), never a stack trace.
 */
export class EmbeddedPostgresError extends Error {
  readonly code = 'embedded_postgres';

  constructor(why: string, todo: string) {
    super(`embedded PostgreSQL could not start: ${oneLine(why)} — ${todo}`);
    this.name = 'EmbeddedPostgresError';
  }
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The line of a server's or initdb's stderr that says why it stopped. */
export function reasonFrom(stderr: string): string | null {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const fatal = lines.find((l) => /\b(FATAL|PANIC|ERROR)\b|^initdb: error|^postgres: /.test(l));
  return fatal ? fatal.replace(/^\S+ \S+ \S+ \[\d+\] /, '') : (lines.at(-1) ?? null);
}

/** What to do about a reason, when it is one we recognise. */
export function adviceFor(reason: string, port: number): string {
  if (/Address already in use|could not bind/i.test(reason)) return `port ${port} is taken: choose another with EMBEDDED_PG_PORT, or set DATABASE_URL`;
  if (/Permission denied|EACCES|EPERM/i.test(reason)) return 'the server user cannot read or run something it needs: run gridmint as an ordinary user, move DATA_DIR somewhere readable, or set DATABASE_URL';
  if (/No space left/i.test(reason)) return 'free disk space under DATA_DIR, or set DATABASE_URL';
  if (/lock file .* already exists|another server/i.test(reason)) return 'another PostgreSQL uses this data directory: stop it, or set DATABASE_URL';
  return 'see the lines above (LOG_LEVEL=debug shows the server log), or set DATABASE_URL to use an existing PostgreSQL';
}
