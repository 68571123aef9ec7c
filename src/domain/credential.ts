import { pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Meter MQTT credentials. The password is 32 random bytes shown once; we keep only a hash in
 * Mosquitto's own `$7$` PBKDF2-SHA512 format, so the same stored value works for the embedded
 * broker and can be exported as a Mosquitto password file. The secret is high-entropy, so a modest
 * iteration count keeps connect storms cheap without weakening it.
 */
const ITERATIONS = 101;
const SALT_BYTES = 12;
const HASH_BYTES = 64;

export function generatePassword(): string {
  return randomBytes(32).toString('base64url');
}

export function hashPassword(password: string, iterations = ITERATIONS): string {
  const salt = randomBytes(SALT_BYTES);
  const hash = pbkdf2Sync(password, salt, iterations, HASH_BYTES, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const m = /^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const expected = Buffer.from(m[3]!, 'base64');
  const actual = pbkdf2Sync(password, Buffer.from(m[2]!, 'base64'), Number(m[1]), expected.length, 'sha512');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
