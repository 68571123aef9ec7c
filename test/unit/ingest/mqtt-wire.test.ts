import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { pubackPacket, qos0PublishPacket } from '../../../src/ingest/mqtt-wire.js';

const generate = (p: object) => mqttPacket.generate(p as mqttPacket.Packet);

describe('hand-built MQTT packets match mqtt-packet byte for byte', () => {
  it('PUBACK for message ids across the range', () => {
    for (const id of [1, 255, 256, 4096, 65535]) expect(pubackPacket(id)).toEqual(generate({ cmd: 'puback', messageId: id }));
  });

  it('QoS 0 PUBLISH at every remaining-length size (1 to 3 bytes) and with a multibyte topic', () => {
    for (const size of [0, 10, 120, 200, 16_000, 17_000, 300_000]) {
      for (const topic of ['meters/m-1/status', 'meters/zähler-ü/status']) {
        const payload = Buffer.alloc(size, 0x61);
        const ours = qos0PublishPacket(topic, payload);
        expect(ours).toEqual(generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }));
        // and mqtt-packet parses it back to the same topic and payload
        const parser = mqttPacket.parser({ protocolVersion: 4 });
        let parsed: mqttPacket.IPublishPacket | null = null;
        parser.on('packet', (p) => (parsed = p as mqttPacket.IPublishPacket));
        parser.parse(ours);
        expect(parsed!.topic).toBe(topic);
        expect(Buffer.compare(parsed!.payload as Buffer, payload)).toBe(0);
      }
    }
  });
});
