import { evaluateRegisterReading } from '../../domain/register-reading.js';
import { meterKeys } from '../key-cache.js';
import { refusal } from './refusal.js';
import type { MessageFormat } from './types.js';

/** The register variant of v1: ed25519-signed JSON carrying `register_kwh`. */
export const registerJsonFormat: MessageFormat = {
  name: 'register',
  evaluate({ meterId, payload, receivedAt }, meter, limits) {
    const e = evaluateRegisterReading(meterId, payload, meter, receivedAt, limits, meterKeys);
    if (!e.ok) return refusal(e, e.reason === 'too_large' ? null : payload);
    const r = e.reading;
    return {
      ok: true, meterId: r.meter_id, wallet: r.wallet_address, kwh: '0', timestamp: r.timestamp, signature: r.signature,
      register: { reads: [{ timestamp: r.timestamp, registerKwh: r.register_kwh }], page: null, keepRecord: false },
    };
  },
};
