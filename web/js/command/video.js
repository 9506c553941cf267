// The big screen's live video mediations (视频调解, issue #22): a box over the map lists the
// sessions going on (incident, people in the room, how long), each with "旁听" (watch): the
// operator gets a receive-only seat and the room opens in a new window. Refreshed every 10 s.
import { GD, $ } from '../common.js';
import { S, hook, incidents } from './state.js';

GD.strings({
  zh: { 'vl.title': '视频调解（进行中）', 'vl.watch': '旁听', 'vl.row': '{label}：{n} 人在线，已 {t}', 'vl.incident': '事件 {id}' },
  en: { 'vl.title': 'Video mediations (live)', 'vl.watch': 'Watch', 'vl.row': '{label}: {n} in the room, {t}', 'vl.incident': 'Incident {id}' }
});

var REFRESH_MS = 10000;
var live = [];

/** The incident as the queues show it: its place, else the start of its description. */
function label(s) {
  var i = incidents.get(s.incident_id);
  var words = i ? (i.place_name || i.address || String(i.description || '').slice(0, 14)) : '';
  return words || GD.t('vl.incident', { id: s.incident_id.slice(-6) });
}

function render() {
  var box = $('#video-live');
  box.hidden = live.length === 0;
  var list = $('#video-list');
  list.textContent = '';
  live.forEach(function (s) {
    var n = s.participants.filter(function (p) { return p.in_room; }).length;
    var text = GD.t('vl.row', { label: label(s), n: n, t: GD.fmtDuration(Date.now() - Date.parse(s.started_at)) });
    var watch = GD.el('button', { type: 'button', class: 'plain small', text: GD.t('vl.watch') });
    watch.addEventListener('click', function () { observe(s.id, watch); });
    var open = GD.el('button', { type: 'button', class: 'link-like', text: text });
    open.addEventListener('click', function () { if (hook.open) hook.open(s.incident_id); });
    list.appendChild(GD.el('li', { dataset: { session: s.id } }, [open, watch]));
  });
}

function observe(id, button) {
  button.disabled = true;
  GD.api('POST', '/api/v1/video/sessions/' + encodeURIComponent(id) + '/observe', { token: S.token }).then(function (r) {
    button.disabled = false;
    if (r.ok) { window.open(r.body.page, '_blank', 'noopener'); return; }
    GD.toastError(r);
  });
}

function refresh() {
  if (!S.token) return;
  GD.api('GET', '/api/v1/video/sessions', { token: S.token }).then(function (r) {
    if (!r.ok) return;
    live = r.body || [];
    render();
  });
}

document.addEventListener('DOMContentLoaded', function () {
  // Start once the screen has its token (signed in, or from the link).
  var waiting = setInterval(function () {
    if (!S.token) return;
    clearInterval(waiting);
    refresh();
    setInterval(refresh, REFRESH_MS);
  }, 500);
  GD.onLang(render);
});
