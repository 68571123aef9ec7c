import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliWorkspace, runCli, startDaemon, type CliRun, type CliWorkspace } from '../../harness/index.js';

let ws: CliWorkspace;

beforeAll(async () => {
  ws = await createCliWorkspace('start-errors');
});
afterAll(async () => {
  await ws?.drop();
});

/** Another process's listening socket on 127.0.0.1 (closed by the caller). */
async function occupy(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

/** `gridmint start` as an operator runs it; resolves with its exit code and what it printed. */
function start(env: Record<string, string>): Promise<CliRun> {
  return runCli(['start'], { NODE_ENV: 'test', DATA_DIR: ws.dataDir, LOG_LEVEL: 'warn', MQTT_PORT: '0', HTTP_PORT: '0', LEDGER_PORT: '0', MINT_ENABLED: 'false', ...env }, { timeoutMs: 170_000 });
}

describe('gridmint start refuses with one clear line', () => {
  it('an occupied EMBEDDED_PG_PORT names that setting alone (no TypeError)', async () => {
    const taken = await occupy();
    try {
      const r = await start({ DATABASE_URL: '', EMBEDDED_PG_PORT: String(taken.port) });
      expect(r.code).toBe(1);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^gridmint: /);
      expect(lines[0]).toContain(String(taken.port));
      expect(lines[0]).toContain('EMBEDDED_PG_PORT');
      for (const other of ['MQTT_PORT', 'HTTP_PORT', 'LEDGER_PORT', 'TypeError']) expect(lines[0]).not.toContain(other);
    } finally {
      await taken.close();
    }
  }, 180_000);

  it('an occupied MQTT_PORT or HTTP_PORT names that setting alone', async () => {
    const taken = await occupy();
    try {
      for (const setting of ['MQTT_PORT', 'HTTP_PORT'] as const) {
        const r = await start({ DATABASE_URL: ws.db.url, MQTT_HOST: '127.0.0.1', [setting]: String(taken.port) });
        expect(r.code).toBe(1);
        expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(new RegExp(`^gridmint: ${setting}: port ${taken.port} on 127\\.0\\.0\\.1 is already in use`))]);
        for (const other of ['MQTT_PORT', 'HTTP_PORT', 'LEDGER_PORT', 'EMBEDDED_PG_PORT'].filter((s) => s !== setting)) expect(r.stderr).not.toContain(other);
      }
    } finally {
      await taken.close();
    }
  }, 180_000);

  it('a database that does not answer, or refuses the role: one line naming DATABASE_URL, password hidden', async () => {
    const closed = await occupy();
    await closed.close(); // a port nobody listens on now
    const r = await start({ DATABASE_URL: `postgresql://gm:do-not-print@127.0.0.1:${closed.port}/gm` });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`gridmint: DATABASE_URL: cannot reach postgresql://gm:***@127.0.0.1:${closed.port}/gm (connect ECONNREFUSED 127.0.0.1:${closed.port})\n`);
    const u = new URL(ws.db.url);
    u.username = 'no_such_role_h5';
    u.password = 'do-not-print';
    const refused = await start({ DATABASE_URL: u.toString() });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^gridmint: DATABASE_URL: postgresql:\/\/no_such_role_h5:\*\*\*@.* refused: /)]);
    expect(refused.stderr + refused.stdout).not.toContain('do-not-print');
  }, 180_000);

  it('bad settings: exit 2, every problem on one line, secrets not shown', async () => {
    const r = await start({ DATABASE_URL: 'postgresql://gm:do-not-print@127.0.0.1:1/x', LOG_LEVEL: 'chatty', MINT_SCHEDULE: 'hourly', JWT_SECRET: 'too-short-secret' });
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^gridmint: config: 3 problems: /);
    expect(lines[0]).toContain('LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent');
    expect(lines[0]).toContain('MINT_SCHEDULE');
    expect(lines[0]).toContain('JWT_SECRET');
    expect(r.stderr + r.stdout).not.toContain('too-short-secret');
    expect(r.stdout).toBe('');
  }, 120_000);

  it('when ready, says in one human line where everything listens', async () => {
    const d = await startDaemon({ ...ws.env, NODE_ENV: 'test', MQTT_PORT: '0', HTTP_PORT: '0', LEDGER_PORT: '0', MINT_ENABLED: 'false' }, { timeoutMs: 150_000 });
    try {
      const deadline = Date.now() + 10_000;
      while (!d.output().includes('gridmint ready:') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const line = d.output().split('\n').find((l) => l.startsWith('gridmint ready:'));
      expect(line).toBe(
        `gridmint ready: MQTT ${d.urls.mqtt} · HTTP ${d.urls.http} (API docs ${d.urls.http}/docs) · ledger ${d.urls.ledger} · database ${d.urls.database} · data ${ws.dataDir}`,
      );
    } finally {
      await d.kill('SIGTERM');
    }
  }, 180_000);
});
