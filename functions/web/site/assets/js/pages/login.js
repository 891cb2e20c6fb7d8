import { api, nextPage, notice, normalizeUserId } from '../api.js';
import { showErrors, required, busy } from '../form.js';
import { showNotices } from '../notices.js';

if (new URLSearchParams(location.search).get('reason') === 'expired') {
  notice('セッションの有効期限が切れたか、ログアウトされました。もう一度ログインしてください。元の画面に戻ります。入力中の内容は、このブラウザに保存されています。', 'warning');
}
showNotices(document.getElementById('announcements'));

const form = document.getElementById('login');
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  form.userId.value = normalizeUserId(form.userId.value);
  const missing = required(form);
  if (missing.length) return showErrors(form, missing);
  busy(form, async () => {
    try {
      const userId = form.userId.value;
      const res = await api('POST', '/auth/login', { userId, password: form.password.value });
      sessionStorage.setItem('gmis.challenge', JSON.stringify({ ...res, userId, next: nextPage() }));
      location.assign('/login/code');
    } catch (err) {
      form.password.value = '';
      showErrors(form, err);
    }
  });
});
