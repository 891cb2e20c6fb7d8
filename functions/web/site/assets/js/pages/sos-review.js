// 緊急配布要請の確認: a business day's requests of a prefecture, or of every
// prefecture for national administrators, filtered by status.
import { api, signedIn, notice, formatDateTime, today } from '../api.js';
import { statusBadge, prefectures, prefectureName, editedAfterClose, dayName } from '../sos.js';
import { showErrors, busy } from '../form.js';

const form = document.getElementById('filter');
const rows = document.getElementById('rows');
let user;

function cell(row, label, content) {
  const td = document.createElement('td');
  td.dataset.label = label;
  if (content instanceof Node) td.append(content); else td.textContent = content;
  row.append(td);
}

// matches applies the filters the API has no word for: the prefecture's
// confirmation is a mark on 都道府県・国確認中.
function matches(r, status) {
  if (status === 'pending') return r.status === 'under_review' && !r.prefectureConfirmedAt;
  if (status === 'confirmed') return r.status === 'under_review' && Boolean(r.prefectureConfirmedAt);
  return true;
}

async function dayOf(pref, day, status) {
  const q = new URLSearchParams({ day });
  if (pref) q.set('prefectureCode', pref);
  const apiStatus = status === 'pending' || status === 'confirmed' ? 'under_review' : status;
  if (apiStatus) q.set('status', apiStatus);
  const res = await api('GET', '/sos/review?' + q);
  return (res.requests || []).filter((r) => matches(r, status));
}

// every reads all prefectures, a few at a time.
async function every(day, status) {
  const out = [];
  const codes = prefectures.map((p) => p.code);
  for (let i = 0; i < codes.length; i += 8) {
    const parts = await Promise.all(codes.slice(i, i + 8).map((c) => dayOf(c, day, status)));
    for (const p of parts) out.push(...p);
  }
  return out;
}

// showExport links the list's CSV download (Excel), one prefecture at a time.
function showExport(pref, day, status) {
  const p = document.getElementById('export');
  p.hidden = !pref;
  if (!pref) return;
  const q = new URLSearchParams({ day, prefectureCode: pref });
  const apiStatus = status === 'pending' || status === 'confirmed' ? 'under_review' : status;
  if (apiStatus) q.set('status', apiStatus);
  document.getElementById('export-link').href = '/sos/review/export?' + q;
}

async function show() {
  const day = form.elements.day.value;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) {
    showErrors(form, [{ field: 'day', message: '営業日を選んでください。' }]);
    return;
  }
  const pref = user.role === 'national' ? form.elements.prefectureCode.value : user.prefectureCode;
  const status = form.elements.status.value;
  const q = new URLSearchParams({ day });
  if (pref) q.set('prefectureCode', pref);
  if (status) q.set('status', status);
  history.replaceState(null, '', '/sos-review?' + q);
  let list;
  try {
    list = pref ? await dayOf(pref, day, status) : await every(day, status);
  } catch (err) {
    showErrors(form, err);
    return;
  }
  form.querySelector('.error-summary')?.remove();
  rows.replaceChildren();
  for (const r of list) {
    const tr = document.createElement('tr');
    const a = document.createElement('a');
    a.href = `/sos-review/detail?code=${encodeURIComponent(r.institutionCode)}&id=${encodeURIComponent(r.id)}`;
    a.textContent = r.title;
    cell(tr, 'タイトル', a);
    cell(tr, '医療機関名', r.institutionName);
    cell(tr, '医療機関コード', r.institutionCode);
    cell(tr, '都道府県', prefectureName(r.prefectureCode));
    cell(tr, '申請日時', r.appliedAt ? formatDateTime(r.appliedAt) : '—');
    const st = document.createElement('span');
    st.append(statusBadge(r, true));
    if (editedAfterClose(r)) {
      const mark = document.createElement('span');
      mark.className = 'mark-late';
      mark.textContent = '締切後に更新';
      st.append(' ', mark);
    }
    cell(tr, '対応ステータス', st);
    rows.append(tr);
  }
  document.getElementById('list').hidden = list.length === 0;
  const where = pref ? prefectureName(pref) : 'すべての都道府県';
  document.getElementById('count').textContent = `${dayName(day)} 13:00締切分（${where}）：${list.length}件`;
  showExport(pref, day, status);
}

// defaultDay is the window reviewers most likely want: the one that closed
// today at 13:00, else the open one. The server's business calendar
// decides (holidays and the year end included), not the browser.
async function defaultDay() {
  try {
    const w = await api('GET', '/sos/window');
    return w.lastClosedDay === today() ? w.lastClosedDay : w.businessDay;
  } catch {
    return ''; // the picker stays empty
  }
}

async function load() {
  user = await signedIn();
  if (!user) return;
  document.getElementById('loading').hidden = true;
  if (user.role !== 'national' && user.role !== 'prefecture_admin') {
    notice('緊急配布要請の確認は、都道府県と国の管理者が行います。', 'warning');
    return;
  }
  const q = new URLSearchParams(location.search);
  let day = q.get('day') || '';
  if (!day) day = await defaultDay();
  form.elements.day.value = day;
  form.elements.status.value = q.get('status') || '';
  if (user.role === 'national') {
    const sel = form.elements.prefectureCode;
    for (const p of prefectures) sel.append(new Option(`${p.code} ${p.name}`, p.code));
    sel.value = q.get('prefectureCode') || '';
    document.getElementById('pref-field').hidden = false;
  }
  form.hidden = false;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, show);
  });
  await busy(form, show);
}

load();
