import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { createPool, pgTypes } from '../../../src/store/pool.js';

const NUMERIC = pg.types.builtins.NUMERIC;
const pgDefault = pg.types.getTypeParser(NUMERIC);

describe('type parsers are per connection, not process-wide', () => {
  let pool: pg.Pool;
  beforeAll(() => {
    pool = createPool(inject('adminDatabaseUrl'), 1, createLogger('silent'));
  });
  afterAll(async () => {
    pg.types.setTypeParser(NUMERIC, pgDefault);
    await pool.end();
  });

  it('importing the store leaves pg’s global parsers as pg ships them', () => {
    expect(pg.types.getTypeParser(NUMERIC)).toBe(pgDefault);
  });

  it('a pool reads NUMERIC as the exact decimal string even when another module registers a float parser', async () => {
    pg.types.setTypeParser(NUMERIC, parseFloat);
    const { rows } = await pool.query<{ kwh: unknown; id: unknown }>(`SELECT '12345678901.123456789'::numeric AS kwh, 9007199254740993::bigint AS id`);
    expect(rows[0]).toEqual({ kwh: '12345678901.123456789', id: '9007199254740993' });
    expect(pgTypes.getTypeParser(NUMERIC)('0.000000001')).toBe('0.000000001');
  });
});
