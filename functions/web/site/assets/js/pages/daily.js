import { formatDate, today } from '../api.js';
import { start } from '../survey.js';

const backfillDays = 90;
const day = (v) => (/^\d{4}-\d{2}-\d{2}$/.test(v || '') ? v : '');
const period = day(new URLSearchParams(location.search).get('date')) || today();
const jstDay = (d) => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Tokyo' }).format(d);

start({
  kind: 'daily',
  formId: 'daily',
  period,
  periodTitle: `日次調査　${formatDate(period + 'T12:00:00+09:00')}`,
  picker: 'date',
  limits: { max: today(), min: jstDay(new Date(Date.now() - backfillDays * 86400000)) },
  pickerToPeriod: day,
  periodName: (p) => formatDate(p + 'T12:00:00+09:00'),
});
