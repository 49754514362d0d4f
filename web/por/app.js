// app.js — the page's UI: takes the two files (file pickers, or dropped
// anywhere on the page, together or one at a time) and the optional account
// ID, runs verify.js's verifyInclusion on their text and shows each step of
// docs/por.md §7 "verify-inclusion" with its result, the per-asset published
// equity, debt and net, and the §8 warnings. On success the summary says
// exactly what the check establishes (verify2.js's `established`), no more.
// No network: the files are read with the File API and never leave the
// browser. The result is also left in the DOM in a machine-readable form
// (data-status / data-step / data-warnings attributes) for the tests.
import { verifyInclusion } from './verify.js';

const $ = (id) => document.getElementById(id);
const files = { user: null, final: null }; // { name, text }

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function showSlot(kind) {
  const f = files[kind];
  $(`${kind}-name`).textContent = f ? f.name : 'no file yet';
  $(`${kind}-zone`).classList.toggle('loaded', !!f);
}

// A dropped file goes to the slot its content says (user proofs have
// user_hash, the final proof has parameters); a picked file to its input's slot.
function guessKind(text) {
  try {
    const j = JSON.parse(text);
    if (j && typeof j === 'object' && 'user_hash' in j) return 'user';
    if (j && typeof j === 'object' && 'parameters' in j) return 'final';
  } catch {
    /* not JSON: the verifier will say so */
  }
  return null;
}

async function take(fileList, kind) {
  for (const file of fileList) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const k = kind ?? guessKind(new TextDecoder().decode(bytes)) ?? (files.user ? 'final' : 'user');
    files[k] = { name: file.name, text: bytes }; // verify.js decodes (strict UTF-8)
    showSlot(k);
  }
  run();
}

function renderTable(table, head, rows) {
  table.replaceChildren(el('tr', {}, ...head.map((h) => el('th', {}, h))),
    ...rows.map((r) => el('tr', {}, ...r.map((c, i) => el('td', i ? { class: 'num' } : {}, c)))));
}

const V1_PASS = 'Verified (cloister-por-v1): your balances, as listed, are committed in the tree whose root ' +
  'opens to the totals shown. v1 does not range-check each asset\'s balances, so its per-asset totals ' +
  'carry no guarantee (docs/por.md).';

function summaryOf(report) {
  if (!report.ok) {
    const failed = report.steps.find((s) => s.id === report.failed);
    return `Not verified: step “${failed.title}” failed: ${failed.reason}`;
  }
  return report.established ? `Verified: ${report.established}` : V1_PASS;
}

function renderWarnings(list) {
  $('warnings').hidden = list.length === 0;
  $('warnings').dataset.count = String(list.length);
  $('warning-list').replaceChildren(...list.map((w) => el('li', {}, w)));
}

function render(report) {
  const result = $('result');
  result.dataset.status = report.ok ? 'pass' : 'fail';
  result.dataset.failed = report.failed ?? '';
  result.dataset.version = report.version ?? '';
  $('summary').textContent = summaryOf(report);
  renderWarnings(report.warnings ?? []);
  const icon = { pass: '✔', fail: '✘', info: 'ℹ', skip: '–' };
  $('steps').replaceChildren(...report.steps.map((s) =>
    el('li', { 'data-step': s.id, 'data-status': s.status, class: s.status },
      el('span', { class: 'icon', 'aria-hidden': 'true' }, icon[s.status]),
      el('span', { class: 'title' }, s.title),
      el('span', { class: 'status' }, s.status === 'skip' ? 'not run' : s.status),
      el('div', { class: 'detail' }, s.status === 'fail' ? s.reason : s.detail))));
  const acc = report.account;
  $('account').hidden = !acc;
  if (acc) {
    $('user-hash').textContent = acc.user_hash;
    $('leaf-index').textContent = String(acc.leaf_index);
    const v2 = report.version === 'cloister-por-v2';
    renderTable($('balances'), ['asset', 'balance', 'raw (units of 10^-decimals)'],
      [...acc.balances.map((b) => [b.symbol, b.text, b.balance]),
       [v2 ? 'net equity (USDT)' : 'equity (USDT)', acc.equity_text, acc.equity]]);
  }
  const pub = report.published;
  $('published').hidden = !pub;
  if (pub) {
    const when = new Date(pub.timestamp);
    $('pub-meta').textContent = `snapshot ${Number.isNaN(when.getTime()) ? pub.timestamp : when.toISOString()}; ` +
      `${pub.padded_accounts} leaves (depth ${pub.tree_depth}); root ${pub.root_hash}` +
      (pub.statement_digest ? `; statement digest ${pub.statement_digest} (compare it with the one the exchange published)` : '');
    if (pub.version === 'cloister-por-v2') {
      renderTable($('totals'), ['asset', 'equity (owed to customers)', 'debt (owed by customers)', 'net', 'price (USDT per unit)'],
        pub.assets.map((a) => [a.symbol, a.equity_text, a.debt_text, a.net_text, a.price_text]));
      $('total-net').textContent = `Total net equity: ${pub.total_net_equity_text} USDT (Σ price·net over the assets).`;
    } else {
      renderTable($('totals'), ['asset', 'published total'], pub.assets.map((a) => [a.symbol, a.text]));
      $('total-net').textContent = '';
    }
  }
}

let generation = 0;
function run() {
  const result = $('result');
  if (!files.user || !files.final) {
    result.dataset.status = 'idle';
    $('summary').textContent = `Waiting for ${!files.user ? 'your user proof' : 'final_proof.json'}.`;
    return;
  }
  const mine = ++generation;
  result.dataset.status = 'running';
  $('summary').textContent = 'Verifying…';
  // Let the browser paint "Verifying…" before the curve arithmetic blocks it.
  setTimeout(() => {
    if (mine !== generation) return;
    let report;
    try {
      report = verifyInclusion(files.user.text, files.final.text, { uid: $('uid').value.trim() });
    } catch (e) {
      report = { ok: false, failed: 'files', account: null, published: null, warnings: [],
                 steps: [{ id: 'files', title: 'Verification', status: 'fail', reason: String(e?.message ?? e) }] };
    }
    render(report);
  }, 20);
}

for (const kind of ['user', 'final']) {
  $(`${kind}-file`).addEventListener('change', (ev) => take(ev.target.files, kind));
  const zone = $(`${kind}-zone`);
  zone.addEventListener('dragover', (ev) => { ev.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (ev) => {
    ev.preventDefault();
    ev.stopPropagation();
    zone.classList.remove('over');
    // one file onto a zone: that slot; two files: by content
    take(ev.dataTransfer.files, ev.dataTransfer.files.length === 1 ? kind : undefined);
  });
}
document.addEventListener('dragover', (ev) => ev.preventDefault());
document.addEventListener('drop', (ev) => {
  ev.preventDefault();
  take(ev.dataTransfer.files, undefined);
});
$('uid').addEventListener('change', () => run());
$('reset').addEventListener('click', () => {
  files.user = files.final = null;
  $('user-file').value = $('final-file').value = '';
  renderWarnings([]);
  showSlot('user');
  showSlot('final');
  $('steps').replaceChildren();
  $('account').hidden = $('published').hidden = true;
  run();
});
document.documentElement.dataset.ready = 'true';
run();
