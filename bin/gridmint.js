#!/usr/bin/env -S node --max-old-space-size=256 --max-semi-space-size=8
// Installed entry point: plain node on the compiled CLI (dist/, built by `npm install` through the
// `prepare` script), with the daemon's V8 heap flags (the same as `npm start`'s; see README
// "Measured figures", memory). Its stack traces name src/ files and lines (dist/stack-traces.js).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('gridmint: dist/ is missing — the CLI is compiled by `npm install` (or `npm run build`); run one of them in the checkout first\n');
  process.exit(1);
}
await import(entry.href);
