import { createRequire } from 'node:module';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
// The embedded broker (aedes) and the Mosquitto subscriber write through this one mqtt-packet.
import '../../../src/ingest/embedded-broker.js';

/** mqtt-packet's packet-id cache: filled with 65,536 Buffers on the first write unless turned off. */
const numbers = createRequire(import.meta.url)('mqtt-packet/numbers.js') as { cache: Record<string, Buffer> };

describe('MQTT packet ids', () => {
  it('PUBACKs are written without filling mqtt-packet\'s 65,536-Buffer id cache (≈ 7 MiB of heap)', () => {
    for (const messageId of [1, 4242, 65535]) {
      const bytes = mqttPacket.generate({ cmd: 'puback', messageId });
      expect([...bytes]).toEqual([0x40, 2, messageId >> 8, messageId & 0xff]);
    }
    expect(Object.keys(numbers.cache)).toHaveLength(0);
  });
});
