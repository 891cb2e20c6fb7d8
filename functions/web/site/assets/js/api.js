// Calls to the JSON API, and what every page does with their answers.

import { watchSession } from './session.js';

const JST = 'Asia/Tokyo';

/** ApiError is an answer other than 2xx: its status and the API's error body. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `エラーが発生しました（${status}）。`);
    this.status = status;
    this.code = e.code || '';
    this.field = e.field || '';
    this.problems = Array.isArray(e.problems) ? e.problems : [];
    this.detail = e.detail || {};
    this.requestId = e.requestId || '';
  }
}

/**
 * api sends a request to the API and returns its JSON answer. With
 * opts.ownMaintenance the caller handles a maintenance 503 itself instead
 * of the whole page being replaced by the maintenance notice.
 */
export async function api(method, path, body, opts = {}) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { error: { code: 'network', message: '通信できませんでした。ネットワークの接続を確かめて、もう一度お試しください。' } });
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  const date = Date.parse(res.headers.get('Date') || '');
  if (!Number.isNaN(date)) clock.skew = date - Date.now();
  // An answer given after the session was resolved moved its idle clock on
  // the server (public routes have none; a 401, 403 or 503 may come before
  // the session is looked at, and counting too little only warns early).
  if ((res.ok || res.status === 400 || res.status === 409) && !path.startsWith('/notices/')) {
    document.dispatchEvent(new Event('gmis:activity'));
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 503 && !opts.ownMaintenance) showMaintenance(err);
    throw err;
  }
  return data;
}

/**
 * clock.skew is the server's clock less this browser's, from the Date of
 * the last answer: session ends are the server's times.
 */
export const clock = { skew: 0 };

// sessionSeen is set once this page has shown a logged-in user: a 401
// after that means the session ended under them.
let sessionSeen = false;
let accountId = '';

/**
 * toLogin sends the browser to the login page, to come back here after;
 * reason 'expired' tells the user why. A page that had a session gives
 * that reason by default.
 */
export function toLogin(reason) {
  if (!reason && sessionSeen) reason = 'expired';
  const q = new URLSearchParams();
  const next = location.pathname + location.search;
  if (next !== '/') q.set('next', next);
  if (reason) q.set('reason', reason);
  const query = q.toString();
  location.assign('/login' + (query ? '?' + query : ''));
}

/**
 * nextPage is where to go after logging in: a page of this site only
 * (no other origin, however the address is spelled), never login again.
 */
export function nextPage() {
  const raw = new URLSearchParams(location.search).get('next') || '/';
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\')) return '/';
  let u;
  try { u = new URL(raw, location.origin); } catch { return '/'; }
  // A path that resolves to "//host/..." (from "/.//host" or "/..//host")
  // would leave the site when assigned to location.
  if (u.origin !== location.origin || u.pathname.startsWith('/login') || u.pathname.startsWith('//')) return '/';
  return u.pathname + u.search;
}

/** notice shows a message at the top of the page. */
export function notice(text, kind = '') {
  // During maintenance the page says it all: the same 503 again adds nothing.
  if (document.getElementById('maintenance')) return;
  const box = document.getElementById('notice');
  box.replaceChildren();
  if (!text) return;
  const p = document.createElement('p');
  p.className = 'notice' + (kind ? ' notice-' + kind : '');
  p.textContent = text;
  box.append(p);
}

// showMaintenance shows a maintenance window's 503 as the page itself:
// what is being done and until when, instead of the form that cannot be
// used now (it stays in the page, hidden, with what was typed).
function showMaintenance(err) {
  const d = err.detail || {};
  if (d.reason !== 'maintenance') {
    notice(err.message, 'warning');
    return;
  }
  const main = document.getElementById('main');
  let box = document.getElementById('maintenance');
  if (!box) {
    for (const el of main.children) el.hidden = true;
    box = document.createElement('section');
    box.id = 'maintenance';
    box.className = 'maintenance';
    box.setAttribute('aria-labelledby', 'maintenance-title');
    main.prepend(box);
  }
  const h = document.createElement('h1');
  h.id = 'maintenance-title';
  h.textContent = 'ただいまメンテナンス中です';
  const msg = document.createElement('p');
  msg.textContent = d.message || err.message;
  const end = document.createElement('p');
  end.className = 'maintenance-end';
  end.textContent = d.end ? `終了予定：${formatDateTime(d.end)}` : '';
  const after = document.createElement('p');
  after.textContent = 'メンテナンスが終わってから、もう一度お試しください。';
  const again = document.createElement('button');
  again.type = 'button';
  again.className = 'button button-secondary';
  again.textContent = '再読み込み';
  again.addEventListener('click', () => location.reload());
  // National administrators end a window from a page that stays open.
  const admin = document.createElement('p');
  admin.className = 'maintenance-admin';
  const link = document.createElement('a');
  link.href = '/manage/maintenance';
  link.textContent = '管理者の方はこちら';
  admin.append(link);
  box.replaceChildren(h, msg, end, after, again, admin);
  document.getElementById('notice')?.replaceChildren();
  document.title = 'メンテナンス中 | G-MIS 医療機関等情報支援システム';
  main.focus();
}

/** formatDate writes a date as 2026年12月1日（火）, in JST. */
export function formatDate(d) {
  const parts = new Intl.DateTimeFormat('ja-JP', { timeZone: JST, year: 'numeric', month: 'numeric', day: 'numeric', weekday: 'short' })
    .formatToParts(new Date(d));
  const get = (t) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}年${get('month')}月${get('day')}日（${get('weekday')}）`;
}

/** formatTime writes a time of day as 10:42, in JST. */
export function formatTime(d) {
  return new Intl.DateTimeFormat('ja-JP', { timeZone: JST, hour: '2-digit', minute: '2-digit' }).format(new Date(d));
}

export function formatDateTime(d) {
  return `${formatDate(d)} ${formatTime(d)}`;
}

/** today is the JST date as YYYY-MM-DD. */
export function today() {
  return new Intl.DateTimeFormat('sv-SE', { timeZone: JST }).format(new Date());
}

/** isoWeek is the ISO week of a JST date (YYYY-Www). */
export function isoWeek(ymd) {
  const [y, m, d] = ymd.split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  const day = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - day);
  const yearStart = new Date(Date.UTC(date.getUTCFullYear(), 0, 1));
  const week = Math.ceil(((date - yearStart) / 86400000 + 1) / 7);
  return `${date.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export const roleNames = {
  national: '厚生労働省',
  prefecture_admin: '都道府県 管理者',
  health_center_admin: '保健所 管理者',
  institution_manager: '医療機関 管理者',
  institution_user: '医療機関 利用者',
};

/**
 * signedIn is the logged-in user, shown in the header; or null once the
 * page has gone to login (no session), to the first password change, or
 * told why it could not ask (through failed, a warning notice by default).
 */
export async function signedIn(failed = (message) => notice(message, 'warning')) {
  let me;
  try {
    me = await api('GET', '/auth/me');
  } catch (err) {
    if (err.status === 401) toLogin();
    else failed(err.message);
    return null;
  }
  if (me.mustChangePassword) {
    location.assign('/password/change?first=1');
    return null;
  }
  showAccount(me);
  return me;
}

/** showAccount fills the header with the logged-in user and wires logout. */
export function showAccount(me) {
  sessionSeen = true;
  accountId = me.userId || '';
  if (me.session) watchSession(me.session);
  document.getElementById('account-name').textContent = `${me.name} さん`;
  document.getElementById('account').hidden = false;
  document.getElementById('logout').addEventListener('click', async () => {
    try { await api('POST', '/auth/logout'); } catch { /* the session may be gone already */ }
    sessionStorage.clear();
    localStorage.removeItem('gmis.session.end');
    // Nurses' stations share PCs: what was typed goes with the user.
    forgetDrafts(me.userId);
    location.assign('/login');
  });
}

/** draftKey names a form's unsaved input in the browser's storage. */
export function draftKey(userId, ...parts) {
  return ['gmis.draft', userId, ...parts].join('.');
}

/** forgetDrafts removes every unsaved input of the user. */
export function forgetDrafts(userId) {
  const prefix = draftKey(userId) + '.';
  for (let i = localStorage.length - 1; i >= 0; i--) {
    const k = localStorage.key(i);
    if (k && k.startsWith(prefix)) localStorage.removeItem(k);
  }
}

/**
 * normalizeUserId is a typed user ID as issued: full-width letters and
 * digits made half-width (NFKC), spaces dropped, letters upper-case (the
 * IDs are generated from upper-case letters and digits).
 */
export function normalizeUserId(typed) {
  return String(typed || '').normalize('NFKC').replace(/\s+/g, '').toUpperCase();
}

/**
 * savedBy says who saved first, from a 409's detail: the logged-in user
 * themselves (in another tab or window), or another person by name when
 * the API gives it, else by user ID.
 */
export function savedBy(detail) {
  const d = detail || {};
  if (!d.updatedBy) return '';
  if (d.updatedBy === accountId) return 'あなた自身（別の画面）';
  return d.updatedByName ? `${d.updatedByName}さん（利用者ID ${d.updatedBy}）` : `利用者ID ${d.updatedBy} の方`;
}
