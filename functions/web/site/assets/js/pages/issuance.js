import { api, notice, toLogin } from '../api.js';
import { showErrors, clearErrors, busy, required } from '../form.js';
import { whoami, sendFile, watch, showProgress, finished, countsList } from '../manage.js';

const $ = (id) => document.getElementById(id);
const resultNames = { created: '作成したアカウント', alreadyRegistered: '登録済みのため作成しなかった行' };
const notifyNames = { sent: '送信した', alreadySent: '送信済みのため送らなかった', failed: '送れなかった', unconfirmed: '送信を確かめられなかった' };

// The page's address names the job shown, so a reload or a link from the
// job list comes back to it.
function remember(params) {
  const q = new URLSearchParams(params);
  history.replaceState(null, '', '/manage/issuance?' + q);
}

async function follow(id) {
  const j = await finished(id);
  if (!j) return;
  countsList($('result-counts'), j.counts, resultNames);
  // A cumulative form sent again: its people already registered, by row.
  const registered = j.registered || [];
  $('registered-list').replaceChildren(...registered.map((p) => {
    const li = document.createElement('li');
    li.textContent = `${p.row}行目：${p.message}`;
    return li;
  }));
  $('registered').hidden = registered.length === 0;
  $('download').href = j.files && j.files.accounts ? j.files.accounts : `/admin/jobs/${j.id}/accounts.csv`;
  $('download').dataset.job = j.id;
  $('result').hidden = false;
  $('result').focus();
}

async function followNotify(id) {
  const box = $('notify-progress');
  const j = await watch(id, (j) => showProgress(box, j));
  const counts = $('notify-counts');
  countsList(counts, j.counts, notifyNames);
  counts.hidden = false;
  if (j.state === 'failed') notice((j.error && j.error.message) || '通知メールを送れませんでした。', 'warning');
  else notice(`通知メールの送信が終わりました（送信 ${(j.counts && j.counts.sent) || 0} 件）。`, 'success');
}

async function load() {
  const me = await whoami();
  if (!me) return;
  $('page').hidden = false;
  const form = $('upload');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const missing = required(form);
    if (missing.length) return showErrors(form, [{ field: 'file', message: 'CSVファイルを選んでください。' }]);
    clearErrors(form);
    notice('');
    busy(form, async () => {
      try {
        const started = await sendFile(form, $('file').files[0], 'issuance');
        remember({ job: started.jobId });
        $('notify-counts').hidden = true;
        $('notify-progress').hidden = true;
        await follow(started.jobId);
      } catch (err) {
        if (err.status === 401) return toLogin();
        showErrors(form, err);
      }
    });
  });
  $('notify').addEventListener('click', async () => {
    const issuance = $('download').dataset.job;
    const button = $('notify');
    button.disabled = true;
    try {
      const started = await api('POST', '/admin/jobs', { type: 'notify', issuance });
      remember({ job: issuance, notify: started.jobId });
      await followNotify(started.jobId);
    } catch (err) {
      notice(err.message, 'warning');
    } finally {
      button.disabled = false;
    }
  });
  const q = new URLSearchParams(location.search);
  try {
    if (q.get('job')) await follow(q.get('job'));
    if (q.get('notify')) await followNotify(q.get('notify'));
  } catch (err) {
    notice(err.message, 'warning');
  }
}

load();
