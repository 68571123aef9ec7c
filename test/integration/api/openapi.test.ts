import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../harness/index.js';

// Debian's chromium (.ci/run installs it); CHROMIUM_BIN points elsewhere if needed.
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface Operation {
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; schema?: Schema; example?: unknown }[];
  requestBody?: { content: Record<string, { schema: Schema; example?: unknown }> };
  responses: Record<string, { description?: string }>;
}
interface Schema {
  pattern?: string;
  example?: unknown;
  properties?: Record<string, Schema>;
  anyOf?: Schema[];
}

let t: TestGateway;
let operations: { method: string; path: string; op: Operation }[];

beforeAll(async () => {
  t = await startTestGateway({ MINT_ENABLED: false });
  // The routes as the running gateway registered them — every route added later is checked too.
  const spec = t.gateway.app.swagger() as { paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>> };
  operations = Object.entries(spec.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ method: m.toUpperCase(), path, op: item[m]! })),
  );
});
afterAll(async () => t?.stop());

/** Every field of a request schema with a pattern and no example of its own or of an enclosing object (Swagger UI would invent noise). */
function patternsWithoutExample(schema: Schema | undefined, at: string, out: string[] = []): string[] {
  // an example of the whole object covers its fields
  if (!schema || schema.example !== undefined) return out;
  if (schema.pattern) out.push(at);
  for (const [k, v] of Object.entries(schema.properties ?? {})) patternsWithoutExample(v, `${at}.${k}`, out);
  // a union documents its example once, on itself
  if (schema.anyOf) schema.anyOf.forEach((v, i) => patternsWithoutExample(v, `${at}|${i}`, out));
  return out;
}

describe('OpenAPI document', () => {
  it('documents every route: summary, description, and a description for each response', () => {
    expect(operations.length).toBeGreaterThanOrEqual(15);
    const problems: string[] = [];
    for (const { method, path, op } of operations) {
      const name = `${method} ${path}`;
      if (!op.summary?.trim()) problems.push(`${name}: no summary`);
      if (!op.description?.trim()) problems.push(`${name}: no description`);
      for (const [code, r] of Object.entries(op.responses ?? {})) {
        if (!r.description?.trim() || r.description === 'Default Response') problems.push(`${name} ${code}: no response description`);
      }
      if (Object.keys(op.responses ?? {}).length === 0) problems.push(`${name}: no responses`);
    }
    expect(problems).toEqual([]);
  });

  it('request fields with a pattern carry a realistic example (meter id, base58 wallet, RFC 3339 time)', () => {
    const missing = operations.flatMap(({ method, path, op }) => [
      ...(op.parameters ?? []).filter((p) => p.schema?.pattern && p.example === undefined && p.schema.example === undefined).map((p) => `${method} ${path} ${p.in} ${p.name}`),
      // a body example (OpenAPI puts it on the media type) covers every field
      ...Object.values(op.requestBody?.content ?? {}).flatMap((c) => (c.example !== undefined ? [] : patternsWithoutExample(c.schema, `${method} ${path} body`))),
    ]);
    expect(missing).toEqual([]);
    const issue = operations.find((o) => o.method === 'POST' && o.path === '/api/erc/issue')!.op;
    const props = issue.requestBody!.content['application/json']!.schema.properties!;
    expect(props.meter_id!.example).toBe('meter-001');
    expect(props.period_start!.example).toBe('2026-11-25T12:15:00Z');
    expect(new Date(String(props.period_start!.example)).toISOString()).toBe('2026-11-25T12:15:00.000Z');
    const transfer = operations.find((o) => o.path === '/api/erc/transfer')!.op;
    expect(transfer.requestBody!.content['application/json']!.schema.properties!.to_wallet!.example).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
  });

  it('every paginated list answers the one page shape: { <items>: [...], page: { limit, offset } }', () => {
    const lists = operations.filter(({ op }) => (op.parameters ?? []).some((p) => p.in === 'query' && p.name === 'limit'));
    expect(lists.map((o) => o.path).sort()).toEqual(['/api/admin/meters', '/api/admin/meters/unminted', '/api/erc/my-certificates', '/api/meters/my-readings']);
    for (const { path, op } of lists) {
      const ok = (op.responses['200'] as { content?: Record<string, { schema: Schema & { required?: string[] } }> }).content!['application/json']!.schema;
      expect(ok.required, path).toContain('page');
      expect(Object.keys(ok.properties!.page!.properties!).sort(), path).toEqual(['limit', 'offset', 'total']);
      expect(Object.values(ok.properties!).some((p) => (p as { type?: string }).type === 'array'), path).toBe(true);
    }
  });
});

// CI (.ci/run installs chromium) must run the browser test; a developer's fresh machine without
// chromium skips it with a notice, as the promtool tests do, so `npm test` still passes there.
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && !process.env.CI) console.log(`[skip] ${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM_BIN) to render /docs in a browser`);

describe.skipIf(!hasChromium && !process.env.CI)('/docs in a real browser (chromium)', () => {
  let browser: Browser;
  beforeAll(async () => {
    expect(hasChromium, `${CHROMIUM} is needed: apt-get install -y chromium (or set CHROMIUM_BIN)`).toBe(true);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
    });
  });
  afterAll(async () => browser?.close());

  it('renders every route of the OpenAPI document with its summary', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${t.gateway.urls.http}/docs`, { waitUntil: 'load' });
      await page.waitForSelector('.opblock', { timeout: 30_000 });
      const rendered = await page.$$eval('.opblock', (blocks) =>
        blocks.map((b) => ({
          method: b.querySelector('.opblock-summary-method')?.textContent?.trim() ?? '',
          path: b.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '',
          summary: b.querySelector('.opblock-summary-description')?.textContent?.trim() ?? '',
        })),
      );
      const key = (o: { method: string; path: string }) => `${o.method} ${o.path}`;
      expect(rendered.map(key).sort()).toEqual(operations.map(key).sort());
      for (const o of operations) expect(rendered.find((r) => key(r) === key(o))?.summary, key(o)).toBe(o.op.summary);

      // Opening an operation shows its description and the realistic example, not generated noise.
      const submit = page.locator('.opblock', { has: page.locator('[data-path="/api/meters/submit-reading"]') });
      await submit.locator('.opblock-summary').click();
      await expect.poll(async () => submit.textContent(), { timeout: 15_000 }).toContain('586Z7H2vpX9qNhN2T4e9Utugie3ogjbxzGaMtM3E6HR5');
      expect(await submit.textContent()).toContain('No token: the ed25519 signature');
    } finally {
      await page.close();
    }
  }, 90_000);
});
