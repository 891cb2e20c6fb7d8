// 病院検索: the search form, kept in the address bar's query so that back,
// forward and reload keep it, and the results of GET /search/hospitals.
import { api, signedIn, toLogin } from '../api.js';
import { showErrors, clearErrors, busy } from '../form.js';
import { el, badges, statusFacts, facts, telLink, categories, lastSearchKey } from '../hospitals.js';

const form = document.getElementById('search-form');
const list = document.getElementById('results');
const count = document.getElementById('count');
const more = document.getElementById('more');
const near = document.getElementById('near');
const nearState = document.getElementById('near-state');
const nearClear = document.getElementById('near-clear');
const flags = ['accepting', 'inpatient', 'emergency', 'pcr', 'designatedClinic'];
const texts = ['prefecture', 'q', 'municipality', 'healthCenter', 'sort', 'near', 'withinKm'];

let me;
let cursor = '';
let shownQuery = new URLSearchParams(); // the search whose results are shown
let shown = 0;
let seq = 0;

/** query is the search the form holds, as the API's parameters. */
function query() {
  const q = new URLSearchParams();
  for (const name of texts) {
    const v = form.elements[name].value.trim();
    if (v) q.set(name, v);
  }
  for (const name of flags) if (form.elements[name].checked) q.set(name, 'true');
  return q;
}

/** fill puts a search (the page's query) into the form. */
function fill(q) {
  form.prefecture.value = q.get('prefecture') || me.prefectureCode || '';
  for (const name of ['q', 'municipality', 'healthCenter', 'near', 'withinKm']) form.elements[name].value = q.get(name) || '';
  form.sort.value = ['beds', 'name', 'distance'].includes(q.get('sort')) ? q.get('sort') : (q.get('near') ? 'distance' : 'beds');
  for (const name of flags) form.elements[name].checked = q.get(name) === 'true';
  if (form.municipality.value || form.healthCenter.value) document.getElementById('more-filters').open = true;
  showNear();
}

function showNear(problem) {
  nearState.className = problem ? 'hint error-text' : 'hint';
  if (problem) nearState.textContent = problem;
  else nearState.textContent = near.value ? '現在地を取得しました。近い順に並べられます。' : '';
  nearClear.hidden = !near.value;
}

/** announce sets the result count, read out by screen readers. */
function announce(text) {
  count.textContent = '';
  // A new text, even the same as before, is announced again.
  requestAnimationFrame(() => { count.textContent = text; });
}

function km(d) {
  return `約${d < 10 ? d.toFixed(1) : Math.round(d)}km`;
}

function item(r) {
  const li = el('li', 'hospital' + (r.stale ? ' hospital-stale' : ''));
  const h = el('h3', 'hospital-name');
  const a = el('a', '', r.name);
  a.href = '/hospitals/detail?code=' + encodeURIComponent(r.code);
  h.append(a);
  li.append(h);
  if (r.kana) li.append(el('p', 'kana', r.kana));
  const b = el('p', 'badges');
  b.append(...badges(r));
  li.append(b);
  const pairs = [];
  if (r.distanceKm != null) pairs.push(['距離', km(r.distanceKm)]);
  else if (r.noLocation) pairs.push(['距離', '位置が登録されていません']);
  pairs.push(['住所', r.address || '—'], ['電話番号', telLink(r.phone)], ['区分', categories[r.category] || r.category || '—']);
  li.append(facts(el('dl', 'facts facts-compact'), [...pairs, ...statusFacts(r)]));
  return li;
}

function prefectureName(code) {
  const o = [...form.prefecture.options].find((x) => x.value === code);
  return o ? o.textContent : '';
}

/** run searches q; with next, the page after the ones shown. */
async function run(q, next = false) {
  const mine = ++seq;
  if (!next) shownQuery = q;
  const params = new URLSearchParams(q);
  if (next) params.set('cursor', cursor);
  if (!next) announce('検索しています…');
  let page;
  more.disabled = true; // one page at a time: a double click must not show one twice
  try {
    page = await busy(form, () => api('GET', `/search/hospitals?${params}`));
  } catch (err) {
    if (mine !== seq) return;
    more.disabled = false;
    if (err.status === 401) return toLogin();
    if (!next) {
      // The results shown were of another search.
      list.replaceChildren();
      more.hidden = true;
    }
    // The position is no field of the form: its problems are the sort's.
    if (err.field === 'near') err.field = form.withinKm.value ? 'withinKm' : 'sort';
    if (err.field === 'cursor') err.field = '';
    showErrors(form, err);
    announce('検索できませんでした。入力内容を確認してください。');
    return;
  }
  if (mine !== seq) return;
  more.disabled = false;
  clearErrors(form);
  if (!next) {
    list.replaceChildren();
    shown = 0;
  }
  const first = list.children.length;
  for (const r of page.results) list.append(item(r));
  shown += page.results.length;
  cursor = page.nextCursor || '';
  more.hidden = !cursor;
  const where = prefectureName(page.prefecture);
  if (shown === 0) announce(`${where}で条件に合う医療機関は見つかりませんでした（該当なし）。条件を変えて検索してください。`);
  else if (page.total != null) announce(`${where}で${page.total}件見つかりました${shown < page.total ? `（${shown}件を表示）` : ''}。`);
  else announce(`${where}の${shown}件を表示しています。${cursor ? '続きは「もっと見る」で表示します。' : ''}`);
  if (next && list.children[first]) list.children[first].querySelector('a').focus();
}

/** check finds what the API would refuse before asking it. */
function check() {
  const out = [];
  if (!form.prefecture.value) out.push({ field: 'prefecture', message: '都道府県を選んでください。' });
  if (form.sort.value === 'distance' && !near.value) {
    out.push({ field: 'sort', message: '近い順に並べるには、「近くを探す」で現在地を取得してください。' });
  }
  if (form.withinKm.value && !near.value) {
    out.push({ field: 'withinKm', message: '範囲で絞り込むには、「近くを探す」で現在地を取得してください。' });
  }
  return out;
}

function search() {
  const problems = check();
  if (problems.length) {
    showErrors(form, problems);
    return;
  }
  const q = query();
  const url = '/hospitals?' + q;
  if (url !== location.pathname + location.search) history.pushState(null, '', url);
  sessionStorage.setItem(lastSearchKey, url);
  run(q);
  // On a phone the results are below the form: bring them into view.
  if (matchMedia('(max-width: 40rem)').matches) document.getElementById('results-title').scrollIntoView();
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  search();
});

// The next page of the results shown, even if the form was changed since.
more.addEventListener('click', () => run(shownQuery, true));

document.getElementById('near-me').addEventListener('click', () => {
  if (!('geolocation' in navigator)) {
    showNear('このブラウザでは現在地を取得できません。市区町村コードなどで絞り込んでください。');
    return;
  }
  nearState.className = 'hint';
  nearState.textContent = '現在地を取得しています…';
  navigator.geolocation.getCurrentPosition((pos) => {
    near.value = `${pos.coords.latitude.toFixed(4)},${pos.coords.longitude.toFixed(4)}`;
    form.sort.value = 'distance';
    showNear();
    search();
  }, (err) => {
    showNear(err.code === 1
      ? '位置情報の利用が許可されていません。ブラウザの設定で許可するか、市区町村コードなどで絞り込んでください。'
      : '現在地を取得できませんでした。しばらくしてからもう一度お試しいただくか、市区町村コードなどで絞り込んでください。');
  }, { timeout: 15000, maximumAge: 300000 });
});

nearClear.addEventListener('click', () => {
  near.value = '';
  form.withinKm.value = '';
  if (form.sort.value === 'distance') form.sort.value = 'beds';
  showNear();
  search();
});

window.addEventListener('popstate', () => {
  const q = new URLSearchParams(location.search);
  fill(q);
  clearErrors(form);
  if (form.prefecture.value) run(query());
});

async function load() {
  me = await signedIn();
  if (!me) return;
  fill(new URLSearchParams(location.search));
  if (!form.prefecture.value) {
    announce('都道府県を選んで検索してください。');
    return;
  }
  sessionStorage.setItem(lastSearchKey, location.pathname + location.search);
  run(query());
}

load();
