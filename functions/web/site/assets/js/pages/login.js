import { api, nextPage } from '../api.js';
import { showErrors, required, busy } from '../form.js';

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
