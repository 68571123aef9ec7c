import { describe, expect, it } from 'vitest';
import { generatePassword, hashPassword, verifyPassword } from '../../../src/domain/credential.js';
import { registrationProblem } from '../../../src/domain/meter.js';
import { generateMeterKey } from '../../../src/domain/sign.js';

describe('meter credentials', () => {
  it('stores a Mosquitto $7$ hash that verifies only the right password', () => {
    const pw = generatePassword();
    const hash = hashPassword(pw);
    expect(hash).toMatch(/^\$7\$101\$[A-Za-z0-9+/=]{16}\$[A-Za-z0-9+/=]{88}$/);
    expect(hash).not.toContain(pw);
    expect(verifyPassword(pw, hash)).toBe(true);
    expect(verifyPassword(`${pw}x`, hash)).toBe(false);
    expect(verifyPassword(pw, 'plain')).toBe(false);
  });

  it('salts every hash', () => {
    expect(hashPassword('same')).not.toBe(hashPassword('same'));
  });
});

describe('meter registration rules', () => {
  const k = generateMeterKey().publicKey;
  it('accepts a well-formed meter and names the field of a bad one', () => {
    expect(registrationProblem({ id: 'roof-7.a_b', wallet: k, pubkey: k, maxKw: '12.5', intervalSeconds: 3600 })).toBeNull();
    expect(registrationProblem({ id: 'has space', wallet: k, pubkey: k })?.field).toBe('id');
    expect(registrationProblem({ id: 'm', wallet: 'nope', pubkey: k })?.field).toBe('wallet');
    expect(registrationProblem({ id: 'm', wallet: k, pubkey: '1111' })?.field).toBe('pubkey');
    expect(registrationProblem({ id: 'm', wallet: k, pubkey: k, maxKw: '0' })?.field).toBe('max_kw');
    expect(registrationProblem({ id: 'm', wallet: k, pubkey: k, maxKw: '1e3' })?.field).toBe('max_kw');
    expect(registrationProblem({ id: 'm', wallet: k, pubkey: k, intervalSeconds: 7 })?.field).toBe('interval_seconds');
  });
});
