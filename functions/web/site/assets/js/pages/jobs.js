import { api, notice, toLogin } from '../api.js';
import { whoami, kindNames, masterNames, stateNames, progressText, when, row } from '../manage.js';

const $ = (id) => document.getElementById(id);

// link is where a job's progress and result are shown.
function link(j, name) {
  const p = j.params || {};
  let href = '';
  if (j.kind === 'issuance') href = '/manage/issuance?job=' + encodeURIComponent(j.id);
  else if (j.kind === 'master-import') href = '/manage/masters?job=' + encodeURIComponent(j.id);
  else if (j.kind === 'notify' && p.issuance) href = '/manage/issuance?' + new URLSearchParams({ job: p.issuance, notify: j.id });
  if (!href) return '—';
  const a = document.createElement('a');
  a.href = href;
  a.textContent = '結果を見る';
  const which = document.createElement('span');
  which.className = 'visually-hidden';
  which.textContent = `（${name}、${when(j.createdAt)}）`;
  a.append(which);
  return a;
}

async function show(cursor) {
  const q = new URLSearchParams({ limit: '20' });
  if (cursor) q.set('cursor', cursor);
  let page;
  try {
    page = await api('GET', '/admin/jobs?' + q);
  } catch (err) {
    if (err.status === 401) return toLogin();
    return notice(err.message, 'warning');
  }
  const body = $('jobs');
  body.replaceChildren();
  for (const j of page.jobs || []) {
    const kind = (kindNames[j.kind] || j.kind) + (j.kind === 'master-import' && j.params ? `（${masterNames[j.params.kind] || j.params.kind}）` : '');
    row(body, [when(j.createdAt), kind, stateNames[j.state] || j.state, progressText(j), link(j, kind)]);
  }
  const none = !page.jobs || page.jobs.length === 0;
  $('list').hidden = none;
  $('empty').hidden = !none || !!cursor;
  $('first').hidden = !cursor;
  $('next').hidden = !page.nextCursor;
  $('next').onclick = () => show(page.nextCursor);
}

async function load() {
  const me = await whoami();
  if (!me) return;
  $('page').hidden = false;
  $('first').addEventListener('click', () => show(''));
  await show('');
}

load();
