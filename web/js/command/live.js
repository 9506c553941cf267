// The live feed: the socket to /api/v1/command/live (snapshot, positions, incident changes,
// departments' call-ins),
// today's incidents and the mediators' names over HTTP, and the link indicator.
import { GD, $ } from '../common.js';
import { S, mediators, incidents, names, alerts, isOpen } from './state.js';
import { initMap, fitAll, upsertIncident, drawIncident } from './map.js';
import { upsertMediator, removeMediator } from './mediators.js';
import { loadRoster } from './roster.js';
import { loadSession, showAreaProblem } from './session.js';
import { loadAreas, leftMyAreas } from './areas.js';
import { renderAlarm } from './alarm.js';
import { queueRender, renderCounters, tick } from './queues.js';
import { openPanel, closePanel, renderPanel } from './panel.js';
import { authFailed } from './auth.js';
import { loadBoard, onCallIn } from './board.js';

var namesFetchedAt = 0;
var ALERT_MS = 10 * 60 * 1000;

export function fetchNamesSoon() {
  if (Date.now() - namesFetchedAt < 5000) return;
  namesFetchedAt = Date.now();
  GD.api('GET', '/api/v1/command/mediators', { token: S.token }).then(function (r) {
    if (!r.ok || !Array.isArray(r.body)) return;
    r.body.forEach(function (m) { if (m.name) names[m.id] = m.name; });
    queueRender();
    if (S.panelData && S.panelId === S.panelData.incident.id) renderPanel(S.panelData);
  });
}

function fetchToday() {
  var from = GD.startOfToday().toISOString();
  return GD.api('GET', '/api/v1/command/incidents?from=' + encodeURIComponent(from), { token: S.token }).then(function (r) {
    if (r.status === 401) { authFailed(); return; }
    if (!r.ok || !Array.isArray(r.body)) return;
    r.body.forEach(function (i) {
      var known = incidents.get(i.id);
      if (!known || known.status === i.status) upsertIncident(i);
    });
    queueRender();
  });
}

function onMessage(msg) {
  if (msg.type === 'snapshot') {
    var seen = new Set();
    // Each comes with their name once: the screen asks for no names on connect.
    msg.mediators.forEach(function (p) { if (p.name) names[p.id] = p.name; seen.add(p.id); upsertMediator(p); });
    Array.from(mediators.keys()).forEach(function (id) { if (!seen.has(id)) removeMediator(id, true); });
    var open = new Set();
    msg.incidents.forEach(function (i) { open.add(i.id); upsertIncident(i); });
    // Open before, absent now: closed while we were away. Today's list (refetched) fills in.
    incidents.forEach(function (i, id) {
      if (isOpen(i) && !open.has(id)) { incidents.delete(id); drawIncident({ id: id, status: 'resolved' }); }
    });
    fetchToday();
    loadBoard();
    loadRoster(true);
    fitAll(false);
  } else if (msg.type === 'positions') {
    // Moves redraw the mediators' canvas only: the work list is not touched.
    (msg.updates || []).forEach(upsertMediator);
    (msg.off_duty || []).forEach(function (id) { removeMediator(id, false); });
    if ((msg.off_duty || []).length) loadRoster();
    if (!S.fitted) fitAll(false);
    return;
  } else if (msg.type === 'call_in') {
    onCallIn(msg);
    return;
  } else if (msg.type === 'incident') {
    if (msg.event && msg.event.type === 'alerted') alerts.set(msg.incident.id, Date.now() + ALERT_MS);
    if (leftMyAreas(msg.incident)) {
      // Transferred out of what this operator sees: drop it from the screen.
      incidents.delete(msg.incident.id);
      drawIncident({ id: msg.incident.id, status: 'resolved' });
      if (S.panelId === msg.incident.id) closePanel();
      queueRender();
      return;
    }
    upsertIncident(msg.incident);
    renderAlarm();
    if (!S.fitted) fitAll(false);
    if (S.panelId === msg.incident.id) openPanel(S.panelId, true);
  }
  queueRender();
}

var lostAt = null, everOpen = false;
/**
 * The link indicator, and the wall screen's honesty: while the live socket is not open (after it
 * has been once) an overlay over the whole page says so, countdowns stop and counters grey out
 * until it is back (then the snapshot brings everything up to date).
 */
export function setLink(state) {
  var box = $('#link-state');
  box.dataset.state = state;
  $('#link-text').textContent = GD.t('link.' + state);
  var online = state === 'open';
  if (online) everOpen = true;
  var lost = !online && (everOpen || state === 'down');
  if (lost && !lostAt) lostAt = new Date();
  if (!lost) lostAt = null;
  S.online = online;
  document.body.classList.toggle('offline', lost);
  $('#offline').hidden = !lost;
  $('#offline-since').textContent = lostAt ? GD.t('off.since', { t: GD.fmtTime(lostAt) }) : '';
  if (online) { tick(); renderCounters(); }
}

export function start(t) {
  S.token = t;
  $('#logout').hidden = false;
  $('#stats-open').hidden = false;
  initMap();
  loadAreas();
  loadSession();
  loadRoster(true);
  if (S.socket) S.socket.stop();
  S.socket = new GD.LiveSocket({
    url: function () { return GD.wsUrl('/api/v1/command/live', S.token); },
    onMessage: onMessage,
    onState: setLink,
    onRevoked: authFailed,
    onAuthFailed: function () {
      GD.api('GET', '/api/v1/command/mediators', { token: S.token }).then(function (r) {
        if (r.status === 401) authFailed();
        // Signed in but refused (no area among several districts): the banner says why.
        else if (r.status === 403) showAreaProblem(r.message);
      });
    }
  });
  // The day rolls over and lists drift: refresh today's incidents now and then.
  setInterval(function () { if (S.token) fetchToday(); }, 60000);
  setInterval(function () { if (S.token && S.online) loadRoster(); }, 30000);
}
