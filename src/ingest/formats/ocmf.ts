import { evaluateOcmf } from '../../domain/ocmf.js';
import { timeProblem } from '../../domain/register-reading.js';
import { ocmfKeys } from '../key-cache.js';
import { refusal } from './refusal.js';
import type { MessageFormat } from './types.js';

/** Signed OCMF records (`OCMF|{payload}|{signature}`) of a meter registered with --format ocmf. */
export const ocmfFormat: MessageFormat = {
  name: 'ocmf',
  evaluate({ topicMeterId, payload, receivedAt }, meter, limits) {
    if (!meter) return refusal('unknown_meter', topicMeterId, topicMeterId, null);
    if (meter.register?.format !== 'ocmf') return refusal('invalid_payload', `meter ${meter.id} is not registered for OCMF (--format ocmf)`, meter.id, null);
    if (meter.status !== 'active') return refusal('meter_inactive', `status ${meter.status}`, meter.id, null);
    const e = evaluateOcmf(payload, { publicKey: meter.publicKey, obis: meter.register.obis ?? '1-0:1.8.0', serial: meter.register.serial }, ocmfKeys);
    if (!e.ok) return refusal(e.reason, e.detail, meter.id, null);
    const reads = e.record.reads;
    for (const r of reads) {
      const t = timeProblem(r.timestamp, receivedAt, limits);
      if (t) return { ok: false, reason: t.reason, detail: t.detail, meterId: meter.id, timestamp: r.timestamp };
    }
    return {
      ok: true, meterId: meter.id, wallet: meter.ownerWallet, kwh: '0', timestamp: reads[0]!.timestamp, signature: e.record.signatureHex,
      register: { reads: reads.map((r) => ({ timestamp: r.timestamp, registerKwh: r.registerKwh })), page: e.record.page, keepRecord: true },
    };
  },
};
