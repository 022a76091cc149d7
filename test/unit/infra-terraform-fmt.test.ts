/**
 * `terraform fmt -check -recursive -diff infra` whenever a `terraform` binary is on the PATH.
 * Without one the tests are skipped, and said so loudly (skip reason and a console warning):
 * formatting is then not checked at all.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { INFRA } from '../helpers/terraform-config';

function onPath(binary: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const terraform = onPath('terraform');
const skip = terraform ? false : 'terraform is not on the PATH: `terraform fmt -check` of infra/ did NOT run (install Terraform >= 1.6 to check formatting)';
if (!terraform) console.warn(`\n*** WARNING: ${skip} ***\n`);

/** `terraform fmt -check -recursive -diff <dir>`: exit status and the diff it printed. */
function fmtCheck(dir: string): { status: number | null; output: string } {
  const result = spawnSync(terraform ?? 'terraform', ['fmt', '-check', '-recursive', '-diff', dir], { encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  // stderr carries a harmless warning when ~/.terraformrc is missing; only the diff matters.
  return { status: result.status, output: `${result.stdout}${result.status === 0 ? '' : result.stderr}` };
}

describe('terraform fmt', () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'tf-fmt-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('infra/ is formatted as terraform fmt writes it', { skip }, (t) => {
    const version = spawnSync(terraform ?? 'terraform', ['version'], { encoding: 'utf8' }).stdout.split('\n')[0];
    t.diagnostic(`${terraform}: ${version}`);
    const { status, output } = fmtCheck(INFRA);
    assert.equal(status, 0, `terraform fmt -check -recursive infra wants changes (run \`terraform fmt -recursive infra\`):\n${output}`);
  });

  test('the check fails on a misaligned file (it can fail)', { skip }, () => {
    writeFileSync(path.join(scratch, 'main.tf'), 'resource "azurerm_resource_group" "rg" {\n  name = "rg"\n  location    = "westeurope"\n}\n');
    const { status, output } = fmtCheck(scratch);
    assert.notEqual(status, 0);
    assert.match(output, /main\.tf/);
    assert.match(output, /\+\s+location = "westeurope"/);
  });
});
