import { today, isoWeek } from '../api.js';
import { start } from '../survey.js';

const backfillDays = 90;
const week = (v) => (/^\d{4}-W\d{2}$/.test(v || '') ? v : '');
const period = week(new URLSearchParams(location.search).get('week')) || isoWeek(today());
const jstDay = (d) => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Tokyo' }).format(d);
const name = (w) => `${w.slice(0, 4)}年 第${Number(w.slice(6))}週`;

start({
  kind: 'weekly',
  formId: 'weekly',
  period,
  periodTitle: `週次調査　${name(period)}`,
  picker: 'week',
  limits: { max: isoWeek(today()), min: isoWeek(jstDay(new Date(Date.now() - backfillDays * 86400000))) },
  pickerToPeriod: week,
  periodName: name,
});
