import net from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

/**
 * One meter as a raw MQTT 3.1.1 socket (no mqtt.js: the bench's load generator shares the CPU
 * with the gateway): CONNECT with the meter's credentials (client id = username = meter id), and
 * with `subscribeStatus` a SUBSCRIBE to its status topic. Resolves with the socket after the
 * CONNACK (and the SUBACK); every later packet goes to `onPacket`.
 */
export function connectRawMeter(url: URL, meter: { id: string; password: string }, opts: { subscribeStatus: boolean; onPacket: (p: Packet) => void }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port || 1883), url.hostname);
    socket.setNoDelay(true);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: Packet) => {
      if (p.cmd === 'connack') {
        if (p.returnCode !== 0) return reject(new Error(`${meter.id}: CONNACK ${p.returnCode}`));
        if (!opts.subscribeStatus) return resolve(socket);
        socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `meters/${meter.id}/status`, qos: 0 }] }));
      } else if (p.cmd === 'suback') resolve(socket);
      else opts.onPacket(p);
    });
    socket.on('data', (b) => parser.parse(b));
    socket.once('error', reject);
    socket.once('connect', () =>
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: meter.id, keepalive: 60, username: meter.id, password: Buffer.from(meter.password) })),
    );
  });
}
