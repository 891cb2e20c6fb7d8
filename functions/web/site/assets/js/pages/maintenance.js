import { api, notice, toLogin, showAccount } from '../api.js';
import { showErrors, clearErrors, busy } from '../form.js';
import { when, row } from '../manage.js';

const $ = (id) => document.getElementById(id);

// jst turns a datetime-local value (2026-12-01T10:00) into the API's
// JST form (2026/12/01 10:00).
const jst = (v) => (v ? v.replace(/-/g, '/').replace('T', ' ') : '');

function endButton(w) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'button button-small button-secondary';
  b.textContent = w.startActive ? '今すぐ終了する' : '取り消す';
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await api('POST', `/admin/maintenance-windows/${encodeURIComponent(w.id)}/end`, undefined, own);
      notice('メンテナンスを終了しました。', 'success');
      await list();
    } catch (err) {
      if (err.status === 401) return toLogin();
      notice(err.message, 'warning');
      b.disabled = false;
    }
  });
  return b;
}

// This page works during a maintenance window, when everything but the
// maintenance-window routes answers 503 (/auth/me too): the role is told
// by GET /admin/maintenance-windows, and a 503 is this page's to show.
const own = { ownMaintenance: true };

async function list() {
  const page = await api('GET', '/admin/maintenance-windows', undefined, own);
  const now = Date.now();
  const open = (page.windows || []).filter((w) => !w.endedAt && new Date(w.end).getTime() > now);
  const body = $('windows');
  body.replaceChildren();
  for (const w of open) {
    w.startActive = new Date(w.start).getTime() <= now;
    row(body, [when(w.start), when(w.end), w.message || '（なし）', endButton(w)]);
  }
  $('list').hidden = open.length === 0;
  $('empty').hidden = open.length > 0;
}

async function load() {
  try {
    await list();
  } catch (err) {
    $('loading').hidden = true;
    if (err.status === 401) return toLogin();
    if (err.status === 403) {
      const me = await api('GET', '/auth/me', undefined, own).catch(() => null);
      if (me && me.mustChangePassword) return location.assign('/password/change?first=1');
      return notice('このページを利用する権限がありません。', 'warning');
    }
    return notice(err.message, 'warning');
  }
  $('loading').hidden = true;
  $('page').hidden = false;
  // The header's account name, when the session API answers (not during a
  // window); the page does not wait for it.
  api('GET', '/auth/me', undefined, own).then(showAccount).catch(() => {});
  const form = $('create');
  let confirmed = false;
  const unconfirm = () => { confirmed = false; $('start-warning').hidden = true; };
  $('start').addEventListener('input', unconfirm);
  $('start-go').addEventListener('click', () => { confirmed = true; $('start-warning').hidden = true; form.requestSubmit(); });
  $('start-cancel').addEventListener('click', () => { unconfirm(); $('start').focus(); });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const missing = [];
    if (!$('start').value) missing.push({ field: 'start', message: '開始日時を入力してください。' });
    if (!$('end').value) missing.push({ field: 'end', message: '終了日時を入力してください。' });
    if (missing.length) return showErrors(form, missing);
    clearErrors(form);
    // A window starting now or earlier closes the system at once: say so
    // and ask, in the page, before sending.
    const starts = new Date($('start').value + ':00+09:00').getTime();
    if (starts <= Date.now() && !confirmed) {
      $('start-warning').hidden = false;
      $('start-go').focus();
      return;
    }
    confirmed = false;
    busy(form, async () => {
      try {
        const w = await api('POST', '/admin/maintenance-windows', { start: jst($('start').value), end: jst($('end').value), message: $('message').value }, own);
        notice(`メンテナンスを予定しました（${when(w.start)} 〜 ${when(w.end)}）。`, 'success');
        form.reset();
        $('start-warning').hidden = true;
        await list();
      } catch (err) {
        if (err.status === 401) return toLogin();
        showErrors(form, err);
      }
    });
  });
}

load();
