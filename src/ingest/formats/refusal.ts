import type { CheckRefusal, Refusal } from '../../domain/outcome.js';

function timestampOf(payload: Uint8Array | null): string | null {
  // Best effort for the status message of a refused JSON message; never trusted for anything else.
  if (!payload) return null;
  try {
    const v = JSON.parse(Buffer.from(payload).toString('utf8')) as { timestamp?: unknown };
    return typeof v.timestamp === 'string' && v.timestamp.length <= 40 ? v.timestamp : null;
  } catch {
    return null;
  }
}

/** A check's refusal as a verdict: with the message's timestamp when it can be read. */
export function refusal(r: CheckRefusal, payload: Uint8Array | null): Refusal {
  return { ...r, timestamp: timestampOf(payload) };
}
