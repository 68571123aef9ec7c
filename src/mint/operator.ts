import { createHash } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import { baseUnitsToKwh, kwhToBaseUnits, U64_MAX } from '../domain/kwh.js';
import { backoffDelay } from '../lib/backoff.js';
import { sleep } from '../lib/retry.js';
import {
  findByIdempotencyKey,
  insertOperatorMint,
  purgeIdempotencyKeys,
  releaseFailedKey,
  storeKeyedResponse,
  type KeyedOperatorMint,
} from '../store/operator-mints.js';
import { buildAndRecord } from './build.js';
import type { MintDeps, MintTarget } from './deps.js';
import { sendAndSettle, type SingleMintResult } from './single.js';

export interface OperatorMintRequest {
  wallet: string;
  amountKwh: string;
  reason: string;
  requestedBy: string;
  /** the client's Idempotency-Key: a retry with the same key and body returns the first mint */
  idempotencyKey: string;
  /** OPERATOR_MINT_MAX_TOKENS in base units */
  maxBaseUnits: bigint;
}

export type OperatorMintResult = SingleMintResult & { operatorMintId: string; replayed: boolean };


/** The request's meaning: the same admin, wallet, amount (in base units, so "2" = "2.0") and reason. */
function requestHash(req: OperatorMintRequest, units: bigint): string {
  return createHash('sha256').update(JSON.stringify([req.requestedBy, req.wallet, units.toString(), req.reason])).digest('hex');
}

function replay(prior: KeyedOperatorMint): OperatorMintResult {
  return {
    status: prior.outbox_status === 'confirmed' ? 'confirmed' : 'pending',
    signature: prior.signature,
    outboxId: prior.outbox_id,
    baseUnits: BigInt(prior.total_base_units),
    operatorMintId: prior.operator_mint_id,
    replayed: true,
  };
}

const isUniqueViolation = (err: unknown) => (err as { code?: string } | null)?.code === '23505';

/**
 * An operator mint, idempotent by key. The key row is inserted in the same DB transaction as the
 * operator mint and its outbox row, so a key names at most one recorded mint; a concurrent send
 * with the same key blocks on the key's primary key until the first commits, fails, records
 * nothing, and then answers with the first one's mint. A key whose transaction provably minted
 * nothing (failed/expired) is released, so retrying it mints.
 */
export async function operatorMint(d: MintDeps, target: MintTarget, req: OperatorMintRequest, deadlineMs = 60_000): Promise<OperatorMintResult> {
  const units = kwhToBaseUnits(req.amountKwh);
  if (units <= 0n || units > U64_MAX) throw new DomainError('invalid_amount', 'amount must be > 0 and fit a u64 in base units');
  if (units > req.maxBaseUnits) {
    throw new DomainError('amount_over_limit', `one operator mint may mint at most ${baseUnitsToKwh(req.maxBaseUnits)} tokens (OPERATOR_MINT_MAX_TOKENS)`);
  }
  const hash = requestHash(req, units);
  await purgeIdempotencyKeys(d.pool);
  for (let attempt = 0; attempt < 5; attempt++) {
    const prior = await findByIdempotencyKey(d.pool, req.idempotencyKey);
    if (prior) {
      if (prior.request_hash !== hash) {
        throw new DomainError('idempotency_key_reused', 'this Idempotency-Key was used for a different request; use a new key for a new mint');
      }
      if (prior.outbox_status !== 'failed' && prior.outbox_status !== 'expired') return replay(prior);
      await releaseFailedKey(d.pool, req.idempotencyKey);
      continue;
    }
    let operatorMintId = '';
    let rows;
    try {
      rows = await buildAndRecord(d, target, [{ wallet: req.wallet, baseUnits: units, readingIds: [] }], 'operator', async (c, ids) => {
        const row = await insertOperatorMint(c, {
          outboxId: ids[0]!, wallet: req.wallet, amountKwh: baseUnitsToKwh(units), reason: req.reason,
          requestedBy: req.requestedBy, idempotencyKey: req.idempotencyKey, requestHash: hash,
        });
        operatorMintId = row.id;
      });
    } catch (err) {
      // Another send with this key (or a byte-identical transaction) committed first: look again.
      if (isUniqueViolation(err)) continue;
      throw err;
    }
    // No rows: a byte-identical transaction (same wallet, amount and blockhash) was recorded first.
    // With the same key that is a concurrent send of this request (the next look replays it); with
    // another key it is a second mint of the same amount, which must wait for a fresh blockhash.
    if (!rows) {
      await sleep(backoffDelay(attempt, { initialMs: 250, maxMs: 1_000 }));
      continue;
    }
    d.logger.info(
      { operator_mint_id: operatorMintId, outbox_id: rows[0]!.id, wallet: req.wallet, amount: req.amountKwh, requested_by: req.requestedBy, idempotency_key: req.idempotencyKey },
      'operator mint recorded',
    );
    const r = await sendAndSettle(d, rows, units, deadlineMs);
    if (r.status === 'confirmed') {
      await storeKeyedResponse(d.pool, req.idempotencyKey, { status: r.status, transaction_signature: r.signature, operator_mint_id: operatorMintId });
    }
    return { ...r, operatorMintId, replayed: false };
  }
  throw new DomainError('mint_busy', 'concurrent operator mints kept colliding; retry with the same Idempotency-Key');
}
