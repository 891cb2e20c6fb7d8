// A survey's form page: daily (a JST day) or weekly (an ISO week).
import { api, signedIn, toLogin, formatDateTime, draftKey, savedBy } from './api.js';
import { showErrors, clearErrors, busy } from './form.js';

/**
 * start runs the page of one kind of survey: kind is 'daily' or 'weekly',
 * period the day or week to answer, periodTitle its heading, picker the
 * id of the period input and pickerValue how it shows a period, limits
 * its min and max.
 */
export function start({ kind, formId, period, periodTitle, picker, limits, pickerToPeriod, periodName }) {

const form = document.getElementById(formId);
const dayForm = document.getElementById('day-form');
const state = document.getElementById('state');
let me, code, key, version = 0;

const fields = () => [...form.querySelectorAll('[name]')];

function setState(text, kind = '') {
  state.replaceChildren();
  if (!text) return;
  const p = document.createElement('p');
  p.className = 'notice' + (kind ? ' notice-' + kind : '');
  p.textContent = text;
  state.append(p);
}

function fill(values) {
  for (const el of fields()) {
    const v = el.name.split('.').reduce((o, k) => (o == null ? undefined : o[k]), values);
    if (el.type === 'checkbox') el.checked = Boolean(v);
    else el.value = v == null ? '' : String(v);
  }
}

function read() {
  const values = {};
  for (const el of fields()) {
    const path = el.name.split('.');
    let o = values;
    for (const k of path.slice(0, -1)) o = o[k] ??= {};
    o[path.at(-1)] = el.type === 'checkbox' ? el.checked : el.value;
  }
  return values;
}

// body turns the form into the API's body; every count a whole number.
function body(values) {
  const out = structuredClone(values);
  const errors = [];
  for (const el of form.querySelectorAll('.input-count')) {
    const path = el.name.split('.');
    const holder = path.slice(0, -1).reduce((o, k) => o[k], out);
    const raw = String(holder[path.at(-1)]).replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/[,\s]/g, '');
    const label = form.querySelector(`label[for="${el.id}"]`).firstChild.textContent.trim();
    if (raw === '' && el.dataset.optional) {
      delete holder[path.at(-1)];
      continue;
    }
    if (raw === '') errors.push({ field: el.name, message: `${label}を入力してください。` });
    else if (!/^\d+$/.test(raw)) errors.push({ field: el.name, message: `${label}は0以上の整数で入力してください。` });
    holder[path.at(-1)] = Number(raw);
  }
  for (const el of form.querySelectorAll('select')) {
    if (!el.value) {
      const label = form.querySelector(`label[for="${el.id}"]`).firstChild.textContent.trim();
      errors.push({ field: el.name, message: `${label}を選んでください。` });
    }
  }
  return { out, errors };
}

function keepDraft() {
  localStorage.setItem(key, JSON.stringify({ version, values: read(), at: new Date().toISOString() }));
}

async function load() {
  me = await signedIn();
  if (!me) return;
  document.getElementById('loading').hidden = true;
  code = me.institutionCode;
  if (!code) return setState('調査には医療機関の利用者が回答します。', 'warning');
  document.querySelector('h1').textContent = periodTitle;
  const input = document.getElementById(picker);
  input.value = period;
  input.max = limits.max;
  input.min = limits.min;
  dayForm.hidden = false;
  // A day (or week) still to come cannot be answered: say so at once,
  // with no form to fill in vain.
  if (period > limits.max) {
    return setState(kind === 'daily'
      ? '未来の日の調査は入力できません。今日までの日を選んでください。'
      : '先の週の調査は入力できません。今週までの週を選んでください。', 'warning');
  }
  key = draftKey(me.userId, kind, code, period);
  let rec;
  try {
    rec = await api('GET', `/surveys/institutions/${code}/${kind}/${period}`);
  } catch (err) {
    if (err.status === 401) return toLogin();
    return setState(err.message, 'warning');
  }
  version = rec.draft ? 0 : rec.version;
  const saved = JSON.parse(localStorage.getItem(key) || 'null');
  if (saved) {
    fill(saved.values);
    version = saved.version;
    setState(`保存していない入力（${formatDateTime(saved.at)}）を復元しました。内容を確認して保存してください。`, 'warning');
  } else {
    // A draft with no earlier survey to copy holds zero values, not
    // answers: the fields start empty so that 必須 catches what is missed.
    fill(rec.draft && !rec.copiedFrom ? {} : rec.values || {});
    if (rec.draft && rec.copiedFrom) {
      setState(`未回答です。${periodName(rec.copiedFrom)}の回答を写しています。今の状況に合わせて確認し、保存してください。`, 'warning');
    } else if (rec.draft) {
      setState('未回答です。', 'warning');
    } else {
      setState(`回答済です（${formatDateTime(rec.updatedAt)} 保存）。変更して保存し直せます。`, 'success');
    }
  }
  form.hidden = false;
}

form.addEventListener('input', () => key && keepDraft());

// A count is retyped, not added to: its content is selected on focus, so
// that typing 120 over a 0 gives 120, not 0120. The click that focused it
// would put the caret back on its mouseup, so that one mouseup is
// cancelled.
let justFocused = null;
form.addEventListener('focusin', (ev) => {
  const el = ev.target;
  if (!el.classList || !el.classList.contains('input-count')) return;
  el.select();
  justFocused = el;
});
form.addEventListener('mouseup', (ev) => {
  if (ev.target === justFocused) ev.preventDefault();
  justFocused = null;
});
form.addEventListener('keydown', () => { justFocused = null; });

dayForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const p = pickerToPeriod(document.getElementById(picker).value);
  if (p) location.assign(`/${kind}?${picker}=${p}`);
});

async function save(asVersion) {
  clearErrors(form);
  setState('保存しています…');
  const { out, errors } = body(read());
  if (errors.length) {
    setState('');
    return showErrors(form, errors);
  }
  const payload = { ...out };
  if (asVersion) payload.version = asVersion;
  try {
    const rec = await api('PUT', `/surveys/institutions/${code}/${kind}/${period}`, payload);
    version = rec.version;
    localStorage.removeItem(key);
    document.querySelector('.conflict')?.remove();
    setState(`保存しました（${formatDateTime(rec.updatedAt)}）。`, 'success');
    state.scrollIntoView({ block: 'center' });
  } catch (err) {
    if (err.status === 401) {
      keepDraft();
      setState('ログインの有効期限が切れました。入力はこのブラウザに残してあります。もう一度ログインしてください。', 'warning');
      return toLogin();
    }
    setState('');
    if (err.status === 409) return conflict(err);
    showErrors(form, err);
  }
}

// conflict explains that someone else saved this day first, and lets the
// user see their values or keep their own.
function conflict(err) {
  document.querySelector('.conflict')?.remove();
  const d = err.detail || {};
  const box = document.createElement('div');
  box.className = 'conflict';
  box.setAttribute('role', 'alert');
  box.tabIndex = -1;
  const p = document.createElement('p');
  p.textContent = d.updatedAt
    ? `この調査は、${formatDateTime(d.updatedAt)} に別の画面または別の方が先に保存しました${savedBy(d) ? `（保存したのは${savedBy(d)}）` : ''}。あなたの入力はまだ保存されていません。`
    : err.message;
  const theirs = document.createElement('button');
  theirs.type = 'button';
  theirs.className = 'button button-secondary';
  theirs.textContent = '保存された内容を表示する';
  theirs.addEventListener('click', () => { localStorage.removeItem(key); location.reload(); });
  const mine = document.createElement('button');
  mine.type = 'button';
  mine.className = 'button button-primary';
  mine.textContent = '自分の入力で上書きする';
  mine.addEventListener('click', () => busy(form, () => save(Number(d.currentVersion))));
  box.append(p, theirs, mine);
  form.prepend(box);
  box.focus();
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  busy(form, () => save(version));
});

load();
}
