// What the hospital search and detail pages show of an institution: its
// category, its accepting status and when it was reported.
import { formatDate, formatTime } from './api.js';

/** lastSearchKey keeps the last search's address, for the way back from a detail. */
export const lastSearchKey = 'gmis.search.last';

export const categories = {
  hospital: '病院',
  clinic: '診療所',
  test_center: '検査センター',
  aggregator: '集約団体',
  veterinary: '動物診療施設',
};

const serviceNames = [['outpatient', '外来'], ['inpatient', '入院'], ['emergency', '救急'], ['surgery', '手術']];
const serviceStates = { normal: '通常', limited: '制限', stopped: '停止' };

/** el makes an element with a class and text. */
export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** dateTime writes a time as 2026年12月1日（火）10:42, in JST. */
export function dateTime(d) {
  return `${formatDate(d)}${formatTime(d)}`;
}

/** day writes a YYYY-MM-DD day as 2026年12月1日（火）. */
export function day(ymd) {
  return formatDate(ymd + 'T12:00:00+09:00');
}

/** reported is when a status was reported, and for which day when that is another one. */
export function reported(s) {
  const sameDay = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Tokyo' }).format(new Date(s.reportedAt)) === s.date;
  return sameDay ? dateTime(s.reportedAt) : `${dateTime(s.reportedAt)}（${day(s.date)}分）`;
}

/** telLink is a tel: link of a phone number, or its text when it has no digits. */
export function telLink(phone) {
  const digits = String(phone || '').replace(/[^0-9+]/g, '');
  if (!digits) return document.createTextNode(phone || '—');
  const a = el('a', 'tel', phone);
  a.href = 'tel:' + digits;
  return a;
}

/**
 * badges are the marks of a result's status: 受入可能, 受入不可, 報告が古い
 * (a stale report never shows as accepting) or 未報告.
 */
export function badges(r) {
  const out = [];
  const s = r.status;
  if (!s) {
    out.push(el('span', 'badge badge-none', '未報告（日次調査の報告がありません）'));
  } else if (r.stale) {
    out.push(el('span', 'badge badge-stale', `報告が古い（最終報告 ${day(s.date)}）`));
  } else if (r.accepting) {
    out.push(el('span', 'badge badge-accepting', `受入可能 ${s.covidAvailable}床`));
  } else {
    out.push(el('span', 'badge badge-full', '受入不可（空床なし）'));
  }
  return out;
}

/** services writes the service statuses as 外来 通常・入院 制限…; 停止 stands out. */
export function services(s) {
  const frag = document.createDocumentFragment();
  serviceNames.forEach(([k, name], i) => {
    if (i > 0) frag.append('・');
    const v = s && s[k];
    const span = el('span', v === 'stopped' ? 'service-stopped' : '', `${name} ${serviceStates[v] || '—'}`);
    frag.append(span);
  });
  return frag;
}

/**
 * statusFacts lists a result's status as dt/dd pairs: available beds,
 * services, PCR, designated clinic, when reported. A stale report keeps
 * its figures but says they are old.
 */
export function statusFacts(r) {
  const s = r.status;
  if (!s) return [['受入状況', '日次調査の報告がありません']];
  const old = r.stale ? '（古い報告）' : '';
  return [
    ['受入可能病床数', `${s.covidAvailable}床${old}`],
    ['診療の状況', services(s.services)],
    ['PCR検査', s.pcrAvailable ? '実施可能' : '実施していない'],
    ['診療・検査医療機関', s.designatedClinic ? '該当' : '該当しない'],
    ['報告日時', reported(s)],
  ];
}

/** facts fills a dl with [term, text or node] pairs. */
export function facts(dl, pairs) {
  for (const [term, value] of pairs) {
    const dd = el('dd');
    dd.append(value);
    dl.append(el('dt', '', term), dd);
  }
  return dl;
}
