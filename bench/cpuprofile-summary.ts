/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. BENCH_API_CPU_PROF with bench:api):
 * self time by function and by package, and total (inclusive) time by function, as text a person
 * can read without a flame-graph viewer. With BENCH_FOLDED=<file> it also writes the stacks in
 * the folded format of flamegraph.pl / speedscope / inferno (one line per stack: `a;b;c <µs>`),
 * from which a flame graph is one command away (`flamegraph.pl file.folded > flame.svg`).
 *   npx tsx bench/cpuprofile-summary.ts <file.cpuprofile> [top=40]
 */
import { readFileSync, writeFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: tsx bench/cpuprofile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 40);
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

/** "fastify", "pg", "node:internal", "src/api", … from a script URL. */
function packageOf(url: string): string {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf('/src/');
  if (src >= 0) return `src/${url.slice(src + 5).split('/')[0]}`;
  return url.split('/').slice(-2).join('/');
}

const byFn = new Map<string, number>();
const byPkg = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  const f = n.callFrame;
  const name = `${f.functionName || '(anonymous)'}  ${f.url ? `${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/src\//, 'src/')}:${f.lineNumber + 1}` : ''}`;
  byFn.set(name, (byFn.get(name) ?? 0) + us);
  const pkg = packageOf(f.url);
  byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
}
const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
console.log(`profile ${file}: ${(total / 1e6).toFixed(1)} s sampled, ${p.samples.length} samples`);
console.log('\nself time by package');
for (const [k, v] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(v)} ${ms(v)}  ${k}`);
console.log(`\nself time by function (top ${top})`);
for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)} ${ms(v)}  ${k}`);

// Total time: a sample counts once for every distinct function on its stack (recursion once).
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n: Node) => {
  const f = n.callFrame;
  return `${f.functionName || '(anonymous)'}  ${f.url ? `${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/src\//, 'src/')}:${f.lineNumber + 1}` : ''}`;
};
const totalByFn = new Map<string, number>();
const folded = new Map<string, number>();
for (const [id, us] of selfUs) {
  const stack: string[] = [];
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(label(byId.get(at)!).trim());
  for (const fn of new Set(stack)) totalByFn.set(fn, (totalByFn.get(fn) ?? 0) + us);
  const key = stack.reverse().join(';');
  folded.set(key, (folded.get(key) ?? 0) + us);
}
console.log(`\ntotal time by function, callees included (top ${top})`);
for (const [k, v] of [...totalByFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)} ${ms(v)}  ${k}`);
if (process.env.BENCH_FOLDED) {
  writeFileSync(process.env.BENCH_FOLDED, [...folded].map(([k, v]) => `${k.replace(/ +/g, ' ')} ${v}`).join('\n') + '\n');
  console.log(`\nwrote folded stacks to ${process.env.BENCH_FOLDED}`);
}
