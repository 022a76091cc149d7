import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { claimLoopbackBlock } from '../../src/sandbox/loopback-block';

const execFileAsync = promisify(execFile);
const request = (instanceName: string) => ({ scaleSetId: 'ss', instanceName, nicIndex: 0, ipConfigurationIndex: 0 });

// Each test uses its own claim port, so it never meets a sandbox running on this machine.
const freeClaimPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.once('error', reject);
  });

test('two sandboxes at once get different blocks, and a released block is taken again', async () => {
  const port = await freeClaimPort();
  const first = await claimLoopbackBlock({ port });
  const second = await claimLoopbackBlock({ port });
  try {
    assert.notEqual(first.octet, second.octet);
    assert.equal(first.first, `127.${first.octet}.1.1`);
    const ips = [first.allocator(request('a')), first.allocator(request('b')), second.allocator(request('c'))];
    assert.deepEqual(ips, [`127.${first.octet}.1.1`, `127.${first.octet}.1.2`, `127.${second.octet}.1.1`]);
  } finally {
    await second.release();
  }
  const third = await claimLoopbackBlock({ port });
  try {
    assert.equal(third.octet, second.octet, 'the released block is free again');
  } finally {
    await Promise.all([first.release(), third.release()]);
  }
});

test('when every block is taken the claim fails with a message that says what to do', async () => {
  const port = await freeClaimPort();
  const only = await claimLoopbackBlock({ port, octets: [7] });
  try {
    await assert.rejects(claimLoopbackBlock({ port, octets: [7] }), /no free loopback block.*127\.B\.255\.255:\d+.*EADDRINUSE.*stop other sandboxes/);
  } finally {
    await only.release();
  }
});

test('the claim does not keep the process alive on its own', async () => {
  // A child that only claims a block must end by itself (the claim socket is unref()ed).
  const port = await freeClaimPort();
  const script = `require(${JSON.stringify(require.resolve('../../src/sandbox/loopback-block'))}).claimLoopbackBlock({ port: ${port} }).then((b) => console.log('claimed 127.' + b.octet))`;
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', '-e', script], { timeout: 30_000 });
  assert.match(stdout, /^claimed 127\.\d+/);
});
