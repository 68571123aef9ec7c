// Worker entry point when running from src/ (tests, benches, `npm run dev`). Workers do not
// inherit the tsx loader of the main thread (nor vitest's), so register it here and then load the
// TypeScript worker body. The compiled daemon starts dist/ingest/verify-thread.js directly.
const { register } = await import('tsx/esm/api');
register();
await import(new URL('./verify-thread.ts', import.meta.url).href);
