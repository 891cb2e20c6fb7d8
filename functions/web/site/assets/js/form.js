// Errors shown the way the Digital Agency's and GOV.UK's forms show them:
// a summary at the top linking to each field, and the message at the field.

/** clearErrors removes every error shown on form. */
export function clearErrors(form) {
  form.querySelector('.error-summary')?.remove();
  for (const el of form.querySelectorAll('.field-error')) el.remove();
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    const ids = (el.getAttribute('aria-describedby') || '').split(' ').filter((id) => !id.endsWith('-error'));
    if (ids.length) el.setAttribute('aria-describedby', ids.join(' ')); else el.removeAttribute('aria-describedby');
  }
}

/** showErrors shows err (an ApiError, or a list of {field, message}) on form. */
export function showErrors(form, err) {
  clearErrors(form);
  let items = Array.isArray(err) ? err : (err.problems && err.problems.length ? err.problems : [{ field: err.field, message: err.message }]);
  if (!Array.isArray(err) && err.status === 0) items = [{ field: '', message: err.message }];
  const summary = document.createElement('div');
  summary.className = 'error-summary';
  summary.setAttribute('role', 'alert');
  summary.tabIndex = -1;
  const h = document.createElement('h2');
  h.textContent = '入力内容を確認してください';
  const list = document.createElement('ul');
  summary.append(h, list);
  const seen = new Set();
  for (const item of items) {
    const input = item.field ? form.querySelector(`[name="${CSS.escape(item.field)}"]`) : null;
    const li = document.createElement('li');
    if (input) {
      const a = document.createElement('a');
      a.href = '#' + input.id;
      a.textContent = item.message;
      a.addEventListener('click', (ev) => { ev.preventDefault(); input.focus(); });
      li.append(a);
      if (!seen.has(input)) {
        seen.add(input);
        const p = document.createElement('p');
        p.className = 'field-error';
        p.id = input.id + '-error';
        p.textContent = item.message;
        input.after(p);
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), p.id].filter(Boolean).join(' '));
      }
    } else {
      li.textContent = item.message;
    }
    list.append(li);
  }
  if (!Array.isArray(err) && err.requestId && err.status >= 500) {
    const li = document.createElement('li');
    li.textContent = `問い合わせ番号：${err.requestId}`;
    list.append(li);
  }
  form.prepend(summary);
  summary.focus();
}

/** required lists the empty required fields of form as errors. */
export function required(form) {
  const out = [];
  for (const el of form.querySelectorAll('[required]')) {
    if (!el.value.trim()) {
      const label = form.querySelector(`label[for="${el.id}"]`)?.firstChild?.textContent?.trim() || el.name;
      out.push({ field: el.name, message: `${label}を入力してください。` });
    }
  }
  return out;
}

/** busy disables form's buttons while fn runs. */
export async function busy(form, fn) {
  const buttons = form.querySelectorAll('button');
  for (const b of buttons) b.disabled = true;
  try { return await fn(); } finally { for (const b of buttons) b.disabled = false; }
}
