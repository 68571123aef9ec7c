import net from 'node:net';
import mqttPacket from 'mqtt-packet';

/**
 * A bare MQTT 3.1.1 client for what mqtt.js will not send: a PUBLISH whose topic is any bytes
 * (NUL, invalid UTF-8, 64 KiB). Connects with the meter's credentials, sends one QoS 1 PUBLISH
 * and reports whether the broker acknowledged it or closed the connection.
 */
export async function publishRawTopic(url: string, creds: { username: string; password: string }, topic: Buffer, payload: Buffer, timeoutMs = 10_000): Promise<'puback' | 'closed'> {
  const u = new URL(url);
  const socket = net.connect({ host: u.hostname, port: Number(u.port) });
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  try {
    return await new Promise<'puback' | 'closed'>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer from the broker')), timeoutMs);
      const finish = (r: 'puback' | 'closed') => {
        clearTimeout(timer);
        resolve(r);
      };
      socket.on('error', () => {});
      socket.on('close', () => finish('closed'));
      socket.on('data', (b: Buffer) => parser.parse(b));
      parser.on('packet', (p) => {
        if (p.cmd === 'connack') {
          if (p.returnCode !== 0) return reject(new Error(`CONNACK ${p.returnCode}`));
          socket.write(rawPublish(topic, payload, 1));
        } else if (p.cmd === 'puback') finish('puback');
      });
      socket.on('connect', () =>
        socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: '', keepalive: 30, username: creds.username, password: Buffer.from(creds.password) })),
      );
    });
  } finally {
    socket.destroy();
  }
}

/** PUBLISH, QoS 1, built by hand so the topic bytes go out exactly as given. */
function rawPublish(topic: Buffer, payload: Buffer, messageId: number): Buffer {
  const body = Buffer.concat([u16(topic.length), topic, u16(messageId), payload]);
  return Buffer.concat([Buffer.from([0x32]), remainingLength(body.length), body]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}
