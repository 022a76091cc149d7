/**
 * The sandbox's status page: one self-contained HTML document (inline style and script, no
 * external URLs, no build step). The server sends it with a Content-Security-Policy that allows
 * exactly this style and this script (by hash) and network calls to its own origin only, so
 * nothing a scale set or instance name contains can run as code.
 */
import { createHash } from 'node:crypto';
import { PAGE_SCRIPT } from './page-script';
import { PAGE_STYLE } from './page-style';

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

const BODY = `
<header class="top">
  <div>
    <h1>vmss-mesh sandbox</h1>
    <p id="generated-at" class="sub" data-testid="generated-at">waiting for the sandbox…</p>
  </div>
  <div class="controls">
    <span id="connection" class="conn" role="status" data-testid="connection">connecting…</span>
    <button id="event-chaos-toggle" type="button" role="switch" aria-checked="false" disabled data-testid="event-chaos-toggle"
      title="Deliver Event Grid events duplicated and out of order">Event chaos: off</button>
  </div>
</header>
<main>
  <p id="waiting" class="hint" data-testid="waiting">Waiting for the first state from the sandbox…</p>
  <p id="action-result" class="result" role="status" aria-live="polite" data-testid="action-result"></p>
  <section aria-label="Traffic">
    <dl class="summary">
      <div class="stat"><dt id="traffic-window">requests in the last window</dt><dd id="traffic-requests" data-testid="traffic-requests">–</dd></div>
      <div class="stat" id="stat-failed"><dt>failed in the window</dt><dd id="traffic-failed" data-testid="traffic-failed">–</dd></div>
      <div class="stat" id="stat-failed-total"><dt>failed since start</dt><dd id="traffic-failed-total" data-testid="traffic-failed-total">–</dd></div>
    </dl>
  </section>
  <section aria-labelledby="sets-title">
    <h2 id="sets-title">Scale sets</h2>
    <div id="scale-sets" class="sets" data-testid="scale-sets"></div>
  </section>
  <section class="card" aria-labelledby="relay-title">
    <h2 id="relay-title">Relay clients</h2>
    <table>
      <thead><tr><th scope="col">Client (node id)</th><th scope="col">Profile</th><th scope="col">Versions (acked → sent)</th><th scope="col">Last NACK</th></tr></thead>
      <tbody id="relay-clients" data-testid="relay-clients"></tbody>
    </table>
  </section>
  <section class="card" aria-labelledby="timeline-title">
    <h2 id="timeline-title">Timeline</h2>
    <p class="hint">ARM operations → Event Grid deliveries → reconciles → relay pushes → client ACKs, newest first.</p>
    <ol id="timeline" data-testid="timeline"></ol>
  </section>
  <section class="card" aria-labelledby="endpoints-title">
    <h2 id="endpoints-title">Where everything listens</h2>
    <dl id="endpoints" class="endpoints" data-testid="endpoints"></dl>
  </section>
</main>
<noscript><p>This page needs JavaScript. <code>vmss-mesh sandbox status</code> shows the same in a terminal.</p></noscript>
`;

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vmss-mesh sandbox</title>
<style>${PAGE_STYLE}</style>
</head>
<body>${BODY}<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;

/** Allows this page's own style and script and fetches to its own origin; nothing else. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${sha256(PAGE_SCRIPT)}`,
  `style-src ${sha256(PAGE_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface StatusPage {
  readonly html: string;
  readonly contentSecurityPolicy: string;
}

export const STATUS_PAGE: StatusPage = { html: HTML, contentSecurityPolicy: CONTENT_SECURITY_POLICY };
