/**
 * The one error catalogue for the HTTP API: every refusal is `{ error: { code, message } }`
 * with a code from here. The ingest reason codes double as API codes for submit-reading.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new AppError(400, code, message);
export const unauthorized = (message = 'a valid bearer token is required') => new AppError(401, 'unauthorized', message);
export const forbidden = (message = 'your role may not do this') => new AppError(403, 'forbidden', message);
export const notFound = (what: string) => new AppError(404, 'not_found', `${what} not found`);
export const conflict = (code: string, message: string) => new AppError(409, code, message);
export const unavailable = (code: string, message: string) => new AppError(503, code, message);
