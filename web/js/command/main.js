// The command-center big screen (1920×1080): live mediators and incidents on the map, the
// queues with countdowns, the incident panel, headline counters, this month's figures.
// The entry module: it loads the others (each owns one concern, see their headers) and starts
// the screen. Leaflet is a classic script loaded before it (`L`).
import './strings.js';
import { GD, $ } from '../common.js';
import { toMap } from '../basemap.js';
import { S, hook } from './state.js';
import { showLogin } from './auth.js';
import { initMap } from './map.js';
import { start, setLink } from './live.js';
import { queueRender, renderCounters, tick } from './queues.js';
import { renderAlarm } from './alarm.js';
import { openPanel } from './panel.js';
import { areas, currentFocus, setFocus, renderCrumbs } from './areas.js';
import { relabelHotspots } from './hotspots.js';
import { openStats } from './stats.js';
import { showTab } from './queues.js';
import { renderBanner } from './session.js';
import { showMediator, drawStats, redraw, lastDrawn } from './mediators.js';
import './video.js';
import { board } from './board.js';

Object.assign(hook, {
  open: function (id) { openPanel(id); },
  areas: areas,
  focus: currentFocus,
  drill: function (code) { setFocus(code); },
  point: function (lat, lng) { var p = S.map.latLngToContainerPoint(toMap(lat, lng)); return { x: p.x, y: p.y }; },
  tab: function (t) { showTab(t); },
  showMediator: function (id) { showMediator(id); },
  drawStats: drawStats,
  drawn: lastDrawn,
  redraw: function () { redraw(); },
  board: board
});
window.gdCommand = hook;

/** `/#incident=<id>` opens that incident's panel (links from elsewhere, tests). */
function openFromHash() {
  var m = /^#incident=([\w-]+)$/.exec(location.hash);
  if (m && S.token) openPanel(decodeURIComponent(m[1]));
}
window.addEventListener('hashchange', openFromHash);

GD.onLang(function () {
  setLink(S.socket ? S.socket.state : 'connecting');
  renderCrumbs();
  renderBanner();
  queueRender();
  renderAlarm();
  relabelHotspots();
  if (S.panelId) openPanel(S.panelId, true);
  if (!$('#stats').hidden) openStats();
});

document.addEventListener('DOMContentLoaded', function () {
  setLink('connecting');
  setInterval(tick, 1000);
  setInterval(function () { if (S.online) renderCounters(); }, 5000);
  tick();
  var t = GD.takeToken('operator');
  if (t) { start(t); openFromHash(); } else { initMap(); showLogin(); }
});
