// The department board (联调联处): every call-in still waiting for its department, grouped by
// department (waiting to report in, reported in, overdue), loaded over HTTP on connect and kept
// live by the screen socket's `call_in` messages; an overdue mark (urging) flashes its line and
// counts red on the tab. A line opens its incident's panel.
import { GD, $ } from '../common.js';
import { S, incidents } from './state.js';
import { fillKeyed, queueRender } from './queues.js';
import { areaText, inFocus } from './areas.js';
import { openPanel } from './panel.js';
import { authFailed } from './auth.js';
import { refreshJoint } from './joint.js';

/** call-in id → {call_in, incident}: the open call-ins this operator sees. */
export const board = new Map();

/** Where a call-in stands on the board: `overdue` (a deadline passed unmet), `waiting`, `acked`. */
export function boardState(c) {
  if ((c.ack_overdue && !c.acknowledged_at) || c.respond_overdue) return 'overdue';
  return c.acknowledged_at ? 'acked' : 'waiting';
}
function isOpenCallIn(c) { return !c.response && (c.state === 'called' || c.state === 'acknowledged'); }

/** Load the whole board (on every connect: the snapshot may follow missed changes). */
export function loadBoard() {
  return GD.api('GET', '/api/v1/command/call-ins', { token: S.token }).then(function (r) {
    if (r.status === 401) { authFailed(); return; }
    if (!r.ok || !Array.isArray(r.body)) return;
    board.clear();
    r.body.forEach(function (l) { board.set(l.call_in.id, l); });
    queueRender();
  });
}

var reloadSoon = null;
/** A `call_in` message from the screen socket. */
export function onCallIn(msg) {
  var c = msg.call_in;
  if (!c) return;
  if (isOpenCallIn(c)) {
    var known = board.get(c.id), incident = incidents.get(c.incident_id) || (known && known.incident);
    if (incident) board.set(c.id, { call_in: c, incident: incident });
    else if (!reloadSoon) reloadSoon = setTimeout(function () { reloadSoon = null; loadBoard(); }, 300);
  } else {
    board.delete(c.id);
    urged.delete(c.id);
  }
  if (msg.urging) {
    urged.set(c.id, Date.now() + URGED_MS);
    GD.toast(GD.tr(c.acknowledged_at ? 'b.urged_respond' : 'b.urged_ack', { dept: c.department_name }), 'error');
  }
  if (S.panelId === c.incident_id) refreshJoint(c.incident_id);
  queueRender();
}
/** call-in id → until when its line flashes (urged, not yet looked at). */
var urged = new Map();
var URGED_MS = 10 * 60 * 1000;

var GROUPS = ['overdue', 'waiting', 'acked'];
var renders = 0;

function lineRow(l) {
  var c = l.call_in, i = l.incident, state = boardState(c);
  var flashing = (urged.get(c.id) || 0) > Date.now();
  var due = state === 'acked' || (state === 'overdue' && c.acknowledged_at) ? c.respond_due : c.ack_due;
  var what = GD.t('cat.' + i.category) + ' · ' + GD.t('risk.' + i.risk);
  var flags = [];
  if (state === 'overdue') flags.push(['over', GD.t(c.acknowledged_at ? 'b.late_respond' : 'b.late_ack')]);
  if (c.urgency === 'urgent') flags.push(['urgent', GD.t('ji.urgent')]);
  if (c.purpose === 'handover') flags.push(['', GD.t('ji.handover')]);
  var where = areaText(i);
  var sub = (where ? where + ' · ' : '') + c.note;
  return {
    key: c.id,
    sig: JSON.stringify([GD.lang, what, sub, flags, state, flashing, due]),
    fill: function (li) {
      li.className = 'item line-' + state + ' risk-' + i.risk + (flashing ? ' alerted' : '');
      li.dataset.state = state;
      li.dataset.incident = i.id;
      li.replaceChildren(
        GD.el('span', { class: 'bar' }),
        GD.el('div', {}, [
          GD.el('div', { class: 'what' }, [what].concat(flags.map(function (f) {
            return GD.el('span', { class: 'flag ' + f[0], text: f[1] });
          }))),
          GD.el('div', { class: 'sub' }, [GD.el('span', { class: 'id', text: '#' + i.id.slice(-6) + ' ' }), sub])
        ]),
        GD.el('div', { class: 'timer', dataset: { deadline: due } }, [GD.el('small'), GD.el('span', { class: 'left' })]));
    }
  };
}
function makeLine(id) {
  var open = function (e) {
    var l = board.get(e.currentTarget.dataset.id);
    if (!l) return;
    urged.delete(l.call_in.id);
    openPanel(l.call_in.incident_id);
    queueRender();
  };
  return GD.el('li', { class: 'item', tabindex: '0', role: 'button', dataset: { id: id, callIn: id }, onclick: open,
    onkeydown: function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(e); } } });
}

function groupBox(id) {
  var box = GD.el('section', { class: 'dept-group', dataset: { id: id, department: id } }, [
    GD.el('h3', {}, [GD.el('span', { class: 'dept-name' }), GD.el('span', { class: 'dept-counts' })]),
    GD.el('ol', { class: 'items' })
  ]);
  return box;
}

/**
 * Fill the departments tab, narrowed to the area drilled into and the search words; returns
 * how many lines it shows. Sets the tab's count (red when any is overdue).
 */
export function renderBoard(q) {
  var byDept = new Map(), total = 0, overdue = 0;
  board.forEach(function (l) {
    if (!inFocus(l.incident)) return;
    var text = [l.call_in.department_name, l.call_in.note, l.incident.id, l.incident.description].join(' ').toLowerCase();
    if (q && text.indexOf(q) < 0) return;
    var d = byDept.get(l.call_in.department_id);
    if (!d) { d = { id: l.call_in.department_id, name: l.call_in.department_name, lines: [], n: { overdue: 0, waiting: 0, acked: 0 } }; byDept.set(d.id, d); }
    var st = boardState(l.call_in);
    d.n[st]++;
    d.lines.push(l);
    total++;
    if (st === 'overdue') overdue++;
  });
  var depts = Array.from(byDept.values()).sort(function (a, b) {
    return (b.n.overdue - a.n.overdue) || (b.lines.length - a.lines.length) || a.name.localeCompare(b.name);
  });
  var rank = function (l) { return GROUPS.indexOf(boardState(l.call_in)); };
  fillKeyed($('#q-departments'), depts.map(function (d) {
    d.lines.sort(function (a, b) { return (rank(a) - rank(b)) || String(a.call_in.called_at).localeCompare(String(b.call_in.called_at)); });
    var counts = GROUPS.map(function (g) { return [g, d.n[g]]; });
    return {
      key: d.id,
      // The group's shell is refilled every time; its lines keep their own signatures.
      sig: ++renders,
      fill: function (box) {
        box.classList.toggle('has-overdue', d.n.overdue > 0);
        box.querySelector('.dept-name').textContent = d.name;
        box.querySelector('.dept-counts').replaceChildren.apply(box.querySelector('.dept-counts'), counts.map(function (c) {
          return GD.el('span', { class: 'dc dc-' + c[0] + (c[1] ? '' : ' zero'), dataset: { count: c[0] }, text: GD.t('b.n_' + c[0], { n: c[1] }) });
        }));
        fillKeyed(box.querySelector('ol'), d.lines.map(lineRow), makeLine);
      }
    };
  }), groupBox);
  $('#n-departments').textContent = total;
  $('#n-departments-over').textContent = overdue ? GD.t('b.tab_over', { n: overdue }) : '';
  $('#n-departments-over').hidden = !overdue;
  $('#tab-departments').classList.toggle('hot', overdue > 0);
  return total;
}
