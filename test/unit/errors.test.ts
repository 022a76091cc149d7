import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, InvalidInputError, SupersededError, TransientError, isRetryable, shouldRetryTrigger } from '../../src/shared/errors';

test('errors: which failures make the trigger retry', () => {
  const cases: Array<[Error, boolean, boolean]> = [
    [new TransientError('Consul unreachable', 'consul'), true, true],
    [new ConfigError('token refused', 'CONSUL_HTTP_TOKEN'), false, true], // kept until the operator fixes it
    [new InvalidInputError('bad event', '[0].data'), false, false],
    [new SupersededError('/subscriptions/s/…', 'a newer run owns it'), false, false],
    [new Error('unexpected'), true, true], // unknown failures are treated as transient
  ];
  for (const [error, retryable, retryTrigger] of cases) {
    assert.equal(isRetryable(error), retryable, error.message);
    assert.equal(shouldRetryTrigger(error), retryTrigger, error.message);
  }
  assert.equal(new ConfigError('token refused', 'CONSUL_HTTP_TOKEN').message, 'CONSUL_HTTP_TOKEN: token refused');
});
