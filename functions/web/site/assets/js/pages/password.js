import { api, showAccount, toLogin } from '../api.js';
import { showErrors, required, busy } from '../form.js';
import { watch } from '../policy.js';

const form = document.getElementById('password-form');
let me = null;
try {
  me = await api('GET', '/auth/me');
  showAccount(me);
  document.getElementById('first-login').hidden = !me.mustChangePassword;
} catch (err) {
  if (err.status === 401) toLogin();
}
watch(form.elements.new, document.getElementById('new-rules'), () => (me ? me.userId : ''));

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const errors = required(form);
  if (!errors.length && form.elements.new.value !== form.confirm.value) {
    errors.push({ field: 'confirm', message: '確認のために入力したパスワードが一致しません。' });
  }
  if (errors.length) return showErrors(form, errors);
  busy(form, async () => {
    try {
      await api('POST', '/auth/password', { current: form.current.value, new: form.elements.new.value });
      location.assign('/?changed=1');
    } catch (err) {
      if (err.status === 401) return toLogin();
      showErrors(form, err);
    }
  });
});
