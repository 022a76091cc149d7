import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SandboxInstance, SandboxScaleSet, SandboxState } from '../../src/sandbox/sandbox-state';
import { clockOf, describeChanges, percentOf, redrawFrame, relayVersionsText, renderStatusLines, TerminalView, trafficBar, type TerminalOutput } from '../../src/sandbox/terminal-view';

const ANSI = /\x1b\[/;

function instance(name: string, over: Partial<SandboxInstance> = {}): SandboxInstance {
  return { name, instanceId: name.replace(/\D/g, ''), privateIp: '127.0.1.10', zone: '1', provisioningState: 'Succeeded', powerState: 'running', health: 'Healthy', consul: 'passing', trafficShare: 0.5, served: 100, ...over };
}

function scaleSet(name: string, instances: readonly SandboxInstance[], over: Partial<SandboxScaleSet> = {}): SandboxScaleSet {
  return { id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`, name, orchestrationMode: 'Uniform', capacity: instances.length, service: name, port: 8080, protocol: 'http', instances, ...over };
}

function state(over: Partial<SandboxState> = {}): SandboxState {
  return {
    generatedAt: '2026-01-02T03:04:05.678Z',
    endpoints: { armEmulator: 'https://127.0.0.1:8443', consul: 'http://127.0.0.1:8500', consulKind: 'double', functionsHost: 'http://127.0.0.1:7071', relayXds: '127.0.0.1:18000', relayAdmin: 'http://127.0.0.1:18001', statusPage: 'http://127.0.0.1:7080' },
    scaleSets: [scaleSet('web', [instance('web_0'), instance('web_1', { privateIp: '127.0.1.11', zone: '2' })])],
    relayClients: [{ nodeId: 'client-1', profile: 'proxyless-grpc', lastSentVersion: { cluster: '3', endpoint: '7' }, lastAckedVersion: { cluster: '3', endpoint: '6' } }],
    traffic: { windowSeconds: 5, requests: 200, failed: 0, failedTotal: 0 },
    eventChaos: false,
    timeline: [
      { at: '2026-01-02T03:04:01.000Z', kind: 'arm-operation', summary: 'web: capacity 1 → 2' },
      { at: '2026-01-02T03:04:02.000Z', kind: 'reconcile', summary: 'registered web_1' },
    ],
    ...over,
  };
}

describe('formatting helpers', () => {
  test('clockOf takes the time of an ISO timestamp and leaves anything else alone', () => {
    assert.equal(clockOf('2026-01-02T03:04:05.678Z'), '03:04:05.678');
    assert.equal(clockOf('2026-01-02T03:04:05Z'), '03:04:05');
    assert.equal(clockOf('yesterday'), 'yesterday');
  });

  test('trafficBar has ten cells filled in proportion, clamped to 0–1', () => {
    assert.equal(trafficBar(0), '░░░░░░░░░░');
    assert.equal(trafficBar(0.34), '███░░░░░░░');
    assert.equal(trafficBar(1), '██████████');
    assert.equal(trafficBar(7), '██████████');
    assert.equal(trafficBar(-1), '░░░░░░░░░░');
    assert.equal(percentOf(0.335), '34%');
  });

  test('relay versions: acknowledged as one number, pending as acked→sent, in CDS/EDS/LDS/RDS order', () => {
    assert.equal(relayVersionsText({ nodeId: 'n', profile: 'p', lastSentVersion: { route: '2', endpoint: '7', cluster: '3' }, lastAckedVersion: { endpoint: '6', cluster: '3', route: '2' } }), 'CDS 3  EDS 6→7  RDS 2');
    assert.equal(relayVersionsText({ nodeId: 'n', profile: 'p', lastSentVersion: { 'type.googleapis.com/envoy.config.listener.v3.Listener': '1' }, lastAckedVersion: {} }), 'LDS -→1');
    assert.equal(relayVersionsText({ nodeId: 'n', profile: 'p', lastSentVersion: {}, lastAckedVersion: {} }), 'nothing sent yet');
  });
});

describe('renderStatusLines', () => {
  test('a wide terminal shows every column, each instance on one row, relay clients and the timeline', () => {
    const lines = renderStatusLines(state(), { width: 200 });
    assert.equal(lines[0], 'vmss-mesh sandbox  03:04:05.678  consul: double  event chaos: off  page: http://127.0.0.1:7080');
    assert.equal(lines[1], 'traffic: 200 requests in 5 s, 0 failed (0 since start)');
    assert.match(lines[3] ?? '', /^ {2}INSTANCE +IP +ZONE +ARM +HEALTH +CONSUL +TRAFFIC +SHARE +SERVED$/);
    assert.equal(lines[4], 'web  Uniform  web:8080/http  capacity 2');
    assert.match(lines[5] ?? '', /^ {2}web_0 +127\.0\.1\.10 +1 +Succeeded\/running +Healthy +passing +█████░░░░░ +50% +100$/);
    assert.match(lines[6] ?? '', /^ {2}web_1 +127\.0\.1\.11 +2 /);
    assert.ok(lines.includes('  client-1  proxyless-grpc  CDS 3  EDS 6→7'), lines.join('\n'));
    assert.deepEqual(lines.slice(-2), ['03:04:01.000 arm-operation   web: capacity 1 → 2', '03:04:02.000 reconcile       registered web_1']);
    for (const line of lines) assert.doesNotMatch(line, ANSI);
  });

  test('every line fits the width; the least important columns go first', () => {
    for (const width of [30, 50, 64, 80, 100]) {
      const lines = renderStatusLines(state(), { width });
      for (const line of lines) assert.ok([...line].length <= width, `width ${width}: ${JSON.stringify(line)} is ${[...line].length} wide`);
    }
    const narrow = renderStatusLines(state(), { width: 64 });
    const header = narrow[3] ?? '';
    assert.match(header, /INSTANCE +ARM +CONSUL/);
    assert.doesNotMatch(header, /ZONE|HEALTH/);
    assert.match(narrow[5] ?? '', /web_0 +Succeeded\/running +passing/);
  });

  test('lines beyond maxLines are summarised in the last line', () => {
    const lines = renderStatusLines(state(), { width: 120, maxLines: 6 });
    assert.equal(lines.length, 6);
    assert.match(lines[5] ?? '', /^… \d+ more lines \(enlarge the terminal\)$/);
  });

  test('colour marks states with SGR codes and resets after each; failed requests are red', () => {
    const lines = renderStatusLines(state({ traffic: { windowSeconds: 5, requests: 10, failed: 2, failedTotal: 3 } }), { width: 200, color: true });
    assert.ok(lines.some((l) => l.includes('\x1b[32mpassing\x1b[0m')));
    assert.ok(lines.some((l) => l.includes('\x1b[31m2 failed\x1b[0m')));
    const visible = (l: string) => [...l.replace(/\x1b\[[0-9;]*m/g, '')].length;
    for (const line of renderStatusLines(state(), { width: 50, color: true })) assert.ok(visible(line) <= 50, line);
  });

  test('empty world: says so instead of drawing empty tables', () => {
    const lines = renderStatusLines(state({ scaleSets: [scaleSet('web', [])], relayClients: [], timeline: [] }), { width: 100 });
    assert.ok(lines.includes('  (no instances)'));
    assert.ok(lines.includes('relay clients: none connected'));
    assert.ok(!lines.includes('TIMELINE'));
    assert.ok(renderStatusLines(state({ scaleSets: [] }), { width: 100 }).includes('(no scale sets)'));
  });
});

describe('describeChanges', () => {
  test('without a previous state: the table once, without the timeline', () => {
    const lines = describeChanges(undefined, state());
    assert.deepEqual(lines, renderStatusLines(state(), { width: 160, timelineLines: 0 }));
  });

  test('only traffic moving (and time passing) is not a change', () => {
    const before = state();
    const after = state({ generatedAt: '2026-01-02T03:04:09.000Z', scaleSets: [scaleSet('web', [instance('web_0', { trafficShare: 0.6, served: 120 }), instance('web_1', { privateIp: '127.0.1.11', zone: '2', trafficShare: 0.4, served: 80 })])] });
    assert.deepEqual(describeChanges(before, after), []);
  });

  test('instances appearing, changing state, starting and stopping traffic, going away', () => {
    const before = state({ scaleSets: [scaleSet('web', [instance('web_0'), instance('web_1', { served: 0, trafficShare: 0, consul: 'absent', provisioningState: 'Creating', powerState: 'starting', health: null })])] });
    const after = state({
      generatedAt: '2026-01-02T03:04:06.000Z',
      scaleSets: [scaleSet('web', [instance('web_1', { served: 50, trafficShare: 1 }), instance('web_2', { privateIp: '127.0.1.12', provisioningState: 'Creating', powerState: 'starting', consul: 'absent', served: 0, trafficShare: 0 })], { capacity: 2 })],
    });
    assert.deepEqual(describeChanges(before, after), [
      '03:04:06.000 web/web_1: ARM Creating/starting → Succeeded/running',
      '03:04:06.000 web/web_1: health - → Healthy',
      '03:04:06.000 web/web_1: Consul absent → passing',
      '03:04:06.000 web/web_1: now serving traffic (100%)',
      '03:04:06.000 web/web_2: new instance 127.0.1.12, ARM Creating/starting, Consul absent',
      '03:04:06.000 web/web_0: instance gone',
    ]);
  });

  test('capacity, event chaos, relay versions and NACKs, failed requests and new timeline entries', () => {
    const before = state();
    const after = state({
      generatedAt: '2026-01-02T03:04:07.000Z',
      scaleSets: [scaleSet('web', before.scaleSets[0]?.instances ?? [], { capacity: 3 }), scaleSet('api', [])],
      eventChaos: true,
      relayClients: [
        { nodeId: 'client-1', profile: 'proxyless-grpc', lastSentVersion: { cluster: '3', endpoint: '7' }, lastAckedVersion: { cluster: '3', endpoint: '7' }, lastNack: 'bad weight' },
        { nodeId: 'gw', profile: 'envoy-gateway', lastSentVersion: {}, lastAckedVersion: {} },
      ],
      traffic: { windowSeconds: 5, requests: 200, failed: 2, failedTotal: 2 },
      timeline: [...before.timeline, { at: '2026-01-02T03:04:06.500Z', kind: 'push', summary: 'EDS 7 pushed' }],
    });
    assert.deepEqual(describeChanges(before, after), [
      '03:04:07.000 event chaos on',
      '03:04:07.000 web: capacity 2 → 3',
      '03:04:07.000 api: scale set appeared (Uniform, capacity 0)',
      '03:04:07.000 relay client client-1: CDS 3  EDS 7',
      '03:04:07.000 relay client client-1: NACK bad weight',
      '03:04:07.000 relay client gw (envoy-gateway) connected: nothing sent yet',
      '03:04:07.000 failed requests: +2 (2 since start)',
      '03:04:06.500 [push] EDS 7 pushed',
    ]);
    assert.deepEqual(describeChanges(after, state({ generatedAt: '2026-01-02T03:04:08.000Z', scaleSets: [], relayClients: [], timeline: after.timeline, traffic: after.traffic, eventChaos: true })), [
      '03:04:08.000 web: scale set gone',
      '03:04:08.000 api: scale set gone',
      '03:04:08.000 relay client client-1 disconnected',
      '03:04:08.000 relay client gw disconnected',
    ]);
  });

  test('a timeline that rolled over its bound still yields only the new entries', () => {
    const entry = (n: number) => ({ at: `2026-01-02T03:04:${String(n).padStart(2, '0')}.000Z`, kind: 'sandbox' as const, summary: `step ${n}` });
    const before = state({ timeline: [1, 2, 3].map(entry) });
    const after = state({ timeline: [2, 3, 4, 5].map(entry) });
    assert.deepEqual(describeChanges(before, after), ['03:04:04.000 [sandbox] step 4', '03:04:05.000 [sandbox] step 5']);
  });
});

describe('redrawFrame', () => {
  test('first frame: lines cleared to their end, rest of screen cleared, inside a synchronised update', () => {
    assert.equal(redrawFrame(0, ['a', 'b']), '\x1b[?2026ha\x1b[K\nb\x1b[K\n\x1b[J\x1b[?2026l');
  });
  test('next frames first move up over the previous block', () => {
    assert.equal(redrawFrame(3, ['x']), '\x1b[?2026h\x1b[3Fx\x1b[K\n\x1b[J\x1b[?2026l');
  });
});

class FakeOut implements TerminalOutput {
  readonly chunks: string[] = [];
  private resize: (() => void) | undefined;
  constructor(
    readonly isTTY: boolean,
    readonly columns = 100,
    readonly rows = 40,
  ) {}
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  on(_event: 'resize', listener: () => void): void {
    this.resize = listener;
  }
  off(): void {
    this.resize = undefined;
  }
  triggerResize(): void {
    this.resize?.();
  }
  get listening(): boolean {
    return this.resize !== undefined;
  }
}

describe('TerminalView', () => {
  test('on a TTY: repaints in place, skips identical pictures, moves up by the lines it drew', () => {
    const out = new FakeOut(true);
    const view = new TerminalView(out, { minIntervalMs: 0, color: false });
    view.update(state());
    assert.equal(out.chunks.length, 1);
    const first = out.chunks[0] ?? '';
    assert.ok(first.startsWith('\x1b[?2026h'), 'first frame does not move up');
    assert.doesNotMatch(first, /\x1b\[\d+F/);
    const drawn = (first.match(/\n/g) ?? []).length;
    view.update(state());
    assert.equal(out.chunks.length, 1, 'the same picture is not painted twice');
    view.update(state({ eventChaos: true }));
    assert.equal(out.chunks.length, 2);
    assert.ok((out.chunks[1] ?? '').startsWith(`\x1b[?2026h\x1b[${drawn}F`));
    assert.match(out.chunks[1] ?? '', /event chaos: ON/);
    view.close();
    assert.equal(out.listening, false);
  });

  test('on a TTY: never taller than the terminal, never wider than its width minus one', () => {
    const out = new FakeOut(true, 50, 8);
    const view = new TerminalView(out, { minIntervalMs: 0, color: false });
    view.update(state());
    const lines = (out.chunks[0] ?? '').replace(/\x1b\[\?2026[hl]|\x1b\[J/g, '').split('\x1b[K\n').slice(0, -1);
    assert.equal(lines.length, 7);
    for (const line of lines) assert.ok([...line].length <= 49, line);
    view.close();
  });

  test('on a TTY: a resize clears the screen once and repaints at the new size', () => {
    const out = new FakeOut(true);
    const view = new TerminalView(out, { minIntervalMs: 0 });
    view.update(state());
    out.triggerResize();
    assert.equal(out.chunks[1], '\x1b[2J\x1b[H');
    assert.ok((out.chunks[2] ?? '').startsWith('\x1b[?2026h') && !/\x1b\[\d+F/.test(out.chunks[2] ?? ''));
    view.close();
  });

  test('on a TTY: updates faster than minIntervalMs are coalesced into one trailing repaint of the newest state', async () => {
    const out = new FakeOut(true);
    // Long enough that no pause of a loaded machine between the three calls below can exceed it.
    const view = new TerminalView(out, { minIntervalMs: 500, color: false });
    view.update(state());
    view.update(state({ traffic: { windowSeconds: 5, requests: 1, failed: 0, failedTotal: 0 } }));
    view.update(state({ traffic: { windowSeconds: 5, requests: 2, failed: 0, failedTotal: 0 } }));
    assert.equal(out.chunks.length, 1);
    await waitFor(() => out.chunks.length === 2);
    assert.match(out.chunks[1] ?? '', /traffic: 2 requests/);
    view.close();
  });

  test('print() puts a line above the live table and repaints the table under it', () => {
    const out = new FakeOut(true);
    const view = new TerminalView(out, { minIntervalMs: 0, color: false });
    view.update(state());
    const drawn = ((out.chunks[0] ?? '').match(/\n/g) ?? []).length;
    view.print('hello');
    assert.ok((out.chunks[1] ?? '').startsWith(`\x1b[?2026h\x1b[${drawn}F\x1b[J\x1b[?2026lhello\n`));
    assert.doesNotMatch(out.chunks[2] ?? '', /\x1b\[\d+F/);
    view.close();
  });

  test('not a TTY: the table once, then plain change lines only when something changed, no ANSI', () => {
    const out = new FakeOut(false);
    const view = new TerminalView(out);
    view.update(state());
    view.update(state({ generatedAt: '2026-01-02T03:04:06.000Z' }));
    view.update(state({ generatedAt: '2026-01-02T03:04:07.000Z', eventChaos: true }));
    view.close();
    assert.equal(out.chunks.length, 2);
    assert.match(out.chunks[0] ?? '', /^vmss-mesh sandbox /);
    assert.equal(out.chunks[1], '03:04:07.000 event chaos on\n');
    for (const chunk of out.chunks) assert.doesNotMatch(chunk, ANSI);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
