import { parentPort } from 'node:worker_threads';
import { evaluateBatch, type VerifyJob } from './evaluate-batch.js';

// Worker side of the verifier pool: one message = one whole batch, so postMessage costs are paid
// per batch rather than per reading.
parentPort!.on('message', (msg: { id: number; job: VerifyJob }) => {
  try {
    parentPort!.postMessage({ id: msg.id, verdicts: evaluateBatch(msg.job) });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
