// 緊急配布要請の登録・編集: save (未申請), システムチェック&申請, delete a
// draft; an accepted request (受付完了) is shown read-only.
import { api, signedIn, notice, formatDateTime, toLogin, draftKey, savedBy } from '../api.js';
import { showErrors, clearErrors, busy } from '../form.js';
import { requestPath, startBanner, refreshBanner, statusBadge, statusNotes, dayName, requestView, problemsList, supplyNames } from '../sos.js';

const form = document.getElementById('sos-form');
const result = document.getElementById('result');
const commentLeft = document.getElementById('comment-left');
const maxComment = Number(commentLeft.dataset.max);
const msgGeneral = '「上記の緊急配布条件を満たしていることを確認した」にチェックをしてください。';
const msgN95 = 'N95マスクを要請するには「上記の緊急配布条件を満たしていることを確認した」（N95マスク）にチェックをしてください。';
const n95 = 'n95_mask';

let code = '';
let id = new URLSearchParams(location.search).get('id') || '';
let req = null;
let dirty = false;
let userId = '';

const boxes = () => [...form.querySelectorAll('input[data-supply]')];
const quantityOf = (supply) => form.querySelector(`input[data-quantity="${supply}"]`);
const length = (s) => [...s].length;

function panel(kind, title, ...content) {
  result.replaceChildren();
  const box = document.createElement('div');
  box.className = kind;
  box.setAttribute('role', 'alert');
  const h = document.createElement('h2');
  h.textContent = title;
  box.append(h, ...content);
  result.append(box);
  result.focus();
}

function para(text) {
  const p = document.createElement('p');
  p.textContent = text;
  return p;
}

function showSummary(r) {
  document.getElementById('summary').hidden = false;
  document.getElementById('summary-title').textContent = r ? r.title : '新規の緊急配布要請';
  document.getElementById('s-applied').textContent = r && r.appliedAt ? formatDateTime(r.appliedAt) : '—';
  document.getElementById('s-name').textContent = r ? r.institutionName : '';
  document.getElementById('s-code').textContent = code;
  const st = document.getElementById('s-status');
  st.replaceChildren(r ? statusBadge(r) : statusBadge({ status: 'draft', statusLabel: '未申請（未保存）' }));
  document.getElementById('s-note').textContent = statusNotes[r ? r.status : 'draft'];
  document.getElementById('s-day').textContent = r && r.businessDay ? `${dayName(r.businessDay)} 13:00締切分` : '—';
  document.getElementById('print').hidden = !r;
  if (r) document.getElementById('print-link').href = '/sos-requests/print?id=' + encodeURIComponent(r.id);
}

function fill(r) {
  form.elements.confirmedGeneral.checked = r.confirmedGeneral;
  form.elements.confirmedN95.checked = r.confirmedN95;
  const items = Object.fromEntries((r.items || []).map((it) => [it.supply, it]));
  for (const box of boxes()) {
    const it = items[box.dataset.supply];
    box.checked = Boolean(it);
    quantityOf(box.dataset.supply).value = it && it.quantity ? String(it.quantity) : '';
  }
  form.elements.comment.value = r.comment || '';
  countComment();
}

function render(r) {
  req = r;
  dirty = false;
  showSummary(r);
  document.getElementById('loading').hidden = true;
  if (r && r.status === 'accepted') {
    // 受付完了: nothing may change, so nothing to change is offered.
    form.hidden = true;
    document.getElementById('view').hidden = false;
    document.getElementById('view-body').replaceChildren(requestView(r));
    return;
  }
  form.hidden = false;
  if (r) fill(r);
  document.getElementById('delete-area').hidden = !(r && (r.status === 'draft' || r.status === 'error'));
  document.getElementById('delete-confirm').hidden = true;
}

function countComment() {
  const left = maxComment - length(form.elements.comment.value);
  // Never a negative count: over the limit, by how much, as an error.
  commentLeft.textContent = String(Math.max(0, left));
  document.getElementById('comment-within').hidden = left < 0;
  const over = document.getElementById('comment-over');
  over.hidden = left >= 0;
  over.textContent = left < 0 ? `${-left}文字多すぎます` : '';
}

// What is typed is kept in the browser until it is saved, so that a
// session that ends or a closed tab loses nothing; logout clears it.
const keyOf = (reqId) => draftKey(userId, 'sos', code, reqId || 'new');

function readForm() {
  const items = {};
  for (const box of boxes()) items[box.dataset.supply] = { checked: box.checked, quantity: quantityOf(box.dataset.supply).value };
  return { confirmedGeneral: form.elements.confirmedGeneral.checked, confirmedN95: form.elements.confirmedN95.checked, items, comment: form.elements.comment.value };
}

function fillForm(v) {
  form.elements.confirmedGeneral.checked = Boolean(v.confirmedGeneral);
  form.elements.confirmedN95.checked = Boolean(v.confirmedN95);
  for (const box of boxes()) {
    const it = (v.items || {})[box.dataset.supply] || {};
    box.checked = Boolean(it.checked);
    quantityOf(box.dataset.supply).value = it.quantity || '';
  }
  form.elements.comment.value = v.comment || '';
  countComment();
}

function keepDraft() {
  if (!userId || !code) return;
  localStorage.setItem(keyOf(req && req.id), JSON.stringify({ version: req ? req.version : 0, values: readForm(), at: new Date().toISOString() }));
}

// restoreDraft puts back what was typed and not saved, if the request
// has not changed since.
function restoreDraft() {
  const key = keyOf(req && req.id);
  const saved = JSON.parse(localStorage.getItem(key) || 'null');
  if (!saved) return;
  localStorage.removeItem(key);
  if (saved.version !== (req ? req.version : 0)) {
    notice('保存していない入力がありましたが、その後この要請が更新されたため復元しませんでした。', 'warning');
    return;
  }
  fillForm(saved.values);
  dirty = true;
  keepDraft();
  notice(`保存していない入力（${formatDateTime(saved.at)}）を復元しました。内容を確認して保存してください。`, 'warning');
}

// body turns the form into the API's body, and lists what is wrong with it.
function body() {
  const errors = [];
  const names = supplyNames();
  const items = {};
  const general = form.elements.confirmedGeneral.checked;
  if (!general) errors.push({ field: 'confirmedGeneral', message: msgGeneral });
  for (const box of boxes()) {
    const s = box.dataset.supply;
    const raw = quantityOf(s).value.replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/[,\s]/g, '');
    if (!box.checked) continue;
    const item = {};
    if (raw !== '') {
      if (!/^\d+$/.test(raw) || Number(raw) < 1) errors.push({ field: `items.${s}.quantity`, message: `${names[s]}の数量は1以上の整数で入力してください。` });
      else item.quantity = Number(raw);
    }
    items[s] = item;
  }
  if (Object.keys(items).length === 0) errors.push({ field: 'items', message: '要請する物資を1つ以上選んでください。' });
  if (items[n95] && !form.elements.confirmedN95.checked) errors.push({ field: 'confirmedN95', message: msgN95 });
  const comment = form.elements.comment.value;
  if (length(comment) > maxComment) errors.push({ field: 'comment', message: `コメントは${maxComment}文字以内で入力してください。` });
  return {
    out: { version: req ? req.version : 0, confirmedGeneral: general, confirmedN95: form.elements.confirmedN95.checked, items, comment },
    errors,
  };
}

// failed shows an API error: a stale version or an accepted request is
// explained with a way to read the request again; anything else at its field.
function failed(err) {
  if (err.status === 401) {
    keepDraft();
    notice('ログインの有効期限が切れました。入力はこのブラウザに残してあります。もう一度ログインしてください。', 'warning');
    toLogin();
    return;
  }
  if (err.status === 409) {
    clearErrors(form);
    const reload = document.createElement('button');
    reload.type = 'button';
    reload.className = 'button button-primary';
    reload.textContent = '最新の内容を読み込む';
    reload.addEventListener('click', () => reread());
    const who = savedBy(err.detail);
    const by = para(`別の画面または別の方が先に保存しました${who ? `（保存したのは${who}）` : ''}。`);
    const hint = para('「最新の内容を読み込む」を押すと、この画面で入力した内容は破棄されます。');
    result.replaceChildren();
    const box = document.createElement('div');
    box.className = 'conflict';
    box.setAttribute('role', 'alert');
    const h = document.createElement('h2');
    h.textContent = '保存できませんでした';
    box.append(h, para(err.message), by, hint, reload);
    result.append(box);
    result.focus();
    return;
  }
  result.replaceChildren();
  showErrors(form, err);
}

async function reread() {
  localStorage.removeItem(keyOf(req.id));
  try {
    render(await api('GET', requestPath(code, req.id)));
    result.replaceChildren();
    notice('最新の内容を読み込みました。');
  } catch (err) {
    notice(err.message, 'warning');
  }
}

// save writes the form: a new request, or an edit at the version read.
async function save() {
  const { out, errors } = body();
  if (errors.length) {
    result.replaceChildren();
    showErrors(form, errors);
    return null;
  }
  clearErrors(form);
  try {
    const r = req ? await api('PUT', requestPath(code, req.id), out) : await api('POST', requestPath(code), out);
    localStorage.removeItem(keyOf(req && req.id));
    if (!req) history.replaceState(null, '', '/sos-requests/edit?id=' + encodeURIComponent(r.id));
    render(r);
    return r;
  } catch (err) {
    failed(err);
    return null;
  }
}

function applied(r) {
  if (r.status === 'error') {
    panel('error-summary', 'システムチェックの結果：エラー有り',
      para('次の条件を満たしていないため、申請できませんでした。日次調査・週次調査の回答内容を確認してから、もう一度「システムチェック&申請」を押してください。'),
      problemsList(r));
    return;
  }
  panel('notice notice-success', '緊急配布要請を受け付けました',
    para('都道府県にて内容を確認し追って連絡いたします。'),
    para(`申請日時：${formatDateTime(r.appliedAt)}`),
    para(`対象営業日：${dayName(r.businessDay)} 13:00締切分`));
}

async function apply() {
  notice('');
  let r = req;
  if (!r || dirty) r = await save();
  if (!r) return;
  try {
    r = await api('POST', requestPath(code, r.id, 'apply'), { version: r.version });
  } catch (err) {
    failed(err);
    return;
  }
  render(r);
  applied(r);
  refreshBanner();
}

async function remove() {
  try {
    await api('DELETE', requestPath(code, req.id) + '?version=' + req.version);
    localStorage.removeItem(keyOf(req.id));
  } catch (err) {
    failed(err);
    return;
  }
  location.assign('/sos-requests?deleted=1');
}

async function load() {
  const u = await signedIn();
  if (!u) return;
  if (!u.institutionCode) {
    document.getElementById('loading').hidden = true;
    notice('緊急配布要請は医療機関の利用者が登録します。');
    return;
  }
  code = u.institutionCode;
  userId = u.userId;
  if (!id) {
    render(null);
    restoreDraft();
    return;
  }
  try {
    const r = await api('GET', requestPath(code, id));
    render(r);
    if (r.status !== 'accepted') restoreDraft();
    if (r.status === 'error') {
      panel('error-summary', '前回のシステムチェックの結果：エラー有り', problemsList(r));
    }
  } catch (err) {
    document.getElementById('loading').hidden = true;
    notice(err.status === 404 ? 'この緊急配布要請は見つかりません。削除された可能性があります。' : err.message, 'warning');
  }
}

form.addEventListener('input', (ev) => {
  dirty = true;
  keepDraft();
  if (ev.target.name === 'comment') countComment();
  // A quantity typed asks for its supply.
  if (ev.target.dataset.quantity && ev.target.value.trim()) {
    form.querySelector(`input[data-supply="${ev.target.dataset.quantity}"]`).checked = true;
    keepDraft();
  }
});
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  busy(form, async () => {
    notice('');
    const before = req ? req.status : 'draft';
    const r = await save();
    if (!r) return;
    if (r.status === 'draft') notice('保存しました（未申請）。申請するには「システムチェック&申請」を押してください。', 'success');
    else if (r.status === 'error' && before === 'under_review') applied(r); // the check, run again, failed
    else if (r.status === 'error') notice('保存しました。状態は「エラー有り」のままです。調査の回答を確認してから、もう一度「システムチェック&申請」を押してください。', 'success');
    else notice('保存しました。申請済みの要請は、保存のたびにシステムチェックをやり直します。', 'success');
  });
});
document.getElementById('apply').addEventListener('click', () => busy(form, apply));
document.getElementById('delete').addEventListener('click', () => {
  document.getElementById('delete-confirm').hidden = false;
  document.getElementById('delete-yes').focus();
});
document.getElementById('delete-no').addEventListener('click', () => {
  document.getElementById('delete-confirm').hidden = true;
  document.getElementById('delete').focus();
});
document.getElementById('delete-yes').addEventListener('click', () => busy(form, remove));

startBanner();
load();
