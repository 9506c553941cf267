// Jurisdictions: the outlines of district, streets, communities and grids, drilling down by a
// click or the breadcrumb, and the area the queues and counters are narrowed to.
import { GD, $ } from '../common.js';
import { S, incidents } from './state.js';
import { fitAll, drawIncident } from './map.js';
import { queueRender } from './queues.js';
import { openPanel } from './panel.js';
import { geoJsonOptions, fromMap } from '../basemap.js';
import { zoomIntoCluster, redraw } from './mediators.js';

/** code → {code, name, level, parent, geometry, children, layer, bounds} */
export const areas = new Map();       // code → {code, name, level, parent, geometry, children, layer, bounds}
var areaRenderer = null, areaLayer = null, areaLabels = null, focus = null;

/** The area the screen is drilled into (null at the top). */
export function currentFocus() { return focus; }

/** Area outlines under everything (SVG, not clickable: a click on the map drills down), their
 * names just under the incidents. */
export function addAreaPanes() {
  var areasPane = S.map.createPane('areas');
  areasPane.style.zIndex = 350;
  areasPane.style.pointerEvents = 'none';
  areaRenderer = L.svg({ pane: 'areas', padding: 0.3 });
  var labelPane = S.map.createPane('areaLabels');
  labelPane.style.zIndex = 430;
  labelPane.style.pointerEvents = 'none';
  S.map.on('click', onMapClick);
  S.map.on('zoomend', drawLabels);
}

export const LEVELS = ['district', 'street', 'community', 'grid'];
var AREA_STYLE = {
  district: { color: '#d3def5', weight: 4, opacity: 0.95 },
  street: { color: '#93acd9', weight: 2.5, opacity: 0.9 },
  community: { color: '#7189b6', weight: 1.5, opacity: 0.8 },
  grid: { color: '#5d7299', weight: 1, opacity: 0.5, dashArray: '4 5' }
};
GD.areaName = function (code) { var a = areas.get(code); return a ? a.name : code; };

function byName(a, b) { return String(areas.get(a).name).localeCompare(String(areas.get(b).name), 'zh-CN'); }
function roots() {
  return Array.from(areas.values()).filter(function (a) { return !a.parent || !areas.has(a.parent); })
    .map(function (a) { return a.code; }).sort(byName);
}
/** The one area at the top of what this operator sees (their district or street), if one. */
function top() { var r = roots(); return r.length === 1 ? r[0] : null; }
function children(code) { return code ? (areas.get(code) || { children: [] }).children : roots(); }
/** The area the queues and counters are narrowed to (none at the top). */
function filterCode() { return focus && focus !== top() ? focus : null; }
export function inFocus(i) {
  var f = filterCode(), a = (i && i.area) || {};
  return !f || a.district === f || a.street === f || a.community === f || a.grid === f;
}
/** Whether area `code` lies in the area drilled into (or nothing is). */
export function codeInFocus(code) { var f = filterCode(); return !f || within(code, f); }
/** Whether a WGS-84 point lies in the area drilled into (or nothing is). */
export function pointInFocus(lat, lng) {
  var f = filterCode();
  return !f || contains(areas.get(f).geometry, { lat: lat, lng: lng });
}
function within(code, ancestor) {
  for (var c = code; c; c = (areas.get(c) || {}).parent) if (c === ancestor) return true;
  return false;
}
function chain(code) {
  var out = [];
  for (var c = code; c && areas.has(c); c = areas.get(c).parent) out.unshift(c);
  return out;
}
/** Street and community (or grid) names of an incident, for the queues. */
export function areaText(i) {
  if (!areas.size || !i.area) return '';
  return ['street', 'community', 'grid'].map(function (l) { return i.area[l]; })
    .filter(Boolean).slice(0, 2).map(GD.areaName).join(' ');
}
/** True when this operator's one top area is set and the incident no longer lies in it. */
export function leftMyAreas(i) {
  var t = top(), a = (i && i.area) || {};
  if (!t) return false;
  return [a.district, a.street, a.community, a.grid].indexOf(t) < 0;
}
export function mostSpecific(i) {
  var a = i.area || {};
  return a.grid || a.community || a.street || a.district || null;
}
export function areaBounds() {
  var a = areas.get(focus || top());
  if (a && a.bounds && a.bounds.isValid()) return a.bounds;
  var b = null;
  areas.forEach(function (x) { if (x.bounds && x.bounds.isValid()) b = b ? b.extend(x.bounds) : L.latLngBounds(x.bounds.getSouthWest(), x.bounds.getNorthEast()); });
  return b;
}

export function loadAreas() {
  return GD.api('GET', '/api/v1/command/areas', { token: S.token }).then(function (r) {
    if (!r.ok || !r.body || !Array.isArray(r.body.features)) return;
    areas.clear();
    r.body.features.forEach(function (f) {
      var p = f.properties || {};
      if (!p.code || !f.geometry) return;
      areas.set(p.code, { code: p.code, name: p.name || p.code, level: p.level, parent: p.parent || null, geometry: f.geometry, children: [] });
    });
    areas.forEach(function (a) { if (a.parent && areas.has(a.parent)) areas.get(a.parent).children.push(a.code); });
    areas.forEach(function (a) { a.children.sort(byName); });
    if (focus && !areas.has(focus)) focus = null;
    drawAreas();
    if (S.autoFit) { S.fitted = false; fitAll(false); }
    drawLabels();
    incidents.forEach(drawIncident);
    queueRender();
    if (S.panelId) openPanel(S.panelId, true);
  });
}

function areaStyle(a) {
  var s = Object.assign({ fill: false, interactive: false }, AREA_STYLE[a.level] || AREA_STYLE.grid);
  var f = filterCode();
  if (f && a.code === f) {
    Object.assign(s, { color: '#35d0ff', weight: s.weight + 2, opacity: 1, dashArray: null, fill: true, fillColor: '#35d0ff', fillOpacity: 0.07 });
  } else if (f && !within(a.code, f) && !within(f, a.code)) {
    s.opacity *= 0.35;
  }
  return s;
}
function drawAreas() {
  if (areaLayer) { S.map.removeLayer(areaLayer); areaLayer = null; }
  var has = areas.size > 0;
  document.body.classList.toggle('has-areas', has);
  $('#crumbs').hidden = !has;
  $('.legend .lg-area').hidden = !has;
  renderCrumbs();
  if (!has) return;
  areaLayer = L.layerGroup().addTo(S.map);
  // Grids first, the district last: bold outlines are drawn over faint ones.
  Array.from(areas.values())
    .sort(function (a, b) { return LEVELS.indexOf(b.level) - LEVELS.indexOf(a.level); })
    .forEach(function (a) {
      a.layer = L.geoJSON(a.geometry, geoJsonOptions({ renderer: areaRenderer, pane: 'areas', interactive: false, style: function () { return areaStyle(a); } }));
      a.layer.addTo(areaLayer);
      a.bounds = a.layer.getBounds();
    });
}
function styleAreas() {
  areas.forEach(function (a) { if (a.layer) a.layer.setStyle(areaStyle(a)); });
  var f = areas.get(filterCode());
  if (f && f.layer) f.layer.bringToFront();
}
function labelPoint(a) {
  try {
    var first = a.layer.getLayers()[0];
    if (first && first.getCenter) return first.getCenter();
  } catch (e) { /* not on the S.map yet */ }
  return a.bounds.getCenter();
}
/** Names of the areas one level below the current one, when they are big enough on screen to read. */
function drawLabels() {
  if (!S.map) return;
  if (areaLabels) { S.map.removeLayer(areaLabels); areaLabels = null; }
  if (!areas.size) return;
  areaLabels = L.layerGroup().addTo(S.map);
  var here = focus || top();
  var list = children(here);
  if (!list.length && here) list = [here];
  list.forEach(function (code) {
    var a = areas.get(code);
    if (!a || !a.bounds || !a.bounds.isValid()) return;
    var nw = S.map.latLngToContainerPoint(a.bounds.getNorthWest()), se = S.map.latLngToContainerPoint(a.bounds.getSouthEast());
    if (se.x - nw.x < 110 || se.y - nw.y < 40) return;
    L.tooltip({ permanent: true, direction: 'center', className: 'area-label area-' + a.level, interactive: false, pane: 'areaLabels' })
      .setLatLng(labelPoint(a)).setContent(GD.el('span', { text: a.name })).addTo(areaLabels);
  });
}

export function setFocus(code) {
  focus = code && areas.has(code) ? code : null;
  S.autoFit = false;
  styleAreas();
  var b = areaBounds();
  if (b) {
    var right = $('#panel').hidden ? 40 : 700;
    S.map.fitBounds(b, { paddingTopLeft: [60, 90], paddingBottomRight: [right, 70], animate: false });
  }
  drawLabels();
  renderCrumbs();
  incidents.forEach(drawIncident);
  redraw();
  queueRender();
}

function inRing(ring, x, y) {
  var inside = false;
  for (var k = 0, j = ring.length - 1; k < ring.length; j = k++) {
    var xk = ring[k][0], yk = ring[k][1], xj = ring[j][0], yj = ring[j][1];
    if ((yk > y) !== (yj > y) && x < (xj - xk) * (y - yk) / (yj - yk) + xk) inside = !inside;
  }
  return inside;
}
function contains(g, ll) {
  var polys = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
  return polys.some(function (rings) {
    return rings.length && inRing(rings[0], ll.lng, ll.lat)
      && !rings.slice(1).some(function (hole) { return inRing(hole, ll.lng, ll.lat); });
  });
}
/** A click on the map drills into the area one level down under the pointer. */
function onMapClick(e) {
  if (zoomIntoCluster(e.containerPoint) || !areas.size) return;
  var w = fromMap(e.latlng.lat, e.latlng.lng), at = { lat: w[0], lng: w[1] };
  var hit = children(focus || top()).filter(function (c) { return contains(areas.get(c).geometry, at); })[0];
  if (hit) setFocus(hit);
}

export function renderCrumbs() {
  var nav = $('#crumbs');
  if (!areas.size) { nav.replaceChildren(); return; }
  var here = focus || top();
  var path = chain(here);
  if (!top()) path.unshift(null);
  var parts = [GD.el('span', { class: 'crumbs-title', text: GD.t('a.nav') })];
  path.forEach(function (code, k) {
    var label = code ? areas.get(code).name : GD.t('a.all');
    if (k) parts.push(GD.el('span', { class: 'sep', 'aria-hidden': 'true', text: '›' }));
    if (k === path.length - 1) {
      parts.push(GD.el('span', { class: 'here', 'aria-current': 'location', dataset: { code: code || '' }, text: label }));
    } else {
      parts.push(GD.el('button', { type: 'button', class: 'crumb', dataset: { code: code || '' }, text: label,
        onclick: function () { setFocus(code); } }));
    }
  });
  var kids = children(here);
  if (kids.length) {
    var level = GD.t('lvl.' + areas.get(kids[0]).level);
    parts.push(GD.el('span', { class: 'sep', 'aria-hidden': 'true', text: '›' }));
    parts.push(GD.el('select', { id: 'crumb-next', 'aria-label': GD.t('a.pick_label', { level: level }),
      onchange: function (e) { if (e.target.value) setFocus(e.target.value); } },
    [GD.el('option', { value: '', text: GD.t('a.pick', { level: level }) })].concat(kids.map(function (c) {
      return GD.el('option', { value: c, text: areas.get(c).name });
    }))));
  }
  if (filterCode()) parts.push(GD.el('span', { class: 'filtered', text: GD.t('a.filtered') }));
  nav.replaceChildren.apply(nav, parts);
}
