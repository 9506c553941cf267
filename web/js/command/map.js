// The map: a schematic grid (or the configured base map, `[map]`), mediators (their own
// module), incidents as coloured circles (red alerts pulse), fitted to what is shown. Positions
// are WGS-84; `toMap` shifts them onto GCJ-02 tiles when the base map is drawn in that datum.
import { GD, $ } from '../common.js';
import { S, mediators, incidents, names, alerts, isOpen } from './state.js';
import { addAreaPanes, areaBounds, inFocus } from './areas.js';
import { fetchNamesSoon } from './live.js';
import { openPanel } from './panel.js';
import { addBaseMap, toMap } from '../basemap.js';
import { initMediatorLayer, redraw } from './mediators.js';

var incidentRenderer = null;
var incMarkers = new Map();  // id → circleMarker
var pulses = new Map();      // id → pulsing DOM marker on the map
var RISK_COLOR = { red: '#ff3b30', yellow: '#ffc400', blue: '#2f8cff' };

// No base map by default (offline intranets): a faint schematic grid shows scale and motion.
var Grid = L.GridLayer.extend({
  createTile: function () {
    var c = document.createElement('canvas');
    var size = this.getTileSize();
    c.width = size.x; c.height = size.y;
    var g = c.getContext('2d');
    g.strokeStyle = 'rgba(120,150,200,0.10)';
    g.lineWidth = 1;
    for (var i = 0; i <= 4; i++) {
      var p = i * size.x / 4 + 0.5;
      g.beginPath(); g.moveTo(p, 0); g.lineTo(p, size.y); g.stroke();
      g.beginPath(); g.moveTo(0, p); g.lineTo(size.x, p); g.stroke();
    }
    return c;
  }
});

export function initMap() {
  if (S.map) return;
  S.map = L.map('map', { preferCanvas: true, zoomSnap: 0.25, zoomControl: true, attributionControl: false, center: [35.5, 104], zoom: 5, minZoom: 3, maxZoom: 19 });
  if (!addBaseMap(S.map)) new Grid({ pane: 'tilePane' }).addTo(S.map);
  L.control.scale({ imperial: false, position: 'bottomright' }).addTo(S.map);
  addAreaPanes();
  S.map.createPane('incidents').style.zIndex = 450;
  incidentRenderer = L.canvas({ pane: 'incidents', padding: 0.2 });
  initMediatorLayer();
  ['mousedown', 'wheel', 'touchstart'].forEach(function (ev) {
    S.map.getContainer().addEventListener(ev, function () { S.autoFit = false; }, { passive: true });
  });
  $('#fit').addEventListener('click', function () { fitAll(true); });
}

export function fitAll(force) {
  var pts = [];
  mediators.forEach(function (m) { if (!m.offAt) pts.push(toMap(m.lat, m.lng)); });
  incidents.forEach(function (i) { if (isOpen(i) && inFocus(i)) pts.push(toMap(i.location.lat, i.location.lng)); });
  var b = areaBounds();
  if (b) { pts.push(b.getSouthWest()); pts.push(b.getNorthEast()); }
  if (!pts.length) return;
  if (force || (S.autoFit && !S.fitted)) {
    S.map.fitBounds(L.latLngBounds(pts), { padding: [60, 60], maxZoom: 15, animate: false });
    S.fitted = true;
  }
}
function incidentStyle(i) {
  var color = RISK_COLOR[i.risk] || RISK_COLOR.blue;
  if (i.status === 'claimed' || i.status === 'on_site') {
    return { radius: 9, color: color, weight: 3, fillColor: '#0f1a30', fillOpacity: 0.6 };
  }
  var escalated = i.status === 'escalated';
  return { radius: escalated ? 14 : 11, color: '#ffffff', weight: escalated ? 4 : 2, fillColor: color, fillOpacity: 1 };
}
export function isAlerting(i) {
  var until = alerts.get(i.id);
  return !!until && until > Date.now() && i.status !== undefined && (i.status === 'dispatching' || i.status === 'escalated');
}
/** A pulsing ring (DOM, CSS animation) over a red incident while its alert is unacknowledged. */
function drawPulse(i) {
  var p = pulses.get(i.id);
  var want = isOpen(i) && isAlerting(i);
  if (!want) { if (p) { S.map.removeLayer(p); pulses.delete(i.id); } return; }
  if (!p) {
    p = L.marker(toMap(i.location.lat, i.location.lng), {
      icon: L.divIcon({ className: 'pulse-icon', iconSize: [64, 64], iconAnchor: [32, 32] }),
      interactive: false, keyboard: false
    }).addTo(S.map);
    pulses.set(i.id, p);
  }
}
export function drawIncident(i) {
  var mk = incMarkers.get(i.id);
  if (S.map && i.location) drawPulse(i);
  else if (!isOpen(i) && pulses.has(i.id)) { S.map.removeLayer(pulses.get(i.id)); pulses.delete(i.id); }
  if (!isOpen(i) || !inFocus(i)) {
    if (mk) { S.map.removeLayer(mk); incMarkers.delete(i.id); }
    return;
  }
  if (!mk) {
    mk = L.circleMarker(toMap(i.location.lat, i.location.lng), Object.assign({ renderer: incidentRenderer, pane: 'incidents', bubblingMouseEvents: false }, incidentStyle(i)));
    mk.on('click', function () { openPanel(i.id); });
    mk.addTo(S.map);
    incMarkers.set(i.id, mk);
  } else {
    mk.setStyle(incidentStyle(i));
  }
}
export function upsertIncident(i) {
  var before = incidents.get(i.id);
  incidents.set(i.id, i);
  drawIncident(i);
  if (i.claimed_by && !names[i.claimed_by]) fetchNamesSoon();
  // Who is busy follows claims and closings.
  if (!before || before.status !== i.status || before.claimed_by !== i.claimed_by) redraw();
}
