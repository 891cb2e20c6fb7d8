import { api, notice } from '../api.js';
import { showErrors, required, busy } from '../form.js';

const methods = { mail: 'メール', sms: 'SMS（ショートメッセージ）', voice: '音声通話', totp: '認証アプリ' };
const challenge = JSON.parse(sessionStorage.getItem('gmis.challenge') || 'null');
if (!challenge) location.replace('/login');

const sentTo = document.getElementById('sent-to');
const resend = document.getElementById('resend-form');
if (challenge) {
  sentTo.textContent = challenge.method === 'totp'
    ? '認証アプリに表示されている6桁のコードを入力してください。'
    : `${methods[challenge.method] || ''}で ${challenge.destination} に確認コードを送りました。`;
  resend.hidden = challenge.method === 'totp';
}

const form = document.getElementById('code-form');
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const missing = required(form);
  if (missing.length) return showErrors(form, missing);
  busy(form, async () => {
    try {
      const code = form.code.value.replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/\s/g, '');
      const me = await api('POST', '/auth/verify', { challengeId: challenge.challengeId, code });
      sessionStorage.removeItem('gmis.challenge');
      location.assign(me.mustChangePassword ? '/password/change?first=1' : challenge.next || '/');
    } catch (err) {
      form.code.value = '';
      showErrors(form, err);
    }
  });
});

resend.addEventListener('submit', (ev) => {
  ev.preventDefault();
  busy(resend, async () => {
    try {
      await api('POST', '/auth/login/resend', { challengeId: challenge.challengeId });
      notice('確認コードをもう一度送りました。', 'success');
    } catch (err) {
      notice(err.message, 'warning');
    }
  });
});
