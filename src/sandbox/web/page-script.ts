/**
 * The status page's script: plain browser JavaScript (no build step), inlined into the page.
 * It listens to /api/events (falling back to polling /api/state while the stream is down),
 * renders the state with DOM calls only (names from the sandbox are never parsed as HTML), and
 * updates rows in place, keyed by name, so a focused button keeps its focus as data flows.
 * Written without template literals so it can live in this String.raw literal (the only
 * substitutions are the shared constants below, as JSON).
 */
import { RESOURCE_LABEL_ORDER, RESOURCE_LABELS } from '../control/resource-labels';

export const PAGE_SCRIPT = String.raw`
'use strict';
(function () {
  const POLL_MS = 1000;
  const TIMELINE_SHOWN = 60;
  const KIND_LABELS = { 'arm-operation': 'ARM', 'event-delivered': 'event', reconcile: 'reconcile', push: 'push', 'client-ack': 'client ACK', sandbox: 'sandbox' };
  const KIND_TONES = { 'arm-operation': 'tone-info', 'event-delivered': 'tone-idle', reconcile: 'tone-warn', push: 'tone-info', 'client-ack': 'tone-ok', sandbox: 'tone-idle' };
  const CONSUL_TONES = { passing: 'tone-ok', warning: 'tone-warn', critical: 'tone-bad', draining: 'tone-warn', absent: 'tone-idle' };
  const TYPE_LABELS = ${JSON.stringify(RESOURCE_LABELS)};
  const TYPE_ORDER = ${JSON.stringify(RESOURCE_LABEL_ORDER)};

  let state = null;
  let source = null;
  let pollTimer = null;
  let idCounter = 0;
  const busy = new Set();

  const byId = (id) => document.getElementById(id);

  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === 'text') node.textContent = value;
      else if (key === 'testid') node.dataset.testid = value;
      else if (key === 'className') node.className = value;
      else if (key === 'onclick') node.addEventListener('click', value);
      else node.setAttribute(key, value);
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function setTone(node, base, tone) {
    const className = base + ' ' + tone;
    if (node.className !== className) node.className = className;
  }

  /** Reuses children by key (creating, reordering and removing as needed) so focus survives updates. */
  function syncChildren(container, items, keyOf, create, update) {
    const existing = new Map();
    for (const child of Array.from(container.children)) existing.set(child.dataset.key, child);
    let previous = null;
    for (const item of items) {
      const key = keyOf(item);
      let node = existing.get(key);
      if (node) existing.delete(key);
      else {
        node = create(item);
        node.dataset.key = key;
      }
      update(node, item);
      const expected = previous ? previous.nextElementSibling : container.firstElementChild;
      if (node !== expected) container.insertBefore(node, expected);
      previous = node;
    }
    for (const stale of existing.values()) stale.remove();
  }

  function pad(n, width) {
    return String(n).padStart(width || 2, '0');
  }

  function clock(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
  }

  function percent(share) {
    return (Math.round(share * 1000) / 10).toFixed(share > 0 && share < 0.1 ? 1 : 0) + '%';
  }

  function armTone(instance) {
    const p = instance.provisioningState.toLowerCase();
    if (p === 'failed') return 'tone-bad';
    if (p === 'deleting') return 'tone-warn';
    if (p === 'creating' || p === 'updating') return 'tone-info';
    if (p === 'succeeded' && instance.powerState.toLowerCase() === 'running') return 'tone-ok';
    return 'tone-idle';
  }

  function healthTone(health) {
    const h = (health || '').toLowerCase();
    if (h === 'healthy') return 'tone-ok';
    if (h === 'unhealthy') return 'tone-bad';
    return 'tone-idle';
  }

  // ---- actions ---------------------------------------------------------------------------

  function showResult(message, tone) {
    const node = byId('action-result');
    node.className = 'result ' + tone;
    node.textContent = message;
  }

  async function act(action, key, label) {
    if (busy.has(key)) return;
    busy.add(key);
    render();
    showResult(label + '…', 'tone-info');
    try {
      const response = await fetch('api/actions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(action) });
      let body = null;
      try { body = await response.json(); } catch (ignored) { body = null; }
      const message = body && typeof body.message === 'string' ? body.message : 'HTTP ' + response.status;
      showResult(message, response.ok && body && body.ok ? 'tone-ok' : 'tone-bad');
    } catch (error) {
      showResult('could not reach the sandbox: ' + error.message, 'tone-bad');
    } finally {
      busy.delete(key);
      render();
      refresh();
    }
  }

  // ---- rendering -------------------------------------------------------------------------

  function createScaleSet(set) {
    const titleId = 'set-title-' + (++idCounter);
    const name = set.name;
    const out = el('button', { type: 'button', testid: 'scale-out-' + name, 'data-part': 'out', onclick: () => {
      const target = current(name).capacity + 1;
      act({ action: 'scale', scaleSet: name, capacity: target }, 'scale:' + name, 'scaling ' + name + ' out to ' + target);
    } }, ['Scale out (+1)']);
    const inn = el('button', { type: 'button', testid: 'scale-in-' + name, 'data-part': 'in', onclick: () => {
      const target = Math.max(0, current(name).capacity - 1);
      act({ action: 'scale', scaleSet: name, capacity: target }, 'scale:' + name, 'scaling ' + name + ' in to ' + target);
    } }, ['Scale in (\u22121)']);
    out.setAttribute('aria-label', 'Scale ' + name + ' out by one instance');
    inn.setAttribute('aria-label', 'Scale ' + name + ' in by one instance');
    const head = el('div', { className: 'set-head' }, [
      el('h3', { id: titleId, text: name }),
      el('span', { className: 'meta', 'data-part': 'meta' }),
      el('span', { className: 'meta', 'data-part': 'capacity', testid: 'capacity-' + name }),
      el('div', { className: 'actions' }, [out, inn])
    ]);
    const table = el('table', {}, [
      el('caption', { className: 'visually-hidden', text: 'Instances of ' + name }),
      el('thead', {}, [el('tr', {}, ['Instance', 'Private IP', 'Zone', 'ARM', 'Health', 'Consul', 'Traffic', 'Actions'].map((h) => el('th', { scope: 'col', text: h })))]),
      el('tbody', { 'data-part': 'instances' })
    ]);
    return el('section', { className: 'card scale-set', testid: 'scale-set-' + name, 'aria-labelledby': titleId }, [head, table]);
  }

  function current(name) {
    return (state && state.scaleSets.find((s) => s.name === name)) || { capacity: 0, instances: [] };
  }

  function updateScaleSet(section, set) {
    const part = (p) => section.querySelector('[data-part="' + p + '"]');
    setText(part('meta'), set.orchestrationMode + ' \u00b7 service ' + set.service + ':' + set.port + ' (' + set.protocol + ')');
    setText(part('capacity'), 'capacity ' + set.capacity + ' \u00b7 ' + set.instances.length + ' instance' + (set.instances.length === 1 ? '' : 's') + ' listed');
    const pending = busy.has('scale:' + set.name);
    part('out').disabled = pending;
    part('in').disabled = pending || set.capacity === 0;
    const body = part('instances');
    if (set.instances.length === 0) {
      syncChildren(body, [null], () => '(none)', () => el('tr', {}, [el('td', { colspan: '8', className: 'empty', text: 'no instances' })]), () => undefined);
    } else {
      syncChildren(body, set.instances, (i) => 'i:' + i.name, createInstance, updateInstance);
    }
  }

  function createInstance(instance) {
    const name = instance.name;
    const cell = (p, extra) => el('td', Object.assign({ 'data-part': p }, extra || {}));
    const fill = el('span', { 'data-part': 'fill' });
    return el('tr', { testid: 'instance-' + name }, [
      el('th', { scope: 'row', className: 'mono', text: name }),
      cell('ip', { className: 'mono' }),
      cell('zone'),
      el('td', {}, [el('span', { 'data-part': 'arm', testid: 'arm-' + name })]),
      el('td', {}, [el('span', { 'data-part': 'health', testid: 'health-' + name })]),
      el('td', {}, [el('span', { 'data-part': 'consul', testid: 'consul-' + name })]),
      el('td', {}, [el('div', { className: 'traffic', testid: 'traffic-' + name, 'data-part': 'traffic' }, [
        el('div', { className: 'bar', 'aria-hidden': 'true' }, [fill]),
        el('span', { className: 'num', 'data-part': 'share' })
      ])]),
      el('td', {}, [el('div', { className: 'row-actions' }, [
        el('button', { type: 'button', className: 'small', testid: 'fail-' + name, 'aria-label': 'Fail ' + name, onclick: () => act({ action: 'fail', instance: name }, 'instance:' + name, 'failing ' + name) }, ['Fail']),
        el('button', { type: 'button', className: 'small', testid: 'heal-' + name, 'aria-label': 'Heal ' + name, onclick: () => act({ action: 'heal', instance: name }, 'instance:' + name, 'healing ' + name) }, ['Heal'])
      ])])
    ]);
  }

  function updateInstance(row, instance) {
    const part = (p) => row.querySelector('[data-part="' + p + '"]');
    setText(part('ip'), instance.privateIp);
    setText(part('zone'), instance.zone || '\u2014');
    const arm = part('arm');
    setText(arm, instance.provisioningState + ' / ' + instance.powerState);
    setTone(arm, 'badge', armTone(instance));
    const health = part('health');
    setText(health, instance.health || '\u2014');
    setTone(health, 'badge', healthTone(instance.health));
    const consul = part('consul');
    setText(consul, instance.consul);
    setTone(consul, 'badge', CONSUL_TONES[instance.consul] || 'tone-idle');
    const traffic = part('traffic');
    traffic.dataset.share = String(instance.trafficShare);
    traffic.dataset.served = String(instance.served);
    part('fill').style.width = Math.max(0, Math.min(100, instance.trafficShare * 100)) + '%';
    setText(part('share'), percent(instance.trafficShare) + ' \u00b7 ' + instance.served);
    const pending = busy.has('instance:' + instance.name);
    for (const button of row.querySelectorAll('button')) button.disabled = pending;
  }

  function versionsText(client) {
    const labels = new Map();
    for (const key of Object.keys(client.lastSentVersion).concat(Object.keys(client.lastAckedVersion))) labels.set(key, TYPE_LABELS[key] || key);
    const keys = Array.from(labels.keys()).sort((a, b) => {
      const ia = TYPE_ORDER.indexOf(labels.get(a)), ib = TYPE_ORDER.indexOf(labels.get(b));
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
    });
    if (keys.length === 0) return 'nothing sent yet';
    return keys.map((key) => {
      const sent = client.lastSentVersion[key], acked = client.lastAckedVersion[key];
      if (sent === undefined || sent === acked) return labels.get(key) + ' ' + acked + ' \u2713';
      return labels.get(key) + ' ' + (acked === undefined ? '\u2014' : acked) + ' \u2192 ' + sent + ' (waiting)';
    }).join('   ');
  }

  function renderRelayClients() {
    const body = byId('relay-clients');
    if (state.relayClients.length === 0) {
      syncChildren(body, [null], () => '(none)', () => el('tr', {}, [el('td', { colspan: '4', className: 'empty', text: 'no relay clients connected' })]), () => undefined);
      return;
    }
    syncChildren(body, state.relayClients, (c) => 'c:' + c.nodeId, (c) => el('tr', { testid: 'relay-client-' + c.nodeId }, [
      el('th', { scope: 'row', className: 'mono', text: c.nodeId }),
      el('td', { 'data-part': 'profile' }),
      el('td', { className: 'mono', 'data-part': 'versions' }),
      el('td', { className: 'nack', 'data-part': 'nack' })
    ]), (row, c) => {
      setText(row.querySelector('[data-part="profile"]'), c.profile);
      setText(row.querySelector('[data-part="versions"]'), versionsText(c));
      setText(row.querySelector('[data-part="nack"]'), c.lastNack ? 'NACK: ' + c.lastNack : '');
    });
  }

  let timelineKey = '';
  function renderTimeline() {
    const entries = state.timeline.slice(-TIMELINE_SHOWN).reverse();
    const newest = entries[0];
    const key = state.timeline.length + '|' + (newest ? newest.at + newest.summary : '');
    if (key === timelineKey) return;
    timelineKey = key;
    const list = byId('timeline');
    list.replaceChildren(...(entries.length === 0
      ? [el('li', { className: 'empty', text: 'nothing has happened yet' })]
      : entries.map((e) => el('li', { testid: 'timeline-entry' }, [
        el('span', { className: 'time', text: clock(e.at) }),
        el('span', {}, [el('span', { className: 'badge ' + (KIND_TONES[e.kind] || 'tone-idle'), text: KIND_LABELS[e.kind] || e.kind })]),
        el('span', { text: e.summary })
      ]))));
  }

  function renderEndpoints() {
    const e = state.endpoints;
    const rows = [
      ['Status page', e.statusPage], ['ARM emulator', e.armEmulator],
      ['Consul (' + (e.consulKind === 'agent' ? 'real consul agent -dev' : 'vmss-mesh Consul double') + ')', e.consul],
      ['Functions host', e.functionsHost], ['Relay xDS', e.relayXds], ['Relay admin', e.relayAdmin]
    ];
    const list = byId('endpoints');
    const key = JSON.stringify(rows);
    if (list.dataset.key === key) return;
    list.dataset.key = key;
    list.replaceChildren(...rows.flatMap((r) => [el('dt', { text: r[0] }), el('dd', {}, [el('code', { text: r[1] })])]));
  }

  function render() {
    if (!state) return;
    byId('waiting').hidden = true;
    setText(byId('generated-at'), 'state of ' + clock(state.generatedAt) + ' \u00b7 Consul: ' + (state.endpoints.consulKind === 'agent' ? 'real agent' : 'double'));
    const chaos = byId('event-chaos-toggle');
    chaos.disabled = busy.has('chaos');
    chaos.setAttribute('aria-checked', String(state.eventChaos));
    setText(chaos, 'Event chaos: ' + (state.eventChaos ? 'on' : 'off'));
    const t = state.traffic;
    setText(byId('traffic-requests'), String(t.requests));
    setText(byId('traffic-window'), 'requests in the last ' + t.windowSeconds + ' s');
    setText(byId('traffic-failed'), String(t.failed));
    setText(byId('traffic-failed-total'), String(t.failedTotal));
    byId('stat-failed').classList.toggle('alert', t.failed > 0);
    byId('stat-failed-total').classList.toggle('alert', t.failedTotal > 0);
    syncChildren(byId('scale-sets'), state.scaleSets, (s) => 's:' + s.id.toLowerCase(), createScaleSet, updateScaleSet);
    renderRelayClients();
    renderTimeline();
    renderEndpoints();
  }

  function receive(next) {
    state = next;
    render();
  }

  // ---- data flow -------------------------------------------------------------------------

  function setConnection(mode) {
    const node = byId('connection');
    const tones = { live: 'tone-ok', polling: 'tone-warn', connecting: 'tone-idle', disconnected: 'tone-bad' };
    const labels = { live: 'live', polling: 'live (polling)', connecting: 'connecting\u2026', disconnected: 'disconnected \u2014 retrying' };
    node.dataset.mode = mode;
    setTone(node, 'conn', tones[mode]);
    setText(node, labels[mode]);
  }

  async function refresh() {
    try {
      const response = await fetch('api/state', { cache: 'no-store' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      receive(await response.json());
      return true;
    } catch (error) {
      return false;
    }
  }

  function startPolling() {
    if (pollTimer !== null) return;
    const tick = async () => {
      const ok = await refresh();
      if (source && source.readyState === 1) return;
      setConnection(ok ? 'polling' : 'disconnected');
    };
    pollTimer = setInterval(tick, POLL_MS);
    tick();
  }

  function stopPolling() {
    if (pollTimer !== null) clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    if (typeof EventSource !== 'function') {
      startPolling();
      return;
    }
    source = new EventSource('api/events');
    source.addEventListener('open', () => {
      stopPolling();
      setConnection('live');
    });
    source.addEventListener('state', (event) => {
      setConnection('live');
      receive(JSON.parse(event.data));
    });
    source.addEventListener('heartbeat', () => setConnection('live'));
    // EventSource reconnects by itself; poll meanwhile so the page keeps moving.
    source.addEventListener('error', () => startPolling());
  }

  byId('event-chaos-toggle').addEventListener('click', () => {
    if (!state) return;
    const enabled = !state.eventChaos;
    act({ action: 'event-chaos', enabled: enabled }, 'chaos', 'turning event chaos ' + (enabled ? 'on' : 'off'));
  });
  setConnection('connecting');
  connect();
  refresh();
})();
`;
