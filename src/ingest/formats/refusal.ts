import type { RejectReason } from '../../domain/reasons.js';
import type { Verdict } from '../evaluate-batch.js';

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

export function refusal(reason: RejectReason, detail: string, meterId: string | null, payload: Uint8Array | null): Verdict {
  return { ok: false, reason, detail, meterId, timestamp: timestampOf(payload) };
}
