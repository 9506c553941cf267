// The mediators tab: every mediator this operator directs (free, busy, off duty), told apart by
// phone tail and home area, narrowed to the area drilled into and by the search; and calling a
// mediator, whose number is revealed through an audited action recorded on the incident the
// call is about (the one they hold, or the one whose panel is open).
import { GD, $ } from '../common.js';
import { S, mediators, incidents, roster, names, isOpen } from './state.js';
import { fillKeyed, queueRender } from './queues.js';
import { mediatorState, showMediator, redraw } from './mediators.js';
import { codeInFocus, pointInFocus } from './areas.js';
import { authFailed } from './auth.js';
import { toMap } from '../basemap.js';

var loadedAt = 0;

/** Load the roster now and then (every 30 s at most, unless `force`). */
export function loadRoster(force) {
  if (!force && Date.now() - loadedAt < 30000) return Promise.resolve();
  loadedAt = Date.now();
  return GD.api('GET', '/api/v1/command/roster', { token: S.token }).then(function (r) {
    if (r.status === 401) { authFailed(); return; }
    if (!r.ok || !Array.isArray(r.body)) return;
    roster.clear();
    r.body.forEach(function (m) { roster.set(m.id, m); if (m.name) names[m.id] = m.name; });
    redraw();
    queueRender();
  });
}

/** The open incident `id` holds, if any. */
function heldBy(id) {
  var held = null;
  incidents.forEach(function (i) { if (!held && i.claimed_by === id && isOpen(i)) held = i; });
  return held;
}
function stateOf(m) {
  if (mediators.has(m.id)) return mediatorState(m.id);
  return m.holds > 0 || heldBy(m.id) ? 'busy' : 'off_duty';
}
function shown(m, q) {
  var live = mediators.get(m.id);
  var here = m.area ? codeInFocus(m.area) : live ? pointInFocus(live.lat, live.lng) : true;
  if (!here) return false;
  if (!q) return true;
  return [m.name, m.phone_tail, m.id, GD.areaName(m.area || '')].join(' ').toLowerCase().indexOf(q) >= 0;
}
var ORDER = { busy: 0, free: 1, off_duty: 2 };

/** Fill the mediators tab; returns how many rows it shows. */
export function renderRoster() {
  var rows = [];
  roster.forEach(function (m) { if (shown(m, S.query)) rows.push(m); });
  var states = new Map(rows.map(function (m) { return [m.id, stateOf(m)]; }));
  rows.sort(function (a, b) { return (ORDER[states.get(a.id)] - ORDER[states.get(b.id)]) || a.name.localeCompare(b.name, 'zh-CN'); });
  fillKeyed($('#q-mediators'), rows.map(function (m) {
    var state = states.get(m.id), held = heldBy(m.id);
    var sub = GD.t('r.tail', { tail: m.phone_tail }) + (m.area ? ' · ' + GD.areaName(m.area) : '') +
      ' · ' + GD.t('p.holds', { h: m.holds, c: m.capacity }) + (held ? ' · ' + GD.t('cat.' + held.category) : '');
    return {
      key: m.id,
      sig: JSON.stringify([GD.lang, m.name, state, sub]),
      fill: function (li) {
        li.className = 'item ' + state;
        li.replaceChildren(
          GD.el('span', { class: 'bar' }),
          GD.el('div', {}, [
            GD.el('div', { class: 'what' }, [m.name, GD.el('span', { class: 'state-tag ' + state, text: GD.t('ms.' + state) })]),
            GD.el('div', { class: 'sub', text: sub })
          ]),
          callButton(m.id, m.name));
      }
    };
  }), function (id) {
    return GD.el('li', { class: 'item', tabindex: '0', dataset: { id: id },
      onclick: function (e) {
        if (e.target.closest('.call')) return;
        var live = mediators.get(id);
        if (!live) return;
        S.autoFit = false;
        S.map.setView(toMap(live.lat, live.lng), Math.max(S.map.getZoom(), 16));
        showMediator(id);
      } });
  });
  $('#n-mediators').textContent = rows.length;
  return rows.length;
}

/** A "call" button for mediator `id`: reveals the number (audited), then a tap-to-call link. */
export function callButton(id, name, incidentId) {
  return GD.el('button', { type: 'button', class: 'call', dataset: { mediator: id },
    'aria-label': GD.t('r.call_label', { who: name }), text: GD.t('r.call'),
    onclick: function (e) { e.stopPropagation(); call(id, incidentId, e.currentTarget); } });
}

function call(id, incidentId, button) {
  var held = heldBy(id);
  var about = incidentId || (held && held.id) || S.panelId;
  if (!about) { GD.toast(GD.t('r.call_which'), 'error'); return; }
  button.disabled = true;
  GD.api('POST', '/api/v1/command/mediators/' + encodeURIComponent(id) + '/reveal-phone', { token: S.token, body: { incident_id: about } })
    .then(function (r) {
      button.disabled = false;
      if (r.status === 401) { authFailed(); return; }
      if (!r.ok) { GD.toast(GD.t('err.generic', { msg: r.message }), 'error'); return; }
      // Tap to call from the screen's phone, or read the number out.
      button.replaceWith(GD.el('a', { class: 'call', href: 'tel:' + r.body.phone, text: r.body.phone,
        'aria-label': GD.t('r.call_label', { who: names[id] || '' }) + ' ' + r.body.phone }));
      GD.toast(GD.t('r.called', { who: names[id] || '', phone: r.body.phone }), 'ok');
    });
}
