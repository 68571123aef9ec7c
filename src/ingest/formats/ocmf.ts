import { evaluateOcmf } from '../../domain/ocmf.js';
import { timeProblem } from '../../domain/register-reading.js';
import { ocmfKeys } from '../key-cache.js';
import type { RejectReason } from '../../domain/reasons.js';
import { refusal } from './refusal.js';
import type { MessageFormat } from './types.js';

// No timestamp on a refused record: one record can carry several reads.
const refused = (reason: RejectReason, detail: string, meterId: string | null) => refusal({ ok: false, reason, detail, meterId }, null);

/** Signed OCMF records (`OCMF|{payload}|{signature}`) of a meter registered with --format ocmf. */
export const ocmfFormat: MessageFormat = {
  name: 'ocmf',
  evaluate({ meterId, payload, receivedAt }, meter, limits) {
    if (!meter) return refused('unknown_meter', meterId ?? 'no meter id named', meterId);
    if (meter.register?.format !== 'ocmf') return refused('invalid_payload', `meter ${meter.id} is not registered for OCMF (--format ocmf)`, meter.id);
    if (meter.status !== 'active') return refused('meter_inactive', `status ${meter.status}`, meter.id);
    const e = evaluateOcmf(payload, { publicKey: meter.publicKey, obis: meter.register.obis ?? '1-0:1.8.0', serial: meter.register.serial }, ocmfKeys);
    if (!e.ok) return refused(e.reason, e.detail, meter.id);
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
