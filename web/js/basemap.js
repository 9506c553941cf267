// The base map every page's map draws under its markers, as the server's `[map]` setting says
// (a <meta name="gd-map"> on every page): none (offline, the default), 天地图, or a custom tile
// server in WGS-84 or GCJ-02. Positions are WGS-84 everywhere in the API; on GCJ-02 tiles
// (AMap, Tencent style) every point is shifted when drawn (`toMap`) and shifted back when read
// from the map (`fromMap`, e.g. a dropped pin). Needs Leaflet (`L`) only in `addBaseMap`.
// The conversion is the one in src/domain/location.rs (Krasovsky 1940 offsets, mainland only).

var KRASOVSKY_A = 6378245.0;
var KRASOVSKY_EE = 0.006693421622965943;

function outsideChina(lat, lng) {
  return !(lng >= 72.004 && lng <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
}
function offsetLat(x, y) {
  var PI = Math.PI;
  var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
  r += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
  r += (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
  return r;
}
function offsetLng(x, y) {
  var PI = Math.PI;
  var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
  r += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
  r += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
  return r;
}

/** WGS-84 → GCJ-02 as [lat, lng] (unchanged outside mainland China). */
export function wgs84ToGcj02(lat, lng) {
  if (outsideChina(lat, lng)) return [lat, lng];
  var dLat = offsetLat(lng - 105.0, lat - 35.0), dLng = offsetLng(lng - 105.0, lat - 35.0);
  var radLat = lat / 180.0 * Math.PI;
  var magic = 1 - KRASOVSKY_EE * Math.sin(radLat) * Math.sin(radLat), sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180.0) / ((KRASOVSKY_A * (1 - KRASOVSKY_EE)) / (magic * sqrtMagic) * Math.PI);
  dLng = (dLng * 180.0) / (KRASOVSKY_A / sqrtMagic * Math.cos(radLat) * Math.PI);
  return [lat + dLat, lng + dLng];
}
/** GCJ-02 → WGS-84 as [lat, lng], by fixed-point iteration (far below a centimetre). */
export function gcj02ToWgs84(lat, lng) {
  if (outsideChina(lat, lng)) return [lat, lng];
  var wLat = lat, wLng = lng;
  for (var k = 0; k < 8; k++) {
    var g = wgs84ToGcj02(wLat, wLng);
    wLat -= g[0] - lat;
    wLng -= g[1] - lng;
  }
  return [wLat, wLng];
}

var config;
/** The configured base map, or null: {tiles, labels, datum, subdomains, maxZoom, attribution}. */
export function baseMap() {
  if (config !== undefined) return config;
  var meta = document.querySelector('meta[name="gd-map"]');
  var tiles = meta && meta.getAttribute('data-tiles');
  config = tiles ? {
    tiles: tiles,
    labels: meta.getAttribute('data-labels') || '',
    datum: meta.getAttribute('data-datum') === 'gcj02' ? 'gcj02' : 'wgs84',
    subdomains: meta.getAttribute('data-subdomains') || 'abc',
    maxZoom: parseInt(meta.getAttribute('data-max-zoom'), 10) || 18,
    attribution: meta.getAttribute('data-attribution') || ''
  } : null;
  return config;
}

/** The datum the map is drawn in: 'gcj02' on such tiles, else 'wgs84'. */
export function mapDatum() { var b = baseMap(); return b ? b.datum : 'wgs84'; }

/** A WGS-84 point as the map draws it ([lat, lng]). */
export function toMap(lat, lng) { return mapDatum() === 'gcj02' ? wgs84ToGcj02(lat, lng) : [lat, lng]; }

/** A point read from the map (a click, a dropped pin) back in WGS-84 ([lat, lng]). */
export function fromMap(lat, lng) { return mapDatum() === 'gcj02' ? gcj02ToWgs84(lat, lng) : [lat, lng]; }

/** GeoJSON options that draw WGS-84 outlines on this map (`L.geoJSON(g, geoJsonOptions({...}))`). */
export function geoJsonOptions(opts) {
  return Object.assign({ coordsToLatLng: function (c) { var p = toMap(c[1], c[0]); return L.latLng(p[0], p[1]); } }, opts || {});
}

/** The credit in the lower left, set as text (Leaflet's own control parses HTML). */
var Credit = window.L ? L.Control.extend({
  options: { position: 'bottomleft' },
  onAdd: function () {
    var box = L.DomUtil.create('div', 'leaflet-control gd-credit');
    box.textContent = this.options.text;
    return box;
  }
}) : null;

/** Add the configured tiles (and labels, and the credit) to `map`; false when there is none. */
export function addBaseMap(map) {
  var b = baseMap();
  if (!b || !window.L) return false;
  var opts = { maxZoom: b.maxZoom, maxNativeZoom: b.maxZoom, subdomains: b.subdomains.split('') };
  L.tileLayer(b.tiles, opts).addTo(map);
  if (b.labels) L.tileLayer(b.labels, opts).addTo(map);
  if (b.attribution) new Credit({ text: b.attribution }).addTo(map);
  map.getContainer().dataset.datum = b.datum;
  return true;
}
