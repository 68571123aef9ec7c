import { describe, expect, it } from 'vitest';
import { API_ERRORS, ApiError, answerFor, catalogued } from '../../../src/api/errors.js';
import { DomainError, notFound } from '../../../src/domain/errors.js';

describe('the API error catalogue', () => {
  it('answers a domain error by its code: the status from the catalogue, the detail as message', () => {
    expect(catalogued(new DomainError('mint_pending', 'reading 7 is claimed by pending mint transaction 3'))).toEqual({
      status: 409,
      body: { error: { code: 'mint_pending', message: 'reading 7 is claimed by pending mint transaction 3' } },
    });
    expect(catalogued(notFound('certificate ERC-2026-000042'))).toEqual({
      status: 404,
      body: { error: { code: 'not_found', message: 'certificate ERC-2026-000042 not found' } },
    });
    expect(catalogued(new ApiError('no_wallet'))).toEqual({ status: 403, body: { error: { code: 'no_wallet', message: 'your token carries no wallet claim' } } });
  });

  it('has one message for chain_unavailable, whoever raises it', () => {
    expect(catalogued(new DomainError('chain_unavailable'))).toEqual(answerFor('chain_unavailable'));
    expect(answerFor('chain_unavailable')).toEqual({
      status: 503,
      body: { error: { code: 'chain_unavailable', message: 'the Solana RPC cannot be reached; try again shortly' } },
    });
  });

  it('leaves anything else to the error handler (fastify errors, bugs)', () => {
    expect(catalogued(new Error('boom'))).toBeNull();
  });

  it('gives every code an error status and a message', () => {
    for (const [code, e] of Object.entries(API_ERRORS)) {
      expect(e.status, code).toBeGreaterThanOrEqual(400);
      expect(e.message.length, code).toBeGreaterThan(0);
    }
  });
});
