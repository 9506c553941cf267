// The work list: one tab per kind of work (escalated, dispatching, claimed, on site, overdue,
// supervised, the departments called in, and the mediators), searched by id, phone tail or words, narrowed to the area
// drilled into; the headline counters and the clock. Items are kept by id and updated in place
// (never rebuilt on a tick), so a click always lands on the item it was aimed at.
import { GD, $ } from '../common.js';
import { S, mediators, incidents, names, isOpen } from './state.js';
import { isAlerting } from './map.js';
import { areaText, inFocus, pointInFocus } from './areas.js';
import { openPanel } from './panel.js';
import { renderRoster } from './roster.js';
import { renderBoard } from './board.js';
import { mediatorState, onDuty } from './mediators.js';

/** The incident tabs, in order, with what belongs in each. */
export const TABS = {
  escalated: function (i) { return i.status === 'escalated'; },
  dispatching: function (i) { return i.status === 'dispatching'; },
  claimed: function (i) { return i.status === 'claimed'; },
  on_site: function (i) { return i.status === 'on_site'; },
  overdue: function (i) { return !!i.overdue && (i.status === 'claimed' || i.status === 'on_site'); },
  supervised: function (i) { return !!i.supervision && isOpen(i); }
};
var renderQueued = false;

export function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(function () { renderQueued = false; renderQueues(); renderCounters(); });
}

/**
 * Make `ol`'s items follow `rows` ({key, sig, fill(li)}) in order, keeping each item's element:
 * filled again only when its signature changed, moved only when its place did.
 */
export function fillKeyed(ol, rows, make) {
  var have = new Map();
  Array.prototype.forEach.call(ol.children, function (li) { have.set(li.dataset.id, li); });
  rows.forEach(function (row, k) {
    var li = have.get(row.key);
    if (li) have.delete(row.key); else li = make(row.key);
    if (li.gdSig !== row.sig) { row.fill(li); li.gdSig = row.sig; }
    if (ol.children[k] !== li) ol.insertBefore(li, ol.children[k] || null);
  });
  have.forEach(function (li) { li.remove(); });
}

/** Does incident `i` match the search words: its id, the resident's phone tail, or its text? */
export function matches(i, q) {
  if (!q) return true;
  if (i.id.toLowerCase().indexOf(q) >= 0) return true;
  var phone = String(i.resident_phone || '');
  if (/^\d{1,4}$/.test(q) && phone && phone.slice(-q.length) === q) return true;
  var text = [i.description, GD.t('cat.' + i.category), GD.t('status.' + i.status), areaText(i), names[i.claimed_by] || ''].join(' ');
  return text.toLowerCase().indexOf(q) >= 0;
}

/** The deadline an overdue incident missed: arrival while not there yet, else closing. */
function missedDeadline(i) {
  var now = Date.now();
  if (i.status === 'claimed' && i.arrive_by && Date.parse(i.arrive_by) <= now) return { kind: 'arrive', at: i.arrive_by };
  if (i.resolve_by && Date.parse(i.resolve_by) <= now) return { kind: 'resolve', at: i.resolve_by };
  if (i.arrive_by && !i.arrived_at) return { kind: 'arrive', at: i.arrive_by };
  return { kind: 'resolve', at: i.resolve_by || i.arrive_by || i.claimed_at };
}
/** The clock an item shows: what it waits for in its state. */
function deadlineOf(i, tab) {
  if (tab === 'overdue') return missedDeadline(i).at;
  if (i.status === 'escalated') return i.escalated_at || i.escalate_at;
  if (i.status === 'dispatching') return i.escalate_at;
  if (i.status === 'claimed') return i.arrive_by || i.claimed_at;
  return i.resolve_by || i.arrived_at;
}

function itemRow(i, tab) {
  var what = GD.t('cat.' + i.category) + ' · ' + GD.t('risk.' + i.risk);
  var where = areaText(i);
  var holder = i.claimed_by ? GD.t('o.holder', { who: names[i.claimed_by] || '…' }) + ' · ' : '';
  var sub = (where ? where + ' · ' : '') + (tab === 'escalated' || tab === 'dispatching'
    ? GD.t('t.reported', { t: GD.fmtTime(i.created_at) }) + ' ' + (i.scene_id ? GD.t('p.scene') + ' ' : '')
    : holder) + i.description;
  if (tab === 'overdue') what = GD.t('o.' + missedDeadline(i).kind) + ' · ' + GD.t('cat.' + i.category);
  var alerting = isAlerting(i), deadline = deadlineOf(i, tab);
  var flags = [
    i.ladder ? ['ladder ladder-' + i.ladder, GD.t('ladder.' + i.ladder), i.ladder] : null,
    alerting ? ['alert-flag', GD.t('alerted')] : null,
    i.supervision ? ['', GD.t('p.supervision')] : null,
    i.recurring ? ['recurring', GD.t('p.recurring')] : null
  ].filter(Boolean);
  return {
    key: i.id,
    sig: JSON.stringify([GD.lang, what, sub, flags, alerting, i.risk, deadline, i.phone_tail]),
    fill: function (li) {
      li.className = 'item risk-' + i.risk + (alerting ? ' alerted' : '');
      li.replaceChildren(
        GD.el('span', { class: 'bar' }),
        GD.el('div', {}, [
          GD.el('div', { class: 'what' }, [what].concat(flags.map(function (f) {
            return GD.el('span', { class: 'flag ' + f[0], text: f[1], dataset: f[2] ? { ladder: f[2] } : null });
          }))),
          GD.el('div', { class: 'sub' }, [GD.el('span', { class: 'id', text: '#' + i.id.slice(-6) + ' ' }), sub])
        ]),
        GD.el('div', { class: 'timer', dataset: { deadline: deadline || '' } }, [GD.el('small'), GD.el('span', { class: 'left' })]));
    }
  };
}
function makeItem(id) {
  return GD.el('li', { class: 'item', tabindex: '0', role: 'button', dataset: { id: id },
    onclick: function (e) { openPanel(e.currentTarget.dataset.id); },
    onkeydown: function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); openPanel(e.currentTarget.dataset.id); } } });
}

function renderQueues() {
  var q = S.query, lists = {};
  Object.keys(TABS).forEach(function (t) { lists[t] = []; });
  incidents.forEach(function (i) {
    if (!inFocus(i) || !matches(i, q)) return;
    Object.keys(TABS).forEach(function (t) { if (TABS[t](i)) lists[t].push(i); });
  });
  Object.keys(TABS).forEach(function (t) {
    lists[t].sort(GD.urgentFirst);
    fillKeyed($('#q-' + t), lists[t].map(function (i) { return itemRow(i, t); }), makeItem);
    $('#n-' + t).textContent = lists[t].length;
  });
  $('#tab-escalated').classList.toggle('hot', lists.escalated.length > 0);
  $('#tab-overdue').classList.toggle('hot', lists.overdue.length > 0);
  var shown = { mediators: renderRoster(), departments: renderBoard(q) };
  $('#work-empty').hidden = (S.tab in shown ? shown[S.tab] : lists[S.tab].length) > 0;
  tick();
}

/** Show the work list's tab `tab`. */
export function showTab(tab) {
  S.tab = tab;
  document.querySelectorAll('#tabs [role=tab]').forEach(function (b) {
    var on = b.dataset.tab === tab;
    b.setAttribute('aria-selected', on ? 'true' : 'false');
    b.tabIndex = on ? 0 : -1;
    $('#' + b.getAttribute('aria-controls')).hidden = !on;
  });
  queueRender();
}
document.querySelectorAll('#tabs [role=tab]').forEach(function (b) {
  b.addEventListener('click', function () { showTab(b.dataset.tab); });
});
$('#search').addEventListener('input', function (e) { S.query = e.target.value.trim().toLowerCase(); queueRender(); });

function median(xs) {
  if (!xs.length) return null;
  xs.sort(function (a, b) { return a - b; });
  var mid = Math.floor(xs.length / 2);
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** The counters, for the area drilled into (its incidents, the mediators on duty inside it). */
export function renderCounters() {
  var today = GD.startOfToday().getTime(), now = Date.now();
  var count = 0, claimTimes = [], overdue = 0, late = 0, free = 0, busy = 0;
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
  mediators.forEach(function (m, id) {
    if (!onDuty(id) || !pointInFocus(m.lat, m.lng)) return;
    if (mediatorState(id) === 'busy') busy++; else free++;
  });
  $('#c-today').textContent = count;
  $('#c-duty').textContent = free + busy;
  $('#c-duty-split').textContent = GD.t('c.duty_split', { free: free, busy: busy });
  var med = median(claimTimes);
  $('#c-median').textContent = med === null ? '–' : GD.fmtDuration(med);
  $('#c-overdue').textContent = overdue + late;
  $('#c-overdue-split').textContent = GD.t('c.split', { a: overdue, b: late });
  $('.counter.alert').classList.toggle('hot', overdue + late > 0);
}

/** Every second: the clock and, while the screen is live, the countdowns (stopped when not). */
export function tick() {
  var now = Date.now();
  $('#clock').textContent = GD.fmtDateTime(new Date(now)) + ' ' + GD.t('beijing');
  if (!S.online) return;
  document.querySelectorAll('.timer[data-deadline]').forEach(function (el) {
    if (!el.dataset.deadline) return;
    var d = Date.parse(el.dataset.deadline), over = now >= d;
    var li = el.closest('.item');
    if (li) li.classList.toggle('overdue', over);
    el.firstChild.textContent = over ? GD.t('t.over') : GD.t('t.left');
    el.lastChild.textContent = GD.fmtDuration(Math.abs(now - d));
  });
  // The panel's deadline countdowns.
  document.querySelectorAll('.cd[data-deadline]').forEach(function (el) {
    var d = Date.parse(el.dataset.deadline), over = now >= d;
    el.classList.toggle('over', over);
    el.textContent = (over ? GD.t('t.over') : GD.t('t.left')) + ' ' + GD.fmtDuration(Math.abs(now - d));
  });
}
