// QR places: create one by clicking the map or typing coordinates (GCJ-02 from AMap/Tencent
// pickers or WGS-84), list them, and open their posters for printing (one, or a sheet).
import { call } from './session.js';
import { makeMap, label } from './map.js';
import { mapDatum, toMap } from '../basemap.js';

import { GD, $ } from '../common.js';
const el = GD.el;
let map = null;
let pick = null;
let layer = null;

export function init() {
  $('#scene-form').addEventListener('submit', (e) => { e.preventDefault(); create(); });
  $('#sc-print-all').addEventListener('click', () => {
    const ids = [...document.querySelectorAll('#scene-list input:checked')].map((i) => i.value);
    if (!ids.length) { GD.toast(GD.t('sc.pickSome'), 'error'); return; }
    printPosters(ids);
  });
}

export function show() {
  if (!map) {
    map = makeMap('scene-map');
    layer = L.layerGroup().addTo(map);
    map.on('click', (e) => {
      // A click gives the map's own datum (GCJ-02 on AMap/Tencent-style tiles).
      $('#sc-datum').value = mapDatum();
      $('#sc-lat').value = e.latlng.lat.toFixed(6);
      $('#sc-lng').value = e.latlng.lng.toFixed(6);
      mark(e.latlng);
    });
  }
  setTimeout(() => map.invalidateSize(), 0);
  load();
}

function mark(latlng) {
  if (pick) pick.setLatLng(latlng); else pick = L.circleMarker(latlng, { radius: 9, color: '#ffb400', weight: 3 }).addTo(map);
}

/** Open the poster page for these scenes in a new tab. */
export function printPosters(ids) {
  const q = new URLSearchParams({ ids: ids.join(','), size: $('#sc-size').value });
  window.open('/admin/posters?' + q, '_blank');
}

function load() {
  return call('GET', '/api/v1/admin/scenes').then((r) => {
    if (!r.ok) return;
    layer.clearLayers();
    const list = $('#scene-list');
    list.replaceChildren(...r.body.slice().reverse().map((s) => el('li', { dataset: { id: s.id } }, [
      el('label', { class: 'check' }, [el('input', { type: 'checkbox', value: s.id }), el('span', { text: s.name })]),
      el('span', { class: 'meta', text: `${s.location.lat.toFixed(5)}, ${s.location.lng.toFixed(5)}` }),
      el('button', { type: 'button', class: 'plain small print', text: GD.t('sc.print'), onclick: () => printPosters([s.id]) }),
    ])));
    if (!r.body.length) list.appendChild(el('li', { class: 'empty', text: GD.t('sc.none') }));
    r.body.forEach((s) => {
      L.circleMarker(toMap(s.location.lat, s.location.lng), { radius: 7, color: '#35d0ff', weight: 2, fillOpacity: 0.7 })
        .bindTooltip(label(s.name), { direction: 'top' }).addTo(layer);
    });
    if (r.body.length && !pick) map.fitBounds(r.body.map((s) => toMap(s.location.lat, s.location.lng)), { maxZoom: 15, padding: [40, 40] });
  });
}

function create() {
  const lat = Number($('#sc-lat').value), lng = Number($('#sc-lng').value);
  if (!$('#sc-lat').value || !$('#sc-lng').value || !isFinite(lat) || !isFinite(lng)) { $('#sc-error').textContent = GD.t('sc.badCoord'); return; }
  const body = { name: $('#sc-name').value, location: { lat, lng, coord: $('#sc-datum').value } };
  call('POST', '/api/v1/admin/scenes', { body }).then((r) => {
    if (!r.ok) { $('#sc-error').textContent = GD.t('err.failed', { msg: r.message }); return; }
    $('#sc-error').textContent = '';
    $('#sc-name').value = '';
    GD.toast(GD.t('sc.created', { name: r.body.name }), 'ok');
    load().then(() => {
      const box = document.querySelector(`#scene-list [data-id="${r.body.id}"] input`);
      if (box) box.checked = true;
    });
  });
}
