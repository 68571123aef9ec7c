import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { MqttFrameScanner } from '../../../src/ingest/connection-guard.js';

const publish = (bytes: number, messageId = 1) =>
  mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(bytes), qos: 1, messageId, retain: false, dup: false });

describe('MqttFrameScanner', () => {
  it('follows packets of any size up to the limit, however the stream is cut', () => {
    const stream = Buffer.concat([publish(10), publish(1_000), mqttPacket.generate({ cmd: 'pingreq' }), publish(16_000 - 8)]);
    expect(stream.length).toBeGreaterThan(16_000);
    for (const cut of [1, 2, 3, 7, 1_000, stream.length]) {
      const s = new MqttFrameScanner(16_384);
      for (let i = 0; i < stream.length; i += cut) expect(s.feed(stream.subarray(i, i + cut))).toBe('ok');
    }
  });

  it('refuses a packet as soon as its header announces more than the limit, before any body', () => {
    const s = new MqttFrameScanner(16_384);
    expect(s.feed(Buffer.from([0x10, 0xff]))).toBe('ok'); // 127 + more length bytes to come
    expect(s.feed(Buffer.from([0xff]))).toBe('too_large'); // at least 16,383 + 128 × … already
    expect(new MqttFrameScanner(16_384).feed(publish(16_384).subarray(0, 4))).toBe('too_large');
    expect(new MqttFrameScanner(16_384).feed(Buffer.concat([publish(5), Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f])]))).toBe('too_large');
  });

  it('refuses a remaining length longer than four bytes', () => {
    expect(new MqttFrameScanner(Number.MAX_SAFE_INTEGER).feed(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))).toBe('malformed');
  });
});
