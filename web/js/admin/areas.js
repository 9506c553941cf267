// Areas: upload a GeoJSON FeatureCollection (district → street → community → grid, uploaded
// top-down), see the outlines drawn with their names, fix an area's parent, and see who
// belongs to each. The server refuses outlines that leave their parent or overlap a sibling,
// and says why; each refusal is listed here.
import { call } from './session.js';
import { makeMap, label } from './map.js';
import { geoJsonOptions } from '../basemap.js';

import { GD, $ } from '../common.js';
const el = GD.el;
const LEVELS = ['district', 'street', 'community', 'grid'];
const COLOURS = { district: '#35d0ff', street: '#ffc400', community: '#3ddc97', grid: '#c58cff' };
let map = null;
let layer = null;
let areas = [];

export function init() {
  $('#ar-file').addEventListener('change', () => { const f = $('#ar-file').files[0]; if (f) upload(f); });
  $('#mb-close').addEventListener('click', () => { $('#members').hidden = true; });
}

export function show() {
  if (!map) {
    map = makeMap('area-map');
    layer = L.layerGroup().addTo(map);
  }
  setTimeout(() => map.invalidateSize(), 0);
  load();
}

function load() {
  return call('GET', '/api/v1/command/areas').then((r) => {
    if (!r.ok || !r.body || !Array.isArray(r.body.features)) return;
    areas = r.body.features.filter((f) => f.properties && f.properties.code).map((f) => ({
      code: f.properties.code, name: f.properties.name || f.properties.code, level: f.properties.level,
      parent: f.properties.parent || null, geometry: f.geometry }));
    draw();
    tree();
  });
}

function draw() {
  layer.clearLayers();
  const all = L.featureGroup();
  areas.slice().sort((a, b) => LEVELS.indexOf(a.level) - LEVELS.indexOf(b.level)).forEach((a) => {
    const shape = L.geoJSON(a.geometry, geoJsonOptions({ style: { color: COLOURS[a.level] || '#fff', weight: a.level === 'district' ? 3 : 2,
      fillOpacity: 0.06, dashArray: a.level === 'grid' ? '4 4' : null } }));
    shape.eachLayer((l) => l.bindTooltip(label(a.name, 'area-label'), { permanent: a.level !== 'grid', direction: 'center', className: 'area-tip' }));
    shape.addTo(layer);
    shape.addTo(all);
  });
  if (areas.length) map.fitBounds(all.getBounds(), { padding: [20, 20] });
}

function tree() {
  const list = $('#area-tree');
  const byParent = new Map();
  areas.forEach((a) => { const k = a.parent || ''; if (!byParent.has(k)) byParent.set(k, []); byParent.get(k).push(a); });
  const known = new Set(areas.map((a) => a.code));
  const roots = areas.filter((a) => !a.parent || !known.has(a.parent));
  function item(a) {
    const up = LEVELS[LEVELS.indexOf(a.level) - 1];
    const parents = up ? areas.filter((p) => p.level === up) : [];
    const select = el('select', { 'aria-label': GD.t('ar.parent'), class: 'parent', onchange: () => reparent(a, select.value) },
      parents.map((p) => el('option', { value: p.code, text: p.name })));
    select.value = a.parent || '';
    const kids = (byParent.get(a.code) || []).sort((x, y) => x.name.localeCompare(y.name, 'zh'));
    return el('li', { dataset: { code: a.code } }, [
      el('div', { class: 'node' }, [
        el('span', { class: 'lvl ' + a.level, text: GD.t('lvl.' + a.level) }),
        el('span', { class: 'name', text: a.name }), el('span', { class: 'meta', text: a.code }),
        up ? el('label', { class: 'meta', text: GD.t('ar.parent') }) : null, up ? select : null,
        el('button', { type: 'button', class: 'plain small members', text: GD.t('ar.members'), onclick: () => members(a) }),
      ]),
      kids.length ? el('ul', {}, kids.map(item)) : null,
    ]);
  }
  list.replaceChildren(...roots.map(item));
  if (!areas.length) list.appendChild(el('li', { class: 'empty', text: GD.t('ar.none') }));
}

function reparent(area, parent) {
  call('PATCH', `/api/v1/admin/areas/${encodeURIComponent(area.code)}`, { body: { parent } }).then((r) => {
    if (!r.ok) { GD.toast(GD.t('ar.bad', { code: area.code, msg: r.message }), 'error'); load(); return; }
    const p = areas.find((a) => a.code === parent);
    GD.toast(GD.t('ar.moved', { name: area.name, parent: p ? p.name : parent }), 'ok');
    load();
  });
}

function members(area) {
  const q = 'area=' + encodeURIComponent(area.code) + '&limit=500';
  Promise.all([call('GET', '/api/v1/admin/mediators?' + q), call('GET', '/api/v1/admin/operators?' + q)]).then(([m, o]) => {
    const people = [...(m.ok ? m.body : []), ...(o.ok ? o.body : [])];
    $('#mb-title').textContent = GD.t('ar.membersOf', { name: area.name });
    $('#mb-body').replaceChildren(people.length ? el('table', { class: 'grid' }, [el('tbody', {}, people.map((p) => el('tr', {}, [
      el('td', { text: GD.t('kind.' + p.role) }), el('td', { text: p.name }), el('td', { class: 'num', text: p.phone }),
      el('td', { text: GD.t(p.enabled ? 'acc.enabled' : 'acc.disabled') })])))]) : el('p', { class: 'empty', text: GD.t('ar.noMembers') }));
    $('#members').hidden = false;
  });
}

/** Upload every feature, parents before children, one at a time; report each. */
async function upload(file) {
  const report = $('#ar-report');
  report.replaceChildren();
  let doc;
  try { doc = JSON.parse(await file.text()); } catch (e) { doc = null; }
  const features = doc && Array.isArray(doc.features) ? doc.features : null;
  if (!features) { report.appendChild(el('li', { class: 'bad', text: GD.t('ar.notGeojson') })); return; }
  const sorted = features.slice().sort((a, b) =>
    LEVELS.indexOf((a.properties || {}).level) - LEVELS.indexOf((b.properties || {}).level));
  let ok = 0, bad = 0;
  for (const f of sorted) {
    const p = f.properties || {};
    const body = { code: String(p.code || ''), name: String(p.name || ''), level: p.level, parent: p.parent || null,
      coord: $('#ar-datum').value, geometry: f.geometry };
    const r = await call('POST', '/api/v1/admin/areas', { body });
    if (r.ok) ok++; else bad++;
    report.appendChild(el('li', { class: r.ok ? 'ok' : 'bad', dataset: { code: body.code },
      text: r.ok ? GD.t('ar.ok', { name: body.name, code: body.code }) : GD.t('ar.bad', { code: body.code || '?', msg: r.message }) }));
  }
  report.insertBefore(el('li', { class: 'summary', text: GD.t('ar.summary', { n: sorted.length, ok, bad }) }), report.firstChild);
  $('#ar-file').value = '';
  load();
}
