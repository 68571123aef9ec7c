import type { Command } from 'commander';
import { DEFAULT_INTERVAL_SECONDS, DEFAULT_MAX_KW } from '../../domain/plausibility.js';
import { checkRegistration, ratingProblem, type MeterRegistrationRequest } from '../../ingest/meter-registry.js';
import { meterView as view } from '../../store/meters.js';
import { CliError, cliContext, output, withDatabase } from '../context.js';
import { brokerUpdated, meterRegistry, refusalError } from '../provision.js';
import { addRegisterOptions, registerHoldCommands, type RegisterCliOptions } from './meter-register.js';

export function registerMeter(program: Command): void {
  const meter = program.command('meter').description('the meter registry');

  addRegisterOptions(meter
    .command('add')
    .description('register a meter; prints its MQTT password once (only a hash is stored)')
    .requiredOption('--id <id>', 'meter id (also its MQTT username)')
    .requiredOption('--wallet <wallet>', "owner's Solana wallet (base58)")
    .requiredOption('--pubkey <pubkey>', "meter's ed25519 public key (base58)")
    .option('--interval-seconds <n>', 'length of one reading interval (interval meters); a divisor of 86400', String(DEFAULT_INTERVAL_SECONDS))
    .option('--max-kw <kw>', 'rated power: a reading may carry at most max-kw × interval; a register may rise at most max-kw × elapsed time', DEFAULT_MAX_KW)
    // Retired rather than aliased: a per-reading kWh cap does not convert exactly into a rated
    // power for every interval, and silently reinterpreting it would change what meters may send.
    .option('--max-kwh <kwh>', 'retired: use --max-kw (the per-reading cap is max-kw × interval)'))
    .action(async (opts: { id: string; wallet: string; pubkey: string; intervalSeconds: string; maxKw: string; maxKwh?: string } & RegisterCliOptions, cmd: Command) => {
      const ctx = cliContext(cmd);
      if (opts.maxKwh !== undefined) {
        throw new CliError('--max-kwh was retired: give the rated power with --max-kw (the per-reading cap is max-kw × interval-seconds / 3600; 400 kW on 900 s = 100 kWh)', 'invalid_argument');
      }
      const request: MeterRegistrationRequest = {
        id: opts.id, wallet: opts.wallet, pubkey: opts.pubkey, maxKw: opts.maxKw,
        intervalSeconds: /^[0-9]{1,6}$/.test(opts.intervalSeconds) ? Number(opts.intervalSeconds) : NaN,
        reads: opts.reads, format: opts.format, registerModulus: opts.registerModulus, initialRegister: opts.initialRegister, obis: opts.obis, serial: opts.serial,
      };
      // Checked before a database is opened (or an embedded one started); register checks again.
      const checked = checkRegistration(request);
      if (!checked.ok) throw refusalError(checked);
      const r = await withDatabase(ctx, (pool) => meterRegistry(ctx, pool).register(request));
      if (!r.ok) throw 'exists' in r ? new CliError(r.message, 'exists') : refusalError(r);
      brokerUpdated(r.meter.id, 'the registration', r.broker);
      const { meter: row, password } = r;
      const v = view(row);
      const cadence = row.reads === 'register' ? `register reads (${row.format})` : `every ${v.interval_seconds} s`;
      output(ctx, { ...v, mqtt_username: row.id, mqtt_password: password }, [
        `meter ${row.id} registered (owner ${row.owner_wallet}, ${cadence}, at most ${v.max_kw} kW = ${v.max_kwh_per_interval} kWh per reading)`,
        `MQTT username: ${row.id}`,
        `MQTT password: ${password}`,
        'Store the password in the meter now; it is not shown again.',
      ]);
    });

  meter
    .command('list')
    .description('list registered meters')
    .option('--limit <n>', 'how many', '1000')
    .action(async (opts: { limit: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const rows = await withDatabase(ctx, (pool) => meterRegistry(ctx, pool).list(Number(opts.limit)));
      const views = rows.map(view);
      output(
        ctx,
        views,
        views.length
          ? views.map((m) => `${m.id}\t${m.status}\t${m.wallet}\t${m.interval_seconds} s\t${m.max_kw} kW (${m.max_kwh_per_interval} kWh/reading)\tlast seen ${m.last_seen_at ?? 'never'}\t${m.reads}/${m.format}${m.on_hold_since ? `\tON HOLD since ${m.on_hold_since}` : ''}`)
          : 'no meters registered',
      );
    });

  meter
    .command('set <id>')
    .description("change a meter's interval or rated power (takes effect within seconds)")
    .option('--interval-seconds <n>', 'length of one reading interval; a divisor of 86400')
    .option('--max-kw <kw>', 'rated power: a reading may carry at most max-kw × interval')
    .action(async (id: string, opts: { intervalSeconds?: string; maxKw?: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      if (opts.intervalSeconds === undefined && opts.maxKw === undefined) throw new CliError('give --interval-seconds and/or --max-kw', 'invalid_argument');
      const intervalSeconds = opts.intervalSeconds === undefined ? undefined : /^[0-9]{1,6}$/.test(opts.intervalSeconds) ? Number(opts.intervalSeconds) : NaN;
      const problem = ratingProblem({ intervalSeconds, maxKw: opts.maxKw });
      if (problem) throw refusalError(problem);
      const r = await withDatabase(ctx, (pool) => meterRegistry(ctx, pool).setRating(id, { intervalSeconds, maxKw: opts.maxKw }));
      if (!r) throw new CliError(`no meter ${id}`, 'not_found');
      if (!r.ok) throw refusalError(r);
      const v = view(r.meter);
      output(ctx, v, `meter ${id}: every ${v.interval_seconds} s, at most ${v.max_kw} kW = ${v.max_kwh_per_interval} kWh per reading`);
    });

  for (const [name, status] of [['suspend', 'suspended'], ['activate', 'active']] as const) {
    meter
      .command(`${name} <id>`)
      .description(name === 'suspend' ? 'refuse further readings from a meter' : 'accept readings from a suspended meter again')
      .action(async (id: string, _opts, cmd: Command) => {
        const ctx = cliContext(cmd);
        const r = await withDatabase(ctx, (pool) => meterRegistry(ctx, pool).setStatus(id, status));
        if (!r) throw new CliError(`no meter ${id}`, 'not_found');
        brokerUpdated(id, `the status ${status}`, r.broker);
        output(ctx, view(r.meter), `meter ${id} is now ${status}`);
      });
  }

  registerHoldCommands(meter);

  meter
    .command('passwd <id>')
    .description("give a meter a new MQTT password; prints it once (with MQTT_DYNSEC the old one stops working at once)")
    .action(async (id: string, _opts, cmd: Command) => {
      const ctx = cliContext(cmd);
      const r = await withDatabase(ctx, (pool) => meterRegistry(ctx, pool).newPassword(id));
      if (!r) throw new CliError(`no meter ${id}`, 'not_found');
      const live = brokerUpdated(id, 'the new password', r.broker);
      const { meter: row, password } = r;
      output(ctx, { ...view(row), mqtt_username: id, mqtt_password: password }, [
        `MQTT password of ${id}: ${password}`,
        live ? 'The broker has it already; the old password no longer works.' : 'With a password-file broker, regenerate the file (gridmint meter passwd-file) and SIGHUP it.',
      ]);
    });

  meter
    .command('passwd-file')
    .description('print a Mosquitto password file for all active meters (same hashes, $7$ format)')
    .action(async (_opts, cmd: Command) => {
      const ctx = cliContext(cmd);
      const lines = await withDatabase(ctx, (pool) => meterRegistry(ctx, pool).passwordFile());
      output(ctx, lines, lines.join('\n'));
    });
}
