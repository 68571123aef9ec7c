import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stableClientId } from '../../../src/ingest/client-id.js';

describe('stableClientId', () => {
  it('generates a valid id once and returns the same one after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gm-cid-'));
    const first = await stableClientId(dir);
    expect(first).toMatch(/^gridmint-[A-Za-z0-9._-]+-[0-9a-f]{8}$/);
    expect(first.length).toBeLessThanOrEqual(64);
    expect(await stableClientId(dir)).toBe(first);
    expect(readFileSync(join(dir, 'mqtt-client-id'), 'utf8').trim()).toBe(first);
  });

  it('gives two data dirs two different ids, so two instances never evict each other', async () => {
    const a = await stableClientId(mkdtempSync(join(tmpdir(), 'gm-cid-')));
    const b = await stableClientId(mkdtempSync(join(tmpdir(), 'gm-cid-')));
    expect(a).not.toBe(b);
  });
});
