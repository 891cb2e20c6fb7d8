import { api, notice, toLogin } from '../api.js';
import { showErrors, clearErrors, busy } from '../form.js';
import { whoami, when, row } from '../manage.js';

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
      await api('POST', `/admin/maintenance-windows/${encodeURIComponent(w.id)}/end`);
      notice('メンテナンスを終了しました。', 'success');
      await list();
    } catch (err) {
      notice(err.message, 'warning');
      b.disabled = false;
    }
  });
  return b;
}

async function list() {
  const page = await api('GET', '/admin/maintenance-windows');
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
  const me = await whoami(['national']);
  if (!me) return;
  $('page').hidden = false;
  try {
    await list();
  } catch (err) {
    notice(err.message, 'warning');
  }
  const form = $('create');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const missing = [];
    if (!$('start').value) missing.push({ field: 'start', message: '開始日時を入力してください。' });
    if (!$('end').value) missing.push({ field: 'end', message: '終了日時を入力してください。' });
    if (missing.length) return showErrors(form, missing);
    clearErrors(form);
    busy(form, async () => {
      try {
        const w = await api('POST', '/admin/maintenance-windows', { start: jst($('start').value), end: jst($('end').value), message: $('message').value });
        notice(`メンテナンスを予定しました（${when(w.start)} 〜 ${when(w.end)}）。`, 'success');
        form.reset();
        await list();
      } catch (err) {
        if (err.status === 401) return toLogin();
        showErrors(form, err);
      }
    });
  });
}

load();
