// The panel's ladder section: where the incident lies, which command center has it, handing it
// up or down one level, and transferring it to another area.
import { GD, $ } from '../common.js';
import { areas, LEVELS, mostSpecific } from './areas.js';
import { upsertIncident } from './map.js';
import { queueRender } from './queues.js';
import { panelAction } from './panel.js';


function handTarget(i, up) {
  var cur = i.ladder || 'district', a = i.area || {};
  if (up) return i.ladder && i.ladder !== 'district' ? GD.LADDER[GD.LADDER.indexOf(cur) + 1] : null;
  if (cur === 'district') return a.street ? 'street' : null;
  if (cur === 'street') return a.community ? 'community' : null;
  return null;
}
export function ladderSection(i, open) {
  var out = [GD.el('h3', { text: GD.t('p.ladder') })];
  var path = LEVELS.map(function (l) { return i.area && i.area[l]; }).filter(Boolean);
  out.push(GD.el('p', { class: 'meta where', text: GD.t('p.where') + GD.t('colon') +
    (path.length ? path.map(GD.areaName).join(' › ') : GD.t('p.nowhere')) }));
  out.push(GD.el('ol', { class: 'ladder-steps', 'aria-label': i.ladder ? GD.t('p.ladder_now', { level: GD.t('ladder.' + i.ladder) }) : GD.t('p.ladder_none') },
    GD.LADDER.reduce(function (acc, l, k) {
      var here = i.ladder === l;
      if (k) acc.push(GD.el('li', { class: 'arrow', 'aria-hidden': 'true', text: '→' }));
      acc.push(GD.el('li', { class: 'step' + (here ? ' current' : ''), 'aria-current': here ? 'step' : null, dataset: { level: l }, text: GD.t('ladder.' + l) }));
      return acc;
    }, [])));
  if (!i.ladder) out.push(GD.el('p', { class: 'meta', text: GD.t('p.ladder_none') }));
  if (!open) return out;
  // Handing over moves the incident between command centers: only while one has it and nobody
  // holds it (escalated). Not yet at a center, or held by a mediator: no such buttons.
  if (i.status !== 'escalated') {
    out.push(GD.el('p', { class: 'handover-note', text: GD.t(i.status === 'dispatching' ? 'p.ho_not_yet' : 'p.ho_held') }));
    out.push(transferBox(i));
    return out;
  }
  var up = handTarget(i, true), down = handTarget(i, false);
  var buttons = [];
  if (up) {
    buttons.push(GD.el('button', { type: 'button', class: 'plain ho', id: 'ho-up', text: GD.t('p.up_to', { level: GD.t('ladder.' + up) }),
      onclick: function (e) { handOver(i, true, e.currentTarget); } }));
  }
  if (down) {
    buttons.push(GD.el('button', { type: 'button', class: 'plain ho', id: 'ho-down', text: GD.t('p.down_to', { level: GD.t('ladder.' + down) }),
      onclick: function (e) { handOver(i, false, e.currentTarget); } }));
  }
  if (buttons.length) {
    out.push(GD.el('div', { class: 'handover' }, [
      GD.el('label', { for: 'ho-note', text: GD.t('p.ho_label') }),
      GD.el('textarea', { id: 'ho-note', dataset: { for: i.id }, rows: '2', maxlength: '1000', placeholder: GD.t('p.ho_ph') }),
      GD.el('div', { class: 'ho-buttons' }, buttons)
    ]));
  }
  if (!up) out.push(GD.el('p', { class: 'handover-note', text: GD.t('p.top') + (down ? '' : '；' + GD.t('p.bottom')) }));
  out.push(transferBox(i));
  return out;
}
function handOver(i, up, button) {
  var box = $('#ho-note'), note = box.value.trim();
  if (!note) { GD.toast(GD.t('p.ho_empty'), 'error'); box.focus(); return; }
  panelAction(i.id, 'handover', { direction: up ? 'up' : 'down', note: note }, button, function (v) {
    box.value = '';
    upsertIncident(v);
    queueRender();
    GD.toast(GD.t(up ? 'p.ho_done_up' : 'p.ho_done_down', { level: GD.t('ladder.' + v.ladder) }), 'ok');
  }, function (r) {
    if (r.status !== 409 || r.code !== 'no_such_level') return false;
    GD.toast(GD.t(up ? 'p.no_level_up' : 'p.no_level_down'), 'error');
    return true;
  });
}
function areaOptionText(a) {
  var parent = a.parent && areas.has(a.parent) ? ' · ' + areas.get(a.parent).name : '';
  return a.name + '（' + GD.t('lvl.' + a.level) + parent + '）';
}
function transferBox(i) {
  var current = mostSpecific(i);
  var choices = Array.from(areas.values()).filter(function (a) { return a.code !== current; })
    .sort(function (a, b) { return (LEVELS.indexOf(a.level) - LEVELS.indexOf(b.level)) || a.name.localeCompare(b.name, 'zh-CN'); });
  var select = GD.el('select', { id: 'tr-area', size: '6', dataset: { for: i.id }, 'aria-describedby': 'tr-count' });
  var count = GD.el('p', { id: 'tr-count', class: 'meta', 'aria-live': 'polite' });
  var search = GD.el('input', { type: 'search', id: 'tr-search', dataset: { for: i.id }, autocomplete: 'off',
    placeholder: GD.t('p.tr_ph'), 'aria-controls': 'tr-area' });
  function filter() {
    var q = search.value.trim().toLowerCase(), keep = select.value;
    var shown = choices.filter(function (a) { return !q || a.name.toLowerCase().indexOf(q) >= 0 || a.code.toLowerCase().indexOf(q) >= 0; });
    select.replaceChildren.apply(select, shown.map(function (a) { return GD.el('option', { value: a.code, text: areaOptionText(a) }); }));
    if (keep && shown.some(function (a) { return a.code === keep; })) select.value = keep;
    else if (shown.length === 1) select.value = shown[0].code;
    count.textContent = shown.length ? '' : GD.t('p.tr_nomatch');
  }
  search.addEventListener('input', filter);
  filter();
  return GD.el('details', { class: 'transfer', id: 'tr-box', dataset: { for: i.id } }, [
    GD.el('summary', { text: GD.t('p.transfer') }),
    GD.el('div', { class: 'tr-body' }, [
      GD.el('p', { class: 'meta', text: GD.t('p.tr_hint') }),
      GD.el('label', { for: 'tr-search', text: GD.t('p.tr_search') }), search,
      GD.el('label', { for: 'tr-area', text: GD.t('p.tr_pick') }), select, count,
      GD.el('label', { for: 'tr-note', text: GD.t('p.tr_note') }),
      GD.el('textarea', { id: 'tr-note', dataset: { for: i.id }, rows: '2', maxlength: '1000' }),
      GD.el('button', { type: 'button', class: 'primary', id: 'tr-send', text: GD.t('p.tr_send'),
        onclick: function (e) { transfer(i, e.currentTarget); } })
    ])
  ]);
}
function transfer(i, button) {
  var code = $('#tr-area').value, note = $('#tr-note').value.trim();
  if (!code) { GD.toast(GD.t('p.tr_none'), 'error'); $('#tr-search').focus(); return; }
  if (!note) { GD.toast(GD.t('p.tr_empty'), 'error'); $('#tr-note').focus(); return; }
  panelAction(i.id, 'transfer', { area: code, note: note }, button, function (v) {
    $('#tr-note').value = ''; $('#tr-search').value = '';
    var box = $('#tr-box');
    if (box) box.open = false;
    upsertIncident(v);
    queueRender();
    GD.toast(GD.t('p.tr_done', { area: GD.areaName(code) }), 'ok');
  });
}
