// 医療機関の詳細: GET /search/hospitals/{code} — the master fields, the
// accepting status, its last 7 days and, where the API gives it, the whole
// latest daily survey.
import { api, signedIn, toLogin } from '../api.js';
import { el, badges, statusFacts, facts, telLink, categories, day, lastSearchKey } from '../hospitals.js';

const code = new URLSearchParams(location.search).get('code') || '';
const text = (id, v) => { document.getElementById(id).textContent = v == null || v === '' ? '—' : String(v); };

function problem(message) {
  document.getElementById('loading').hidden = true;
  const p = document.getElementById('problem');
  p.textContent = message;
  p.hidden = false;
}

function show(d) {
  document.title = `${d.name} | ${document.title}`;
  text('h-name', d.name);
  text('h-kana', d.kana);
  document.getElementById('h-badges').append(...badges(d));
  text('h-code', d.code);
  text('h-category', categories[d.category] || d.category);
  text('h-address', d.address);
  document.getElementById('h-phone').append(telLink(d.phone));
  text('h-municipality', d.municipalityCode);
  text('h-healthCenter', d.healthCenterCode);
  text('h-location', d.latitude != null && d.longitude != null ? `${d.latitude}, ${d.longitude}` : '登録されていません');
  facts(document.getElementById('h-status'), statusFacts(d));
  const rows = document.getElementById('h-days');
  for (const x of d.days || []) {
    const tr = el('tr');
    const th = el('th', '', day(x.date));
    th.scope = 'row';
    tr.append(th,
      el('td', x.accepting ? 'state-done' : '', x.reported ? (x.accepting ? '受入可能' : '受入不可') : '未報告'),
      el('td', 'num', x.reported ? `${x.covidAvailable}床` : '—'));
    rows.append(tr);
  }
  if (d.survey) showSurvey(d.survey, d.status);
  document.getElementById('loading').hidden = true;
  document.getElementById('hospital').hidden = false;
}

// showSurvey fills the figures the page lists (the daily survey's fields,
// rendered from the same form definition as the survey page).
function showSurvey(values, status) {
  for (const dd of document.querySelectorAll('#survey dd[data-path]')) {
    const v = dd.dataset.path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), values);
    if (dd.dataset.kind === 'flag') dd.textContent = v ? 'はい' : 'いいえ';
    else if (dd.dataset.kind === 'choice') {
      const labels = Object.fromEntries((dd.dataset.choices || '').split(';').filter(Boolean).map((c) => c.split('=')));
      dd.textContent = labels[v] || v || '—';
    } else dd.textContent = v == null ? '—' : String(v);
  }
  text('survey-date', status ? day(status.date) : '');
  document.getElementById('survey').hidden = false;
}

async function load() {
  const back = sessionStorage.getItem(lastSearchKey);
  if (back && back.startsWith('/hospitals?')) document.getElementById('back').href = back;
  if (!(await signedIn(problem))) return;
  if (!/^[0-9]{10}$/.test(code)) return problem('医療機関コード（半角数字10桁）が指定されていません。検索結果から医療機関を選んでください。');
  try {
    show(await api('GET', `/search/hospitals/${code}`));
  } catch (err) {
    if (err.status === 401) return toLogin();
    if (err.status === 404) return problem('指定された医療機関は見つかりませんでした。');
    problem(err.message);
  }
}

load();
