/**
 * The one contract for everything the composition root (src/main.ts) starts: a `start(deps)`
 * function taking one dependency object and resolving once the part is running, with whatever it
 * offers to the rest of the gateway plus `stop()`. main.ts stops them in reverse order of
 * starting; stop() must be safe to call once after a successful start and must wait for work in
 * flight (a job's current run, unacknowledged messages) so nothing touches a closed pool.
 */
export interface Started {
  stop(): Promise<void>;
}
