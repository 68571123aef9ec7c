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

/** An OCMF meter publishing JSON to its readings topic. */
const wrongChannel: MessageFormat = {
  name: 'ocmf',
  evaluate: ({ topicMeterId }) => ({
    ok: false, reason: 'invalid_payload', detail: `meter ${topicMeterId} is registered for OCMF: publish records to meters/${topicMeterId}/ocmf`,
    meterId: topicMeterId, timestamp: null,
  }),
};
