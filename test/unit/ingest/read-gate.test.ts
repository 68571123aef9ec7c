import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { Backlog } from '../../../src/ingest/backlog.js';
import { ReadGate } from '../../../src/ingest/read-gate.js';

const sockets: net.Socket[] = [];
const servers: net.Server[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** A connected pair over real TCP: what the broker reads (`server`) and what a meter writes (`client`). */
async function pair(): Promise<{ server: net.Socket; client: net.Socket }> {
  const srv = net.createServer();
  servers.push(srv);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const accepted = once(srv, 'connection');
  const client = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  const [server] = (await accepted) as [net.Socket];
  sockets.push(server, client);
  return { server, client };
}

/** Reads the way aedes does: `read(null)` on every 'readable'. */
function reader(socket: net.Socket): Buffer[] {
  const got: Buffer[] = [];
  socket.on('readable', () => {
    const b = socket.read(null as unknown as number) as Buffer | null; // aedes calls read(null)
    if (b) got.push(b);
  });
  return got;
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

describe('Backlog', () => {
  it('wakes each waiter once the count falls below its own limit', async () => {
    const b = new Backlog();
    b.count = 5;
    const woken: number[] = [];
    void b.whenBelow(5).then(() => woken.push(5));
    void b.whenBelow(3).then(() => woken.push(3));
    await expect(b.whenBelow(6)).resolves.toBeUndefined(); // already below
    b.answered();
    b.answered();
    await Promise.resolve();
    expect(woken).toEqual([5]);
    b.answered();
    await Promise.resolve();
    expect(woken).toEqual([5, 3]);
  });
});

describe('ReadGate', () => {
  it('leaves bytes unread while the backlog is at the threshold and delivers all of them after', async () => {
    const backlog = new Backlog();
    const gate = new ReadGate(2, () => backlog.count, (n) => backlog.whenBelow(n));
    const { server, client } = await pair();
    gate.attach(server);
    const got = reader(server);
    client.write('one');
    await until(() => got.length === 1);

    backlog.count = 2; // gate closed: the next read is deferred
    client.write('two');
    client.write('three');
    await new Promise((r) => setTimeout(r, 50));
    expect(Buffer.concat(got).toString()).toBe('one');
    expect(server.readableLength).toBe('twothree'.length); // still buffered, not parsed

    backlog.answered(); // below the threshold: the deferred socket is read again
    await until(() => Buffer.concat(got).toString() === 'onetwothree');
    client.write('four'); // and reading goes on normally
    await until(() => Buffer.concat(got).toString() === 'onetwothreefour');
  });

  it('forgets a deferred connection that closes', async () => {
    const backlog = new Backlog();
    backlog.count = 1;
    const gate = new ReadGate(1, () => backlog.count, (n) => backlog.whenBelow(n));
    const { server, client } = await pair();
    gate.attach(server);
    reader(server);
    client.write('x');
    await until(() => server.readableLength === 1);
    server.destroy();
    await once(server, 'close');
    backlog.answered();
    await Promise.resolve();
    expect((gate as unknown as { deferred: Set<net.Socket> }).deferred.size).toBe(0);
  });
});
