// A Leaflet map for the console: offline (no base tiles unless the district configured its
// own), a schematic background, centred on what it shows.
import { addBaseMap } from '../basemap.js';

/** A map in element `id`. */
export function makeMap(id) {
  const map = L.map(id, { zoomSnap: 0.25, attributionControl: false, center: [36.62, 101.78], zoom: 12, minZoom: 3, maxZoom: 19 });
  addBaseMap(map);
  return map;
}

/** A label as a DOM node (Leaflet would parse a string as HTML). */
export function label(text, cls) {
  const span = document.createElement('span');
  span.className = cls || '';
  span.textContent = text;
  return span;
}
