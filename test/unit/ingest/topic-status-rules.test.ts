import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../../src/domain/outcome.js';
import { routeTopic, statusMessage } from '../../../src/ingest/types.js';

// The two MQTT transports (embedded aedes and the external-broker subscriber) share these two
// rules; an integration test per transport shows each end to end.

describe('routeTopic: which topics reach the pipeline, for both MQTT transports', () => {
  it('routes a meter’s readings and OCMF topics to that meter', () => {
    expect(routeTopic('meters/m-1/readings', 'm-1')).toEqual({ ok: true, channel: 'readings', meterId: 'm-1' });
    expect(routeTopic('meters/m-1/ocmf', 'm-1')).toEqual({ ok: true, channel: 'ocmf', meterId: 'm-1' });
    expect(routeTopic('meters/m-1/readings', null)).toEqual({ ok: true, channel: 'readings', meterId: 'm-1' });
  });

  it('refuses every other topic as forbidden_topic with one detail text, naming the publisher when known', () => {
    expect(routeTopic('meters/m-2/readings', 'm-1')).toEqual({
      ok: false, reason: 'forbidden_topic', detail: 'meter m-1 may not publish to meters/m-2/readings', meterId: 'm-1', timestamp: null,
    });
    for (const topic of ['meters/m-1/status', 'meters/m-1/readings/x', 'meters/bad id/readings', 'other', '']) {
      expect(routeTopic(topic, null)).toEqual({ ok: false, reason: 'forbidden_topic', detail: `this client may not publish to ${topic}`, meterId: null, timestamp: null });
    }
    const long = `meters/${'a'.repeat(500)}/readings`;
    const r = routeTopic(long, 'm-1');
    expect(!r.ok && r.detail).toBe(`meter m-1 may not publish to ${long.slice(0, 200)}`);
  });
});

describe('statusMessage: which outcomes a meter hears about on meters/{id}/status', () => {
  const accepted: Outcome = { ok: true, outcome: 'accepted', meterId: 'm-1', readingId: '7', timestamp: 't', detail: null, notes: [] };
  const refused: Outcome = { ok: false, reason: 'bad_signature', meterId: 'm-1', timestamp: 't', detail: 'ed25519 verification failed' };

  it('publishes every outcome of the sending meter on its own status topic', () => {
    for (const o of [accepted, refused]) expect(statusMessage(o, 'm-1')?.topic).toBe('meters/m-1/status');
    const forbidden = routeTopic('meters/m-2/readings', 'm-1') as Outcome; // embedded broker: the client is known
    expect(JSON.parse(statusMessage(forbidden, 'm-1')!.payload.toString())).toEqual({
      timestamp: null, outcome: 'rejected', reason: 'forbidden_topic', detail: 'meter m-1 may not publish to meters/m-2/readings', reading_id: null,
    });
  });

  it('publishes nothing when no sender is known or the outcome concerns another meter', () => {
    const route = routeTopic('meters/bad id/readings', null); // external broker: nobody to tell
    expect(statusMessage(route as Outcome, route.meterId)).toBeNull();
    expect(statusMessage(accepted, 'm-2')).toBeNull();
    expect(statusMessage({ ...refused, meterId: null }, 'm-1')).toBeNull();
  });
});
