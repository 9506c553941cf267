// The incident panel: what happened, deadlines, supervision, feedback, the timeline, actions
// (risk colour, supervise, audited phone reveal), the departments called in (joint.js) and the
// nearest mediators to assign.
import { GD, $ } from '../common.js';
import { S, mediators, names, isOpen } from './state.js';
import { upsertIncident } from './map.js';
import { areas } from './areas.js';
import { ladderSection } from './ladder.js';
import { queueRender, tick } from './queues.js';
import { acknowledge } from './alarm.js';
import { closeStats } from './stats.js';
import { authFailed } from './auth.js';
import { callButton } from './roster.js';
import { toMap } from '../basemap.js';
import { jointSection } from './joint.js';

var revealed = {};           // incident id → full phone, after an audited reveal

export function openPanel(id, quiet) {
  if (!quiet) acknowledge(id);
  S.panelId = id;
  var panel = $('#panel'), body = $('#panel-body');
  panel.hidden = false;
  if (!quiet) { $('#panel-title').textContent = GD.t('p.loading'); body.replaceChildren(); }
  GD.api('GET', '/api/v1/command/incidents/' + encodeURIComponent(id), { token: S.token }).then(function (r) {
    if (S.panelId !== id) return;
    if (!r.ok) { body.replaceChildren(GD.el('p', { text: GD.t('p.failed', { msg: r.message }) })); return; }
    renderPanel(r.body);
  });
}
export function closePanel() { S.panelId = null; $('#panel').hidden = true; showLinks(null); }
$('#panel-close').addEventListener('click', closePanel);
document.addEventListener('keydown', function (e) {
  if (e.key !== 'Escape') return;
  if (!$('#stats').hidden) closeStats(); else closePanel();
});

var links = null;
/** Dashed lines from the incident to the mediators suggested for it, and the incident in view. */
function showLinks(d) {
  if (links) { S.map.removeLayer(links); links = null; }
  if (!d) return;
  var i = d.incident, at = toMap(i.location.lat, i.location.lng);
  links = L.layerGroup();
  (d.nearest_mediators || []).forEach(function (s) {
    var m = mediators.get(s.mediator_id);
    if (m) L.polyline([at, toMap(m.lat, m.lng)], { color: '#ffffff', weight: 2, dashArray: '6 6', opacity: 0.8, interactive: false }).addTo(links);
  });
  links.addTo(S.map);
  // Keep the incident clear of the panel, which covers the right part of the map.
  var size = S.map.getSize(), p = S.map.latLngToContainerPoint(at);
  var target = L.point(Math.max(160, (size.x - 680) / 2), size.y / 2);
  if (p.x > size.x - 700 || p.x < 40 || p.y < 40 || p.y > size.y - 40) S.map.panBy(p.subtract(target), { animate: false });
}

function stars(n) {
  var out = '';
  for (var k = 1; k <= 5; k++) out += k <= n ? '★' : '☆';
  return out;
}

/** One deadline row: when, and a live countdown until it is met. */
function deadlineRow(label, due, metAt) {
  if (!due) return null;
  var met = metAt ? GD.t(Date.parse(metAt) <= Date.parse(due) ? 'p.met' : 'p.met_late') : null;
  return GD.el('li', {}, [
    GD.el('span', { class: 'dl-label', text: label }),
    GD.el('time', { datetime: due, text: GD.fmtDue(due) }),
    met ? GD.el('span', { class: 'meta', text: met }) : GD.el('span', { class: 'cd', dataset: { deadline: due } })
  ]);
}

export function renderPanel(d) {
  var i = d.incident;
  S.panelData = d;
  upsertIncident(i);
  showLinks(d);
  (d.nearest_mediators || []).forEach(function (m) { names[m.mediator_id] = m.name; });
  var open = isOpen(i), held = i.status === 'claimed' || i.status === 'on_site';
  $('#panel-title').replaceChildren(
    GD.el('span', { class: 'badge risk-' + i.risk, text: GD.t('risk.' + i.risk) }), ' ',
    GD.t('cat.' + i.category) + ' · ' + GD.t('status.' + i.status));
  if (i.overdue) $('#panel-title').appendChild(GD.el('span', { class: 'badge over', text: GD.t('p.overdue') }));

  // Keep half-typed notes, the transfer search and the focused field across live refreshes.
  var drafts = takeDrafts(i.id);
  var phone = revealed[i.id] || i.resident_phone;
  var parts = [
    GD.el('p', { class: 'meta', text: GD.t('p.reported') + GD.t('colon') + GD.fmtDateTime(i.created_at) +
      (i.wave > 1 ? GD.t('gap') + GD.t('p.wave', { n: i.wave }) : '') }),
    GD.el('p', { class: 'meta phone-line' }, [GD.t('p.phone') + GD.t('colon'),
      GD.el('span', { class: revealed[i.id] ? 'full-phone' : '', text: phone || GD.t('p.no_phone') })]),
    GD.el('p', { class: 'desc', text: i.description })
  ];
  var flags = [];
  if (i.recurring) flags.push(GD.el('span', { class: 'badge recurring', text: GD.t('p.recurring') }));
  if (i.duplicate_of) {
    flags.push(GD.el('span', { class: 'dup' }, [GD.t('p.duplicate') + ' ',
      GD.el('button', { type: 'button', class: 'plain small dup-link', dataset: { id: i.duplicate_of },
        text: GD.t('p.open_dup'), onclick: function () { openPanel(i.duplicate_of); } })]));
  }
  if (flags.length) parts.push(GD.el('div', { class: 'flags' }, flags));
  if (areas.size) parts = parts.concat(ladderSection(i, open));
  if (i.claimed_by) {
    var who = names[i.claimed_by] || i.claimed_by;
    parts.push(GD.el('p', { class: 'meta holder-line' }, [GD.el('span', { text: GD.t('p.claimed_by', { who: who }) }),
      open ? callButton(i.claimed_by, who, i.id) : null]));
  }

  if (i.arrive_by || i.resolve_by) {
    parts.push(GD.el('h3', { text: GD.t('p.deadlines') }));
    parts.push(GD.el('ul', { class: 'deadlines' }, [
      deadlineRow(GD.t('p.arrive_by'), i.arrive_by, i.arrived_at || (i.status === 'resolved' ? i.resolved_at : null)),
      deadlineRow(GD.t('p.resolve_by'), i.resolve_by, i.resolved_at)
    ]));
  }
  if (i.supervision) {
    parts.push(GD.el('h3', { text: GD.t('p.supervision') }));
    parts.push(GD.el('p', { class: 'supervision', text: GD.t('p.supervised_at', {
      who: names[i.supervision.operator_id] || GD.t('who.operator'), t: GD.fmtShort(i.supervision.at), note: i.supervision.note }) }));
  }
  if (i.feedback) {
    var f = i.feedback;
    parts.push(GD.el('h3', { text: GD.t('p.feedback') }));
    parts.push(GD.el('div', { class: 'feedback' + (f.resolved ? '' : ' unsolved') }, [
      GD.el('span', { class: 'stars', 'aria-label': GD.t('p.stars', { n: f.rating }), text: stars(f.rating) }),
      GD.el('span', { class: 'meta', text: ' ' + GD.t('p.stars', { n: f.rating }) + ' · ' + GD.fmtShort(f.at) }),
      GD.el('p', { class: 'fb-resolved', text: GD.t(f.resolved ? 'p.fb_yes' : 'p.fb_no') }),
      GD.el('p', { class: 'fb-comment', text: f.comment ? '“' + f.comment + '”' : GD.t('p.no_comment') })
    ]));
  }

  // Actions: risk colour, supervision, audited phone reveal.
  if (open) {
    parts.push(GD.el('h3', { text: GD.t('p.actions') }));
    parts.push(GD.el('div', { class: 'risk-row', role: 'group', 'aria-label': GD.t('p.risk') }, [
      GD.el('span', { class: 'meta', text: GD.t('p.risk') + GD.t('colon') })
    ].concat(['red', 'yellow', 'blue'].map(function (r) {
      return GD.el('button', { type: 'button', class: 'risk-btn risk-' + r, 'aria-pressed': i.risk === r ? 'true' : 'false',
        'aria-label': GD.t('p.risk_btn', { risk: GD.t('risk.' + r) }), dataset: { risk: r }, text: GD.t('risk.' + r),
        onclick: function (e) { if (i.risk !== r) setRisk(i.id, r, e.currentTarget); } });
    }))));
    if (held || i.status === 'escalated' || i.status === 'dispatching') {
      parts.push(GD.el('div', { class: 'supervise' }, [
        GD.el('label', { for: 'sup-note', text: GD.t('p.sup_label') }),
        GD.el('textarea', { id: 'sup-note', dataset: { for: i.id }, rows: '2', maxlength: '1000', placeholder: GD.t('p.sup_ph') }),
        GD.el('button', { type: 'button', class: 'primary', id: 'sup-send', text: GD.t('p.supervise'),
          onclick: function (e) { supervise(i.id, e.currentTarget); } })
      ]));
    }
  }
  if (i.resident_phone && !revealed[i.id]) {
    parts.push(GD.el('div', { class: 'reveal' }, [
      GD.el('button', { type: 'button', class: 'plain', id: 'reveal', text: GD.t('p.reveal'),
        'aria-describedby': 'reveal-note', onclick: function (e) { reveal(i.id, e.currentTarget); } }),
      GD.el('span', { id: 'reveal-note', class: 'meta', text: GD.t('p.reveal_note') })
    ]));
  }

  parts.push(jointSection(i, open));
  parts.push(GD.el('h3', { text: GD.t('p.timeline') }));
  parts.push(GD.el('ol', { class: 'timeline' }, (d.timeline || []).map(function (e) {
    var text = GD.describeEvent(e, names, 'staff');
    if (text === null) return null;
    return GD.el('li', { class: e.event.type === 'notified' ? 'muted' : (e.event.type === 'alerted' ? 'alert' : '') },
      [GD.el('time', { datetime: e.at, text: GD.fmtTime(e.at) }), GD.el('span', { text: text })]);
  })));
  if (i.status === 'dispatching' || i.status === 'escalated') {
    parts.push(GD.el('h3', { text: GD.t('p.nearest') }));
    var near = d.nearest_mediators || [];
    if (!near.length) parts.push(GD.el('p', { class: 'meta', text: GD.t('p.none_near') }));
    parts.push(GD.el('ul', { class: 'nearest' }, near.map(function (m) {
      return GD.el('li', {}, [
        GD.el('span', {}, [m.name, m.specialist ? GD.el('span', { class: 'tag', text: GD.t('p.specialist') }) : null]),
        GD.el('span', { class: 'meta', text: GD.fmtDistance(m.distance_m) + ' · ' + GD.t('p.holds', { h: m.holds, c: m.capacity }) }),
        callButton(m.mediator_id, m.name, i.id),
        GD.el('button', { type: 'button', class: 'primary assign', dataset: { mediator: m.mediator_id },
          'aria-label': GD.t('p.assign') + ' ' + m.name, text: GD.t('p.assign'),
          onclick: function (e) { assign(i.id, m, e.currentTarget); } })
      ]);
    })));
  }
  $('#panel-body').replaceChildren.apply($('#panel-body'), parts);
  restoreDrafts(drafts);
  tick();
}

export function panelAction(id, path, body, button, done, failed) {
  button.disabled = true;
  return GD.api('POST', '/api/v1/command/incidents/' + encodeURIComponent(id) + '/' + path, { token: S.token, body: body })
    .then(function (r) {
      button.disabled = false;
      if (r.status === 401) { authFailed(); return; }
      if (!r.ok && failed && failed(r)) return;
      if (!r.ok) { GD.toast(GD.t('err.generic', { msg: r.message }), 'error'); return; }
      done(r.body);
      if (S.panelId === id) openPanel(id, true);
    });
}
function setRisk(id, risk, button) {
  panelAction(id, 'risk', { risk: risk }, button, function (v) {
    upsertIncident(v);
    queueRender();
    GD.toast(GD.t('p.risk_set', { risk: GD.t('risk.' + risk) }), 'ok');
  });
}
function supervise(id, button) {
  var note = $('#sup-note').value.trim();
  if (!note) { GD.toast(GD.t('p.sup_empty'), 'error'); $('#sup-note').focus(); return; }
  panelAction(id, 'supervise', { note: note }, button, function (v) {
    $('#sup-note').value = '';
    upsertIncident(v);
    queueRender();
    GD.toast(GD.t('p.supervised'), 'ok');
  });
}
function reveal(id, button) {
  panelAction(id, 'reveal-phone', {}, button, function (v) {
    revealed[id] = v.phone || GD.t('p.no_phone');
  });
}

function assign(id, m, button) {
  button.disabled = true;
  GD.api('POST', '/api/v1/command/incidents/' + encodeURIComponent(id) + '/assign', { token: S.token, body: { mediator_id: m.mediator_id } })
    .then(function (r) {
      button.disabled = false;
      if (!r.ok) { GD.toast(GD.t('err.generic', { msg: r.message }), 'error'); return; }
      GD.toast(GD.t('p.assigned', { who: m.name }), 'ok');
      upsertIncident(r.body);
      queueRender();
      openPanel(id, true);
    });
}


var DRAFT_IDS = ['sup-note', 'ho-note', 'tr-search', 'tr-area', 'tr-note', 'ji-note'];
function takeDrafts(id) {
  var d = { values: {} }, box = $('#tr-box'), active = document.activeElement;
  DRAFT_IDS.forEach(function (k) { var el = $('#' + k); if (el && el.dataset.for === id && el.value) d.values[k] = el.value; });
  d.open = !!(box && box.dataset.for === id && box.open);
  if (active && active.id && DRAFT_IDS.indexOf(active.id) >= 0 && active.dataset.for === id) {
    d.active = active.id;
    try { d.sel = [active.selectionStart, active.selectionEnd]; } catch (e) { d.sel = null; }
  }
  return d;
}
function restoreDrafts(d) {
  DRAFT_IDS.forEach(function (k) {
    var el = $('#' + k);
    if (!el || d.values[k] === undefined) return;
    el.value = d.values[k];
    if (k === 'tr-search') el.dispatchEvent(new Event('input'));
  });
  if (d.open && $('#tr-box')) $('#tr-box').open = true;
  var a = d.active && $('#' + d.active);
  if (a) {
    a.focus();
    if (d.sel && a.setSelectionRange && d.sel[0] !== null) { try { a.setSelectionRange(d.sel[0], d.sel[1]); } catch (e) { /* select */ } }
  }
}
