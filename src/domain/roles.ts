/**
 * API roles. `user`: prosumers and meter owners (their readings, balances, certificates);
 * `rec_authority`: issues ERC certificates; `admin`: operators (meter registry, operator mint).
 */
export const ROLES = ['user', 'rec_authority', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}
