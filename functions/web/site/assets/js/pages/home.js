import { api, signedIn, notice, roleNames, formatDate, formatTime, today, isoWeek } from '../api.js';
import { homeSOS } from '../sos.js';
import { showAdminMenu } from '../menu.js';
import { showNotices } from '../notices.js';

const methods = { mail: 'メール', sms: 'SMS', voice: '音声通話', totp: '認証アプリ' };

async function load() {
  const me = await signedIn();
  if (!me) return;
  showNotices(document.getElementById('announcements'));
  if (new URLSearchParams(location.search).has('changed')) notice('パスワードを変更しました。', 'success');
  document.getElementById('loading').hidden = true;
  document.getElementById('me-name').textContent = me.name;
  document.getElementById('me-id').textContent = me.userId;
  document.getElementById('me-role').textContent = roleNames[me.role] || me.role;
  // Names from the masters where the API found them, the code beside.
  const names = me.scopeNames || {};
  const part = (label, code, name) => code && (name ? `${name}（${code}）` : `${label} ${code}`);
  document.getElementById('me-scope').textContent = [
    part('都道府県', me.prefectureCode, names.prefecture),
    part('保健所', me.healthCenterCode, names.healthCenter),
    part('医療機関', me.institutionCode, names.institution),
  ].filter(Boolean).join(' / ') || '全国';
  const f = me.secondFactor || {};
  document.getElementById('me-factor').textContent = `${methods[f.method] || ''} ${f.destination || ''}`.trim();
  document.getElementById('me').hidden = false;
  showAdminMenu(me);
  if (me.institutionCode) showSurveys(me.institutionCode);
  homeSOS(me);
}

async function showSurveys(code) {
  const day = today();
  document.getElementById('today').textContent = formatDate(day + 'T12:00:00+09:00');
  const state = async (path, el) => {
    try {
      const s = await api('GET', path);
      const done = s && !s.draft && s.version > 0;
      el.className = done ? 'state-done' : 'state-todo';
      el.textContent = done ? `回答済（${formatTime(s.updatedAt)}）` : '未回答';
    } catch (err) {
      el.textContent = err.status === 403 ? '—' : err.message;
    }
  };
  document.getElementById('surveys').hidden = false;
  await Promise.all([
    state(`/surveys/institutions/${code}/daily/${day}`, document.getElementById('daily-state')),
    state(`/surveys/institutions/${code}/weekly/${isoWeek(day)}`, document.getElementById('weekly-state')),
  ]);
}

load();
