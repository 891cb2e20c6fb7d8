// What the administrators' pages (/manage/...) share: the logged-in
// administrator, files sent as jobs, and a job's progress and result.
import { api, ApiError, signedIn, toLogin, notice, formatDateTime } from './api.js';

/** adminRoles are the roles with the administrators' menu. */
export const adminRoles = ['national', 'prefecture_admin', 'health_center_admin'];

/**
 * whoami returns the logged-in user if their role is in roles; otherwise
 * it says why (or goes to the login page) and returns null.
 */
export async function whoami(roles = adminRoles) {
  const me = await signedIn();
  if (!me) return null;
  document.getElementById('loading')?.setAttribute('hidden', '');
  if (!roles.includes(me.role)) {
    notice('このページを利用する権限がありません。', 'warning');
    return null;
  }
  return me;
}

/** directLimit is the largest file sent as the body of POST /admin/jobs. */
const directLimit = 4 << 20;

async function answer(res) {
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 503) notice(err.message + (err.detail.end ? `（終了予定：${formatDateTime(err.detail.end)}）` : ''), 'warning');
    throw err;
  }
  return data;
}

const offline = () => new ApiError(0, { error: { code: 'network', message: '通信できませんでした。ネットワークの接続を確かめて、もう一度お試しください。' } });

/**
 * sendFile starts a job of type (and master kind) over file: a small file
 * as the request's body, a large one uploaded to the bucket first. The
 * form's data-direct-limit, where set, moves the line between the two.
 */
export async function sendFile(form, file, type, kind) {
  const limit = form.dataset.directLimit !== undefined ? Number(form.dataset.directLimit) : directLimit;
  if (file.size <= limit) {
    const q = new URLSearchParams({ type });
    if (kind) q.set('kind', kind);
    let res;
    try {
      res = await fetch('/admin/jobs?' + q, {
        method: 'POST', credentials: 'same-origin', body: file,
        // Windows names CSV files application/vnd.ms-excel: say what it is.
        headers: { Accept: 'application/json', 'Content-Type': 'text/csv' },
      });
    } catch {
      throw offline();
    }
    return answer(res);
  }
  const up = await api('POST', '/admin/uploads');
  if (file.size > up.maxBytes) {
    throw new ApiError(413, { error: { code: 'too_large', field: 'file', message: 'ファイルは100MBまでです。' } });
  }
  let res;
  try {
    res = await fetch(up.url, { method: up.method || 'PUT', headers: up.headers, body: file });
  } catch {
    throw offline();
  }
  if (!res.ok) {
    throw new ApiError(res.status, { error: { field: 'file', message: `ファイルを送れませんでした（${res.status}）。もう一度お試しください。` } });
  }
  return api('POST', '/admin/jobs', { type, kind: kind || '', uploadId: up.uploadId });
}

/** stateNames are the job states in Japanese. */
export const stateNames = { queued: '待機中', validating: '検証中', running: '処理中', done: '完了', failed: '失敗' };

/** kindNames are the job kinds in Japanese. */
export const kindNames = { issuance: 'アカウント一括発行', 'master-import': 'マスタ取込', notify: '通知メール送信', export: 'データ書き出し' };

/** masterNames are the masters in Japanese. */
export const masterNames = { prefectures: '都道府県', 'health-centers': '保健所', institutions: '医療機関（全数）', sentinels: '定点医療機関' };

const num = (n) => Number(n || 0).toLocaleString('ja-JP');

/** progressText says where a job is, in words. */
export function progressText(j) {
  const state = stateNames[j.state] || j.state;
  const unit = j.kind === 'notify' ? '通' : '行';
  const finished = j.state === 'done' || j.state === 'failed';
  if (!j.rowsTotal) return finished ? state : `${state}…`;
  const pct = Math.floor((j.rowsDone / j.rowsTotal) * 100);
  return `${state}：${num(j.rowsDone)} / ${num(j.rowsTotal)} ${unit}（${pct}%）`;
}

/** showProgress draws job j in a progress box (a <progress> and its text). */
export function showProgress(box, j) {
  box.hidden = false;
  const bar = box.querySelector('progress');
  const text = box.querySelector('.progress-text');
  if (j.rowsTotal > 0) {
    bar.max = j.rowsTotal;
    bar.value = j.state === 'done' ? j.rowsTotal : j.rowsDone;
  } else if (j.state === 'done' || j.state === 'failed') {
    bar.max = 1;
    bar.value = j.state === 'done' ? 1 : 0;
  } else {
    bar.removeAttribute('value'); // indeterminate: the rows are not counted yet
  }
  const t = progressText(j);
  if (text.textContent !== t) text.textContent = t;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * watch polls job id until it finishes, calling onUpdate with each answer,
 * and returns the finished job. A dropped network is waited out.
 */
export async function watch(id, onUpdate) {
  let delay = 400;
  let failures = 0;
  for (;;) {
    let j;
    try {
      j = await api('GET', '/admin/jobs/' + encodeURIComponent(id));
      failures = 0;
    } catch (err) {
      if (err.status === 401) {
        toLogin();
        throw err;
      }
      if (err.status !== 0 || ++failures > 20) throw err;
      await sleep(2000);
      continue;
    }
    onUpdate(j);
    if (j.state === 'done' || j.state === 'failed') return j;
    await sleep(delay);
    delay = Math.min(delay * 1.5, 3000);
  }
}

/** splitColumn reads "C列（電話番号）" as ["C", "電話番号"]. */
export function splitColumn(c) {
  const m = /^([A-Z]+)列（(.*)）$/.exec(c || '');
  return m ? [m[1], m[2]] : [c || '', ''];
}

function cell(tr, text, header, label) {
  const td = document.createElement(header ? 'th' : 'td');
  if (header) td.scope = 'row';
  if (label) td.dataset.label = label; // the heading shown beside it on phones
  if (text instanceof Node) td.append(text); else td.textContent = text;
  tr.append(td);
}

/** headings are the column headings of the table tbody belongs to. */
export function headings(tbody) {
  const head = tbody.closest('table')?.tHead;
  return head ? [...head.rows[0].cells].map((c) => c.textContent) : [];
}

/**
 * showProblems fills the error section of a failed job: its message, and
 * the rows at fault (行, 列, 項目, 理由) sorted by row, with the total when
 * more were found than listed.
 */
export function showProblems(section, j) {
  const problems = [...(j.problems || (j.error && j.error.problems) || [])].sort((a, b) => (a.row || 0) - (b.row || 0));
  const total = (j.error && j.error.problemCount) || problems.length;
  section.querySelector('.errors-message').textContent = (j.error && j.error.message) || '処理できませんでした。';
  const count = section.querySelector('.errors-count');
  count.textContent = problems.length === 0 ? '' : total > problems.length
    ? `誤りは全部で ${num(total)} 件あります。最初の ${num(problems.length)} 件を行の順に示します。`
    : `誤りは ${num(total)} 件です。`;
  const body = section.querySelector('tbody');
  body.replaceChildren();
  for (const p of problems) {
    const tr = document.createElement('tr');
    const [col, name] = splitColumn(p.column);
    row(body, [p.row ? String(p.row) : '—', col || '—', name || p.field || '—', p.message || '']);
  }
  section.querySelector('.table-wrap').hidden = problems.length === 0;
  section.hidden = false;
}

/** countsList fills a <dl> with counts named by names, in their order. */
export function countsList(dl, counts, names) {
  dl.replaceChildren();
  for (const [key, label] of Object.entries(names)) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = `${num((counts || {})[key])} 件`;
    dl.append(dt, dd);
  }
}

/** when writes a time as 2026年12月1日（火） 10:42, or — for none. */
export function when(t) {
  return t ? formatDateTime(t) : '—';
}

/**
 * row appends a table row of texts or nodes (the first a row header) to
 * tbody, each cell labelled with its column's heading (labels, by default
 * those of tbody's table).
 */
export function row(tbody, texts, labels = headings(tbody)) {
  const tr = document.createElement('tr');
  texts.forEach((t, i) => cell(tr, t, i === 0 && !(t instanceof Node), labels[i]));
  tbody.append(tr);
  return tr;
}

/**
 * finished follows a job of an upload page (#progress, #errors, #result)
 * to its end: the job when done, or null once a failed job's problems
 * are shown.
 */
export async function finished(id) {
  const $ = (el) => document.getElementById(el);
  $('errors').hidden = true;
  $('result').hidden = true;
  const j = await watch(id, (j) => showProgress($('progress'), j));
  if (j.state === 'failed') {
    showProblems($('errors'), j);
    $('errors').focus();
    return null;
  }
  return j;
}
