// This month's figures (and per street and community), and the CSV export.
import { GD, $ } from '../common.js';
import { S, roster } from './state.js';
import { areas } from './areas.js';
import { authFailed } from './auth.js';

function pct(x) { return x === null || x === undefined ? '–' : (Math.round(x * 1000) / 10) + '%'; }
function dur(d) {
  if (!d || !d.count) return '–';
  var f = function (s) { return s === null || s === undefined ? '–' : GD.fmtDuration(s * 1000); };
  return f(d.median_s) + ' / ' + f(d.p90_s);
}
function counts(obj, prefix) {
  var keys = Object.keys(obj || {});
  if (!keys.length) return GD.t('stats.none');
  return keys.map(function (k) { return GD.t(prefix + k) + ' ' + obj[k]; }).join(GD.t('gap'));
}
function figure(label, value, cls) {
  return GD.el('div', { class: 'fig ' + (cls || '') }, [GD.el('div', { class: 'fig-v', text: value }), GD.el('div', { class: 'fig-l', text: label })]);
}
/** YYYY-MM-DD of a time, Beijing time. */
function day(t) { return GD.fmtDateTime(t).slice(0, 10); }
/** The range shown: the first of this month to today unless the operator picked one. */
var range = null;
function thisMonth() { var today = day(new Date()); return { from: today.slice(0, 8) + '01', to: today }; }

export function openStats() {
  $('#stats').hidden = false;
  if (!range) range = thisMonth();
  $('#stats-from').value = range.from;
  $('#stats-to').value = range.to;
  loadStats();
  $('#stats-close').focus();
}
function loadStats() {
  $('#stats-body').replaceChildren(GD.el('p', { class: 'meta', text: GD.t('stats.loading') }));
  $('#stats-range').textContent = '';
  var q = '?from=' + encodeURIComponent(range.from) + '&to=' + encodeURIComponent(range.to);
  GD.api('GET', '/api/v1/command/stats' + q, { token: S.token }).then(function (r) {
    if (r.status === 401) { authFailed(); return; }
    if (!r.ok) { $('#stats-body').replaceChildren(GD.el('p', { text: GD.t('p.failed', { msg: r.message }) })); return; }
    var st = r.body;
    $('#stats-range').textContent = GD.t('stats.range', { from: st.from, to: st.to });
    document.querySelectorAll('.stats-download').forEach(function (b) {
      b.dataset.range = 'from=' + encodeURIComponent(st.from) + '&to=' + encodeURIComponent(st.to);
    });
    $('#stats-body').replaceChildren(
      GD.el('div', { class: 'figs' }, [
        figure(GD.t('stats.total'), String(st.total)),
        figure(GD.t('stats.success'), pct(st.mediation_success_rate), 'good'),
        figure(GD.t('stats.on_time'), pct(st.on_time_rate)),
        figure(GD.t('stats.escalation'), pct(st.escalation_rate), 'warn'),
        figure(GD.t('stats.rating'), st.average_rating === null || st.average_rating === undefined ? '–'
          : GD.t('stats.rating_v', { v: (Math.round(st.average_rating * 10) / 10), n: st.ratings }))
      ]),
      GD.el('dl', { class: 'stat-list' }, [
        GD.el('dt', { text: GD.t('stats.claim') }), GD.el('dd', { text: dur(st.time_to_claim) }),
        GD.el('dt', { text: GD.t('stats.arrive') }), GD.el('dd', { text: dur(st.time_to_arrive) }),
        GD.el('dt', { text: GD.t('stats.resolve') }), GD.el('dd', { text: dur(st.time_to_resolve) }),
        GD.el('dt', { text: GD.t('stats.performance') }), GD.el('dd', { text: GD.t('stats.performance_v',
          { rate: pct(st.performance_rate), p: st.agreements_performed || 0, f: st.agreements_followed_up || 0, a: st.agreements || 0 }) }),
        GD.el('dt', { text: GD.t('stats.confirmed') }), GD.el('dd', { text: GD.t('stats.confirmed_v', { n: st.judicially_confirmed || 0 }) }),
        GD.el('dt', { text: GD.t('stats.by_risk') }), GD.el('dd', { text: counts(st.by_risk, 'risk.') }),
        GD.el('dt', { text: GD.t('stats.by_status') }), GD.el('dd', { text: counts(st.by_status, 'status.') }),
        GD.el('dt', { text: GD.t('stats.by_category') }), GD.el('dd', { text: counts(st.by_category, 'cat.') }),
        GD.el('dt', { text: GD.t('stats.mediators') }), GD.el('dd', {}, (st.mediators || []).slice(0, 8).map(function (m) {
          // Who exactly: two mediators may share a name, so the phone tail and home area go with it.
          var who = roster.get(m.mediator_id);
          var id = who ? '（' + GD.t('r.tail', { tail: who.phone_tail }) + (who.area ? ' · ' + GD.areaName(who.area) : '') + '）' : '';
          return GD.el('div', { class: 'med-row', dataset: { id: m.mediator_id },
            text: (m.name || m.mediator_id) + id + GD.t('colon') + GD.t('stats.med_row', { c: m.claimed, r: m.resolved, m: m.mediated }) });
        }).concat((st.mediators || []).length ? [] : [GD.t('stats.none')]))
      ]));
    var table = areas.size ? areaTable(st) : null;
    if (table) table.forEach(function (el) { $('#stats-body').appendChild(el); });
  });
}
export function closeStats() { $('#stats').hidden = true; $('#stats-open').focus(); }
$('#stats-open').addEventListener('click', openStats);
$('#stats-range-form').addEventListener('submit', function (e) {
  e.preventDefault();
  var from = $('#stats-from').value, to = $('#stats-to').value;
  if (!from || !to) return;
  if (from > to) { GD.toast(GD.t('stats.bad_range'), 'error'); return; }
  range = { from: from, to: to };
  loadStats();
});
$('#stats-month').addEventListener('click', function () { range = thisMonth(); openStats(); });
$('#stats-today').addEventListener('click', function () { var t = day(new Date()); range = { from: t, to: t }; openStats(); });
$('#stats-close').addEventListener('click', closeStats);
$('#stats').addEventListener('click', function (e) { if (e.target === $('#stats')) closeStats(); });
// A plain link cannot carry the bearer token: fetch the file (the statistics' CSV, the 以案定补
// subsidy report's CSV or PDF for the same range) and hand it over as a download.
function download(e) {
  var b = e.currentTarget;
  var q = b.dataset.range ? '?' + b.dataset.range : '';
  b.disabled = true;
  fetch(b.dataset.path + q, { headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store' }).then(function (r) {
    if (!r.ok) throw new Error(r.status + ' ' + r.statusText);
    var cd = r.headers.get('content-disposition') || '';
    var m = /filename="?([^";]+)"?/.exec(cd);
    var file = m ? m[1] : b.dataset.path.split('/').pop();
    return r.blob().then(function (blob) {
      var url = URL.createObjectURL(blob);
      var a = GD.el('a', { href: url, download: file, class: 'sr-only' });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      GD.toast(GD.t('stats.downloaded', { f: file }), 'ok');
    });
  }).catch(function (err) {
    GD.toast(GD.t('err.generic', { msg: err.message || GD.t('err.network') }), 'error');
  }).then(function () { b.disabled = false; });
}
document.querySelectorAll('.stats-download').forEach(function (b) { b.addEventListener('click', download); });


function areaTable(st) {
  var rows = (st.by_area || []).filter(function (a) { return a.level === 'street' || a.level === 'community'; });
  var seen = {};
  rows.forEach(function (a) { seen[a.code] = true; });
  // Streets and communities with no report this month are listed too, with zeros.
  areas.forEach(function (a) {
    if ((a.level === 'street' || a.level === 'community') && !seen[a.code]) {
      rows.push({ code: a.code, level: a.level, reports: 0, resolved: 0, mediated: 0, mediation_success_rate: null, time_to_claim: null });
    }
  });
  if (!rows.length) return null;
  var name = function (c) { return GD.areaName(c); };
  var cmp = function (a, b) { return name(a.code).localeCompare(name(b.code), 'zh-CN'); };
  var streets = rows.filter(function (a) { return a.level === 'street'; }).sort(cmp);
  var ordered = [];
  streets.forEach(function (s) {
    ordered.push(s);
    rows.filter(function (a) { return a.level === 'community' && (areas.get(a.code) || {}).parent === s.code; })
      .sort(cmp).forEach(function (c) { ordered.push(c); });
  });
  rows.forEach(function (a) { if (ordered.indexOf(a) < 0) ordered.push(a); });
  var med = function (d) { return d && d.count && d.median_s !== null && d.median_s !== undefined ? GD.fmtDuration(d.median_s * 1000) : '–'; };
  var th = function (k, num) { return GD.el('th', { scope: 'col', class: num ? 'num' : '', text: GD.t(k) }); };
  return [
    GD.el('h3', { class: 'stats-h', text: GD.t('stats.by_area') }),
    GD.el('table', { class: 'area-table', id: 'stats-areas' }, [
      GD.el('thead', {}, [GD.el('tr', {}, [th('stats.area'), th('stats.reports', true), th('stats.resolved', true),
        th('stats.rate', true), th('stats.claim_med', true)])]),
      GD.el('tbody', {}, ordered.map(function (a) {
        return GD.el('tr', { class: 'lvl-' + a.level, dataset: { code: a.code } }, [
          GD.el('th', { scope: 'row' }, [GD.el('span', { class: 'lvl-tag', text: GD.t('lvl.' + a.level) }), ' ' + name(a.code)]),
          GD.el('td', { class: 'num', text: String(a.reports) }),
          GD.el('td', { class: 'num', text: String(a.resolved) }),
          GD.el('td', { class: 'num', text: pct(a.mediation_success_rate) }),
          GD.el('td', { class: 'num', text: med(a.time_to_claim) })
        ]);
      }))
    ])
  ];
}
