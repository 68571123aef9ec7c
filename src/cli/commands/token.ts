import type { Command } from 'commander';
import { baseUnitsToKwh } from '../../domain/kwh.js';
import { createMetrics } from '../../metrics/registry.js';
import { AUDIT_CHECKS, auditSupply } from '../../mint/audit.js';
import { connectChain, type ChainConnection } from '../../mint/connect.js';
import type { Minter } from '../../mint/minter.js';
import { createConfiguredMinter } from '../../mint/start.js';
import type { Pool } from '../../store/pool.js';
import { CliError, cliContext, output, withDatabase, type CliContext } from '../context.js';

/**
 * Runs fn with the database and the chain: the running daemon's ledger when it answers on
 * LEDGER_PORT, else the embedded ledger started on the same state for this command only.
 */
export async function withMinting<T>(ctx: CliContext, fn: (pool: Pool, chain: ChainConnection, minter: Minter) => Promise<T>): Promise<T> {
  return withDatabase(ctx, async (pool) => {
    const chain = await connectChain({ config: ctx.config, logger: ctx.logger, ledger: 'reuse' });
    try {
      const minter = createConfiguredMinter({ config: ctx.config, pool, chain, metrics: createMetrics(), logger: ctx.logger });
      return await fn(pool, chain, minter);
    } finally {
      await chain.stop();
    }
  });
}

export function registerToken(program: Command): void {
  const token = program.command('token').description('the energy token (SPL mint, 9 decimals, 1 token = 1 kWh)');

  token
    .command('init')
    .description('create the mint (or record MINT_ADDRESS) and remember it in the database')
    .action(async (_o, cmd: Command) => {
      const ctx = cliContext(cmd);
      const row = await withMinting(ctx, (_pool, _chain, minter) => minter.ensureMint());
      output(ctx, { mint: row.mint_address, decimals: row.decimals, mint_authority: row.mint_authority, cluster: row.cluster, recorded_at: row.created_at.toISOString() }, [
        `mint ${row.mint_address} (decimals ${row.decimals}) on ${row.cluster}`,
        `mint authority ${row.mint_authority}`,
        `recorded ${row.created_at.toISOString()}`,
      ]);
    });

  token
    .command('info')
    .description('mint address, decimals, supply, authority and cluster')
    .action(async (_o, cmd: Command) => {
      const ctx = cliContext(cmd);
      const v = await withMinting(ctx, async (_pool, chain, minter) => {
        const row = await minter.mintRow(false);
        const info = await chain.client.getMintInfo(row.mint_address);
        if (!info) throw new CliError(`mint ${row.mint_address} is not on the chain at ${chain.rpcUrl}`, 'mint_missing');
        return { mint: row.mint_address, decimals: info.decimals, supply_tokens: baseUnitsToKwh(info.supply), supply_base_units: info.supply.toString(), mint_authority: info.mintAuthority, cluster: row.cluster, rpc_url: chain.rpcUrl };
      });
      output(ctx, v, [
        `mint            ${v.mint}`,
        `decimals        ${v.decimals}`,
        `supply          ${v.supply_tokens} tokens (${v.supply_base_units} base units)`,
        `mint authority  ${v.mint_authority ?? 'none'}`,
        `cluster         ${v.cluster} (${v.rpc_url})`,
      ]);
    });

  token
    .command('audit')
    .description('check on-chain supply and balances against minted readings; exit 1 on any drift')
    .action(async (_o, cmd: Command) => {
      const ctx = cliContext(cmd);
      const r = await withMinting(ctx, async (pool, chain, minter) =>
        auditSupply({ pool, chain: chain.client, mintAddress: (await minter.mintRow(false)).mint_address }),
      );
      output(ctx, r, [
        `mint                 ${r.mint}`,
        `on-chain supply      ${r.supply_base_units} base units`,
        `minted readings      ${r.recorded_readings_base_units}`,
        `operator mints       ${r.recorded_operator_base_units}`,
        `drift                ${r.drift_base_units}`,
        `unresolved outbox    ${r.unresolved_outbox}${r.unresolved_outbox ? ' (transactions in flight: run again after they settle)' : ''}`,
        `inconsistent rows    ${r.inconsistent_readings}`,
        `wallets checked      ${r.wallets_checked}, mismatched ${r.wallet_mismatches.length}`,
        ...r.wallet_mismatches.slice(0, 20).map((m) => `  ${m.wallet}: chain ${m.chain_base_units} recorded ${m.recorded_base_units}`),
        `operator mints       ${r.operator_mints.length}`,
        ...r.operator_mints.map((m) => `  #${m.id} ${m.created_at} ${m.status} ${m.amount} → ${m.wallet_address} by ${m.requested_by} key ${m.idempotency_key ?? '(none)'}: ${m.reason}`),
        r.ok ? 'OK: supply and balances match the minted records exactly' : `DRIFT: failed checks ${r.failed_checks.join(', ')}`,
      ]);
      // A CliError rather than process.exitCode: scripts match its code, supply_drift, on stderr or in --json.
      if (!r.ok) {
        const checks = r.failed_checks.map((c) => `${c} (${AUDIT_CHECKS[c]})`).join('; ');
        throw new CliError(`audit failed: ${checks} — drift ${r.drift_base_units} base units, ${r.wallet_mismatches.length} wallet mismatches, ${r.inconsistent_readings} inconsistent readings`, 'supply_drift');
      }
    });
}
