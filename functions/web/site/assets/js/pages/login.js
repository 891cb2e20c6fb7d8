import { api, nextPage, notice } from '../api.js';
import { showErrors, required, busy } from '../form.js';
import { showNotices } from '../notices.js';

if (new URLSearchParams(location.search).get('reason') === 'expired') {
  notice('一定時間操作がなかったため、ログアウトしました。もう一度ログインすると、元の画面に戻ります。入力中の内容は、このブラウザに保存されています。', 'warning');
}
showNotices(document.getElementById('announcements'));

const form = document.getElementById('login');
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const missing = required(form);
  if (missing.length) return showErrors(form, missing);
  busy(form, async () => {
    try {
      const userId = form.userId.value.trim();
      const res = await api('POST', '/auth/login', { userId, password: form.password.value });
      sessionStorage.setItem('gmis.challenge', JSON.stringify({ ...res, userId, next: nextPage() }));
      location.assign('/login/code');
    } catch (err) {
      form.password.value = '';
      showErrors(form, err);
    }
  });
});
