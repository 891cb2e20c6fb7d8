// What the 緊急配布要請 (SOS) pages share: the deadline banner, the
// request's paths, its status in words and its read-only view.
import { api, clock, formatDate, formatDateTime } from './api.js';

/** me reads the logged-in user, sending to login when there is none. */

/** requestPath is the API path of an institution's requests, or of one. */
export function requestPath(code, id, action) {
  let p = `/sos/institutions/${encodeURIComponent(code)}/requests`;
  if (id) p += '/' + encodeURIComponent(id);
  if (action) p += '/' + action;
  return p;
}

/** statusNotes says what each status means (seed 004 §4-1). */
export const statusNotes = {
  draft: '申請前の状態です。「システムチェック&申請」ボタンを押してください。',
  error: '申請の条件を満たしていない状態です。日次調査・週次調査の回答内容を確認してください。',
  under_review: '要請内容を確認しています。',
  accepted: '都道府県、国による受付が完了しました。要請内容は変更できません。',
};

/** statusBadge is an element showing a request's status. */
export function statusBadge(r, reviewer = false) {
  const s = document.createElement('span');
  s.className = 'status status-' + r.status;
  s.textContent = r.statusLabel || r.status;
  if (reviewer && r.status === 'under_review' && r.prefectureConfirmedAt) {
    s.className = 'status status-confirmed';
    s.textContent = '都道府県確認済';
  }
  return s;
}

/** dayName writes a business day (YYYY-MM-DD) as 2026年12月1日（火）. */
export function dayName(day) {
  return day ? formatDate(day + 'T12:00:00+09:00') : '';
}

/** deadlineOf is the 13:00 JST deadline of a business day. */
export function deadlineOf(day) {
  return new Date(day + 'T13:00:00+09:00');
}

// banner is the deadline banner's state: the open window as last read
// and the timer of its next redraw.
const banner = { w: null, timer: 0, retry: 0 };

// serverNow is the server's clock: the window's deadline is the server's.
const serverNow = () => Date.now() + clock.skew;

async function drawBanner() {
  const el = document.getElementById('sos-window');
  if (!el) return;
  clearTimeout(banner.timer);
  const w = banner.w;
  if (!w) { el.textContent = ''; return; }
  const left = new Date(w.deadline).getTime() - serverNow();
  if (left <= 0) {
    // The window closed: never show it as still open; read the next one,
    // again a little later while the answer is still the closed one.
    el.textContent = `${dayName(w.businessDay)} 13:00締切分の受付を締め切りました。次の受付を確認しています…`;
    banner.retry = Math.min((banner.retry || 1000) * 2, 30000);
    banner.timer = setTimeout(refreshBanner, banner.retry);
    return;
  }
  banner.retry = 0;
  const mins = Math.ceil(left / 60000);
  const h = Math.floor(mins / 60);
  const m = mins % 60;
  el.textContent = `受付中：${dayName(w.businessDay)} 13:00締切分（締切まであと${h > 0 ? h + '時間' : ''}${m}分）`;
  // Redraw when the minutes shown change, and at the deadline itself.
  banner.timer = setTimeout(drawBanner, (left % 60000) + 50);
}

/** refreshBanner reads the open window again (after an apply, or a deadline) and redraws the banner. */
export async function refreshBanner() {
  try { banner.w = await api('GET', '/sos/window'); } catch { banner.w = null; }
  await drawBanner();
}

/** startBanner fills the banner's time left to the open window's deadline, redrawn each minute. */
export async function startBanner() {
  if (!document.getElementById('sos-window')) return;
  await refreshBanner();
}

/** supplyNames maps each supply's code to its name, from the page. */
export function supplyNames() {
  const out = {};
  for (const li of document.querySelectorAll('#supply-names li')) out[li.dataset.code] = li.textContent;
  return out;
}

/** factsOf is a definition list of [term, value] rows; empty values are left out. */
export function factsOf(rows) {
  const dl = document.createElement('dl');
  dl.className = 'facts';
  for (const [term, value] of rows) {
    if (value == null || value === '') continue;
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    if (value instanceof Node) dd.append(value); else dd.textContent = value;
    dl.append(dt, dd);
  }
  return dl;
}

/** when writes a time in JST, or — when there is none. */
export function when(t) {
  return t ? formatDateTime(t) : '—';
}

/** itemsList is a list of the supplies a request asks for, with quantities. */
export function itemsList(r) {
  const names = supplyNames();
  const ul = document.createElement('ul');
  ul.className = 'plain';
  for (const it of r.items || []) {
    const li = document.createElement('li');
    li.textContent = (names[it.supply] || it.supply) + (it.quantity ? `（数量 ${it.quantity.toLocaleString('ja-JP')}）` : '（数量の指定なし）');
    ul.append(li);
  }
  return ul;
}

/** problemsList is the failed conditions of the last check, in words. */
export function problemsList(r) {
  const ul = document.createElement('ul');
  for (const p of r.problems || []) {
    const li = document.createElement('li');
    li.textContent = p.message;
    ul.append(li);
  }
  return ul;
}

/** requestView is the read-only view of a request: head facts and contents. */
export function requestView(r) {
  const box = document.createElement('div');
  box.className = 'request-view';
  const status = document.createElement('span');
  status.append(statusBadge(r), ' ', statusNotes[r.status] || '');
  box.append(factsOf([
    ['タイトル', r.title],
    ['申請日時', r.appliedAt ? formatDateTime(r.appliedAt) : '未申請'],
    ['医療機関名', r.institutionName],
    ['医療機関コード', r.institutionCode],
    ['対応ステータス', status],
    ['対象営業日', r.businessDay ? `${dayName(r.businessDay)} 13:00締切分` : ''],
    ['受付完了日時', r.acceptedAt ? formatDateTime(r.acceptedAt) : ''],
    ['受付時のメモ', r.acceptedNote],
    ['緊急配布条件（全体）', r.confirmedGeneral ? '満たしていることを確認した' : '未確認'],
    ['緊急配布条件（N95マスク）', r.confirmedN95 ? '満たしていることを確認した' : '—'],
    ['要請する物資', itemsList(r)],
    ['コメント', r.comment || '（なし）'],
  ]));
  return box;
}

/** prefectures are the 47 prefectures' names by JIS code (01–47). */
export const prefectures = ['北海道', '青森県', '岩手県', '宮城県', '秋田県', '山形県', '福島県', '茨城県', '栃木県', '群馬県',
  '埼玉県', '千葉県', '東京都', '神奈川県', '新潟県', '富山県', '石川県', '福井県', '山梨県', '長野県', '岐阜県', '静岡県', '愛知県',
  '三重県', '滋賀県', '京都府', '大阪府', '兵庫県', '奈良県', '和歌山県', '鳥取県', '島根県', '岡山県', '広島県', '山口県', '徳島県',
  '香川県', '愛媛県', '高知県', '福岡県', '佐賀県', '長崎県', '熊本県', '大分県', '宮崎県', '鹿児島県', '沖縄県']
  .map((name, i) => ({ code: String(i + 1).padStart(2, '0'), name }));

/** prefectureName is a prefecture's name, or its code when unknown. */
export function prefectureName(code) {
  return prefectures.find((p) => p.code === code)?.name || code || '';
}

/** editedAfterClose reports whether a request was changed after its window closed. */
export function editedAfterClose(r) {
  if (r.editedAfterClose !== undefined) return Boolean(r.editedAfterClose);
  return Boolean(r.businessDay && r.updatedAt && new Date(r.updatedAt) >= deadlineOf(r.businessDay) && r.status !== 'accepted');
}

/** homeSOS shows on the home page the user's latest requests, or the review link for reviewers. */
export async function homeSOS(u) {
  if (u.role === 'national' || u.role === 'prefecture_admin') document.getElementById('sos-review-link').hidden = false;
  if (!u.institutionCode) return;
  const list = document.getElementById('sos-latest');
  document.getElementById('sos').hidden = false;
  try {
    const res = await api('GET', requestPath(u.institutionCode) + '?limit=3');
    for (const r of res.requests || []) {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = '/sos-requests/edit?id=' + encodeURIComponent(r.id);
      a.textContent = r.title;
      li.append(a, ' ', statusBadge(r));
      list.append(li);
    }
    if (!list.children.length) list.append(Object.assign(document.createElement('li'), { textContent: '緊急配布要請はありません。' }));
  } catch (err) {
    list.append(Object.assign(document.createElement('li'), { textContent: err.status === 403 ? '—' : err.message }));
  }
}
