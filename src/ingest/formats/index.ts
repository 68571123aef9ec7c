import type { MeterSnapshot } from '../../domain/evaluate.js';
import { intervalFormat } from './interval.js';
import { ocmfFormat } from './ocmf.js';
import { registerJsonFormat } from './register-json.js';
import type { Channel, MessageFormat } from './types.js';

export type { Channel, MessageFormat } from './types.js';

/** The format a message is read with: by the channel it came in on and how its meter is registered. */
export function formatFor(channel: Channel, meter: MeterSnapshot | null): MessageFormat {
  if (channel === 'ocmf') return ocmfFormat;
  if (meter?.register?.format === 'json') return registerJsonFormat;
  if (meter?.register?.format === 'ocmf') return wrongChannel;
  return intervalFormat;
}

/** An OCMF meter publishing JSON to its readings topic (formatFor picks this only when the meter is known). */
const wrongChannel: MessageFormat = {
  name: 'ocmf',
  evaluate: (_input, meter) => ({
    ok: false, reason: 'invalid_payload', detail: `meter ${meter!.id} is registered for OCMF: publish records to meters/${meter!.id}/ocmf`,
    meterId: meter!.id, timestamp: null,
  }),
};
