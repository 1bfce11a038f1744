// The kiosk screen's page, style and script, served from memory by screen-server.ts (no CDN, no files to
// install next to dist/). Plain DOM, no framework: the page renders each KioskView it receives over
// server-sent events. zh-TW and English; large touch targets; dark text on light ground (contrast > 7:1).
export const SCREEN_HTML = `<!doctype html>
<html lang="zh-Hant-TW">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>passgate library kiosk</title>
<link rel="stylesheet" href="/screen.css">
</head>
<body>
<header>
  <h1 id="title"></h1>
  <div class="lang" role="group" aria-label="Language">
    <button type="button" id="lang-zh" data-lang="zh-TW" lang="zh-Hant-TW">中文</button>
    <button type="button" id="lang-en" data-lang="en" lang="en">English</button>
  </div>
</header>
<main>
  <p id="prompt" class="prompt" aria-live="polite"></p>
  <p id="notice" class="notice" role="alert" hidden></p>
  <ul id="lines" class="lines"></ul>
  <section id="receipt" class="receipt" hidden>
    <h2 id="receipt-title"></h2>
    <ul id="receipt-lines"></ul>
    <p id="receipt-id" class="small"></p>
  </section>
</main>
<footer>
  <button type="button" id="btn-return" data-control="return"></button>
  <button type="button" id="btn-checkout" data-control="checkout"></button>
  <button type="button" id="btn-done" data-control="done" class="primary"></button>
</footer>
<script src="/screen.js"></script>
</body>
</html>
`;

export const SCREEN_CSS = `
:root { font-family: "Noto Sans CJK TC", "Noto Sans TC", "WenQuanYi Micro Hei", "Microsoft JhengHei", system-ui, sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; background: #ffffff; color: #111111; font-size: 28px; min-height: 100vh; display: flex; flex-direction: column; }
header { display: flex; justify-content: space-between; align-items: center; padding: 16px 32px; background: #0b3d91; color: #ffffff; }
h1 { font-size: 36px; margin: 0; }
main { flex: 1; padding: 24px 32px; }
button { min-height: 72px; min-width: 160px; font-size: 28px; padding: 12px 28px; border-radius: 12px; border: 3px solid #0b3d91; background: #ffffff; color: #0b3d91; cursor: pointer; }
button.primary { background: #0b3d91; color: #ffffff; }
button[aria-pressed="true"] { background: #ffd33d; color: #111111; border-color: #111111; }
.lang button { min-width: 120px; min-height: 64px; margin-left: 12px; }
.prompt { font-size: 40px; font-weight: 700; margin: 8px 0 24px; }
.notice { background: #fde8e8; color: #8a0000; border-left: 10px solid #8a0000; padding: 16px; font-weight: 700; }
.lines { list-style: none; padding: 0; margin: 0; }
.lines li, .receipt li { display: flex; justify-content: space-between; gap: 24px; padding: 16px 20px; margin-bottom: 10px; border-radius: 10px; }
.lines li.accept { background: #e6f4ea; border-left: 10px solid #0a6b2b; }
.lines li.deny { background: #fdecea; border-left: 10px solid #8a0000; }
.item { font-weight: 700; font-family: ui-monospace, monospace; }
.state { text-align: right; }
.receipt { border: 3px dashed #444444; border-radius: 12px; padding: 16px 24px; margin-top: 16px; }
.receipt ul { list-style: none; padding: 0; }
.small { font-size: 20px; color: #333333; }
footer { display: flex; gap: 20px; justify-content: flex-end; padding: 20px 32px; border-top: 2px solid #cccccc; }
`;

export const SCREEN_JS = `
'use strict';
const TEXT = {
  'zh-TW': {
    title: '圖書自助借還', idle: '請掃描借書證或 QR 碼', hello: '您好，{who}。請掃描要借的書', ret: '還書模式：請掃描要歸還的書',
    receipt: '收據', done: '完成', returnMode: '還書', checkout: '借書', due: '到期日 {date}', returned: '已歸還',
    renewed: '已續借，到期日 {date}', thanks: '謝謝，{who}！', receiptId: '收據編號 {id}', finished: '借閱完成',
    reasons: {
      item_unknown: '館藏中找不到此資料', item_not_loanable: '此資料不能外借', loan_limit: '已達借閱上限',
      member_blocked: '借閱權限已暫停，請洽櫃台', renew_refused: '無法續借', storage_failure: '無法記錄，請洽櫃台',
      identify_first: '請先掃描借書證或 QR 碼', not_entitled: '此證件不適用本館', card_unknown: '借書證未登記',
      card_blocked: '借書證已停用', stale: 'QR 碼已過期，請重新顯示', replayed: 'QR 碼已使用過，請重新顯示',
      return_mode: '還書模式中，請先按「借書」', malformed: '無法讀取', other: '無法辦理，請洽櫃台' },
    why: { reference: '僅供館內閱覽', on_hold: '已被預約', on_loan: '已借出', max_renewals: '已達續借次數上限',
      not_renewable: '此類資料不可續借', member_blocked: '借閱權限已暫停' },
  },
  en: {
    title: 'Library self-service', idle: 'Scan your library card or QR code', hello: 'Hello, {who}. Scan the items to borrow',
    ret: 'Return mode: scan the items you are returning', receipt: 'Receipt', done: 'Done', returnMode: 'Return',
    checkout: 'Borrow', due: 'due {date}', returned: 'returned', renewed: 'renewed, due {date}', thanks: 'Thank you, {who}!',
    receiptId: 'Receipt {id}', finished: 'All done',
    reasons: {
      item_unknown: 'not in the catalogue', item_not_loanable: 'cannot be borrowed', loan_limit: 'loan limit reached',
      member_blocked: 'borrowing is blocked: please see the desk', renew_refused: 'cannot be renewed',
      storage_failure: 'could not be recorded: please see the desk', identify_first: 'Scan your library card or QR code first',
      not_entitled: 'this pass is not valid at this library', card_unknown: 'card is not registered', card_blocked: 'card is blocked',
      stale: 'code is too old: show the live code', replayed: 'code was already used: show the live code',
      return_mode: 'Return mode: press Borrow first', malformed: 'could not read that', other: 'not possible here: please see the desk' },
    why: { reference: 'reference only', on_hold: 'on hold for another member', on_loan: 'already on loan',
      max_renewals: 'no renewals left', not_renewable: 'this kind of item is not renewable', member_blocked: 'borrowing is blocked' },
  },
};
let lang = localStorage.getItem('kiosk-lang') || 'zh-TW';
let view = { version: 0, state: 'idle', mode: 'checkout', lines: [] };
const $ = (id) => document.getElementById(id);
const fill = (s, vars) => s.replace(/\\{(\\w+)\\}/g, (_, k) => vars[k] ?? '');
const date = (ms) => new Date(ms).toLocaleDateString(lang === 'en' ? 'en-CA' : 'zh-TW', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: 'Asia/Taipei' });
function reasonText(t, r) { return t.reasons[r] || t.reasons.other; }
function lineText(t, l) {
  if (l.decision === 'accept') {
    if (l.action === 'return') return t.returned;
    if (l.action === 'renewal') return fill(t.renewed, { date: date(l.due) });
    return fill(t.due, { date: date(l.due) });
  }
  const why = l.why && t.why[l.why] ? ' (' + t.why[l.why] + ')' : '';
  return reasonText(t, l.reason) + why;
}
function render() {
  const t = TEXT[lang];
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-Hant-TW';
  document.body.dataset.state = view.state;
  $('title').textContent = t.title;
  $('lang-zh').setAttribute('aria-pressed', String(lang === 'zh-TW'));
  $('lang-en').setAttribute('aria-pressed', String(lang === 'en'));
  $('btn-return').textContent = t.returnMode;
  $('btn-checkout').textContent = t.checkout;
  $('btn-done').textContent = t.done;
  $('btn-done').hidden = view.state !== 'session';
  $('btn-return').hidden = view.mode === 'return';
  $('btn-checkout').hidden = view.mode !== 'return';
  const who = view.member || '';
  $('prompt').textContent = view.state === 'session' ? fill(t.hello, { who })
    : view.state === 'return' ? t.ret : view.state === 'receipt' ? fill(t.thanks, { who }) : t.idle;
  const notice = $('notice');
  notice.hidden = !view.notice;
  notice.textContent = view.notice ? reasonText(t, view.notice) : '';
  const ul = $('lines');
  ul.replaceChildren(...(view.state === 'receipt' ? [] : view.lines).map((l) => {
    const li = document.createElement('li');
    li.className = l.decision;
    li.dataset.item = l.item;
    li.dataset.reason = l.reason;
    const a = document.createElement('span'); a.className = 'item'; a.textContent = l.item;
    const b = document.createElement('span'); b.className = 'state'; b.textContent = lineText(t, l);
    li.append(a, b);
    return li;
  }));
  const r = $('receipt');
  r.hidden = view.state !== 'receipt' || !view.receipt;
  if (view.receipt) {
    $('receipt-title').textContent = t.receipt + (view.receipt.lines.length ? '' : ' — ' + t.finished);
    $('receipt-lines').replaceChildren(...view.receipt.lines.map((l) => {
      const li = document.createElement('li');
      const a = document.createElement('span'); a.className = 'item'; a.textContent = l.item;
      const b = document.createElement('span'); b.textContent = lineText(t, l);
      li.append(a, b);
      return li;
    }));
    $('receipt-id').textContent = fill(t.receiptId, { id: view.receipt.id });
  }
}
for (const b of document.querySelectorAll('[data-lang]'))
  b.addEventListener('click', () => { lang = b.dataset.lang; localStorage.setItem('kiosk-lang', lang); render(); });
for (const b of document.querySelectorAll('[data-control]'))
  b.addEventListener('click', () => fetch('/control/' + b.dataset.control, { method: 'POST', headers: { 'x-kiosk': '1' } }));
const events = new EventSource('/events');
events.onmessage = (m) => { const v = JSON.parse(m.data); if (v.version >= view.version || v.version <= 1) { view = v; render(); } };
render();
`;
