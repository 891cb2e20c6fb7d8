import { api, notice, normalizeUserId } from '../api.js';
import { showErrors, required, busy } from '../form.js';
import { watch } from '../policy.js';

const requestForm = document.getElementById('request-form');
const confirmForm = document.getElementById('confirm-form');
let token = null;

// The token comes in the fragment, which no server sees; it is dropped
// from the address bar and history too. A link opened in a tab already on
// this page changes only the fragment.
function readToken() {
  const t = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!t) return;
  token = t;
  history.replaceState(null, '', location.pathname);
  notice('');
  requestForm.hidden = true;
  confirmForm.hidden = false;
}
confirmForm.hidden = true;
readToken();
addEventListener('hashchange', readToken);
watch(confirmForm.newPassword, document.getElementById('newPassword-rules'));

requestForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  requestForm.userId.value = normalizeUserId(requestForm.userId.value);
  const missing = required(requestForm);
  if (missing.length) return showErrors(requestForm, missing);
  busy(requestForm, async () => {
    try {
      await api('POST', '/auth/password-reset/request', { userId: requestForm.userId.value });
      requestForm.hidden = true;
      notice('登録されている利用者IDであれば、再設定のためのリンクをメールで送りました。メールが届かない場合は、所属の管理者にお問い合わせください。', 'success');
    } catch (err) {
      showErrors(requestForm, err);
    }
  });
});

confirmForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const errors = required(confirmForm);
  if (!errors.length && confirmForm.newPassword.value !== confirmForm.confirm.value) {
    errors.push({ field: 'confirm', message: '確認のために入力したパスワードが一致しません。' });
  }
  if (errors.length) return showErrors(confirmForm, errors);
  busy(confirmForm, async () => {
    try {
      await api('POST', '/auth/password-reset/confirm', { token, newPassword: confirmForm.newPassword.value });
      confirmForm.hidden = true;
      notice('パスワードを設定しました。新しいパスワードでログインしてください。', 'success');
    } catch (err) {
      showErrors(confirmForm, err);
    }
  });
});
