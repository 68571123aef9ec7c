// The two packets the embedded broker writes for every reading, built here as single Buffers
// instead of through aedes' client.publish and mqtt-packet's generator: at thousands of readings a
// second those paths (a packet object, a generator call, a dozen debug() calls and several small
// writes per status message) were among the largest allocations of the main thread. Both are
// MQTT 3.1 / 3.1.1 packets (the only versions the embedded broker accepts); a unit test checks them
// byte for byte against mqtt-packet's own generator.

/** PUBACK for a QoS 1 PUBLISH (MQTT 3.1.1 §3.4). */
export function pubackPacket(messageId: number): Buffer {
  return Buffer.from([0x40, 0x02, messageId >> 8, messageId & 0xff]);
}

/** A QoS 0 PUBLISH, not retained, not a duplicate (MQTT 3.1.1 §3.3): no packet identifier. */
export function qos0PublishPacket(topic: string, payload: Buffer): Buffer {
  const topicLength = Buffer.byteLength(topic);
  const remaining = 2 + topicLength + payload.length;
  const lengthBytes = remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4;
  const out = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  out[0] = 0x30;
  let at = 1;
  let rest = remaining;
  do {
    let byte = rest % 0x80;
    rest = Math.floor(rest / 0x80);
    if (rest > 0) byte |= 0x80;
    out[at++] = byte;
  } while (rest > 0);
  out.writeUInt16BE(topicLength, at);
  at += 2;
  at += out.write(topic, at, 'utf8');
  payload.copy(out, at);
  return out;
}
