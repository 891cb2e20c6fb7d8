import { notice, toLogin } from '../api.js';
import { showErrors, clearErrors, busy, required } from '../form.js';
import { whoami, sendFile, finished, countsList, masterNames } from '../manage.js';

const $ = (id) => document.getElementById(id);
const countNames = { created: '新規', updated: '更新', unchanged: '変更なし', rejected: '除外' };

async function follow(id) {
  const j = await finished(id);
  if (!j) return;
  $('result-kind').textContent = masterNames[(j.params || {}).kind] || '';
  countsList($('result-counts'), j.counts, countNames);
  const file = j.files && j.files.rejections;
  $('rejections').hidden = !file;
  if (file) $('rejections-link').href = file;
  $('result').hidden = false;
  $('result').focus();
}

async function load() {
  const me = await whoami();
  if (!me) return;
  $('page').hidden = false;
  const form = $('upload');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const missing = required(form).map((m) => (m.field === 'file' ? { field: 'file', message: 'CSVファイルを選んでください。' } : { field: m.field, message: 'マスタの種類を選んでください。' }));
    if (missing.length) return showErrors(form, missing);
    clearErrors(form);
    notice('');
    busy(form, async () => {
      try {
        const started = await sendFile(form, $('file').files[0], 'master-import', $('kind').value);
        history.replaceState(null, '', '/manage/masters?job=' + encodeURIComponent(started.jobId));
        await follow(started.jobId);
      } catch (err) {
        if (err.status === 401) return toLogin();
        showErrors(form, err);
      }
    });
  });
  const id = new URLSearchParams(location.search).get('job');
  if (id) {
    try {
      await follow(id);
    } catch (err) {
      notice(err.message, 'warning');
    }
  }
}

load();
