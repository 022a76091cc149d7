import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startHelperProcess, waitUntilReady } from '../../src/sandbox/helper-process';

/** A node child running `script`, with a scratch folder of its own. */
function helper(script: string, onOutput?: (chunk: string) => void) {
  const scratchDir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-helper-test-'));
  writeFileSync(path.join(scratchDir, 'marker'), 'x');
  const proc = startHelperProcess(process.execPath, ['-e', script], { scratchDir, tailChars: 10, onOutput });
  return { proc, scratchDir };
}

describe('sandbox helper process (consul agent -dev, func start)', () => {
  it('is ready once asked, keeps the tail of its output, and close stops it and removes its scratch folder', async () => {
    const chunks: string[] = [];
    const { proc, scratchDir } = helper("process.stdout.write('0123456789abcdef\\n'); setInterval(() => {}, 1000);", (c) => chunks.push(c));
    let asked = 0;
    await waitUntilReady(proc, { name: 'test helper', ready: async () => chunks.join('').includes('\n') && ++asked > 1, timeoutMs: 10_000, notReady: 'never ready', pollMs: 5 });
    assert.equal(asked, 2, 'asked again after a no');
    assert.equal(proc.output(), '789abcdef\n', 'only the last tailChars characters');
    assert.equal(proc.child.exitCode, null);
    await proc.close();
    assert.equal(proc.child.signalCode, 'SIGTERM');
    assert.equal(existsSync(scratchDir), false);
  });

  it('an exit before it is ready is an error that names it and carries its output', async () => {
    const { proc, scratchDir } = helper("process.stderr.write('bad flag'); process.exit(3);");
    await new Promise<void>((resolve) => proc.child.once('exit', () => resolve()));
    await assert.rejects(waitUntilReady(proc, { name: 'test helper', ready: async () => false, timeoutMs: 10_000, notReady: 'never ready', pollMs: 5 }), {
      message: 'test helper exited (3): bad flag',
    });
    assert.equal(existsSync(scratchDir), false);
  });

  it('not ready in time: closed, and the error says so with its output', async () => {
    const { proc, scratchDir } = helper("process.stdout.write('starting'); setInterval(() => {}, 1000);");
    await assert.rejects(waitUntilReady(proc, { name: 'test helper', ready: async () => false, timeoutMs: 50, notReady: 'did not answer in time', pollMs: 5 }), (error: Error) => {
      assert.match(error.message, /^test helper did not answer in time: /);
      return true;
    });
    assert.notEqual(proc.child.exitCode ?? proc.child.signalCode, null, 'stopped');
    assert.equal(existsSync(scratchDir), false);
  });
});
