import { api, notice, toLogin, roleNames } from '../api.js';
import { showErrors, clearErrors, busy } from '../form.js';
import { whoami, adminRoles, row, headings } from '../manage.js';

const $ = (id) => document.getElementById(id);
const actionNames = { stop: '利用停止', resume: '再開', unlock: 'ロック解除' };
let canManage = false;
let myId = '';
let query = null;

function stateText(u) {
  return [u.status === 'stopped' ? '利用停止中' : '利用中', u.locked ? 'ロック中' : ''].filter(Boolean).join('・');
}

function place(u) {
  return [u.prefectureCode && `都道府県 ${u.prefectureCode}`, u.healthCenterCode && `保健所 ${u.healthCenterCode}`,
    u.institutionCode && `医療機関 ${u.institutionCode}`].filter(Boolean).join(' / ') || '全国';
}

function button(text, cls, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'button button-small ' + cls;
  b.textContent = text;
  b.addEventListener('click', onClick);
  return b;
}

// act runs an action on an account and shows the API's answer.
async function act(u, action, tr) {
  try {
    if (action === 'delete') {
      await api('DELETE', '/admin/users/' + encodeURIComponent(u.userId));
      tr.remove();
      $('results-title').focus(); // the row and its buttons are gone
      notice(`${u.name}（${u.userId}）を削除しました。`, 'success');
      return;
    }
    const after = await api('POST', `/admin/users/${encodeURIComponent(u.userId)}/${action}`);
    notice(`${after.name}（${after.userId}）：${actionNames[action]}しました。状態は「${stateText(after)}」です。`, 'success');
    tr.replaceWith(line(after));
  } catch (err) {
    if (err.status === 401) return toLogin();
    notice(`${u.name}（${u.userId}）：${err.message}`, 'warning');
  }
}

// actions are the buttons of one account; 利用停止 and 削除 ask first, in
// place. The administrator's own account gets none of them: the API
// refuses stopping or deleting oneself.
function actions(u, tr) {
  const box = document.createElement('div');
  box.className = 'actions';
  if (u.userId === myId) {
    box.textContent = 'ご自身のアカウントです';
    return box;
  }
  const normal = () => {
    const list = [];
    if (u.status === 'stopped') list.push(button('再開', 'button-secondary', () => act(u, 'resume', tr)));
    else list.push(button('利用停止', 'button-secondary', () => confirm(`${u.name}（${u.userId}）の利用を停止します。この利用者はログインできなくなります。よろしいですか。`, '利用停止する', 'stop')));
    if (u.locked) list.push(button('ロック解除', 'button-secondary', () => act(u, 'unlock', tr)));
    list.push(button('削除', 'button-danger', () => confirm(`${u.name}（${u.userId}）を削除します。元に戻せません。よろしいですか。`, '削除する', 'delete')));
    box.replaceChildren(...list);
  };
  const confirm = (question, yesText, action) => {
    const q = document.createElement('p');
    q.className = 'confirm';
    q.textContent = question;
    const yes = button(yesText, 'button-danger', () => act(u, action, tr));
    const no = button('やめる', 'button-secondary', () => { normal(); box.querySelector('button')?.focus(); });
    box.replaceChildren(q, yes, no);
    no.focus();
  };
  normal();
  return box;
}

function line(u) {
  const tr = row(document.createElement('tbody'), [u.userId, u.name, roleNames[u.role] || u.role, place(u), stateText(u),
    canManage ? document.createTextNode('') : '—'], headings($('users')));
  if (canManage) tr.lastChild.replaceChildren(actions(u, tr));
  return tr;
}

async function show(cursor) {
  const q = new URLSearchParams({ [query.by]: query.code, limit: '50' });
  if (cursor) q.set('cursor', cursor);
  const page = await api('GET', '/admin/users?' + q);
  const body = $('users');
  body.replaceChildren(...(page.users || []).map(line));
  const none = !page.users || page.users.length === 0;
  $('results').hidden = false;
  $('list').hidden = none;
  $('empty').hidden = !none;
  $('first').hidden = !cursor;
  $('next').hidden = !page.nextCursor;
  $('next').onclick = () => show(page.nextCursor).catch((err) => notice(err.message, 'warning'));
}

async function load() {
  const me = await whoami([...adminRoles, 'institution_manager']);
  if (!me) return;
  canManage = adminRoles.includes(me.role);
  myId = me.userId;
  $('page').hidden = false;
  const by = me.institutionCode ? 'institutionCode' : me.healthCenterCode ? 'healthCenterCode' : 'prefectureCode';
  $('by').value = by;
  $('code').value = me.institutionCode || me.healthCenterCode || me.prefectureCode || '';
  const form = $('filter');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const code = $('code').value.trim();
    if (!/^[0-9]{2,10}$/.test(code)) return showErrors(form, [{ field: 'code', message: 'コードを半角数字で入力してください。' }]);
    clearErrors(form);
    notice('');
    query = { by: $('by').value, code };
    busy(form, async () => {
      try {
        await show('');
      } catch (err) {
        if (err.status === 401) return toLogin();
        if (err.field && err.field !== 'cursor' && err.field !== 'limit') err.field = 'code';
        showErrors(form, err);
      }
    });
  });
  $('first').addEventListener('click', () => show('').catch((err) => notice(err.message, 'warning')));
  if ($('code').value) form.requestSubmit();
}

load();
