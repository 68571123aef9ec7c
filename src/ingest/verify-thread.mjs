// Worker entry point. Workers do not inherit the tsx loader of the main thread (nor vitest's), so
// register it here and then load the TypeScript worker body. A compiled build (.js next to this
// file) is preferred when present.
import { existsSync } from 'node:fs';

const compiled = new URL('./verify-thread.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('./verify-thread.ts', import.meta.url).href);
}
