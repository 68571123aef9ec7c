#!/usr/bin/env node
// Installed entry point: runs the TypeScript CLI through tsx's loader so a checkout needs no build step.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/index.ts');
