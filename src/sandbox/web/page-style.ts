/** The status page's stylesheet (inlined: the page loads nothing from anywhere). */
export const PAGE_STYLE = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f4f5f7; --card: #ffffff; --text: #1b1f24; --muted: #57606a; --line: #d0d7de;
  --ok: #1a7f37; --ok-bg: #dafbe1; --warn: #7d4e00; --warn-bg: #fff1c2; --bad: #b4232c; --bad-bg: #ffe1e1;
  --info: #0b5cad; --info-bg: #ddeeff; --idle: #57606a; --idle-bg: #eaeef2; --bar: #2f81f7; --focus: #0b5cad;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --card: #161b22; --text: #e6edf3; --muted: #9da7b3; --line: #30363d;
    --ok: #56d364; --ok-bg: #12361f; --warn: #e3b341; --warn-bg: #3a2c05; --bad: #ff7b72; --bad-bg: #4a1416;
    --info: #79c0ff; --info-bg: #0c2d4a; --idle: #9da7b3; --idle-bg: #262c36; --bar: #58a6ff; --focus: #79c0ff;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
code, .mono, td.num, .time { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 13px; }
.top { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; justify-content: space-between; padding: 14px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { margin: 0; font-size: 20px; }
h2 { margin: 0 0 10px; font-size: 17px; }
h3 { margin: 0; font-size: 16px; }
.sub, .hint { margin: 2px 0 0; color: var(--muted); font-size: 13px; }
.controls { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
main { max-width: 1200px; margin: 0 auto; padding: 16px 24px 40px; display: grid; gap: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; overflow-x: auto; }
.summary { display: flex; flex-wrap: wrap; gap: 12px; }
.stat { flex: 1 1 160px; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.stat dt { color: var(--muted); font-size: 13px; }
.stat dd { margin: 2px 0 0; font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.stat.alert dd { color: var(--bad); }
.set-head { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: baseline; margin-bottom: 8px; }
.set-head .meta { color: var(--muted); font-size: 14px; }
.set-head .actions { margin-left: auto; display: flex; gap: 8px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; white-space: nowrap; }
thead th { color: var(--muted); font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }
tbody tr:last-child > * { border-bottom: 0; }
td.empty { color: var(--muted); font-style: italic; }
button { font: inherit; font-size: 14px; padding: 4px 12px; border-radius: 6px; border: 1px solid var(--line); background: var(--card); color: var(--text); cursor: pointer; }
button:hover:not(:disabled) { border-color: var(--focus); }
button:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
button:disabled { opacity: .5; cursor: not-allowed; }
button.small { font-size: 13px; padding: 2px 10px; }
button[role="switch"][aria-checked="true"] { background: var(--warn-bg); color: var(--warn); border-color: var(--warn); font-weight: 600; }
.badge { display: inline-block; min-width: 64px; text-align: center; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.tone-ok { background: var(--ok-bg); color: var(--ok); }
.tone-warn { background: var(--warn-bg); color: var(--warn); }
.tone-bad { background: var(--bad-bg); color: var(--bad); }
.tone-info { background: var(--info-bg); color: var(--info); }
.tone-idle { background: var(--idle-bg); color: var(--idle); }
.traffic { display: flex; align-items: center; gap: 8px; min-width: 200px; }
.bar { flex: 1; height: 10px; min-width: 90px; background: var(--idle-bg); border-radius: 5px; overflow: hidden; }
.bar > span { display: block; height: 100%; width: 0; background: var(--bar); transition: width .3s ease; }
.traffic .num { min-width: 92px; text-align: right; font-variant-numeric: tabular-nums; }
.row-actions { display: flex; gap: 6px; }
.conn { font-size: 13px; padding: 2px 10px; border-radius: 999px; }
.result { margin: 0; font-size: 14px; }
.result:empty { display: none; }
.sets { display: grid; gap: 12px; }
.result.tone-ok, .result.tone-bad, .result.tone-info { padding: 6px 12px; border-radius: 6px; }
#timeline { list-style: none; margin: 0; padding: 0; max-height: 420px; overflow-y: auto; }
#timeline li { display: grid; grid-template-columns: 96px 92px 1fr; gap: 8px; padding: 3px 0; border-bottom: 1px solid var(--line); align-items: baseline; }
#timeline li:last-child { border-bottom: 0; }
.time { color: var(--muted); }
.nack { color: var(--bad); white-space: normal; }
dl.endpoints { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0 0; }
dl.endpoints dt { color: var(--muted); }
dl.endpoints dd { margin: 0; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (prefers-reduced-motion: reduce) { .bar > span { transition: none; } }
`;
