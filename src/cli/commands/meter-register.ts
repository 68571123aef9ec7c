import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { ReportingOptions } from '../../ingest/meter-registry.js';
import type { ResolveResult } from '../../store/register-meters.js';
import { CliError, cliContext, output, withDatabase } from '../context.js';
import { meterRegistry } from '../provision.js';

/** Options of `meter add` for register meters and OCMF (issue 10). */
export function addRegisterOptions(cmd: Command): Command {
  return cmd
    .option('--reads <kind>', 'interval (signed deltas, the v1 contract) or register (cumulative register reads)', 'interval')
    .option('--format <format>', 'json (ed25519-signed JSON) or ocmf (signed OCMF records; implies --reads register)', 'json')
    .option('--register-modulus <kwh>', 'the register wraps to 0 at this value, e.g. 1000000 for 6 kWh digits (a rollover must also be plausible under --max-kw)')
    .option('--initial-register <kwh>', 'register value at registration: the first read then earns its rise (default: the first read is a baseline)')
    .option('--obis <code>', 'OCMF: the register to read (default 1-0:1.8.0; a .FF or *255 suffix is ignored)')
    .option('--serial <gs>', 'OCMF: the gateway serial (GS) every record must carry');
}

export type RegisterCliOptions = ReportingOptions;

/** `meter replace` and `meter rebase`: the two ways an operator ends a hold. */
export function registerHoldCommands(meter: Command): void {
  const who = () => `cli:${userInfo().username}`;
  const show = (id: string, r: ResolveResult) => {
    if (!r.ok) throw new CliError(r.message, r.code);
    return [`meter ${id}: resolution ${r.resolutionId} recorded; ${r.readsChanged} read(s) re-derived`, r.stillOnHold ? 'the meter is still on hold (a later drop)' : 'the hold is resolved'];
  };
  meter
    .command('replace <id>')
    .description('meter exchange: energy up to --final-register counts, counting resumes from --new-initial')
    .requiredOption('--at <time>', 'when the meter was exchanged (RFC 3339), after its last good read and before the hold')
    .requiredOption('--final-register <kwh>', "the old meter's last register value")
    .requiredOption('--new-initial <kwh>', "the new meter's register value when installed")
    .requiredOption('--reason <text>', 'why (recorded with who did it)')
    .action(async (id: string, o: { at: string; finalRegister: string; newInitial: string; reason: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const r = await withDatabase(ctx, (pool) => meterRegistry(ctx, pool).resolveHold({ meterId: id, kind: 'replace', at: o.at, finalRegister: o.finalRegister, newInitial: o.newInitial, by: who(), reason: o.reason }));
      output(ctx, r, show(id, r));
    });
  meter
    .command('rebase <id>')
    .description('accept the held read at --at as the new baseline; the drop earns nothing')
    .requiredOption('--at <time>', 'time of the held read to start counting from (RFC 3339)')
    .requiredOption('--reason <text>', 'why (recorded with who did it)')
    .action(async (id: string, o: { at: string; reason: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const r = await withDatabase(ctx, (pool) => meterRegistry(ctx, pool).resolveHold({ meterId: id, kind: 'rebase', at: o.at, by: who(), reason: o.reason }));
      output(ctx, r, show(id, r));
    });
}
