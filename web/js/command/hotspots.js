// Hot spots: areas with repeated reports (H3 cells) as translucent hexagons, refreshed every
// five minutes while shown.
import { GD, $ } from '../common.js';
import { S, hook } from './state.js';
import { toMap } from '../basemap.js';

var hotLayer = null, hotTimer = null;

function loadHotspots() {
  GD.api('GET', '/api/v1/command/hotspots', { token: S.token }).then(function (r) {
    if (!hotLayer) return;
    if (!r.ok || !Array.isArray(r.body)) { GD.toast(GD.t('hot.failed', { msg: r.message }), 'error'); return; }
    hotLayer.clearLayers();
    var max = r.body.reduce(function (m, h) { return Math.max(m, h.reports); }, 1);
    r.body.forEach(function (h) {
      var ring = (h.boundary || []).map(function (p) { return toMap(p.lat, p.lng); });
      if (ring.length < 3) return;
      L.polygon(ring, { color: '#ff9f0a', weight: 2, opacity: 0.9, fillColor: '#ff9f0a', fillOpacity: 0.12 + 0.28 * h.reports / max, interactive: false })
        .addTo(hotLayer);
      L.tooltip({ permanent: true, direction: 'center', className: 'hot-label', interactive: false })
        .setLatLng(toMap(h.center.lat, h.center.lng)).setContent(GD.el('span', { text: GD.t('hot.count', { n: h.reports }) })).addTo(hotLayer);
    });
    if (!r.body.length) GD.toast(GD.t('hot.none'));
    hook.hotspots = r.body.length;
  });
}
function setHot(on) {
  var b = $('#hot-toggle');
  b.setAttribute('aria-pressed', on ? 'true' : 'false');
  b.textContent = GD.t(on ? 'hot.hide' : 'hot.show');
  clearInterval(hotTimer);
  if (hotLayer) { S.map.removeLayer(hotLayer); hotLayer = null; }
  if (!on || !S.map) return;
  hotLayer = L.layerGroup().addTo(S.map);
  loadHotspots();
  hotTimer = setInterval(loadHotspots, 5 * 60 * 1000);
}
$('#hot-toggle').addEventListener('click', function () { setHot(!hotLayer); });

/** The toggle's label in the current language, and the counts' words (reloaded) when shown. */
export function relabelHotspots() {
  $('#hot-toggle').textContent = GD.t(hotLayer ? 'hot.hide' : 'hot.show');
  if (hotLayer) loadHotspots();
}
