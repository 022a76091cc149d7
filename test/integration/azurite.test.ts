/** The sandbox's Azurite: started on free ports, stopped with close(), and gone with its parent when that is killed outright. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startAzurite } from '../../src/sandbox/azurite';

const MODULE = require.resolve('../../src/sandbox/azurite');

function zombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Resolves once process `pid` is gone (or fails after `timeoutMs`); asks nothing of the process itself. */
async function gone(pid: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
      throw error;
    }
    // An exited process nobody has reaped yet (a zombie: its parent was killed) counts as gone.
    if (zombie(pid)) return;
    assert.ok(Date.now() < deadline, `process ${pid} still runs ${timeoutMs} ms later`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resolves once nothing accepts connections at `url` any more (or fails after `timeoutMs`). */
async function refused(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(2_000) });
    } catch (error) {
      if (/ECONNREFUSED/.test(String((error as { cause?: unknown }).cause ?? error))) return;
    }
    assert.ok(Date.now() < deadline, `${url} still answers ${timeoutMs} ms later`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('Azurite answers on its blob URL and stops with close()', async () => {
  const azurite = await startAzurite();
  assert.ok('blobUrl' in azurite, 'the azurite package is installed by npm ci');
  const res = await fetch(`${azurite.blobUrl}/devstoreaccount1?comp=list`);
  assert.equal(res.status, 403, 'an unsigned request reaches Azurite and is refused by it');
  await azurite.close();
  await gone(azurite.pid);
  await refused(azurite.blobUrl);
});

test('a sandbox process killed outright (SIGKILL) leaves no Azurite behind', async (t) => {
  const script = `require(${JSON.stringify(MODULE)}).startAzurite().then((a) => console.log('blob ' + a.blobUrl + ' pid ' + a.pid))`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const [blobUrl, pid] = await new Promise<[string, number]>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /blob (http:\/\/127\.0\.0\.1:\d+) pid (\d+)/.exec(out);
      if (match?.[1] && match[2]) resolve([match[1], Number(match[2])]);
    });
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before Azurite listened: ${out}`)));
  });
  assert.equal((await fetch(`${blobUrl}/devstoreaccount1?comp=list`)).status, 403);
  child.kill('SIGKILL');
  // Only the process table is asked: a request would make an orphaned Azurite write its log to
  // the dead pipe and die of that, hiding an orphan that nobody asks anything.
  t.after(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  });
  await gone(pid);
});
