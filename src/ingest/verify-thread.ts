import { parentPort } from 'node:worker_threads';
import { evaluateBatch, unpackJob, type PackedJob } from './evaluate-batch.js';

// Worker side of the verifier pool: one message = one chunk of readings (payloads packed into one
// transferred buffer), so postMessage costs are paid per chunk rather than per reading.
parentPort!.on('message', (msg: { id: number; job: PackedJob }) => {
  try {
    parentPort!.postMessage({ id: msg.id, verdicts: evaluateBatch(unpackJob(msg.job)) });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
