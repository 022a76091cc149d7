import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toArmFailure } from '../../src/shared/azure/arm-failures';
import { ConfigError, InvalidInputError, TransientError, shouldRetryTrigger } from '../../src/shared/errors';

/** What the SDK throws (a RestError; duck-typed as arm-failures.ts reads it). */
const rest = (statusCode: number | undefined, code = 'Code') => Object.assign(new Error('message from ARM'), { name: 'RestError', statusCode, code });

// Issue 9, D5: a 4xx other than 404/408/409/429 is the same answer next time: permanent for the
// event (acknowledged, not retried); 403 is our configuration (ConfigError, kept until the operator
// fixes it), 401 our token (transient): both keep the event.
test('toArmFailure: which ARM answers are retried', () => {
  const cases: Array<[number | undefined, abstract new (...args: never[]) => Error, boolean]> = [
    [400, InvalidInputError, false],
    [405, InvalidInputError, false],
    [410, InvalidInputError, false],
    [413, InvalidInputError, false],
    [414, InvalidInputError, false],
    [422, InvalidInputError, false],
    [431, InvalidInputError, false],
    [401, TransientError, true],
    [403, ConfigError, true],
    [404, TransientError, true],
    [408, TransientError, true],
    [409, TransientError, true],
    [429, TransientError, true],
    [500, TransientError, true],
    [503, TransientError, true],
    [undefined, TransientError, true],
  ];
  for (const [status, kind, retried] of cases) {
    const failure = toArmFailure(rest(status), 'reading VM v');
    assert.ok(failure instanceof kind, `${status}: ${failure.name}`);
    assert.equal(shouldRetryTrigger(failure), retried, `${status}`);
  }
  assert.equal(toArmFailure(rest(431, 'RequestHeaderFieldsTooLarge'), 'reading VM v').message, 'ARM rejected reading VM v (431 RequestHeaderFieldsTooLarge): message from ARM');
});
