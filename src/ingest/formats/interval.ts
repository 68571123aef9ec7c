import { evaluateReading } from '../../domain/evaluate.js';
import { meterKeys } from '../key-cache.js';
import { refusal } from './refusal.js';
import type { MessageFormat } from './types.js';

/** The v1 contract: signed interval deltas (`kwh_amount`). */
export const intervalFormat: MessageFormat = {
  name: 'interval',
  evaluate({ meterId, payload, receivedAt }, meter, limits) {
    const e = evaluateReading(meterId, payload, meter, receivedAt, limits, meterKeys);
    if (!e.ok) return refusal(e, e.reason === 'too_large' ? null : payload);
    const r = e.reading;
    return { ok: true, meterId: r.meter_id, wallet: r.wallet_address, kwh: r.kwh_amount, timestamp: r.timestamp, signature: r.signature };
  },
};
