// 印刷用に表示: one request as a clean sheet; the print stylesheet in
// app.css leaves out the site's header, footer and buttons.
import { api, signedIn, notice, formatDateTime } from '../api.js';
import { requestPath, requestView } from '../sos.js';

async function load() {
  const u = await signedIn();
  if (!u) return;
  const q = new URLSearchParams(location.search);
  const id = q.get('id') || '';
  // Reviewers open another institution's request: its code comes along.
  const code = q.get('code') || u.institutionCode;
  document.getElementById('loading').hidden = true;
  if (!id || !code) {
    notice('印刷する緊急配布要請が指定されていません。', 'warning');
    return;
  }
  let r;
  try {
    r = await api('GET', requestPath(code, id));
  } catch (err) {
    notice(err.status === 404 ? 'この緊急配布要請は見つかりません。' : err.message, 'warning');
    return;
  }
  document.getElementById('sheet-title').textContent = r.title;
  document.getElementById('sheet-body').replaceChildren(requestView(r));
  document.getElementById('printed').textContent = `表示日時：${formatDateTime(new Date())}`;
  document.getElementById('back').href = q.get('code')
    ? `/sos-review/detail?code=${encodeURIComponent(code)}&id=${encodeURIComponent(id)}`
    : `/sos-requests/edit?id=${encodeURIComponent(id)}`;
  document.getElementById('sheet').hidden = false;
  document.getElementById('actions').hidden = false;
}

document.getElementById('print').addEventListener('click', () => window.print());
load();
