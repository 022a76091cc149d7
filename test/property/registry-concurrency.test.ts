/**
 * Concurrent reconciles of one scale set, interleaved step by step at random, against the Consul
 * double over HTTP. Each run lists a random ARM history at its own time (stamps may be skewed, as
 * clocks of different Function instances are), claims, reads, applies in batches of 8 operations,
 * and may crash between batches. Invariants once all have finished:
 *  - every run either completed or was superseded (or crashed where we made it crash);
 *  - the marker names the newest listing that claimed; if that run completed, Consul holds exactly
 *    its listing (minus tombstoned nodes and the name a hand-registered node holds);
 *  - every node we hold is whole (its service and its Azure check), whatever crashed;
 *  - no node with a tombstone is present: an instance removed by a reconcile never comes back;
 *  - entries without our marks are untouched;
 *  - after a crash of the newest claimer, one more reconcile converges to its listing.
 *
 * Runs that find the marker showing a finished run read the state without claiming (registry.ts,
 * "deferred claim"): one that writes nothing writes only its summary, one that writes claims just
 * before its first batch, and one that loses either race begins again claiming first, as
 * reconcile-scale-set.ts does. A completed run counts as a claimer (its summary or claim set the
 * marker's listing), so "the marker holds the newest claiming listing" also says that no older
 * listing overwrote a completed run. The property run must exercise each of these paths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SupersededError } from '../../src/shared/errors';
import { ClaimLostError } from '../../src/shared/reconcile/ports';
import type { DesiredNode } from '../../src/shared/model';
import { AZURE_CHECK_ID, markerKey, tombstoneKey } from '../../src/shared/ownership';
import { ConsulRegistry } from '../../src/shared/consul';
import type { ConsulReconcileSession } from '../../src/shared/consul';
import { startConsulDouble } from '../../src/sandbox/consul-double';
import { consulConfigFor, consulHttp, desiredNode, localPlan, sameNode, scaleSetId } from '../helpers/consul-fixtures';

const SS = scaleSetId('concurrent');
const PREFIX = 'vmss-mesh';

interface InstanceHistory {
  readonly birth: number;
  /** First time the instance is no longer listed; null = never dies. */
  readonly death: number | null;
  /** From this time on its Azure check is critical; null = stays healthy. */
  readonly failAt: number | null;
}

interface RunSpec {
  readonly listTime: number;
  readonly skewMs: number;
  /** Crash (stop for good) before this batch; null = no crash. */
  readonly crashAtBatch: number | null;
}

const historyArb: fc.Arbitrary<InstanceHistory> = fc
  .record({
    birth: fc.integer({ min: 0, max: 6 }),
    life: fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }),
    failAfter: fc.option(fc.integer({ min: 0, max: 8 }), { nil: null }),
  })
  .map((h) => ({ birth: h.birth, death: h.life === null ? null : h.birth + h.life, failAt: h.failAfter === null ? null : h.birth + h.failAfter }));

const runArb: fc.Arbitrary<RunSpec> = fc.record({
  listTime: fc.integer({ min: 0, max: 12 }),
  skewMs: fc.integer({ min: -1_500, max: 1_500 }),
  crashAtBatch: fc.option(fc.integer({ min: 0, max: 4 }), { nil: null, freq: 4 }),
});

const scenarioArb = fc.record({
  instances: fc.array(historyArb, { minLength: 1, maxLength: 7 }),
  runs: fc.array(runArb, { minLength: 2, maxLength: 4 }),
  /** Index of an instance whose node name a hand-registered node already holds, if any. */
  clash: fc.option(fc.nat(6), { nil: null, freq: 3 }),
  choices: fc.array(fc.nat(), { minLength: 1, maxLength: 80 }),
});

function vmName(i: number): string {
  return `vm_${i}`;
}

function listingAt(instances: readonly InstanceHistory[], t: number): DesiredNode[] {
  return instances.flatMap((h, i) =>
    h.birth <= t && (h.death === null || t < h.death)
      ? [
          desiredNode(SS, {
            name: vmName(i),
            ip: `10.0.${i}.4`,
            zone: String((i % 3) + 1),
            status: h.failAt !== null && t >= h.failAt ? 'critical' : 'passing',
            draining: h.death !== null && t === h.death - 1,
          }),
        ]
      : [],
  );
}

/** Lets exactly one run proceed at a time; which one is drawn from `choices` whenever all are parked. */
class Interleaver {
  private readonly parked = new Map<string, () => void>();
  private running: number;
  private next = 0;

  constructor(
    runs: number,
    private readonly choices: readonly number[],
  ) {
    this.running = runs;
  }

  gate(runId: string): Promise<void> {
    return new Promise((resolve) => {
      this.parked.set(runId, resolve);
      this.release();
    });
  }

  finished(): void {
    this.running -= 1;
    this.release();
  }

  private release(): void {
    if (this.parked.size === 0 || this.parked.size < this.running) return;
    const ids = [...this.parked.keys()].sort();
    const pick = ids[(this.choices[this.next++ % this.choices.length] ?? 0) % ids.length] as string;
    const resume = this.parked.get(pick) as () => void;
    this.parked.delete(pick);
    resume();
  }
}

class Crash extends Error {}

type Outcome =
  | { readonly kind: 'completed'; readonly session: ConsulReconcileSession }
  | { readonly kind: 'superseded'; readonly claimed: boolean }
  | { readonly kind: 'crashed'; readonly session: ConsulReconcileSession };

test('concurrent reconciles of one scale set converge on the newest committed listing', async () => {
  const seen = { claimedFirst: 0, deferredNoWrite: 0, deferredClaim: 0, claimLost: 0 };
  await fc.assert(
    fc.asyncProperty(scenarioArb, async ({ instances, runs, clash, choices }) => {
      const consul = await startConsulDouble();
      const registry = new ConsulRegistry({ consul: consulConfigFor(consul.url), kvPrefix: PREFIX, txnBatchSize: 8, tombstoneTtlMs: 3_600_000 });
      try {
        // Entries we do not own: an agent-registered instance of our service, and (sometimes) a
        // hand-registered node holding the name one of our instances maps to.
        await consulHttp(consul.url, 'PUT', '/v1/catalog/register', {
          body: { Node: 'agent-1', Address: '10.9.0.1', Service: { Service: 'web', Port: 8080 }, Check: { CheckID: 'serfHealth', Name: 'Serf', Status: 'passing' } },
        });
        const clashNode = clash !== null && clash < instances.length ? desiredNode(SS, { name: vmName(clash), ip: '0.0.0.0' }).node : null;
        if (clashNode) await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body: { Node: clashNode, Address: '192.168.7.7' } });
        const foreign = consul.state.snapshot();

        const interleaver = new Interleaver(runs.length, choices);
        const listedAt = (r: RunSpec): number => 2_000 + r.listTime * 1_000 + r.skewMs;
        const outcomes = await Promise.all(
          runs.map(async (run, i): Promise<Outcome> => {
            const runId = `run-${i}`;
            let session: ConsulReconcileSession | undefined;
            let claimed = false;
            // As reconcileScaleSet: begin, plan from what the session read, apply; a lost deferred
            // claim (nothing written) begins again claiming first.
            const attempt = async (claimFirst: boolean): Promise<ConsulReconcileSession> => {
              const s = await registry.beginReconcile(SS, listedAt(run), {
                runId,
                claimFirst,
                hooks: {
                  beforeStep: async (step) => {
                    await interleaver.gate(runId);
                    if (step.kind === 'batch' && step.index === run.crashAtBatch) throw new Crash();
                  },
                },
              });
              session = s;
              const deferred = s.claimIndex === undefined;
              if (!deferred) seen.claimedFirst += 1;
              try {
                const result = await s.apply(localPlan(SS, listingAt(instances, run.listTime), s));
                if (deferred && result.counts.batches === 0) seen.deferredNoWrite += 1;
                if (deferred && result.counts.batches > 0) seen.deferredClaim += 1;
              } finally {
                claimed ||= s.claimed;
              }
              return s;
            };
            try {
              await interleaver.gate(runId); // the ARM listing itself: no Consul I/O
              try {
                return { kind: 'completed', session: await attempt(false) };
              } catch (error) {
                if (!(error instanceof ClaimLostError)) throw error;
                seen.claimLost += 1;
                return { kind: 'completed', session: await attempt(true) };
              }
            } catch (error) {
              if (error instanceof SupersededError) return { kind: 'superseded', claimed };
              if (error instanceof Crash && session) return { kind: 'crashed', session };
              throw error;
            } finally {
              interleaver.finished();
            }
          }),
        );

        const snapshot = consul.state.snapshot();
        const marker = snapshot.kv.find((e) => e.key === markerKey(PREFIX, SS));
        assert.ok(marker?.value, 'a marker exists');
        const markerValue = JSON.parse(marker.value) as { runId: string; listedAt: number; lastReconcile?: { runId: string } };
        const claimers = outcomes
          .map((o, i) => ({ o, run: runs[i] as RunSpec, runId: `run-${i}` }))
          .filter(({ o }) => o.kind !== 'superseded' || o.claimed);
        assert.equal(markerValue.listedAt, Math.max(...claimers.map((c) => listedAt(c.run))), 'the marker holds the newest claiming listing');
        // A run stops as superseded only for a listing at least as new as its own (never for an older one).
        outcomes.forEach((o, i) => {
          if (o.kind !== 'crashed') assert.ok(listedAt(runs[i] as RunSpec) <= markerValue.listedAt, `run-${i} (${o.kind}) is not newer than the marker`);
        });
        const last = claimers.find((c) => c.runId === markerValue.runId);
        assert.ok(last, 'the marker names a run that claimed');
        assert.notEqual(last.o.kind, 'superseded', 'nobody can supersede the last claimer');

        const ours = await registry.listOwned();
        const tombstoned = new Set(snapshot.kv.filter((e) => e.key.startsWith(tombstoneKey(PREFIX, SS, ''))).map((e) => e.key.slice(tombstoneKey(PREFIX, SS, '').length)));
        for (const node of ours) {
          assert.ok(!tombstoned.has(node.node), `tombstoned node ${node.node} is absent`);
          assert.ok(node.services.length === 1 && snapshot.checks.some((c) => c.node === node.node && c.checkId === AZURE_CHECK_ID), `node ${node.node} is whole`);
        }
        for (const f of foreign.nodes) assert.deepEqual(snapshot.nodes.find((n) => n.node === f.node), f, `foreign node ${f.node} untouched`);
        for (const f of foreign.services) assert.deepEqual(snapshot.services.find((s) => s.node === f.node && s.id === f.id), f);
        for (const f of foreign.checks) assert.deepEqual(snapshot.checks.find((c) => c.node === f.node && c.checkId === f.checkId), f);

        const expectFor = (listTime: number, session: ConsulReconcileSession): void => {
          const want = listingAt(instances, listTime).filter((d) => !session.tombstones.has(d.node) && d.node !== clashNode);
          assert.deepEqual(ours.map((n) => n.node).sort(), want.map((d) => d.node).sort(), 'Consul holds exactly the listing');
          for (const d of want) assert.ok(sameNode(d, ours.find((n) => n.node === d.node) as DesiredNode), `node ${d.node} as listed`);
        };
        if (last.o.kind === 'completed') {
          assert.equal(markerValue.lastReconcile?.runId, last.runId, 'the summary is the last run’s');
          expectFor(last.run.listTime, last.o.session);
        } else {
          // The newest claimer died mid-way: the next reconcile (a fresh listing) repairs everything.
          const now = 20;
          const recovery = await registry.beginReconcile(SS, 2_000 + now * 1_000 + 5_000, { runId: 'recovery' });
          await recovery.apply(localPlan(SS, listingAt(instances, now), recovery));
          const repaired = await registry.listOwned();
          const want = listingAt(instances, now).filter((d) => !recovery.tombstones.has(d.node) && d.node !== clashNode);
          assert.deepEqual(repaired.map((n) => n.node).sort(), want.map((d) => d.node).sort());
        }
      } finally {
        registry.close();
        await consul.close();
      }
    }),
    { numRuns: 100 },
  );
  // Every path of the protocol was taken, the ones without a claim included.
  for (const [path, count] of Object.entries(seen)) assert.ok(count > 0, `no run took the path ${path}: ${JSON.stringify(seen)}`);
});
