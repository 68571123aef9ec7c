import { meterIdFromOcmfTopic, meterIdFromTopic, topicForStatus } from '../domain/reading.js';
import type { Outcome, Refusal } from '../domain/outcome.js';
import type { Channel } from './formats/types.js';

export type Transport = 'mqtt' | 'http';

/**
 * Where a transport routed a message: the meter it is addressed to and the channel it came in
 * on — or the transport's own refusal (forbidden_topic), which is only quarantined.
 * `meterId` is named by the topic when `source` is 'mqtt' (on the embedded broker it is also the
 * authenticated client) and by the body's meter_id when 'http'; null when an HTTP body names no
 * valid meter id (evaluation still runs, so the sender learns the reason).
 */
export type Route = { ok: true; channel: Channel; meterId: string | null } | Refusal;

/**
 * One message handed to the pipeline by a transport. `done` is called exactly once: with the
 * outcome after the commit that made it durable, or with an Error when the gateway gave up on it
 * (shutting down) — then it must NOT be acknowledged, the sender will retry.
 */
export interface IngestMessage {
  source: Transport;
  topic: string;
  payload: Buffer;
  /** epoch ms of receipt; also the clock the stale/future checks use, so an outage never ages a reading */
  receivedAt: number;
  route: Route;
  done: (outcome: Outcome | Error) => void;
}

/** The pipeline as transports see it. */
export interface IngestSink {
  /** false when the pending limit is reached: the transport must refuse (never acknowledge) */
  submit(msg: IngestMessage): boolean;
  /** resolves when there is room again after a refusal */
  whenRoom(): Promise<void>;
  /** messages received and not yet answered */
  readonly backlog: number;
  /** resolves once fewer than `limit` messages are unanswered (at once if already so) */
  whenBelow(limit: number): Promise<void>;
  readonly accepting: boolean;
}

/**
 * The topic rule of both MQTT transports: `meters/{id}/readings` and `meters/{id}/ocmf` are
 * routed to meter `id`; anything else is refused as forbidden_topic, here and nowhere else.
 * `publisher`: the authenticated meter on the embedded broker, which may publish only to its own
 * topics; null on an external broker, whose ACL decides who publishes where.
 */
export function routeTopic(topic: string, publisher: string | null): Route {
  const readings = meterIdFromTopic(topic);
  const id = readings ?? meterIdFromOcmfTopic(topic);
  if (id !== null && (publisher === null || id === publisher)) return { ok: true, channel: readings === null ? 'ocmf' : 'readings', meterId: id };
  const who = publisher === null ? 'this client' : `meter ${publisher}`;
  return { ok: false, reason: 'forbidden_topic', detail: `${who} may not publish to ${topic.slice(0, 200)}`, meterId: publisher, timestamp: null };
}

/** JSON published to meters/{id}/status (QoS 0); see statusMessage for which outcomes get one. */
export function statusPayload(o: Outcome): Buffer {
  return Buffer.from(
    JSON.stringify({
      timestamp: o.timestamp,
      outcome: o.ok ? o.outcome : 'rejected',
      reason: o.ok ? null : o.reason,
      detail: o.detail,
      reading_id: o.ok ? o.readingId : null,
    }),
  );
}

/**
 * The status rule of both MQTT transports: every outcome is published on the sender's
 * `meters/{id}/status` when the transport knows which meter sent the message and the outcome
 * concerns that meter. `sender`: the authenticated client on the embedded broker (so a
 * forbidden_topic refusal reaches it too); the topic's meter on an external broker (null for a
 * topic that names no meter: nobody to tell).
 */
export function statusMessage(o: Outcome, sender: string | null): { topic: string; payload: Buffer } | null {
  if (sender === null || o.meterId !== sender) return null;
  return { topic: topicForStatus(sender), payload: statusPayload(o) };
}
