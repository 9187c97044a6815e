/**
 * The inline stylesheet and script of index.html. The page loads nothing from
 * the network (its Content-Security-Policy forbids it); the script only
 * shows/hides rows already rendered on the server side, never inserts markup.
 */

/** Inline CSS of index.html. */
export const CSS = `
:root { --pass:#1a7f37; --fail:#cf222e; --timeout:#9a6700; --error:#8250df; --ns:#57606a; --crash:#a40e26; --bg:#fff; --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); margin: 0; padding: 16px 24px 48px; }
h1 { font-size: 20px; margin: 0 0 8px; } h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; margin: 4px 0; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f6f8fa; position: sticky; top: 0; }
.banner { padding: 10px 14px; border-radius: 6px; margin: 8px 0; border: 1px solid; }
.banner.warn { background: #fff8c5; border-color: #d4a72c; } .banner.ok { background: #dafbe1; border-color: #4ac26b; } .banner.bad { background: #ffebe9; border-color: #ff8182; font-weight: 600; }
.counts span { display: inline-block; margin-right: 12px; }
.v { display: inline-block; min-width: 7.5em; padding: 1px 6px; border-radius: 10px; color: #fff; font-size: 12px; text-align: center; }
.v-pass { background: var(--pass); } .v-fail { background: var(--fail); } .v-timeout { background: var(--timeout); } .v-error { background: var(--error); }
.v-not-supported { background: var(--ns); } .v-crash { background: var(--crash); } .v-not-run { background: #afb8c1; color: #1f2328; }
.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin: 8px 0; padding: 8px; background: #f6f8fa; border-radius: 6px; }
.filters label { white-space: nowrap; }
.muted { color: var(--muted); } .chk-pass { color: var(--pass); } .chk-fail { color: var(--fail); font-weight: 600; } .chk-not-run { color: var(--muted); }
details > summary { cursor: pointer; color: #0969da; } .imgs { display: flex; flex-wrap: wrap; gap: 12px; }
.imgs figure { margin: 0; } .imgs img { max-width: 420px; image-rendering: pixelated; border: 1px solid var(--line); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; } dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; }
tr[hidden] { display: none; }
details.regs { margin: 6px 0; } details.regframe { margin: 2px 0 2px 16px; }
table.regtab { width: auto; font-size: 12.5px; } table.regtab td { padding: 1px 8px; } table.regtab th { position: static; }
details.regs:has(label.only-diff input:checked) tr.r-equal { display: none; } label.only-diff { display: block; margin: 4px 16px; }
tr.r-differs td { background: #ffebe9; } tr.r-differs td:first-child { color: var(--fail); font-weight: 700; } tr.r-allowed td { background: #fff8c5; }
`;

/** Inline script of index.html: verdict checkboxes, feature select, name search; counts what is shown. */
export const SCRIPT = `
(function () {
  'use strict';
  var table = document.getElementById('results');
  if (!table) return;
  var rows = Array.prototype.slice.call(table.querySelectorAll('tbody tr.vec'));
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="verdict"]'));
  var feature = document.getElementById('feature');
  var search = document.getElementById('search');
  var shown = document.getElementById('shown');
  function apply() {
    var on = {};
    boxes.forEach(function (b) { on[b.value] = b.checked; });
    var f = feature ? feature.value : '';
    var q = search ? search.value.toLowerCase() : '';
    var n = 0;
    rows.forEach(function (r) {
      var feats = (r.getAttribute('data-features') || '').split(' ');
      var ok = on[r.getAttribute('data-verdict')] !== false &&
        (!f || feats.indexOf(f) >= 0) &&
        (!q || (r.getAttribute('data-name') || '').toLowerCase().indexOf(q) >= 0);
      r.hidden = !ok;
      var d = document.getElementById(r.getAttribute('data-detail') || '');
      if (d) d.hidden = !ok;
      if (ok) n++;
    });
    if (shown) shown.textContent = String(n);
  }
  boxes.forEach(function (b) { b.addEventListener('change', apply); });
  if (feature) feature.addEventListener('change', apply);
  if (search) search.addEventListener('input', apply);
  var only = document.getElementById('only-failures');
  if (only) only.addEventListener('click', function () {
    boxes.forEach(function (b) { b.checked = b.value !== 'pass' && b.value !== 'not-supported'; });
    apply();
  });
  var all = document.getElementById('show-all');
  if (all) all.addEventListener('click', function () {
    boxes.forEach(function (b) { b.checked = true; });
    if (feature) feature.value = '';
    if (search) search.value = '';
    apply();
  });
  apply();
})();
`;
