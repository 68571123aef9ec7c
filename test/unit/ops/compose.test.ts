import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../../src/config/schema.js';
import { repoPath } from './ops-files.js';

/**
 * No Docker engine runs here, so this checks what can be checked without one: the compose file
 * parses, everything it mounts or builds from is in the repository, every setting gridmint reads
 * is documented in .env.example, and no secret is written into the compose file or the image.
 */
interface Service {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  environment?: Record<string, string | number | boolean>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }> | string[];
  profiles?: string[];
}
const compose = YAML.parse(readFileSync(repoPath('docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const envExample = readFileSync(repoPath('.env.example'), 'utf8');
const settings = Object.keys(configSchema.properties);

/** Bind mounts `./host:/container[:ro]` of a service (named volumes are skipped). */
function bindMounts(s: Service): { host: string; container: string }[] {
  return (s.volumes ?? []).filter((v) => v.startsWith('./')).map((v) => {
    const [host, container] = v.split(':');
    return { host: host!.replace(/^\.\//, ''), container: container! };
  });
}

/** Maps a path inside a container to the repository file mounted there, if any. */
function repoFileFor(s: Service, containerPath: string): string | null {
  for (const m of bindMounts(s)) {
    if (containerPath === m.container) return m.host;
    if (containerPath.startsWith(`${m.container}/`)) return `${m.host}/${containerPath.slice(m.container.length + 1)}`;
  }
  return null;
}

describe('docker-compose.yml', () => {
  it('runs the whole stack, the validator only under a profile', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgres', 'mosquitto', 'gridmint', 'prometheus', 'grafana']));
    expect(compose.services.postgres!.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(compose.services.gridmint!.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' } });
    for (const [name, s] of Object.entries(compose.services)) {
      if (!['postgres', 'mosquitto', 'gridmint', 'prometheus', 'grafana'].includes(name)) expect(s.profiles, `${name} is optional`).toBeDefined();
    }
  });

  it('mounts and builds only from files that exist in the repository (or are generated under data/)', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const m of bindMounts(s)) {
        // generated secrets (the Mosquitto password file) live under the git-ignored data/
        if (m.host.startsWith('data/')) expect(readFileSync(repoPath('.gitignore'), 'utf8')).toMatch(/^data\/$/m);
        else expect(existsSync(repoPath(m.host)), `${name} mounts ./${m.host}`).toBe(true);
      }
      if (s.build) {
        const ctx = typeof s.build === 'string' ? s.build : s.build.context;
        const file = typeof s.build === 'string' ? 'Dockerfile' : (s.build.dockerfile ?? 'Dockerfile');
        expect(existsSync(repoPath(`${ctx}/${file}`)), `${name} builds from ${ctx}/${file}`).toBe(true);
      }
    }
  });

  it("mounts every file mosquitto.conf refers to (password file, ACL)", () => {
    const mosquitto = compose.services.mosquitto!;
    const confMount = bindMounts(mosquitto).find((m) => m.container === '/mosquitto/config/mosquitto.conf');
    expect(confMount?.host).toBe('mosquitto.conf');
    const conf = readFileSync(repoPath('mosquitto.conf'), 'utf8');
    const refs = [...conf.matchAll(/^\s*(password_file|acl_file|include_dir)\s+(\S+)/gm)].map((m) => ({ key: m[1]!, path: m[2]! }));
    expect(refs.map((r) => r.key)).toEqual(expect.arrayContaining(['password_file', 'acl_file']));
    for (const ref of refs) {
      const inContainer = ref.path.startsWith('/') ? ref.path : `/mosquitto/config/${ref.path}`;
      const file = repoFileFor(mosquitto, inContainer);
      expect(file, `${ref.key} ${ref.path} is mounted from the repository`).not.toBeNull();
      if (ref.key === 'password_file') {
        // generated at deploy time and never committed; the repository documents how to make it
        expect(file).toMatch(/^data\//);
        expect(existsSync(repoPath('config/mosquitto/passwd.example'))).toBe(true);
      } else {
        expect(existsSync(repoPath(file!)), `${ref.key} → ./${file}`).toBe(true);
      }
    }
  });

  it('gives gridmint only settings it knows, and takes every secret from the environment', () => {
    const env = compose.services.gridmint!.environment!;
    for (const key of Object.keys(env)) expect(settings, `${key} is a gridmint setting`).toContain(key);
    expect(env.NODE_ENV).toBe('production');
    expect(env.HTTP_HOST).toBe('0.0.0.0');
    // the gateway's broker user is the one the Mosquitto ACL grants the readings topics
    const acl = readFileSync(repoPath('config/mosquitto/acl'), 'utf8');
    const user = /^\$\{MQTT_USERNAME:-([^}]+)\}$/.exec(String(env.MQTT_USERNAME))?.[1];
    expect(acl).toMatch(new RegExp(`^user ${user}$`, 'm'));
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (!/PASSWORD|SECRET|_KEY$/.test(key) && !String(value).includes('@')) continue;
        // a secret is interpolated from .env and required (":?"), never a literal
        expect(String(value), `${name}.${key}`).toMatch(/\$\{[A-Z_]+:\?[^}]*\}/);
      }
    }
  });

  it('documents in .env.example every variable it interpolates', () => {
    const text = readFileSync(repoPath('docker-compose.yml'), 'utf8');
    const vars = new Set([...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
    expect(vars.size).toBeGreaterThan(5);
    for (const v of vars) expect(envExample, v).toMatch(new RegExp(`^#? ?${v}=`, 'm'));
  });

  it('has Prometheus scrape the gridmint service on its HTTP port', () => {
    const prom = YAML.parse(readFileSync(repoPath('config/prometheus/prometheus.yml'), 'utf8'));
    const job = prom.scrape_configs.find((j: { job_name: string }) => j.job_name === 'gridmint');
    const port = Number(compose.services.gridmint!.environment!.HTTP_PORT);
    const target = job.dns_sd_configs?.[0] ?? null;
    expect(target?.names).toContain('gridmint');
    expect(target?.port).toBe(port);
    expect(job.metrics_path ?? '/metrics').toBe('/metrics');
  });
});

describe('.env.example', () => {
  it('documents every environment variable gridmint reads', () => {
    for (const key of [...settings, 'GRIDMINT_CONFIG']) expect(envExample, key).toMatch(new RegExp(`^#? ?${key}=`, 'm'));
  });

  it('holds no secret values', () => {
    for (const line of envExample.split('\n')) {
      const m = /^([A-Z_]*(PASSWORD|SECRET))=(.*)$/.exec(line);
      if (m) expect(m[3], m[1]).toBe('');
    }
    expect(readFileSync(repoPath('.gitignore'), 'utf8')).toMatch(/^\.env$/m);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(repoPath('Dockerfile'), 'utf8');
  const ignore = readFileSync(repoPath('.dockerignore'), 'utf8').split('\n').map((l) => l.trim());

  it('is multi-stage, installs from the lock file, runs as a non-root user and checks readiness', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    // the full install builds dist/ (prepare); dev dependencies are pruned before the runtime copy
    expect(dockerfile).toMatch(/^RUN npm (ci|install) [^\n]*\n[^\n]*npm prune --omit=dev/m);
    expect(dockerfile).toMatch(/^COPY package\.json package-lock\.json/m);
    const users = [...dockerfile.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1)).toBeDefined();
    expect(['root', '0']).not.toContain(users.at(-1));
    expect(dockerfile).toMatch(/^HEALTHCHECK [\s\S]*\/health\/ready/m);
  });

  it('runs the compiled daemon: dist/ from the build stage, no sources, no TypeScript loader', () => {
    expect(dockerfile).toMatch(/^COPY --from=\S+ \/app\/dist \.\/dist$/m);
    const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtimeStage).not.toMatch(/^COPY src /m);
    // node flags (the daemon's heap limits, test/unit/ops/node-flags.test.ts) may precede the bin
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", (?:"--[^"]+", )*"bin\/gridmint\.js"\]/m);
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8'));
    expect(pkg.dependencies.tsx).toBeUndefined();
    expect(pkg.devDependencies.tsx).toBeDefined();
    expect(pkg.scripts.prepare).toMatch(/build/);
    expect(readFileSync(repoPath('bin/gridmint.js'), 'utf8')).toMatch(/dist\/cli\/index\.js/);
  });

  it('copies only files that exist and never secrets or local data', () => {
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(/\s+/)) expect(existsSync(repoPath(src)), `COPY ${src}`).toBe(true);
    }
    expect(dockerfile).not.toMatch(/^(ENV|ARG)\s+[^\n]*(PASSWORD|SECRET)/m);
    for (const entry of ['.env', 'data/', 'node_modules/', '.git']) expect(ignore).toContain(entry);
    expect(statSync(repoPath('bin/gridmint.js')).isFile()).toBe(true);
  });
});
