// お知らせ: the maintenance windows announced by the ministry, current and
// upcoming, from the admin function's public route. Shown on the login
// page and home; nothing is shown when there are none or the route fails.

import { api, formatDate, formatTime } from './api.js';

/** period writes a window as 2026年12月1日（火）22:00 〜 2026年12月2日（水）6:00. */
export function period(start, end) {
  const sameDay = formatDate(start) === formatDate(end);
  return `${formatDate(start)} ${formatTime(start)} 〜 ${sameDay ? '' : formatDate(end) + ' '}${formatTime(end)}`;
}

/** showNotices fills box with the announced windows. */
export async function showNotices(box) {
  if (!box) return;
  let res;
  try {
    res = await api('GET', '/notices/maintenance');
  } catch {
    return;
  }
  const notices = (res && res.notices) || [];
  if (!notices.length) return;
  const section = document.createElement('section');
  section.className = 'announcements';
  section.setAttribute('aria-labelledby', 'announcements-title');
  const h = document.createElement('h2');
  h.id = 'announcements-title';
  h.textContent = 'お知らせ：メンテナンス実施のお知らせ';
  const list = document.createElement('ul');
  for (const n of notices) {
    const li = document.createElement('li');
    const when = document.createElement('p');
    when.className = 'announcement-period';
    if (n.active) {
      const now = document.createElement('strong');
      now.className = 'announcement-now';
      now.textContent = '実施中';
      when.append(now, ' ');
    }
    when.append(period(n.start, n.end));
    li.append(when);
    if (n.message) {
      const msg = document.createElement('p');
      msg.className = 'announcement-message';
      msg.textContent = n.message;
      li.append(msg);
    }
    list.append(li);
  }
  const after = document.createElement('p');
  after.className = 'hint';
  after.textContent = 'メンテナンス中はログインや回答ができません。調査はメンテナンスの後に、その日の分として回答できます。';
  section.append(h, list, after);
  box.replaceChildren(section);
}
