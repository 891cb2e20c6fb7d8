// 緊急配布要請の一覧: the institution's requests, newest first, a page at a time.
import { api, signedIn, notice, formatDateTime } from '../api.js';
import { requestPath, startBanner, statusBadge } from '../sos.js';

const pageSize = 20;
const rows = document.getElementById('rows');
const prev = document.getElementById('prev');
const next = document.getElementById('next');
let code;
// cursors[i] is the cursor of page i; the first page has none.
const cursors = [''];
let page = 0;

function cell(row, label, content) {
  const td = document.createElement('td');
  td.dataset.label = label;
  if (content instanceof Node) td.append(content); else td.textContent = content;
  row.append(td);
}

async function show(n) {
  let res;
  try {
    const q = new URLSearchParams({ limit: String(pageSize) });
    if (cursors[n]) q.set('cursor', cursors[n]);
    res = await api('GET', requestPath(code) + '?' + q);
  } catch (err) {
    notice(err.message, 'warning');
    return;
  }
  page = n;
  cursors[n + 1] = res.nextCursor || '';
  rows.replaceChildren();
  for (const r of res.requests || []) {
    const tr = document.createElement('tr');
    const a = document.createElement('a');
    a.href = '/sos-requests/edit?id=' + encodeURIComponent(r.id);
    a.textContent = r.title;
    cell(tr, 'タイトル', a);
    cell(tr, '申請日時', r.appliedAt ? formatDateTime(r.appliedAt) : '—');
    cell(tr, '医療機関名', r.institutionName);
    cell(tr, '医療機関コード', r.institutionCode);
    cell(tr, '対応ステータス', statusBadge(r));
    rows.append(tr);
  }
  const count = (res.requests || []).length;
  document.getElementById('list').hidden = count === 0;
  document.getElementById('count').textContent = count === 0 && n === 0
    ? '緊急配布要請はまだありません。「新規作成」から登録してください。'
    : `${n + 1}ページ目：${count}件（新しい順）`;
  prev.hidden = n === 0;
  next.hidden = !res.nextCursor;
}

async function load() {
  const u = await signedIn();
  if (!u) return;
  document.getElementById('loading').hidden = true;
  if (!u.institutionCode) {
    notice('緊急配布要請は医療機関の利用者が登録します。要請の確認は「緊急配布要請の確認」から行ってください。');
    const p = document.createElement('p');
    const a = document.createElement('a');
    a.href = '/sos-review';
    a.textContent = '緊急配布要請の確認へ';
    p.append(a);
    document.getElementById('main').append(p);
    return;
  }
  code = u.institutionCode;
  if (new URLSearchParams(location.search).has('deleted')) notice('下書きを削除しました。', 'success');
  document.getElementById('requests').hidden = false;
  prev.addEventListener('click', () => show(page - 1));
  next.addEventListener('click', () => show(page + 1));
  await show(0);
}

startBanner();
load();
