import type pg from 'pg';
import type { Role } from '../domain/roles.js';

export interface UserRow {
  id: string;
  wallet: string;
  role: Role;
  name: string;
  created_at: Date;
}

const COLUMNS = 'id::text AS id, wallet, role, name, created_at';

/** Inserts a user; null when that wallet already has that role. */
export async function insertUser(db: pg.Pool, u: { wallet: string; role: Role; name: string }): Promise<UserRow | null> {
  const r = await db.query<UserRow>(
    `INSERT INTO users (wallet, role, name) VALUES ($1, $2, $3) ON CONFLICT ON CONSTRAINT users_wallet_role_key DO NOTHING RETURNING ${COLUMNS}`,
    [u.wallet, u.role, u.name],
  );
  return r.rows[0] ?? null;
}

export async function getUser(db: pg.Pool, id: string): Promise<UserRow | null> {
  // ids are UUIDs; anything else cannot match and must not reach the uuid cast as an error
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
  const r = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1::uuid`, [id]);
  return r.rows[0] ?? null;
}

export async function listUsers(db: pg.Pool, limit = 1000, offset = 0): Promise<UserRow[]> {
  const r = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2`, [limit, offset]);
  return r.rows;
}
