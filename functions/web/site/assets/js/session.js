// The warning before a session ends for lack of activity, and what
// happens when it ends: the user goes to the login page, to come back to
// this page (and its draft, kept in the browser) after logging in.
//
// The end is the server's: /auth/me tells it exactly. Between two such
// answers, any answered request moves it, but the server writes its idle
// clock down only every touchEverySeconds, so after a request at t the
// session lasts at least until t + idle − touchEvery: the page counts on
// that much, never more, and never past the absolute end.

import { api, clock, toLogin, formatTime } from './api.js';

const LEAD_MAX = 5 * 60 * 1000; // warn this long before the end at most
const SHARED = 'gmis.session.end'; // the end as the last active tab knew it

const state = { end: 0, absolute: 0, idle: 0, touchEvery: 0, timer: 0, checking: false, retryAt: 0, box: null, before: null };

// local converts a time of the server's clock to this browser's.
const local = (iso) => Date.parse(iso) - clock.skew;

/** lead is how long before the end the warning shows: 5 minutes, less for short sessions. */
function lead() {
  return Math.min(LEAD_MAX, state.idle / 4);
}

/** watchSession starts (or corrects) the countdown from /auth/me's session. */
export function watchSession(s) {
  if (!s || !s.expiresAt) return;
  state.end = local(s.expiresAt);
  state.absolute = local(s.absoluteExpiresAt || s.expiresAt);
  state.idle = (s.idleTimeoutSeconds || 0) * 1000;
  state.touchEvery = (s.touchEverySeconds || 0) * 1000;
  share();
  if (!state.timer) {
    state.timer = setInterval(tick, 1000);
    document.addEventListener('gmis:activity', activity);
    window.addEventListener('storage', (ev) => {
      if (ev.key === SHARED && Number(ev.newValue) > state.end) {
        state.end = Math.min(Number(ev.newValue), state.absolute);
        tick();
      }
    });
  }
  tick();
}

// activity moves the end after an answered request, by as much as the
// server surely moved it.
function activity() {
  if (!state.idle) return;
  const sure = Date.now() + state.idle - state.touchEvery;
  if (sure > state.end) {
    state.end = Math.min(sure, state.absolute);
    share();
  }
  tick();
}

// share tells the other tabs of this site: activity in one keeps them all.
function share() {
  try { localStorage.setItem(SHARED, String(state.end)); } catch { /* storage full or denied: each tab on its own */ }
}

function tick() {
  const left = state.end - Date.now();
  if (left <= 0) return Date.now() >= state.retryAt ? ended() : undefined;
  if (left <= lead()) warn(); else hideWarning();
}

// ended asks the server before leaving: another tab may have kept the
// session alive, or the count was cautious.
async function ended() {
  if (state.checking) return;
  state.checking = true;
  try {
    const me = await api('GET', '/auth/me');
    watchSession(me.session);
  } catch (err) {
    if (err.status === 401) {
      clearInterval(state.timer);
      toLogin('expired');
    } else {
      // Offline or a server error: ask again in half a minute, not at
      // every tick.
      state.retryAt = Date.now() + 30_000;
    }
  } finally {
    state.checking = false;
  }
}

function warn() {
  if (state.box && !state.box.hidden) return;
  if (!state.box) {
    const box = document.createElement('section');
    box.id = 'session-warning';
    box.className = 'session-warning';
    box.setAttribute('role', 'alertdialog');
    box.setAttribute('aria-labelledby', 'session-warning-title');
    box.setAttribute('aria-describedby', 'session-warning-text');
    box.tabIndex = -1;
    const inner = document.createElement('div');
    inner.className = 'wrap';
    const h = document.createElement('h2');
    h.id = 'session-warning-title';
    h.textContent = 'まもなく自動的にログアウトします';
    const p = document.createElement('p');
    p.id = 'session-warning-text';
    const button = document.createElement('button');
    button.type = 'button';
    button.id = 'session-continue';
    button.className = 'button button-primary';
    button.textContent = 'ログインを続ける';
    button.addEventListener('click', keep);
    inner.append(h, p, button);
    box.append(inner);
    document.querySelector('.site-header')?.after(box);
    state.box = box;
  }
  // At the absolute end no activity helps: say so, and offer nothing.
  const last = state.end >= state.absolute;
  const at = formatTime(state.end + clock.skew);
  document.getElementById('session-warning-text').textContent = last
    ? `ログインできる時間の上限のため、${at} にログアウトします。入力中の内容は、このブラウザに保存されています。`
    : `操作がないまま ${at} になると、ログアウトします。入力中の内容は、このブラウザに保存されています。`;
  const button = document.getElementById('session-continue');
  button.hidden = last;
  state.before = document.activeElement;
  state.box.hidden = false;
  (last ? state.box : button).focus();
}

function hideWarning() {
  if (!state.box || state.box.hidden) return;
  const hadFocus = state.box.contains(document.activeElement);
  state.box.hidden = true;
  if (hadFocus && state.before && document.contains(state.before)) state.before.focus();
}

// keep is 「ログインを続ける」: a request the server counts as activity,
// whose answer tells the new end.
async function keep() {
  const button = document.getElementById('session-continue');
  button.disabled = true;
  try {
    const me = await api('GET', '/auth/me');
    watchSession(me.session);
  } catch (err) {
    if (err.status === 401) toLogin('expired');
  } finally {
    button.disabled = false;
  }
}
