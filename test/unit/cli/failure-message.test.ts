import { describe, expect, it } from 'vitest';
import { CliError, failureMessage } from '../../../src/cli/context.js';

describe('failureMessage: one line, whatever a failed command threw', () => {
  it('a rejection with no reason still says something', () => {
    expect(failureMessage(undefined)).toBe('failed without saying why (run again with LOG_LEVEL=debug)');
    expect(failureMessage(null)).toBe('failed without saying why (run again with LOG_LEVEL=debug)');
    expect(failureMessage('plain text')).toBe('plain text');
  });

  it('an AggregateError with an empty message (refused connection) gives its first cause', () => {
    const err = Object.assign(new AggregateError([new Error('connect ECONNREFUSED ::1:5432'), new Error('connect ECONNREFUSED 127.0.0.1:5432')], ''), { code: 'ECONNREFUSED' });
    expect(failureMessage(err)).toBe('connect ECONNREFUSED ::1:5432');
  });

  it('folds a multi-line message onto one line', () => {
    expect(failureMessage(new Error('init failed\n  ERROR OUTPUT: could not bind\n'))).toBe('init failed | ERROR OUTPUT: could not bind');
  });

  it('keeps a CliError exactly as written', () => {
    expect(failureMessage(new CliError('HTTP_PORT: port 3000 on 127.0.0.1 is already in use', 'port_in_use'))).toBe('HTTP_PORT: port 3000 on 127.0.0.1 is already in use');
  });
});
