// Mediators on the map: thousands of moving dots drawn on one canvas over the map, grouped into
// counted circles when zoomed out (a grid clusterer: points in one 56-pixel cell of the world
// at this zoom become one circle, so clusters stay put while the map pans), each mediator free
// (green), busy (amber: holding an incident) or gone off duty (a grey ring at the last place,
// for a while). Positions change the data only; the canvas is redrawn at most once a frame.
import { GD } from '../common.js';
import { S, mediators, incidents, names, roster } from './state.js';
import { toMap } from '../basemap.js';

/** Below this zoom (inclusive) nearby mediators are grouped. */
var CLUSTER_UNTIL = 15;
var CELL_PX = 56;
/** An off-duty mediator's last place stays shown (grey) this long. */
var OFF_DUTY_SHOWN_MS = 10 * 60 * 1000;
var COLORS = { free: '#3ddc97', busy: '#ffb020', off_duty: '#8a94a6' };

var canvas = null, ctx = null, queued = false, tip = null, tipFor = null;
/** What the last frame drew: single dots and clusters in container pixels, for hovering and clicks. */
var drawn = { dots: [], clusters: [] };
/** Frame times of redraws (ms), for the test hook. */
export const drawStats = { count: 0, totalMs: 0, maxMs: 0 };

/** Normalised Web Mercator (0..1) of a WGS-84 point as the map draws it. */
function mercator(lat, lng) {
  var p = toMap(lat, lng);
  var s = Math.sin(Math.max(-85.0511, Math.min(85.0511, p[0])) * Math.PI / 180);
  return { x: (p[1] + 180) / 360, y: 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI) };
}

/** free | busy | off_duty. */
export function mediatorState(id) {
  var m = mediators.get(id);
  if (m && m.offAt) return 'off_duty';
  var r = roster.get(id);
  if (r && r.holds > 0) return 'busy';
  var busy = false;
  incidents.forEach(function (i) { if (i.claimed_by === id && (i.status === 'claimed' || i.status === 'on_site')) busy = true; });
  return busy ? 'busy' : 'free';
}

export function initMediatorLayer() {
  // In its own pane under the incidents (450) and over area outlines and names (350, 430).
  var pane = S.map.createPane('mediators');
  pane.style.zIndex = 440;
  pane.style.pointerEvents = 'none';
  canvas = L.DomUtil.create('canvas', 'med-layer', pane);
  ctx = canvas.getContext('2d');
  S.map.on('move zoom resize viewreset', redraw);
  S.map.on('mousemove', function (e) { hover(e.containerPoint); });
  S.map.on('mouseout', function () { hideTip(); });
  resize();
  S.map.on('resize', resize);
}
function resize() {
  var size = S.map.getSize(), ratio = window.devicePixelRatio || 1;
  canvas.width = size.x * ratio; canvas.height = size.y * ratio;
  canvas.style.width = size.x + 'px'; canvas.style.height = size.y + 'px';
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  redraw();
}

/** Redraw in the next frame (many updates in one frame draw once). */
export function redraw() {
  if (queued || !canvas) return;
  queued = true;
  requestAnimationFrame(function () { queued = false; draw(); });
}

export function upsertMediator(p) {
  var m = mediators.get(p.id);
  if (!m) {
    m = {};
    mediators.set(p.id, m);
  }
  m.lat = p.lat; m.lng = p.lng; m.at = p.at; m.offAt = null;
  m.w = mercator(p.lat, p.lng);
  redraw();
}
/** Off duty: kept as a grey ring at the last place for a while (`forget` drops it at once). */
export function removeMediator(id, forget) {
  var m = mediators.get(id);
  if (!m) return;
  if (forget) mediators.delete(id); else m.offAt = Date.now();
  redraw();
}
/** On duty now (the counter), excluding grey rings. */
export function onDuty(id) { var m = mediators.get(id); return !!m && !m.offAt; }

function draw() {
  var t0 = performance.now();
  var size = S.map.getSize();
  // The pane moves with the map while it pans: keep the canvas over the container.
  L.DomUtil.setPosition(canvas, S.map.containerPointToLayerPoint([0, 0]));
  ctx.clearRect(0, 0, size.x, size.y);
  var zoom = S.map.getZoom(), scale = 256 * Math.pow(2, zoom);
  // Container pixel = world pixel − the world pixel at the container's top left.
  var nw = S.map.containerPointToLatLng([0, 0]);
  var o = { x: (nw.lng + 180) / 360 * scale, y: 0 };
  var s = Math.sin(Math.max(-85.0511, Math.min(85.0511, nw.lat)) * Math.PI / 180);
  o.y = (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * scale;
  var cluster = zoom <= CLUSTER_UNTIL, cells = new Map(), dots = [], now = Date.now();
  mediators.forEach(function (m, id) {
    if (m.offAt && now - m.offAt > OFF_DUTY_SHOWN_MS) { mediators.delete(id); return; }
    var wx = m.w.x * scale, wy = m.w.y * scale, x = wx - o.x, y = wy - o.y;
    if (x < -CELL_PX || y < -CELL_PX || x > size.x + CELL_PX || y > size.y + CELL_PX) return;
    var state = mediatorState(id);
    if (!cluster || state === 'off_duty') { dots.push({ id: id, x: x, y: y, state: state }); return; }
    var key = Math.floor(wx / CELL_PX) * 4194304 + Math.floor(wy / CELL_PX);
    var c = cells.get(key);
    if (!c) { c = { n: 0, busy: 0, sx: 0, sy: 0, id: id, state: state }; cells.set(key, c); }
    c.n++; c.sx += x; c.sy += y;
    if (state === 'busy') c.busy++;
  });
  var clusters = [];
  cells.forEach(function (c) {
    if (c.n === 1) dots.push({ id: c.id, x: c.sx, y: c.sy, state: c.state });
    else clusters.push({ n: c.n, busy: c.busy, x: c.sx / c.n, y: c.sy / c.n });
  });
  dots.forEach(drawDot);
  clusters.forEach(drawCluster);
  drawn = { dots: dots, clusters: clusters };
  var ms = performance.now() - t0;
  drawStats.count++; drawStats.totalMs += ms; drawStats.maxMs = Math.max(drawStats.maxMs, ms);
  if (tipFor) placeTip();
}
function drawDot(d) {
  ctx.beginPath();
  ctx.arc(d.x, d.y, d.state === 'off_duty' ? 5 : 7, 0, 2 * Math.PI);
  if (d.state === 'off_duty') {
    ctx.lineWidth = 2; ctx.strokeStyle = COLORS.off_duty; ctx.stroke();
    return;
  }
  ctx.fillStyle = COLORS[d.state]; ctx.fill();
  ctx.lineWidth = d.state === 'busy' ? 2.5 : 1; ctx.strokeStyle = '#0b1220'; ctx.stroke();
}
function drawCluster(c) {
  var r = Math.min(26, 12 + Math.sqrt(c.n) * 1.5);
  ctx.beginPath(); ctx.arc(c.x, c.y, r, 0, 2 * Math.PI);
  ctx.fillStyle = 'rgba(61,220,151,0.30)'; ctx.fill();
  ctx.lineWidth = 3; ctx.strokeStyle = COLORS.free; ctx.stroke();
  if (c.busy) {
    // The busy share as an amber arc over the ring.
    ctx.beginPath(); ctx.arc(c.x, c.y, r, -Math.PI / 2, -Math.PI / 2 + 2 * Math.PI * c.busy / c.n);
    ctx.strokeStyle = COLORS.busy; ctx.lineWidth = 4; ctx.stroke();
  }
  ctx.fillStyle = '#e8eefc'; ctx.font = '700 15px system-ui, sans-serif'; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
  ctx.fillText(String(c.n), c.x, c.y + 1);
}

/** What the last frame drew (test hook): clusters {n, busy, x, y} and how many single dots. */
export function lastDrawn() { return { clusters: drawn.clusters.slice(), dots: drawn.dots.length }; }

/** The cluster drawn under a container point, if any. */
export function clusterAt(p) {
  for (var k = 0; k < drawn.clusters.length; k++) {
    var c = drawn.clusters[k], r = Math.min(26, 12 + Math.sqrt(c.n) * 1.5);
    if ((c.x - p.x) * (c.x - p.x) + (c.y - p.y) * (c.y - p.y) <= r * r) return c;
  }
  return null;
}
/** A click on a cluster zooms in on it; true when it did. */
export function zoomIntoCluster(p) {
  var c = clusterAt(p);
  if (!c) return false;
  S.autoFit = false;
  S.map.setView(S.map.containerPointToLatLng([c.x, c.y]), Math.min(CLUSTER_UNTIL + 1, S.map.getZoom() + 2), { animate: false });
  return true;
}

function hover(p) {
  var best = null, bestD = 12 * 12;
  drawn.dots.forEach(function (d) {
    var dd = (d.x - p.x) * (d.x - p.x) + (d.y - p.y) * (d.y - p.y);
    if (dd < bestD) { best = d; bestD = dd; }
  });
  if (best) showMediator(best.id); else hideTip();
}
/** Who a mediator is, as a tooltip (text nodes: Leaflet would set a string as HTML). */
export function showMediator(id) {
  var m = mediators.get(id);
  if (!m) return;
  tipFor = id;
  var r = roster.get(id);
  var text = (names[id] || (r && r.name) || id) + (r && r.phone_tail ? ' · ' + GD.t('r.tail', { tail: r.phone_tail }) : '') +
    ' · ' + GD.t('ms.' + mediatorState(id));
  if (!tip) tip = L.tooltip({ className: 'med-name', direction: 'top', offset: [0, -8] });
  tip.setContent(GD.el('span', { text: text }));
  placeTip();
}
function placeTip() {
  var m = mediators.get(tipFor);
  if (!m) { hideTip(); return; }
  var p = toMap(m.lat, m.lng);
  tip.setLatLng(p);
  if (!S.map.hasLayer(tip)) tip.addTo(S.map);
}
function hideTip() {
  tipFor = null;
  if (tip && S.map.hasLayer(tip)) S.map.removeLayer(tip);
}
