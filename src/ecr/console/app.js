// The cashier console (docs/console.md). It calls the terminal's /v1 operations with the
// session cookie the sign-in set and the session's CSRF token; the terminal decides what
// a cashier may do (a 403 SUPERVISOR_REQUIRED opens the supervisor's approval). Money is
// integers in minor units throughout; only formatting divides. Texts come from
// /console/texts/{lang}; no text is in this file but the fallback of each key in the page.
'use strict';

const $ = (id) => document.getElementById(id);
const FINAL = ['APPROVED', 'DECLINED', 'CANCELED', 'EXPIRED', 'UNAVAILABLE', 'FAILED'];
const STATES = ['CREATED', 'AVAILABILITY_CHECKED', 'AWAITING_METHOD', 'QR_SHOWN', 'CUSTOMER_IN_PROGRESS',
  'CUSTOMER_COMPLETED', 'AWAITING_CARD', 'AUTHORIZING', ...FINAL];
const SEES = { CREATED: 'sees_wait', AVAILABILITY_CHECKED: 'sees_wait', AWAITING_METHOD: 'sees_choose',
  QR_SHOWN: 'sees_qr', CUSTOMER_IN_PROGRESS: 'sees_in_progress', CUSTOMER_COMPLETED: 'sees_wait',
  AWAITING_CARD: 'sees_card', AUTHORIZING: 'sees_wait', APPROVED: 'sees_approved', DECLINED: 'sees_declined',
  CANCELED: 'sees_canceled', EXPIRED: 'sees_expired', UNAVAILABLE: 'sees_unavailable', FAILED: 'sees_failed' };

const S = { names: {}, csrf: '', session: null, info: null, texts: {}, lang: 'en', languages: [], articles: [], cart: [],
  typed: 0, current: null, follow: null, lockTimer: null, sale: null };

// ---- texts ----
function t(key, vars) {
  let s = S.texts[key] || (document.querySelector(`[data-t="${key}"]`) || {}).textContent || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.split(`{${k}}`).join(String(v));
  return s;
}
function applyTexts() {
  document.documentElement.lang = S.lang;
  for (const el of document.querySelectorAll('[data-t]')) {
    const v = S.texts[el.dataset.t];
    if (v) el.textContent = v;
  }
  document.title = t('title');
}
async function loadTexts(lang) {
  const r = await fetch(`/console/texts/${encodeURIComponent(lang)}`);
  if (r.ok) { const body = await r.json(); S.texts = body.texts; S.lang = body.lang; S.languages = body.languages; }
  applyTexts();
  const sel = $('language');
  sel.replaceChildren(...S.languages.map((l) => new Option(l.name, l.lang, false, l.lang === S.lang)));
  const states = $('filter-state');
  states.replaceChildren(new Option(t('all'), ''), ...STATES.map((s) => new Option(t('state_' + s), s)));
}

// ---- money ----
function fmt(minor, currency) {
  const info = S.info || { exponent: 2, locale: 'en-GB', currency: 'EUR' };
  const cur = currency || info.currency;
  try {
    return new Intl.NumberFormat(info.locale, { style: 'currency', currency: cur }).format(minor / 10 ** info.exponent);
  } catch (_) { return `${minor} ${cur}`; }
}
function parseMinor(text) {
  const s = text.trim().replace(/[\s\u00a0]/g, '').replace(',', '.');
  const exp = S.info ? S.info.exponent : 2;
  if (!/^\d+(\.\d+)?$/.test(s)) return null;
  const [whole, frac = ''] = s.split('.');
  if (frac.length > exp) return null;
  return parseInt(whole, 10) * 10 ** exp + (exp ? parseInt((frac + '0'.repeat(exp)).slice(0, exp), 10) : 0);
}

// ---- the API ----
class ApiError extends Error {
  constructor(status, body) { super(`${body.message || status}`); this.status = status; this.code = body.code; this.field = body.field; }
}
async function api(method, path, body, opts = {}) {
  const headers = { 'content-type': 'application/json' };
  if (S.csrf) headers['x-csrf-token'] = S.csrf;
  if (opts.poll) headers['x-console-poll'] = '1';
  const r = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  const data = r.status === 204 ? {} : await r.json().catch(() => ({}));
  if (r.ok) { if (!opts.poll) touch(); return data; }
  const err = new ApiError(r.status, data);
  if (err.code === 'SIGN_IN_REQUIRED') { signedOut(err.message); throw err; }
  if (err.code === 'SUPERVISOR_REQUIRED' && !opts.approved) {
    if (await askApproval(err.message)) return api(method, path, body, { ...opts, approved: true });
  }
  throw err;
}
function showError(e) { $('error').textContent = e ? (e.message || String(e)) : ''; }
async function run(fn) {
  showError(null);
  try { await fn(); } catch (e) { if (!(e instanceof ApiError && e.code === 'SIGN_IN_REQUIRED')) showError(e); }
}

// ---- session ----
function touch() {
  clearTimeout(S.lockTimer);
  if (S.session) S.lockTimer = setTimeout(() => lock(t('locked_idle')), S.session.lock_after_secs * 1000);
}
function signedIn(session) {
  S.session = session; S.csrf = session.csrf_token;
  $('who').hidden = false; $('nav').hidden = false;
  $('who-name').textContent = `${session.cashier.name} (${session.cashier.id})`;
  $('who-role').textContent = t('role_' + session.cashier.role);
  touch();
  show('sell');
  run(async () => {
    const list = await api('GET', '/v1/cashiers', undefined, { poll: true });
    S.names = Object.fromEntries(list.cashiers.map((c) => [c.id, c.name]));
  });
}
// A cashier by number, with the name when the console knows it.
function who(id) { return id ? (S.names[id] ? `${S.names[id]} (${id})` : id) : '—'; }
function signedOut(why) {
  S.session = null; S.csrf = ''; clearTimeout(S.lockTimer); stopFollowing();
  $('who').hidden = true; $('nav').hidden = true;
  $('signin-why').textContent = why || t('sign_in_hint');
  show('signin');
  $('signin-cashier').focus();
}
async function lock(why) {
  try { await api('DELETE', '/console/session'); } catch (_) { /* signed out either way */ }
  signedOut(why);
}
async function signIn(ev) {
  ev.preventDefault();
  await run(async () => {
    const body = { cashier: $('signin-cashier').value.trim(), pin: $('signin-pin').value };
    $('signin-pin').value = '';
    const r = await fetch('/console/session', { method: 'POST', headers: { 'content-type': 'application/json' }, credentials: 'same-origin', body: JSON.stringify(body) });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new ApiError(r.status, data);
    $('signin-cashier').value = '';
    signedIn(data);
  });
}
function askApproval(why) {
  return new Promise((resolve) => {
    const d = $('approval');
    $('approval-why').textContent = why;
    $('approval-cashier').value = ''; $('approval-pin').value = '';
    d.onclose = async () => {
      if (d.returnValue !== 'go') { resolve(false); return; }
      const body = { cashier: $('approval-cashier').value.trim(), pin: $('approval-pin').value };
      $('approval-pin').value = '';
      try { await api('POST', '/console/session/approval', body, { approved: true }); resolve(true); } catch (e) { showError(e); resolve(false); }
    };
    d.returnValue = '';
    d.showModal();
    $('approval-cashier').focus();
  });
}
function confirmed(text) {
  return new Promise((resolve) => {
    const d = $('confirm');
    $('confirm-text').textContent = text;
    d.onclose = () => resolve(d.returnValue === 'yes');
    d.returnValue = '';
    d.showModal();
    $('confirm-no').focus();
  });
}

// ---- views ----
function show(view) {
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-' + view;
  for (const b of document.querySelectorAll('nav [data-view]')) {
    if (b.dataset.view === view || (view === 'sale' && b.dataset.view === 'sales')) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  if (view === 'sales') run(loadSales);
  if (view === 'terminal') run(loadTerminal);
  if (view === 'sell') run(loadCatalogue);
  $('main').focus();
}

// ---- keypads ----
function keypad(el, onKey) {
  const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'C', '0', '⌫'];
  el.replaceChildren(...keys.map((k) => {
    const b = document.createElement('button');
    b.type = 'button'; b.textContent = k;
    if (k === 'C') b.setAttribute('aria-label', t('clear'));
    if (k === '⌫') b.setAttribute('aria-label', t('backspace'));
    b.addEventListener('click', () => onKey(k));
    return b;
  }));
}
function pinKey(k) {
  const pin = $('signin-pin');
  if (k === 'C') pin.value = ''; else if (k === '⌫') pin.value = pin.value.slice(0, -1);
  else if (pin.value.length < 8) pin.value += k;
}
function amountKey(k) {
  if (S.cart.length) return;
  if (k === 'C') S.typed = 0; else if (k === '⌫') S.typed = Math.floor(S.typed / 10);
  else if (S.typed < 100000000) S.typed = S.typed * 10 + Number(k);
  renderCart();
}

// ---- selling ----
async function loadCatalogue() {
  const c = await api('GET', '/v1/catalogue', undefined, { poll: true });
  S.articles = c.articles;
  $('quick-keys').replaceChildren(...c.articles.map((a) => {
    const b = document.createElement('button');
    b.type = 'button'; b.id = 'key-' + a.reference;
    const name = document.createElement('span'); name.textContent = a.name;
    const price = document.createElement('span'); price.className = 'price'; price.textContent = fmt(a.price);
    b.append(name, price);
    b.addEventListener('click', () => addArticle(a));
    return b;
  }));
}
function addArticle(a) {
  const line = S.cart.find((l) => l.reference === a.reference);
  if (line) line.quantity += 1; else S.cart.push({ reference: a.reference, name: a.name, price: a.price, tax_rate: a.tax_rate, quantity: 1 });
  S.typed = 0;
  renderCart();
}
function amountToPay() { return S.cart.length ? S.cart.reduce((n, l) => n + l.price * l.quantity, 0) : S.typed; }
// Klarna's order line: the total tax is total − total × 10000 / (10000 + rate), in minor units.
function orderLines() {
  return S.cart.map((l) => {
    const total = l.price * l.quantity;
    const tax = total - Math.round((total * 10000) / (10000 + l.tax_rate));
    return { type: 'physical', reference: l.reference, name: l.name, quantity: l.quantity, unit_price: l.price,
      total_amount: total, tax_rate: l.tax_rate, total_tax_amount: tax };
  });
}
function renderCart() {
  $('cart-lines').replaceChildren(...S.cart.map((l) => {
    const li = document.createElement('li');
    const name = document.createElement('span'); name.className = 'name'; name.textContent = `${l.quantity} × ${l.name}`;
    const sum = document.createElement('span'); sum.textContent = fmt(l.price * l.quantity);
    const less = document.createElement('button'); less.type = 'button'; less.textContent = '−';
    less.setAttribute('aria-label', t('one_less', { name: l.name }));
    less.addEventListener('click', () => { l.quantity -= 1; S.cart = S.cart.filter((x) => x.quantity > 0); renderCart(); });
    li.append(name, sum, less);
    return li;
  }));
  const amount = amountToPay();
  $('amount').textContent = fmt(amount);
  $('cart-total').textContent = fmt(amount);
  const busy = S.current && !FINAL.includes(S.current.state);
  for (const id of ['pay-klarna', 'pay-card', 'pay-choice']) $(id).disabled = busy || amount < 1;
  $('pay-card').hidden = S.info && !S.info.card_reader;
  $('pay-choice').hidden = S.info && !S.info.card_reader;
  if (amount > 0) klarnaWording(amount);
}
let wordingFor = 0;
// Klarna's wording for the amount on the button, asked once per amount.
async function klarnaWording(amount) {
  if (wordingFor === amount) return;
  wordingFor = amount;
  await new Promise((r) => setTimeout(r, 250));
  if (wordingFor !== amount) return;
  try {
    const k = await api('GET', `/v1/klarna?amount=${amount}`, undefined, { poll: true });
    const label = k.available && k.payment_option ? k.payment_option.header.text : null;
    $('pay-klarna').textContent = label || t('pay_klarna');
    $('pay-klarna').disabled = !k.available || $('pay-card').disabled;
  } catch (_) { $('pay-klarna').textContent = t('pay_klarna'); }
}
async function sell(method) {
  await run(async () => {
    const body = { amount: amountToPay(), currency: S.info.currency, method };
    if (S.cart.length) body.order_lines = orderLines();
    follow(await api('POST', '/v1/sales', body));
  });
}
function follow(sale) {
  S.current = sale; renderSale(sale); stopFollowing();
  S.follow = setInterval(async () => {
    try {
      const s = await api('GET', `/v1/sales/${encodeURIComponent(S.current.id)}`, undefined, { poll: true });
      renderSale(s);
      if (FINAL.includes(s.state) && (s.receipt_printed || s.state !== 'APPROVED')) stopFollowing();
    } catch (_) { /* the next tick tries again */ }
  }, 400);
}
function stopFollowing() { clearInterval(S.follow); S.follow = null; }
function renderSale(s) {
  S.current = s;
  const state = $('state');
  state.textContent = t('state_' + s.state); state.dataset.state = s.state;
  $('customer-sees').textContent = t(SEES[s.state] || 'sees_wait');
  const bits = [s.reference, fmt(s.amount, s.currency)];
  if (s.klarna_reference) bits.push(`Klarna ${s.klarna_reference}`);
  if (s.masked_pan) bits.push(s.masked_pan);
  if (s.reason) bits.push(s.reason);
  $('detail').textContent = bits.join(' · ');
  const open = !FINAL.includes(s.state);
  $('cancel').hidden = !open;
  $('choice').hidden = s.state !== 'AWAITING_METHOD';
  $('retry').hidden = !s.retryable;
  if (s.state === 'APPROVED') { S.cart = []; S.typed = 0; }
  renderCart();
}
async function cancelSale() {
  if (!S.current || !(await confirmed(t('confirm_cancel')))) return;
  await run(async () => renderSale(await api('POST', `/v1/sales/${encodeURIComponent(S.current.id)}/cancel`)));
}
async function choose(method) {
  await run(async () => renderSale(await api('POST', `/v1/sales/${encodeURIComponent(S.current.id)}/method`, { method })));
}
async function retry(method) {
  await run(async () => follow(await api('POST', `/v1/sales/${encodeURIComponent(S.current.id)}/retry`, method ? { method } : {})));
}

// ---- today's sales and a sale's page ----
async function loadSales() {
  const since = new Date(); since.setHours(0, 0, 0, 0);
  const q = new URLSearchParams({ since: since.toISOString(), limit: '500' });
  if ($('filter-state').value) q.set('state', $('filter-state').value);
  if ($('filter-method').value) q.set('method', $('filter-method').value);
  const list = await api('GET', `/v1/sales?${q}`, undefined, { poll: true });
  const time = new Intl.DateTimeFormat(S.info.locale, { hour: '2-digit', minute: '2-digit' });
  $('sales-rows').replaceChildren(...list.sales.map((s) => {
    const tr = document.createElement('tr');
    const cells = [time.format(new Date(s.created_at)), null, fmt(s.amount, s.currency),
      s.method ? t('method_' + s.method) : '—', t('state_' + s.state), who(s.cashier)];
    cells.forEach((c, i) => {
      const td = document.createElement('td');
      if (i === 1) {
        const b = document.createElement('button'); b.type = 'button'; b.className = 'quiet'; b.textContent = s.reference;
        b.addEventListener('click', (e) => { e.stopPropagation(); run(() => openSale(s.id)); });
        td.append(b);
      } else td.textContent = c;
      if (i === 4) td.dataset.state = s.state;
      tr.append(td);
    });
    tr.addEventListener('click', () => run(() => openSale(s.id)));
    return tr;
  }));
}
function fact(dl, label, value) {
  if (value === null || value === undefined || value === '') return;
  const dt = document.createElement('dt'); dt.textContent = label;
  const dd = document.createElement('dd'); dd.textContent = value;
  dl.append(dt, dd);
}
async function openSale(id) {
  const h = await api('GET', `/v1/sales/${encodeURIComponent(id)}/history`, undefined, { poll: true });
  const s = h.sale; S.sale = s;
  $('sale-title').textContent = `${t('sale')} ${s.reference}`;
  const dl = $('sale-facts'); dl.replaceChildren();
  fact(dl, t('amount'), fmt(s.amount, s.currency));
  fact(dl, t('method'), s.method ? t('method_' + s.method) : '—');
  fact(dl, t('sale_state'), t('state_' + s.state));
  fact(dl, t('cashier'), s.cashier ? who(s.cashier) : null);
  fact(dl, 'Klarna', s.klarna_reference);
  fact(dl, t('card'), s.masked_pan);
  fact(dl, t('captured'), s.capture === 'LATER' ? fmt(s.captured_amount, s.currency) : null);
  fact(dl, t('refunded'), s.refunded_amount ? fmt(s.refunded_amount, s.currency) : null);
  fact(dl, t('time'), new Date(s.created_at).toLocaleString(S.info.locale));
  const approved = s.state === 'APPROVED';
  const open = approved && !s.voided && s.capture === 'LATER' && s.captured_amount + s.queued_capture_amount < s.amount;
  $('sale-capture').hidden = !open;
  $('sale-void').hidden = !open;
  $('sale-reprint').hidden = !approved;
  $('sale-refund').hidden = !approved || s.refunded_amount >= s.amount;
  $('refund-lines').replaceChildren(...(s.order_lines || []).filter((l) => l.reference).map((l) => {
    const li = document.createElement('li');
    const label = document.createElement('label'); label.className = 'name';
    label.htmlFor = 'refund-qty-' + l.reference; label.textContent = `${l.name} (${l.quantity} × ${fmt(l.unit_price, s.currency)})`;
    const qty = document.createElement('input'); qty.id = 'refund-qty-' + l.reference; qty.type = 'number';
    qty.min = '0'; qty.max = String(l.quantity); qty.value = '0'; qty.dataset.reference = l.reference; qty.size = 3;
    li.append(label, qty);
    return li;
  }));
  $('refund-amount').value = '';
  const items = [
    ...h.history.map((e) => ({ at: e.at, text: `${t('state_' + e.state)}${e.detail ? ' — ' + e.detail : ''}` })),
    ...h.actions.map((a) => ({ at: a.at, text: t('action_by', { action: t('action_' + a.action.replace('.', '_')), cashier: who(a.cashier) })
      + (a.approved_by ? ' ' + t('approved_by', { cashier: who(a.approved_by) }) : '') + (a.status ? ` (${a.status})` : '') })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  const time = new Intl.DateTimeFormat(S.info.locale, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  $('sale-history').replaceChildren(...items.map((i) => {
    const li = document.createElement('li'); li.textContent = `${time.format(new Date(i.at))} ${i.text}`; return li;
  }));
  show('sale');
}
async function saleAction(path, body, question) {
  const s = S.sale;
  if (question && !(await confirmed(question))) return;
  await run(async () => { await api('POST', `/v1/sales/${encodeURIComponent(s.id)}/${path}`, body); await openSale(s.id); });
}
async function refundSale() {
  const s = S.sale;
  await run(async () => {
    const lines = [...document.querySelectorAll('#refund-lines input')]
      .map((i) => ({ reference: i.dataset.reference, quantity: parseInt(i.value || '0', 10) })).filter((l) => l.quantity > 0);
    const body = { original_reference: s.reference };
    if (lines.length) body.lines = lines;
    else if ($('refund-amount').value.trim()) {
      const amount = parseMinor($('refund-amount').value);
      if (amount === null || amount < 1) throw new Error(t('bad_amount'));
      body.amount = amount;
    }
    const r = await api('POST', '/v1/returns', body);
    await openSale(s.id);
    showResult($('return-result'), r);
    $('error').textContent = '';
    announce(t('refunded_result', { amount: fmt(r.amount, r.currency), state: t('return_' + r.state) }));
  });
}
function announce(text) { $('detail').textContent = text; const b = $('sale-history'); const li = document.createElement('li'); li.textContent = text; b.append(li); }
function showResult(el, r) { el.textContent = t('refunded_result', { amount: fmt(r.amount, r.currency), state: t('return_' + r.state) }) + ` · ${r.reference}`; }

// ---- returns ----
// A scanner types the receipt's QR code (the sale's reference) and Enter: a sale of this
// terminal opens on its page (refund by line there); another purchase (an online order)
// goes on to the amount. Nothing is refunded by a scan alone.
async function scannedReference(ev) {
  if (ev.key !== 'Enter') return;
  ev.preventDefault();
  const reference = $('return-ref').value.trim();
  if (!reference) return;
  try {
    const sale = await api('GET', `/v1/sales/${encodeURIComponent(reference)}`, undefined, { poll: true });
    await run(() => openSale(sale.id));
  } catch (_) { $('return-amount').focus(); }
}
async function doReturn(ev) {
  ev.preventDefault();
  await run(async () => {
    const body = { original_reference: $('return-ref').value.trim() };
    const text = $('return-amount').value.trim();
    if (text) {
      const amount = parseMinor(text);
      if (amount === null || amount < 1) throw new Error(t('bad_amount'));
      body.amount = amount;
    } else if (!(await confirmed(t('confirm_refund_all', { reference: body.original_reference })))) {
      return;
    }
    showResult($('return-result'), await api('POST', '/v1/returns', body));
  });
}

// ---- reports ----
function renderReport(r) {
  const out = $('report'); out.replaceChildren();
  const h = document.createElement('h2');
  h.textContent = r.kind === 'Z' ? `${t('report_z_title')} ${r.number || ''}` : t('report_x_title');
  const table = document.createElement('table'); table.className = 'list';
  const head = document.createElement('tr');
  for (const k of ['method', 'sales', 'refunds', 'net']) { const th = document.createElement('th'); th.scope = 'col'; th.textContent = t(k); head.append(th); }
  table.append(head);
  for (const tt of r.totals) {
    const tr = document.createElement('tr');
    for (const c of [t('method_' + tt.method), `${tt.sales_count} · ${fmt(tt.sales_amount, tt.currency)}`,
      `${tt.refunds_count} · ${fmt(tt.refunds_amount, tt.currency)}`, fmt(tt.net_amount, tt.currency)]) {
      const td = document.createElement('td'); td.textContent = c; tr.append(td);
    }
    table.append(tr);
  }
  const p = document.createElement('p');
  p.textContent = t('report_counts', { declined: r.declined, canceled: r.canceled, open: r.open })
    + (r.printed ? ` · ${t('printed')}` : r.print_error ? ` · ${r.print_error}` : '');
  out.append(h, table, p);
}
async function reconcile() {
  const r = await api('GET', '/v1/reports/reconciliation');
  const out = $('report'); out.replaceChildren();
  const h = document.createElement('h2'); h.textContent = t('reconciliation', { date: r.date, matched: r.matched });
  const ul = document.createElement('ul');
  for (const d of r.differences) {
    const li = document.createElement('li');
    li.textContent = `${t('difference_' + d.kind)}: ${d.reference} ${fmt(d.amount, d.currency)}`;
    ul.append(li);
  }
  if (!r.differences.length) { const li = document.createElement('li'); li.textContent = t('no_differences'); ul.append(li); }
  out.append(h, ul);
}

// ---- the terminal's state ----
function healthLines(h) {
  const lines = [];
  lines.push([h.acquirer.online, h.acquirer.online ? t('acquirer_online') : t('acquirer_offline')]);
  for (const d of h.devices) {
    const good = d.connected && !d.fault && !d.conditions.some((c) => c !== 'paper_low');
    const why = [d.fault, ...d.conditions.map((c) => t('condition_' + c)), d.connected ? null : t('not_connected')].filter(Boolean);
    lines.push([good, `${t('device_' + d.device)}: ${why.length ? why.join(', ') : t('works')}`]);
  }
  if (h.queue) lines.push([h.queue.dead === 0, t('queue_counts', { pending: h.queue.pending, dead: h.queue.dead })]);
  return lines;
}
async function banner() {
  if (!S.session) return;
  try {
    const h = await (await fetch('/health', { credentials: 'same-origin' })).json();
    const notes = [];
    if (S.online !== h.acquirer.online) {
      // Klarna's availability may have changed with the network: ask again.
      S.online = h.acquirer.online; wordingFor = 0; renderCart();
    }
    if (!h.acquirer.online) {
      notes.push(t('banner_offline'));
      const room = await api('GET', '/v1/offline', undefined, { poll: true });
      notes.push(room.card_payments
        ? t('offline_room', { floor: fmt(room.floor_limit, room.currency), left: fmt(room.total_left, room.currency), count: room.count_left })
        : t('offline_none'));
    }
    for (const d of h.devices) {
      if (!d.connected || d.fault || d.conditions.includes('paper_out') || d.conditions.includes('cover_open')) {
        notes.push(t('banner_device', { device: t('device_' + d.device) }));
      }
    }
    if (h.queue && h.queue.dead) notes.push(t('banner_dead', { dead: h.queue.dead }));
    const b = $('banner');
    b.hidden = !notes.length; b.textContent = notes.join(' · ');
    b.className = h.acquirer.online ? 'banner' : 'banner bad';
    if (!$('view-terminal').hidden) await loadTerminal();
  } catch (_) { /* the next tick tries again */ }
}
async function loadTerminal() {
  const h = await (await fetch('/health', { credentials: 'same-origin' })).json();
  $('health').replaceChildren(...healthLines(h).map(([good, text]) => {
    const li = document.createElement('li'); li.className = good ? 'good' : 'bad';
    li.textContent = `${good ? '✓' : '✗'} ${text}`; return li;
  }));
  const q = await api('GET', '/v1/queue?limit=100', undefined, { poll: true });
  $('queue-summary').textContent = h.queue ? t('queue_counts', { pending: h.queue.pending, dead: h.queue.dead }) : '';
  $('queue-rows').replaceChildren(...q.operations.filter((o) => o.state !== 'DONE').map((o) => {
    const tr = document.createElement('tr');
    for (const c of [t('op_' + o.kind), o.subject_id, fmt(o.amount, o.currency), o.state + (o.last_error ? ` — ${o.last_error}` : '')]) {
      const td = document.createElement('td'); td.textContent = c; tr.append(td);
    }
    const td = document.createElement('td');
    if (o.state === 'DEAD') {
      const b = document.createElement('button'); b.type = 'button'; b.textContent = t('retry');
      b.addEventListener('click', () => run(async () => { await api('POST', `/v1/queue/${o.id}/retry`); await loadTerminal(); }));
      td.append(b);
    }
    tr.append(td);
    return tr;
  }));
}

// ---- start ----
function wire() {
  const on = (id, fn) => $(id).addEventListener('click', fn);
  $('signin-form').addEventListener('submit', signIn);
  $('language').addEventListener('change', () => run(() => loadTexts($('language').value)));
  keypad($('signin-keypad'), pinKey);
  keypad($('amount-keypad'), amountKey);
  for (const b of document.querySelectorAll('nav [data-view]')) b.addEventListener('click', () => show(b.dataset.view));
  on('lock', () => lock(t('sign_in_hint')));
  on('pay-klarna', () => sell('KLARNA'));
  on('pay-card', () => sell('CARD'));
  on('pay-choice', () => sell('CHOICE'));
  on('clear-sale', () => { S.cart = []; S.typed = 0; renderCart(); });
  on('cancel', cancelSale);
  on('chose-klarna', () => choose('KLARNA'));
  on('chose-card', () => choose('CARD'));
  on('retry-same', () => retry(''));
  on('retry-klarna', () => retry('KLARNA'));
  on('retry-card', () => retry('CARD'));
  on('sales-refresh', () => run(loadSales));
  $('filter-state').addEventListener('change', () => run(loadSales));
  $('filter-method').addEventListener('change', () => run(loadSales));
  on('sale-back', () => show('sales'));
  on('sale-capture', () => saleAction('capture', {}, null));
  on('sale-void', () => saleAction('void', undefined, t('confirm_void')));
  on('sale-reprint', () => saleAction('reprint', undefined, null));
  on('refund-go', refundSale);
  $('return-form').addEventListener('submit', doReturn);
  $('return-ref').addEventListener('keydown', scannedReference);
  on('report-x', () => run(async () => renderReport(await api('GET', '/v1/reports/x'))));
  on('report-x-print', () => run(async () => renderReport(await api('GET', '/v1/reports/x?print=true'))));
  on('report-z', async () => { if (await confirmed(t('confirm_z'))) run(async () => renderReport(await api('POST', '/v1/reports/z'))); });
  on('report-rec', () => run(reconcile));
  on('queue-sync', () => run(async () => { await api('POST', '/v1/queue/sync'); await loadTerminal(); }));
  on('approval-cancel', () => $('approval').close('cancel'));
  // A cashier's typing and tapping keeps the console open; nothing else does.
  for (const ev of ['pointerdown', 'keydown']) document.addEventListener(ev, () => { if (S.session) touch(); });
}
async function start() {
  wire();
  S.info = await (await fetch('/console/info')).json();
  await loadTexts(navigator.language && navigator.language.startsWith(S.info.locale.split('-')[0]) ? S.info.locale : S.info.locale);
  renderCart();
  setInterval(banner, 3000);
  const r = await fetch('/console/session', { headers: { 'x-console-poll': '1' }, credentials: 'same-origin' });
  if (r.ok) signedIn(await r.json()); else signedOut();
  banner();
}
document.addEventListener('DOMContentLoaded', () => start().catch(showError));
