// 緊急配布要請の確認（詳細）: one request with its institution's latest
// surveys; the prefecture records 都道府県確認済, the nation 受付完了.
import { api, signedIn, notice, formatDateTime } from '../api.js';
import { showErrors, busy } from '../form.js';
import { requestPath, statusBadge, dayName, factsOf, when, itemsList, problemsList, prefectureName, editedAfterClose } from '../sos.js';

const q = new URLSearchParams(location.search);
const code = q.get('code') || '';
const id = q.get('id') || '';
const confirmForm = document.getElementById('confirm-form');
const acceptForm = document.getElementById('accept-form');
let user;
let req;
let extra = {};

function render(r) {
  req = r;
  document.getElementById('loading').hidden = true;
  document.getElementById('summary').hidden = false;
  document.getElementById('summary-title').textContent = r.title;
  const status = document.createElement('span');
  status.append(statusBadge(r, true));
  if (editedAfterClose(r)) {
    const mark = document.createElement('span');
    mark.className = 'mark-late';
    mark.textContent = '締切後に変更あり';
    status.append(' ', mark);
  }
  const who = extra.applicant || {};
  const applicant = who.name ? `${who.name}（${who.userId}）` : (who.userId || r.appliedBy || r.createdBy);
  document.getElementById('summary-body').replaceChildren(factsOf([
    ['医療機関名', r.institutionName],
    ['医療機関コード', r.institutionCode],
    ['都道府県', prefectureName(r.prefectureCode)],
    ['対応ステータス', status],
    ['申請日時', when(r.appliedAt)],
    ['対象営業日', r.businessDay ? `${dayName(r.businessDay)} 13:00締切分` : '—'],
    ['申請者', applicant],
    ['電話番号', (extra.institution && extra.institution.phone) || '（登録なし）'],
    ['システムチェック', r.checkedAt ? `${formatDateTime(r.checkedAt)}（日次調査 ${r.checkedDaily || 'なし'}、週次調査 ${r.checkedWeekly || 'なし'}）` : '—'],
    ['最終更新', `${when(r.updatedAt)}（${r.updatedBy}）`],
    ['都道府県確認', r.prefectureConfirmedAt ? `確認済 ${formatDateTime(r.prefectureConfirmedAt)}（${r.prefectureConfirmedBy}）` : '未確認'],
    ['都道府県のメモ', r.prefectureNote],
    ['受付完了', r.acceptedAt ? `${formatDateTime(r.acceptedAt)}（${r.acceptedBy}）` : ''],
    ['受付時のメモ', r.acceptedNote],
  ]));
  document.getElementById('print-link').href = `/sos-requests/print?code=${encodeURIComponent(r.institutionCode)}&id=${encodeURIComponent(r.id)}`;
  document.getElementById('contents').hidden = false;
  const contents = [factsOf([
    ['緊急配布条件（全体）', r.confirmedGeneral ? '満たしていることを確認した' : '未確認'],
    ['緊急配布条件（N95マスク）', r.confirmedN95 ? '満たしていることを確認した' : '—'],
    ['要請する物資', itemsList(r)],
    ['コメント', r.comment || '（なし）'],
  ])];
  if (r.problems && r.problems.length) contents.push(problemsList(r));
  document.getElementById('contents-body').replaceChildren(...contents);
  showHistory(r.history || []);
  // Only what the role may do is offered; the API decides all the same.
  const open = r.status === 'under_review';
  confirmForm.hidden = !(open && user.role === 'prefecture_admin' && !r.prefectureConfirmedAt);
  acceptForm.hidden = !(open && user.role === 'national');
  document.getElementById('back').href = r.businessDay
    ? `/sos-review?day=${r.businessDay}` + (user.role === 'national' ? `&prefectureCode=${r.prefectureCode}` : '')
    : '/sos-review';
}

const actions = { created: '作成', updated: '変更', applied: 'システムチェック&申請', prefecture_confirmed: '都道府県確認', accepted: '受付完了' };
const statusNames = { draft: '未申請', error: 'エラー有り', under_review: '都道府県・国確認中', accepted: '受付完了' };

// showHistory lists every step: who, when, what, the status it left, and
// whether the institution changed the request after its window closed.
function showHistory(history) {
  const rows = document.getElementById('history-rows');
  rows.replaceChildren();
  for (const c of history) {
    const tr = document.createElement('tr');
    for (const [label, text] of [['日時', formatDateTime(c.at)], ['操作', actions[c.action] || c.action], ['利用者', c.by],
      ['対応ステータス', statusNames[c.status] || c.status], ['締切後', c.afterClose ? '締切後の変更' : '']]) {
      const td = document.createElement('td');
      td.dataset.label = label;
      td.textContent = text;
      if (c.afterClose && label === '締切後') td.className = 'mark-late-cell';
      tr.append(td);
    }
    rows.append(tr);
  }
  document.getElementById('history').hidden = history.length === 0;
}

function fillSurvey(kind, rec) {
  const table = document.getElementById(kind + '-title').nextElementSibling;
  document.getElementById(kind + '-period').textContent = rec
    ? `（${kind === 'daily' ? dayName(rec.period) : rec.period}、${formatDateTime(rec.updatedAt)} 更新）`
    : '（回答なし）';
  for (const tr of table.querySelectorAll('tr[data-path]')) {
    const v = rec ? tr.dataset.path.split('.').reduce((o, p) => (o == null ? undefined : o[p]), rec.values) : undefined;
    let text = '—';
    if (typeof v === 'boolean') text = v ? 'はい' : 'いいえ';
    else if (typeof v === 'number') text = v.toLocaleString('ja-JP');
    else if (typeof v === 'string' && v) text = tr.querySelector(`data[value="${CSS.escape(v)}"]`)?.textContent || v;
    tr.querySelector('.figure').textContent = text;
  }
}

function surveys(st) {
  document.getElementById('surveys').hidden = false;
  fillSurvey('daily', st && st.daily);
  fillSurvey('weekly', st && st.weekly);
  if (!st || (!st.daily && !st.weekly)) document.getElementById('surveys-state').textContent = 'この医療機関の調査の回答はありません。';
}

function step(form, action, done) {
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      const note = form.elements.note.value;
      if ([...note].length > 1000) {
        showErrors(form, [{ field: 'note', message: 'メモは1000文字以内で入力してください。' }]);
        return;
      }
      try {
        await api('POST', requestPath(code, id, action), { version: req.version, note });
        form.querySelector('.error-summary')?.remove();
        await reload();
        notice(done, 'success');
      } catch (err) {
        showErrors(form, err);
      }
    });
  });
}

// reload reads the request as a reviewer sees it: with its history, the
// institution's phone, the applicant and the latest surveys.
async function reload() {
  const d = await api('GET', `/sos/review/institutions/${encodeURIComponent(code)}/requests/${encodeURIComponent(id)}`);
  extra = d;
  render(d.request);
  surveys(d.latestSurveys);
}

async function load() {
  user = await signedIn();
  if (!user) return;
  if (!code || !id) {
    document.getElementById('loading').hidden = true;
    notice('確認する緊急配布要請が指定されていません。', 'warning');
    return;
  }
  try {
    await reload();
  } catch (err) {
    document.getElementById('loading').hidden = true;
    notice(err.status === 404 ? 'この緊急配布要請は見つかりません。' : err.message, 'warning');
  }
}

step(confirmForm, 'confirm', '都道府県確認済にしました。');
step(acceptForm, 'accept', '受付完了にしました。医療機関にメールでお知らせしました。');
load();
