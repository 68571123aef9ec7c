import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Stack traces of the compiled daemon name src/*.ts lines. Node's own `--enable-source-maps`
 * would do it too, but it reads and keeps the maps of every module that ships one — all of
 * @solana/kit's and web3.js's included — tens of MiB of the daemon's memory budget, spent at
 * start-up for traces that are rarely printed. Here only our own dist/ maps are read, lazily,
 * when a trace that passes through dist/ is formatted.
 */
const HERE = fileURLToPath(import.meta.url);
const DIST = dirname(HERE);
const maps = new Map<string, SourceMap | null>();

function mapFor(file: string): SourceMap | null {
  let map = maps.get(file);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = null; // no map next to the file: leave its frames as they are
    }
    maps.set(file, map);
  }
  return map;
}

/** "file:line:col" of a compiled frame → the same in src/, or null when it does not map. */
function original(file: string, line: number, column: number): string | null {
  const map = mapFor(file);
  if (!map) return null;
  const entry = map.findEntry(line - 1, column - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
  if (entry.originalSource === undefined || entry.originalLine === undefined) return null;
  return `${resolve(dirname(file), entry.originalSource)}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
}

function formatFrame(site: NodeJS.CallSite): string {
  const text = site.toString();
  const name = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (!name || line === null || column === null) return text;
  const file = name.startsWith('file://') ? fileURLToPath(name) : name;
  if (!file.startsWith(DIST)) return text;
  const mapped = original(file, line, column);
  return mapped ? text.replace(`${name}:${line}:${column}`, mapped) : text;
}

/** Installs the mapping, only when running compiled and Node's own source maps are off. */
export function installStackTraces(): void {
  if (!HERE.endsWith('.js') || process.sourceMapsEnabled) return;
  Error.prepareStackTrace = (err: Error, sites: NodeJS.CallSite[]) => {
    const head = Error.prototype.toString.call(err);
    return sites.length === 0 ? head : `${head}\n${sites.map((s) => `    at ${formatFrame(s)}`).join('\n')}`;
  };
}

installStackTraces();
