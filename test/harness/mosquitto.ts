import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './wait.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface TestMosquitto {
  /** the meters' listener (client id = username) */
  url: string;
  port: number;
  /** the gateway's listener (keeps its own client ids) */
  gatewayUrl: string;
  stop(): Promise<void>;
}

function mosquittoBinary(): string | null {
  for (const p of [process.env.MOSQUITTO_BIN, '/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto']) {
    if (p && spawnSync(p, ['-h']).status !== null) return p;
  }
  return null;
}

/**
 * A Mosquitto of its own, configured from the repository's mosquitto.conf and
 * config/mosquitto/acl (so tests prove the shipped security rules), on a free loopback port with
 * the password file and persistence in a temp dir. Returns null — and says why — when there is no
 * mosquitto binary, so the caller can skip.
 */
export async function startMosquitto(passwordLines: string[]): Promise<TestMosquitto | null> {
  const bin = mosquittoBinary();
  if (!bin) {
    console.warn('[tests] mosquitto binary not found (set MOSQUITTO_BIN); skipping the Mosquitto tests');
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gridmint-mosq-'));
  const port = await freePort();
  const gatewayPort = await freePort();
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, `${passwordLines.join('\n')}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'acl'), readFileSync(join(REPO, 'config/mosquitto/acl')));
  const conf = readFileSync(join(REPO, 'mosquitto.conf'), 'utf8')
    .replace(/^listener 1883.*$/m, `listener ${port} 127.0.0.1`)
    .replace(/^listener 1884.*$/m, `listener ${gatewayPort} 127.0.0.1`)
    .replace(/^password_file .*$/m, `password_file ${passwd}`)
    .replace(/^acl_file .*$/m, `acl_file ${join(dir, 'acl')}`)
    .replace(/^persistence_location .*$/m, `persistence_location ${dir}/`)
    .replace(/^log_type (warning|notice)$/gm, '');
  // As root, Mosquitto drops to the `mosquitto` user unless told otherwise; keep it as us.
  writeFileSync(join(dir, 'mosquitto.conf'), process.getuid?.() === 0 ? `user root\n${conf}` : conf);
  return spawnMosquitto(bin, dir, port, gatewayPort);
}

/** Starts Mosquitto on `dir`/mosquitto.conf and waits until it listens on `port`. */
async function spawnMosquitto(bin: string, dir: string, port: number, gatewayPort = port): Promise<TestMosquitto> {
  const child: ChildProcess = spawn(bin, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const deadline = Date.now() + 5_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited: ${stderr.trim()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}: ${stderr.trim()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    gatewayUrl: `mqtt://127.0.0.1:${gatewayPort}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A Mosquitto with the dynamic security plugin, configured from the shipped
 * config/mosquitto/mosquitto-dynsec.conf, its dynsec file made by `mosquitto_ctrl dynsec init`
 * with `admin` as the admin account. Null (and why) when the binary or the plugin is missing.
 */
export async function startMosquittoDynsec(admin: { username: string; password: string }): Promise<TestMosquitto | null> {
  const bin = mosquittoBinary();
  const plugin = DYNSEC_PLUGINS.find((p) => existsSync(p));
  if (!bin || !plugin) {
    console.warn('[tests] mosquitto or its dynamic security plugin not found; skipping the dynsec tests');
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gridmint-dynsec-'));
  const port = await freePort();
  const dynsecFile = join(dir, 'dynamic-security.json');
  const init = spawnSync('mosquitto_ctrl', ['dynsec', 'init', dynsecFile, admin.username, admin.password], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`mosquitto_ctrl dynsec init failed: ${init.stderr || init.stdout}`);
  const conf = readFileSync(join(REPO, 'config/mosquitto/mosquitto-dynsec.conf'), 'utf8')
    .replace(/^listener 1883.*$/m, `listener ${port} 127.0.0.1`)
    .replace(/^plugin .*$/m, `plugin ${plugin}`)
    .replace(/^plugin_opt_config_file .*$/m, `plugin_opt_config_file ${dynsecFile}`)
    .replace(/^persistence_location .*$/m, `persistence_location ${dir}/`)
    .replace(/^log_type (warning|notice)$/gm, '');
  writeFileSync(join(dir, 'mosquitto.conf'), process.getuid?.() === 0 ? `user root\n${conf}` : conf);
  return spawnMosquitto(bin, dir, port);
}

const DYNSEC_PLUGINS = [
  process.env.MOSQUITTO_DYNSEC_PLUGIN ?? '',
  '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so',
  '/usr/lib/mosquitto_dynamic_security.so',
  '/usr/local/lib/mosquitto_dynamic_security.so',
].filter(Boolean);
