/**
 * The sandbox in a terminal. Pure parts: `renderStatusLines` (the state as a compact table that
 * fits a width), `describeChanges` (plain log lines saying what changed between two states) and
 * `redrawFrame` (the bytes that repaint a table in place). `TerminalView` picks between them: on a
 * TTY it repaints in place (synchronised update, each line cleared to its end, no full-screen
 * clear, so nothing flickers), throttled and only when the picture changed; elsewhere (a pipe, a
 * CI log) it prints plain lines, no ANSI, and only when something changed — traffic shares move
 * all the time and would flood a log, so they count as a change only when an instance starts or
 * stops being served.
 */
import { RESOURCE_LABEL_ORDER, RESOURCE_LABELS } from './control/resource-labels';
import type { SandboxInstance, SandboxRelayClient, SandboxState, TimelineEntry } from './sandbox-state';

// ---- styled text -------------------------------------------------------------------------

export type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan';
interface Segment {
  readonly text: string;
  readonly style?: Style;
}
type Line = readonly Segment[];

const SGR: Readonly<Record<Style, string>> = { bold: '1', dim: '2', red: '31', green: '32', yellow: '33', cyan: '36' };

/** Visible width: code points (the table only uses narrow characters). */
const widthOf = (text: string): number => [...text].length;

function fitLine(line: Line, width: number, color: boolean): string {
  let out = '';
  let used = 0;
  for (const segment of line) {
    let text = segment.text;
    const room = width - used;
    if (room <= 0) break;
    const w = widthOf(text);
    const truncated = w > room;
    if (truncated) text = `${[...text].slice(0, Math.max(0, room - 1)).join('')}…`;
    used += widthOf(text);
    out += color && segment.style ? `\x1b[${SGR[segment.style]}m${text}\x1b[0m` : text;
    if (truncated) break;
  }
  return color ? out : out.replace(/\s+$/, '');
}

// ---- formatting helpers --------------------------------------------------------------------

const BAR_CELLS = 10;

/** `HH:MM:SS.mmm` of an ISO time (UTC, as the state carries it), or the text as given. */
export function clockOf(iso: string): string {
  return /^\d{4}-\d\d-\d\dT(\d\d:\d\d:\d\d(?:\.\d{1,3})?)/.exec(iso)?.[1] ?? iso;
}

export function trafficBar(share: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, share)) * BAR_CELLS);
  return '█'.repeat(filled) + '░'.repeat(BAR_CELLS - filled);
}

export function percentOf(share: number): string {
  return `${Math.round(Math.min(1, Math.max(0, share)) * 100)}%`;
}

const armText = (i: SandboxInstance): string => `${i.provisioningState}/${i.powerState}`;

function armStyle(i: SandboxInstance): Style | undefined {
  const state = i.provisioningState.toLowerCase();
  if (state === 'failed') return 'red';
  if (state === 'deleting') return 'yellow';
  if (state === 'creating' || state === 'updating') return 'cyan';
  return undefined;
}

const CONSUL_STYLE: Readonly<Record<SandboxInstance['consul'], Style>> = { passing: 'green', warning: 'yellow', critical: 'red', draining: 'yellow', absent: 'dim' };

function healthStyle(health: string | null): Style | undefined {
  const h = (health ?? '').toLowerCase();
  return h === 'unhealthy' ? 'red' : h === 'healthy' ? 'green' : 'dim';
}

/** Per resource type: `EDS 4` when acknowledged, `EDS 3→4` while the client has not ACKed 4. */
export function relayVersionsText(client: SandboxRelayClient): string {
  const keys = [...new Set([...Object.keys(client.lastSentVersion), ...Object.keys(client.lastAckedVersion)])];
  const label = (key: string) => RESOURCE_LABELS[key] ?? key;
  const rank = (key: string) => {
    const i = RESOURCE_LABEL_ORDER.indexOf(label(key));
    return i < 0 ? RESOURCE_LABEL_ORDER.length : i;
  };
  keys.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  if (keys.length === 0) return 'nothing sent yet';
  return keys
    .map((key) => {
      const sent = client.lastSentVersion[key];
      const acked = client.lastAckedVersion[key];
      return sent === undefined || sent === acked ? `${label(key)} ${acked ?? '-'}` : `${label(key)} ${acked ?? '-'}→${sent}`;
    })
    .join('  ');
}

// ---- the table -----------------------------------------------------------------------------

export interface RenderOptions {
  /** Columns available; every line fits in it. */
  readonly width: number;
  /** Most lines to produce (the rest is summarised in a last line); default unlimited. */
  readonly maxLines?: number;
  /** Timeline entries shown at the bottom (default 5). */
  readonly timelineLines?: number;
  /** ANSI colours (default false). */
  readonly color?: boolean;
}

interface Column {
  readonly header: string;
  /** Lower is dropped first when the width is short. */
  readonly priority: number;
  readonly align?: 'right';
  readonly cell: (i: SandboxInstance) => Segment;
}

const INSTANCE_COLUMNS: readonly Column[] = [
  { header: 'INSTANCE', priority: 9, cell: (i) => ({ text: i.name, style: 'bold' }) },
  { header: 'IP', priority: 3, cell: (i) => ({ text: i.privateIp }) },
  { header: 'ZONE', priority: 1, cell: (i) => ({ text: i.zone || '-' }) },
  { header: 'ARM', priority: 8, cell: (i) => ({ text: armText(i), ...optionalStyle(armStyle(i)) }) },
  { header: 'HEALTH', priority: 2, cell: (i) => ({ text: i.health ?? '-', ...optionalStyle(healthStyle(i.health)) }) },
  { header: 'CONSUL', priority: 7, cell: (i) => ({ text: i.consul, style: CONSUL_STYLE[i.consul] }) },
  { header: 'TRAFFIC', priority: 5, cell: (i) => ({ text: trafficBar(i.trafficShare), style: 'cyan' }) },
  { header: 'SHARE', priority: 6, align: 'right', cell: (i) => ({ text: percentOf(i.trafficShare) }) },
  { header: 'SERVED', priority: 4, align: 'right', cell: (i) => ({ text: String(i.served) }) },
];

function optionalStyle(style: Style | undefined): { style?: Style } {
  return style ? { style } : {};
}

const INDENT = '  ';
const GAP = '  ';

/** The columns that fit `width`, dropping the least important first. */
function fittingColumns(state: SandboxState, width: number): { columns: Column[]; widths: number[] } {
  const instances = state.scaleSets.flatMap((s) => s.instances);
  let columns = [...INSTANCE_COLUMNS];
  const widthsOf = (cols: Column[]) => cols.map((c) => Math.max(widthOf(c.header), ...instances.map((i) => widthOf(c.cell(i).text))));
  let widths = widthsOf(columns);
  const total = (ws: number[]) => widthOf(INDENT) + ws.reduce((a, b) => a + b, 0) + widthOf(GAP) * (ws.length - 1);
  while (total(widths) > width && columns.length > 1) {
    const weakest = columns.reduce((min, c) => (c.priority < min.priority ? c : min));
    columns = columns.filter((c) => c !== weakest);
    widths = widthsOf(columns);
  }
  return { columns, widths };
}

function row(cells: readonly Segment[], widths: readonly number[], columns: readonly Column[]): Line {
  const line: Segment[] = [{ text: INDENT }];
  cells.forEach((cell, index) => {
    const pad = ' '.repeat(Math.max(0, (widths[index] ?? 0) - widthOf(cell.text)));
    if (index > 0) line.push({ text: GAP });
    if (columns[index]?.align === 'right') line.push({ text: pad }, cell);
    else line.push(cell, { text: pad });
  });
  return line;
}

function timelineLine(entry: TimelineEntry): Line {
  return [{ text: `${clockOf(entry.at)} `, style: 'dim' }, { text: `${entry.kind.padEnd(15)} ` }, { text: entry.summary }];
}

/** The whole state as table lines, each fitting `options.width`. */
export function renderStatusLines(state: SandboxState, options: RenderOptions): string[] {
  const width = Math.max(20, Math.floor(options.width));
  const lines: Line[] = [];
  const failedStyle = state.traffic.failed > 0 ? 'red' : undefined;
  lines.push([
    { text: 'vmss-mesh sandbox', style: 'bold' },
    { text: `  ${clockOf(state.generatedAt)}  consul: ${state.endpoints.consulKind}  event chaos: ${state.eventChaos ? 'ON' : 'off'}  page: ${state.endpoints.statusPage}` },
  ]);
  lines.push([
    { text: `traffic: ${state.traffic.requests} requests in ${state.traffic.windowSeconds} s, ` },
    { text: `${state.traffic.failed} failed`, ...optionalStyle(failedStyle) },
    { text: ` (${state.traffic.failedTotal} since start)`, ...optionalStyle(state.traffic.failedTotal > 0 ? 'yellow' : undefined) },
  ]);
  lines.push([]);
  const { columns, widths } = fittingColumns(state, width);
  lines.push(row(columns.map((c) => ({ text: c.header, style: 'dim' as const })), widths, columns));
  if (state.scaleSets.length === 0) lines.push([{ text: '(no scale sets)', style: 'dim' }]);
  for (const set of state.scaleSets) {
    lines.push([
      { text: set.name, style: 'bold' },
      { text: `  ${set.orchestrationMode}  ${set.service}:${set.port}/${set.protocol}  capacity ${set.capacity}`, style: 'dim' },
    ]);
    if (set.instances.length === 0) lines.push([{ text: `${INDENT}(no instances)`, style: 'dim' }]);
    for (const instance of set.instances) lines.push(row(columns.map((c) => c.cell(instance)), widths, columns));
  }
  lines.push([]);
  if (state.relayClients.length === 0) lines.push([{ text: 'relay clients: none connected', style: 'dim' }]);
  else {
    const nameWidth = Math.max(...state.relayClients.map((c) => widthOf(c.nodeId)));
    const profileWidth = Math.max(...state.relayClients.map((c) => widthOf(c.profile)));
    lines.push([{ text: 'RELAY CLIENTS (acked→sent)', style: 'dim' }]);
    for (const client of state.relayClients) {
      lines.push([
        { text: `${INDENT}${client.nodeId.padEnd(nameWidth)}${GAP}${client.profile.padEnd(profileWidth)}${GAP}` },
        { text: relayVersionsText(client) },
        ...(client.lastNack ? [{ text: `  NACK: ${client.lastNack}`, style: 'red' as const }] : []),
      ]);
    }
  }
  const shown = state.timeline.slice(-(options.timelineLines ?? 5));
  if (shown.length > 0) {
    lines.push([]);
    lines.push([{ text: 'TIMELINE', style: 'dim' }]);
    for (const entry of shown) lines.push(timelineLine(entry));
  }
  const max = options.maxLines;
  let kept = lines;
  if (max !== undefined && lines.length > max) {
    kept = lines.slice(0, Math.max(0, max - 1));
    kept.push([{ text: `… ${lines.length - kept.length} more lines (enlarge the terminal)`, style: 'dim' }]);
  }
  return kept.map((line) => fitLine(line, width, options.color ?? false));
}

// ---- change log (not a TTY) ----------------------------------------------------------------

const sameEntry = (a: TimelineEntry, b: TimelineEntry) => a.at === b.at && a.kind === b.kind && a.summary === b.summary;

/** Timeline entries of `next` that `previous` did not have (the timeline only grows at its end). */
function newTimelineEntries(previous: readonly TimelineEntry[], next: readonly TimelineEntry[]): readonly TimelineEntry[] {
  const last = previous[previous.length - 1];
  if (!last) return next;
  for (let i = next.length - 1; i >= 0; i -= 1) {
    const entry = next[i];
    if (entry && sameEntry(entry, last)) return next.slice(i + 1);
  }
  return next;
}

/**
 * Plain log lines (no ANSI) for what changed from `previous` to `next`; an empty list when
 * nothing worth a line changed. Without `previous`, the whole table once.
 */
export function describeChanges(previous: SandboxState | undefined, next: SandboxState, options: { width?: number } = {}): string[] {
  if (!previous) return renderStatusLines(next, { width: options.width ?? 160, timelineLines: 0 });
  const at = clockOf(next.generatedAt);
  const out: string[] = [];
  const say = (text: string) => out.push(`${at} ${text}`);
  if (previous.eventChaos !== next.eventChaos) say(`event chaos ${next.eventChaos ? 'on' : 'off'}`);
  // Scale sets by resource ID: two resource groups may both have a "web".
  const before = new Map(previous.scaleSets.map((s) => [s.id.toLowerCase(), s]));
  for (const set of next.scaleSets) {
    const old = before.get(set.id.toLowerCase());
    before.delete(set.id.toLowerCase());
    if (!old) say(`${set.name}: scale set appeared (${set.orchestrationMode}, capacity ${set.capacity})`);
    else if (old.capacity !== set.capacity) say(`${set.name}: capacity ${old.capacity} → ${set.capacity}`);
    const oldInstances = new Map((old?.instances ?? []).map((i) => [i.name, i]));
    for (const instance of set.instances) {
      const was = oldInstances.get(instance.name);
      oldInstances.delete(instance.name);
      const name = `${set.name}/${instance.name}`;
      if (!was) {
        say(`${name}: new instance ${instance.privateIp}, ARM ${armText(instance)}, Consul ${instance.consul}`);
        continue;
      }
      if (armText(was) !== armText(instance)) say(`${name}: ARM ${armText(was)} → ${armText(instance)}`);
      if (was.health !== instance.health) say(`${name}: health ${was.health ?? '-'} → ${instance.health ?? '-'}`);
      if (was.consul !== instance.consul) say(`${name}: Consul ${was.consul} → ${instance.consul}`);
      if (was.served === 0 && instance.served > 0) say(`${name}: now serving traffic (${percentOf(instance.trafficShare)})`);
      if (was.served > 0 && instance.served === 0) say(`${name}: no longer serving traffic`);
    }
    for (const gone of oldInstances.values()) say(`${set.name}/${gone.name}: instance gone`);
  }
  for (const gone of before.values()) say(`${gone.name}: scale set gone`);
  const clientsBefore = new Map(previous.relayClients.map((c) => [c.nodeId, c]));
  for (const client of next.relayClients) {
    const was = clientsBefore.get(client.nodeId);
    clientsBefore.delete(client.nodeId);
    if (!was) say(`relay client ${client.nodeId} (${client.profile}) connected: ${relayVersionsText(client)}`);
    else if (relayVersionsText(was) !== relayVersionsText(client)) say(`relay client ${client.nodeId}: ${relayVersionsText(client)}`);
    if (client.lastNack && client.lastNack !== was?.lastNack) say(`relay client ${client.nodeId}: NACK ${client.lastNack}`);
  }
  for (const gone of clientsBefore.values()) say(`relay client ${gone.nodeId} disconnected`);
  if (next.traffic.failedTotal > previous.traffic.failedTotal) say(`failed requests: +${next.traffic.failedTotal - previous.traffic.failedTotal} (${next.traffic.failedTotal} since start)`);
  for (const entry of newTimelineEntries(previous.timeline, next.timeline)) out.push(`${clockOf(entry.at)} [${entry.kind}] ${entry.summary}`);
  return out;
}

// ---- repainting on a TTY -------------------------------------------------------------------

const SYNC_START = '\x1b[?2026h';
const SYNC_END = '\x1b[?2026l';

/**
 * The bytes that replace a block of `previousLines` lines just above the cursor with `lines`:
 * up to the block's first line, each line written and cleared to its end, the rest of the old
 * block cleared. Wrapped in a synchronised update so terminals that know it paint it at once.
 */
export function redrawFrame(previousLines: number, lines: readonly string[]): string {
  const up = previousLines > 0 ? `\x1b[${previousLines}F` : '';
  return `${SYNC_START}${up}${lines.map((line) => `${line}\x1b[K\n`).join('')}\x1b[J${SYNC_END}`;
}

export interface TerminalOutput {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
  readonly rows?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

export interface TerminalViewOptions {
  /** Repaint in place (default: the output is a TTY). */
  readonly tty?: boolean;
  /** ANSI colours on a TTY (default true; pass false for NO_COLOR). */
  readonly color?: boolean;
  /** Smallest gap between two repaints (default 250 ms). */
  readonly minIntervalMs?: number;
  /** Timeline entries under the table (default 5). */
  readonly timelineLines?: number;
}

/** Shows a stream of states: repainted in place on a TTY, as change lines otherwise. */
export class TerminalView {
  private readonly tty: boolean;
  private readonly color: boolean;
  private readonly minIntervalMs: number;
  private readonly timelineLines: number;
  private latest: SandboxState | undefined;
  private previous: SandboxState | undefined;
  private drawnLines = 0;
  private lastFrame = '';
  private lastDrawAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly onResize = () => {
    // Old lines may have re-wrapped at the new width: start from a clean screen once.
    this.out.write('\x1b[2J\x1b[H');
    this.drawnLines = 0;
    this.lastFrame = '';
    this.draw();
  };

  constructor(
    private readonly out: TerminalOutput,
    options: TerminalViewOptions = {},
  ) {
    this.tty = options.tty ?? out.isTTY === true;
    this.color = this.tty && (options.color ?? true);
    this.minIntervalMs = options.minIntervalMs ?? 250;
    this.timelineLines = options.timelineLines ?? 5;
    if (this.tty) out.on?.('resize', this.onResize);
  }

  update(state: SandboxState): void {
    if (this.closed) return;
    this.latest = state;
    if (!this.tty) {
      const lines = describeChanges(this.previous, state, { width: this.out.columns ?? 160 });
      this.previous = state;
      if (lines.length > 0) this.out.write(`${lines.join('\n')}\n`);
      return;
    }
    if (this.timer !== undefined) return;
    const delay = Math.max(0, this.lastDrawAt + this.minIntervalMs - Date.now());
    if (delay === 0) this.draw();
    else
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.draw();
      }, delay);
  }

  /** Prints a line above the live table (on a TTY the table is repainted below it). */
  print(text: string): void {
    if (!this.tty) {
      this.out.write(`${text}\n`);
      return;
    }
    this.out.write(`${redrawFrame(this.drawnLines, [])}${text}\n`);
    this.drawnLines = 0;
    this.lastFrame = '';
    this.draw();
  }

  /** Paints the last state one final time and leaves the cursor under it. */
  close(): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.tty) this.draw();
    this.closed = true;
    this.out.off?.('resize', this.onResize);
  }

  private draw(): void {
    if (!this.latest || this.closed) return;
    const lines = renderStatusLines(this.latest, {
      // One column spare: writing the last column makes some terminals wrap early.
      width: (this.out.columns ?? 80) - 1,
      maxLines: Math.max(3, (this.out.rows ?? 40) - 1),
      timelineLines: this.timelineLines,
      color: this.color,
    });
    const frame = lines.join('\n');
    if (frame === this.lastFrame) return;
    this.out.write(redrawFrame(this.drawnLines, lines));
    this.drawnLines = lines.length;
    this.lastFrame = frame;
    this.lastDrawAt = Date.now();
  }
}
