import { api, showAccount, toLogin, notice } from '../api.js';
import { showErrors, required, busy } from '../form.js';
import { encode, svg } from '../qr.js';

const methods = { mail: 'メール', sms: 'SMS', voice: '音声通話', totp: '認証アプリ' };
const form = document.getElementById('factor-form');
const confirmForm = document.getElementById('confirm-form');
let chosen = '';

try {
  const me = await api('GET', '/auth/me');
  if (me.mustChangePassword) location.assign('/password/change?first=1');
  showAccount(me);
  const f = me.secondFactor || {};
  document.getElementById('current-factor').textContent =
    `いまの受け取り方：${methods[f.method] || ''} ${f.destination || ''}`.trim();
  const radio = form.querySelector(`input[value="${f.method}"]`);
  if (radio) radio.checked = true;
} catch (err) {
  if (err.status === 401) toLogin();
}

const update = () => {
  const m = form.querySelector('input[name=method]:checked')?.value;
  document.getElementById('destination-field').hidden = m === 'totp';
  const dest = document.getElementById('destination');
  dest.required = m !== 'totp';
  dest.inputMode = m === 'mail' ? 'email' : 'tel';
};
form.addEventListener('change', update);
update();

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const errors = required(form);
  chosen = form.querySelector('input[name=method]:checked')?.value || '';
  if (!chosen) errors.unshift({ field: 'method', message: '受け取り方を選んでください。' });
  if (errors.length) return showErrors(form, errors);
  busy(form, async () => {
    try {
      if (chosen === 'totp') {
        const res = await api('POST', '/auth/totp/enroll', { currentPassword: form.currentPassword.value });
        document.getElementById('secret').textContent = res.secret.replace(/(.{4})/g, '$1 ').trim();
        const qr = document.getElementById('qr');
        try {
          // Drawn here: the URI holds the secret, so no image service sees it.
          qr.replaceChildren(svg(encode(res.otpauthUri), '認証アプリに登録するQRコード'));
        } catch {
          qr.replaceChildren(); // too long to draw: the key is shown
        }
        document.getElementById('totp-secret').hidden = false;
        document.getElementById('confirm-hint').textContent = '登録したら、認証アプリに表示された6桁のコードを入力してください。';
      } else {
        const res = await api('POST', '/auth/second-factor/change',
          { currentPassword: form.currentPassword.value, method: chosen, destination: form.destination.value.trim() });
        document.getElementById('confirm-hint').textContent = `${methods[chosen]}で ${res.destination} に確認コードを送りました。届いたコードを入力してください。`;
      }
      form.hidden = true;
      confirmForm.hidden = false;
      confirmForm.code.focus();
    } catch (err) {
      if (err.status === 401) return toLogin();
      showErrors(form, err);
    }
  });
});

confirmForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const errors = required(confirmForm);
  if (errors.length) return showErrors(confirmForm, errors);
  busy(confirmForm, async () => {
    try {
      const code = confirmForm.code.value.replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).trim();
      await api('POST', chosen === 'totp' ? '/auth/totp/confirm' : '/auth/second-factor/change/confirm', { code });
      confirmForm.hidden = true;
      notice(`確認コードの受け取り方を${methods[chosen]}に変更しました。次回のログインから使われます。`, 'success');
    } catch (err) {
      if (err.status === 401) return toLogin();
      showErrors(confirmForm, err);
    }
  });
});
