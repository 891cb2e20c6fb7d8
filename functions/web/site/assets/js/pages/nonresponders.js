import { api, notice, toLogin, today, formatDate } from '../api.js';
import { showErrors, clearErrors, busy } from '../form.js';
import { whoami, row } from '../manage.js';

const $ = (id) => document.getElementById(id);
const num = (n) => Number(n || 0).toLocaleString('ja-JP');
let query = null;

async function show(cursor) {
  const q = new URLSearchParams(query);
  q.set('limit', '50');
  if (cursor) q.set('cursor', cursor);
  const page = await api('GET', '/surveys/daily/non-responders?' + q);
  const csv = new URLSearchParams(query);
  csv.set('format', 'csv');
  $('csv').href = '/surveys/daily/non-responders?' + csv;
  $('results-day').textContent = formatDate(page.date + 'T12:00:00+09:00');
  const missing = Math.max(0, (page.expected || 0) - (page.answered || 0));
  $('summary').textContent = `回答対象 ${num(page.expected)} 機関のうち、回答済み ${num(page.answered)} 機関、未回答 ${num(missing)} 機関。`;
  const body = $('institutions');
  body.replaceChildren();
  for (const i of page.institutions || []) {
    row(body, [i.code, i.name, i.phone || '—', i.healthCenterCode || '—', i.lastAnswered ? formatDate(i.lastAnswered + 'T12:00:00+09:00') : '回答なし']);
  }
  $('list').hidden = !(page.institutions || []).length;
  $('results').hidden = false;
  $('first').hidden = !cursor;
  $('next').hidden = !page.nextCursor;
  $('next').onclick = () => show(page.nextCursor).catch((err) => notice(err.message, 'warning'));
}

async function load() {
  const me = await whoami();
  if (!me) return;
  $('page').hidden = false;
  $('date').value = today();
  $('date').max = today();
  // A health centre's administrator sees their own area; a prefecture's
  // their prefecture; the ministry names one.
  if (me.role === 'health_center_admin') {
    $('prefecture-field').hidden = true;
    $('hc-field').hidden = true;
  } else if (me.role === 'prefecture_admin') {
    $('prefecture-field').hidden = true;
  }
  const form = $('filter');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const errors = [];
    if (!$('date').value) errors.push({ field: 'date', message: '調査日を入力してください。' });
    if (me.role === 'national' && !/^[0-9]{2}$/.test($('prefectureCode').value.trim())) {
      errors.push({ field: 'prefectureCode', message: '都道府県コードを半角数字2桁で入力してください。' });
    }
    if (errors.length) return showErrors(form, errors);
    clearErrors(form);
    notice('');
    query = { date: $('date').value };
    if (me.role === 'national') query.prefectureCode = $('prefectureCode').value.trim();
    if (me.role !== 'health_center_admin' && $('healthCenterCode').value.trim()) query.healthCenterCode = $('healthCenterCode').value.trim();
    busy(form, async () => {
      try {
        await show('');
      } catch (err) {
        if (err.status === 401) return toLogin();
        showErrors(form, err);
      }
    });
  });
  $('first').addEventListener('click', () => show('').catch((err) => notice(err.message, 'warning')));
  if (me.role !== 'national') form.requestSubmit();
}

load();
