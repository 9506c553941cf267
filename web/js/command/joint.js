// The incident panel's joint-handling section (联调联处): the incident's call-ins with their state
// and deadlines, and who leads it; and calling departments in: the routing table's suggestions
// ticked already, any other department to add, a note, the urgency, or handing the lead over to
// one department. Choices survive the panel's live refreshes.
import { GD, $ } from '../common.js';
import { S } from './state.js';
import { authFailed } from './auth.js';
import { tick } from './queues.js';
import '../dept_kinds.js';

/** incident id → {call_ins, lead, lead_department, suggestions, departments, at}. */
var cache = {};
/** incident id → {ids: Set of department ids, urgency, handover}: what the operator picked. */
var picked = {};

function incidentPath(id, rest) { return '/api/v1/command/incidents/' + encodeURIComponent(id) + rest; }

/** Fetch what the section shows for incident `id`, then fill it if it is still on screen. */
export function refreshJoint(id) {
  var get = function (path) { return GD.api('GET', path, { token: S.token }); };
  return Promise.all([get(incidentPath(id, '/call-ins')), get(incidentPath(id, '/department-suggestions')),
    get('/api/v1/command/departments')]).then(function (rs) {
    if (rs.some(function (r) { return r.status === 401; })) { authFailed(); return; }
    var list = rs[0].ok ? rs[0].body : { call_ins: [], lead: 'not_handed_over' };
    cache[id] = { call_ins: list.call_ins || [], lead: list.lead, lead_department: list.lead_department,
      suggestions: rs[1].ok ? rs[1].body : [], departments: rs[2].ok ? rs[2].body : [], at: Date.now(), failed: !rs[0].ok };
    if (!picked[id]) {
      var open = openCallIns(cache[id]);
      picked[id] = { ids: new Set(cache[id].suggestions.map(function (s) { return s.department_id; })
        .filter(function (d) { return !open.has(d); })), urgency: 'normal', handover: false };
    }
    var box = $('#joint');
    if (box && box.dataset.for === id) fill(box, id);
  });
}

function openCallIns(c) {
  var open = new Set();
  (c.call_ins || []).forEach(function (x) { if (!x.response) open.add(x.department_id); });
  return open;
}

/** The section for incident `i` (filled from what is known now, refreshed in the background). */
export function jointSection(i, open) {
  var box = GD.el('section', { id: 'joint', class: 'joint', dataset: { for: i.id, open: open ? '1' : '' },
    'aria-labelledby': 'joint-title' });
  if (cache[i.id]) fill(box, i.id);
  else box.appendChild(GD.el('h3', { id: 'joint-title', text: GD.t('ji.title') }));
  if (!cache[i.id] || Date.now() - cache[i.id].at > 2000) refreshJoint(i.id);
  return box;
}

function reasonText(r) {
  var m = /^(\w+)(?::(.*))?$/.exec(r || '');
  if (!m) return '';
  return GD.t('ji.why.' + m[1], { word: m[2] || '' });
}

function callInRow(c) {
  var over = c.ack_overdue && !c.acknowledged_at ? 'ack' : (c.respond_overdue && !c.responded_at ? 'respond' : null);
  var due = function (label, at, met) {
    return GD.el('span', { class: 'ji-due' }, [GD.el('span', { class: 'dl-label', text: label + ' ' }),
      GD.el('time', { datetime: at, text: GD.fmtDue(at) }), ' ',
      met ? GD.el('span', { class: 'meta', text: GD.t(Date.parse(met) <= Date.parse(at) ? 'p.met' : 'p.met_late') })
        : GD.el('span', { class: 'cd', dataset: { deadline: at } })]);
  };
  var answer = c.response ? GD.t('ji.resp.' + c.response) + (c.response_note ? GD.t('colon') + c.response_note : '') : null;
  return GD.el('li', { dataset: { callIn: c.id, state: c.state, overdue: over || '' } }, [
    GD.el('div', { class: 'ji-head' }, [
      GD.el('strong', { text: c.department_name }),
      GD.el('span', { class: 'badge ji-state ji-' + c.state, text: GD.t('ji.state.' + c.state) }),
      over ? GD.el('span', { class: 'badge over', text: GD.t(over === 'ack' ? 'b.late_ack' : 'b.late_respond') }) : null,
      c.urgency === 'urgent' ? GD.el('span', { class: 'flag urgent', text: GD.t('ji.urgent') }) : null,
      c.purpose === 'handover' ? GD.el('span', { class: 'flag', text: GD.t('ji.handover') }) : null
    ]),
    GD.el('div', { class: 'ji-dues' }, [
      due(GD.t('ji.ack_by'), c.ack_due, c.acknowledged_at),
      due(GD.t('ji.respond_by'), c.respond_due, c.responded_at)
    ]),
    answer ? GD.el('p', { class: 'ji-answer', text: answer }) : null,
    c.result ? GD.el('p', { class: 'ji-answer', text: GD.t('ji.result', { text: c.result }) }) : null
  ]);
}

function fill(box, id) {
  var c = cache[id], p = picked[id], open = box.dataset.open === '1';
  var parts = [GD.el('h3', { id: 'joint-title', text: GD.t('ji.title') })];
  if (c.lead === 'department' || c.lead === 'closed') {
    parts.push(GD.el('p', { class: 'ji-lead', text: GD.t('ji.lead_' + c.lead, { dept: c.lead_department || '' }) }));
  }
  if (c.call_ins.length) parts.push(GD.el('ul', { class: 'ji-list', id: 'ji-list' }, c.call_ins.map(callInRow)));
  else if (!open) parts.push(GD.el('p', { class: 'meta', text: GD.t('ji.none') }));
  if (open && p) parts.push(form(id, c, p));
  // Keep a half-typed note (the panel keeps its own drafts; this section refills on its own).
  var note = $('#ji-note'), typed = note && note.dataset.for === id ? note.value : null;
  var focused = document.activeElement && box.contains(document.activeElement) ? document.activeElement.id : null;
  box.replaceChildren.apply(box, parts);
  if (typed !== null && $('#ji-note', box)) $('#ji-note', box).value = typed;
  if (focused && box.querySelector('#' + CSS.escape(focused))) box.querySelector('#' + CSS.escape(focused)).focus();
  tick();
}

function form(id, c, p) {
  var open = openCallIns(c);
  var why = {};
  c.suggestions.forEach(function (s) { why[s.department_id] = s.reason; });
  var order = c.departments.slice().sort(function (a, b) {
    return (why[a.id] === undefined) - (why[b.id] === undefined);
  });
  var boxes = order.map(function (d) {
    var busy = open.has(d.id), cid = 'ji-d-' + d.id;
    return GD.el('li', { class: why[d.id] !== undefined ? 'suggested' : '' }, [
      GD.el('input', { type: 'checkbox', id: cid, value: d.id, checked: p.ids.has(d.id) && !busy, disabled: busy,
        onchange: function (e) { if (e.target.checked) p.ids.add(d.id); else p.ids.delete(d.id); } }),
      GD.el('label', { for: cid }, [
        GD.el('span', { class: 'ji-name', text: d.name }),
        GD.el('span', { class: 'meta', text: ' ' + GD.t('dk.' + d.kind) }),
        why[d.id] !== undefined ? GD.el('span', { class: 'tag', text: reasonText(why[d.id]) }) : null,
        busy ? GD.el('span', { class: 'meta', text: ' ' + GD.t('ji.busy') }) : null
      ])
    ]);
  });
  var radio = function (value) {
    return GD.el('label', { class: 'ji-radio' }, [GD.el('input', { type: 'radio', name: 'ji-urgency', value: value,
      checked: p.urgency === value, onchange: function () { p.urgency = value; } }), ' ' + GD.t('ji.' + value)]);
  };
  return GD.el('div', { class: 'ji-form' }, [
    c.departments.length
      ? GD.el('fieldset', {}, [GD.el('legend', { text: GD.t('ji.pick') }), GD.el('ul', { class: 'ji-depts', id: 'ji-depts' }, boxes)])
      : GD.el('p', { class: 'meta', text: GD.t('ji.no_departments') }),
    GD.el('div', { class: 'ji-row', role: 'group', 'aria-label': GD.t('ji.urgency') }, [
      GD.el('span', { class: 'meta', text: GD.t('ji.urgency') + GD.t('colon') }), radio('normal'), radio('urgent'),
      GD.el('label', { class: 'ji-radio' }, [GD.el('input', { type: 'checkbox', id: 'ji-handover', checked: p.handover,
        onchange: function (e) { p.handover = e.target.checked; } }), ' ' + GD.t('ji.handover_pick')])
    ]),
    GD.el('label', { for: 'ji-note', class: 'meta', text: GD.t('ji.note') }),
    GD.el('textarea', { id: 'ji-note', dataset: { for: id }, rows: '2', maxlength: '1000', placeholder: GD.t('ji.note_ph') }),
    GD.el('button', { type: 'button', class: 'primary', id: 'ji-send', text: GD.t('ji.send'), disabled: !c.departments.length,
      onclick: function (e) { send(id, p, e.currentTarget); } })
  ]);
}

function send(id, p, button) {
  var note = $('#ji-note').value.trim(), ids = Array.from(p.ids);
  var open = openCallIns(cache[id] || {});
  ids = ids.filter(function (d) { return !open.has(d); });
  if (!ids.length) { GD.toast(GD.tr('ji.pick_one'), 'error'); return; }
  if (p.handover && ids.length !== 1) { GD.toast(GD.tr('ji.one_lead'), 'error'); return; }
  if (!note) { GD.toast(GD.tr('ji.note_empty'), 'error'); $('#ji-note').focus(); return; }
  button.disabled = true;
  var body = { departments: ids, note: note, urgency: p.urgency, purpose: p.handover ? 'handover' : 'assist' };
  GD.api('POST', incidentPath(id, '/call-ins'), { token: S.token, body: body }).then(function (r) {
    button.disabled = false;
    if (r.status === 401) { authFailed(); return; }
    if (!r.ok) { GD.toastError(r); return; }
    GD.toast(GD.tr('ji.sent', { n: r.body.length }), 'ok');
    $('#ji-note').value = '';
    picked[id] = { ids: new Set(), urgency: 'normal', handover: false };
    refreshJoint(id);
  });
}
