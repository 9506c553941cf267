// The three queues (escalated, overdue, dispatching) with their countdowns, the headline
// counters and the clock.
import { GD, $ } from '../common.js';
import { mediators, incidents, names, alerts } from './state.js';
import { isAlerting, drawIncident } from './map.js';
import { areas, areaText, inFocus } from './areas.js';
import { renderAlarm } from './alarm.js';
import { openPanel } from './panel.js';

var renderQueued = false;

export function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(function () { renderQueued = false; renderQueues(); renderCounters(); });
}

/** The deadline an overdue incident missed: arrival while not there yet, else closing. */
function missedDeadline(i) {
  var now = Date.now();
  if (i.status === 'claimed' && i.arrive_by && Date.parse(i.arrive_by) <= now) return { kind: 'arrive', at: i.arrive_by };
  if (i.resolve_by && Date.parse(i.resolve_by) <= now) return { kind: 'resolve', at: i.resolve_by };
  if (i.arrive_by && !i.arrived_at) return { kind: 'arrive', at: i.arrive_by };
  return { kind: 'resolve', at: i.resolve_by || i.arrive_by || i.claimed_at };
}

function queueItem(i, kind) {
  var deadline = kind === 'esc' ? (i.escalated_at || i.escalate_at) : i.escalate_at;
  var what = GD.t('cat.' + i.category) + ' · ' + GD.t('risk.' + i.risk);
  var where = areaText(i);
  var sub = (where ? where + ' · ' : '') + GD.t('t.reported', { t: GD.fmtTime(i.created_at) }) + ' ' + (i.scene_id ? GD.t('p.scene') : '') + ' ' + i.description;
  if (kind === 'over') {
    var missed = missedDeadline(i);
    deadline = missed.at;
    what = GD.t('o.' + missed.kind) + ' · ' + GD.t('cat.' + i.category);
    sub = (where ? where + ' · ' : '') + GD.t('o.holder', { who: names[i.claimed_by] || '…' }) + ' · ' + i.description;
  }
  var alerting = isAlerting(i);
  return GD.el('li', { class: 'item risk-' + i.risk + (alerting ? ' alerted' : ''), tabindex: '0', role: 'button', dataset: { id: i.id },
    onclick: function () { openPanel(i.id); },
    onkeydown: function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); openPanel(i.id); } } }, [
    GD.el('span', { class: 'bar' }),
    GD.el('div', {}, [
      GD.el('div', { class: 'what' }, [what,
        areas.size && i.ladder ? GD.el('span', { class: 'flag ladder ladder-' + i.ladder, dataset: { ladder: i.ladder }, text: GD.t('ladder.' + i.ladder) }) : null,
        alerting ? GD.el('span', { class: 'flag alert-flag', text: GD.t('alerted') }) : null,
        i.supervision ? GD.el('span', { class: 'flag', text: GD.t('p.supervision') }) : null,
        i.recurring ? GD.el('span', { class: 'flag recurring', text: GD.t('p.recurring') }) : null]),
      GD.el('div', { class: 'sub', text: sub })
    ]),
    GD.el('div', { class: 'timer', dataset: { deadline: deadline, mode: kind === 'disp' ? 'left' : 'over' } })
  ]);
}

function renderQueues() {
  var esc = [], disp = [], over = [];
  incidents.forEach(function (i) {
    if (!inFocus(i)) return;
    if (i.status === 'escalated') esc.push(i);
    else if (i.status === 'dispatching') disp.push(i);
    else if (i.overdue && (i.status === 'claimed' || i.status === 'on_site')) over.push(i);
  });
  esc.sort(GD.urgentFirst);
  disp.sort(GD.urgentFirst);
  over.sort(GD.urgentFirst);
  fill('#q-esc', esc, 'esc');
  fill('#q-over', over, 'over');
  fill('#q-disp', disp, 'disp');
  tick();
}
function fill(sel, list, kind) {
  var ol = $(sel);
  ol.replaceChildren.apply(ol, list.map(function (i) { return queueItem(i, kind); }));
  $(sel + '-empty').hidden = list.length > 0;
  $(sel + '-count').textContent = list.length;
}

function median(xs) {
  if (!xs.length) return null;
  xs.sort(function (a, b) { return a - b; });
  var mid = Math.floor(xs.length / 2);
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

export function renderCounters() {
  var today = GD.startOfToday().getTime(), now = Date.now();
  var count = 0, claimTimes = [], overdue = 0, late = 0;
  incidents.forEach(function (i) {
    if (!inFocus(i)) return;
    var created = Date.parse(i.created_at);
    if (created >= today) {
      count++;
      if (i.claimed_at) claimTimes.push(Date.parse(i.claimed_at) - created);
    }
    if (i.status === 'escalated' || (i.status === 'dispatching' && Date.parse(i.escalate_at) < now)) overdue++;
    else if (i.overdue && (i.status === 'claimed' || i.status === 'on_site')) late++;
  });
  $('#c-today').textContent = count;
  $('#c-duty').textContent = mediators.size;
  var med = median(claimTimes);
  $('#c-median').textContent = med === null ? '–' : GD.fmtDuration(med);
  $('#c-overdue').textContent = overdue + late;
  $('#c-overdue-split').textContent = GD.t('c.split', { a: overdue, b: late });
  $('.counter.alert').classList.toggle('hot', overdue + late > 0);
}

export function tick() {
  var now = Date.now();
  $('#clock').textContent = GD.fmtDateTime(new Date(now)) + ' ' + GD.t('beijing');
  document.querySelectorAll('.timer[data-deadline]').forEach(function (el) {
    var d = Date.parse(el.dataset.deadline);
    var over = now >= d;
    var li = el.closest('.item');
    if (li) li.classList.toggle('overdue', over);
    el.replaceChildren(GD.el('small', { text: over ? GD.t('t.over') : GD.t('t.left') }),
      document.createTextNode(GD.fmtDuration(Math.abs(now - d))));
  });
  // The panel's deadline countdowns.
  document.querySelectorAll('.cd[data-deadline]').forEach(function (el) {
    var d = Date.parse(el.dataset.deadline), over = now >= d;
    el.classList.toggle('over', over);
    el.textContent = (over ? GD.t('t.over') : GD.t('t.left')) + ' ' + GD.fmtDuration(Math.abs(now - d));
  });
  // Alerts lapse after a while even when nobody acknowledged them.
  var lapsed = false;
  alerts.forEach(function (until, id) { if (until <= now) { alerts.delete(id); lapsed = true; var i = incidents.get(id); if (i) drawIncident(i); } });
  if (lapsed) { renderAlarm(); queueRender(); }
}
