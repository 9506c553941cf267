// Departments (联调联处): the organisations the command center can call in — list them, create
// one (kind, the area it serves, its duty number) or change the one picked in the list, and give
// it sign-in accounts (a password, new or reset, shown once, to hand over in person). What the routing table
// (routing.js, below the list) suggests for an incident is decided by a department's kind.
import { call } from './session.js';
import { randomPassword } from './accounts.js';
import { DEPARTMENT_KINDS } from '../dept_kinds.js';
import { GD, $ } from '../common.js';
import * as routing from './routing.js';

const el = GD.el;
let areas = [];
let selected = null;
/** The last account made, shown until another department is picked (re-worded on the toggle). */
let shown = null;

export function init() {
  $('#dp-kind').replaceChildren(...DEPARTMENT_KINDS.map((k) => el('option', { value: k, dataset: { kind: k } })));
  $('#dept-form').addEventListener('submit', (e) => { e.preventDefault(); save(); });
  $('#dp-new').addEventListener('click', () => pick(null));
  $('#da-form').addEventListener('submit', (e) => { e.preventDefault(); addAccount(); });
  $('#da-generate').addEventListener('click', () => { $('#da-password').value = randomPassword(); });
  GD.onLang(() => { words(); if (!$('#view-departments').hidden) load(); });
  words();
  routing.init();
}

/** The words made here that follow the language (kinds, "whole district", titles, the account shown). */
function words() {
  document.querySelectorAll('#dp-kind option').forEach((o) => { o.textContent = GD.t('dk.' + o.value); });
  const none = $('#dp-area option[value=""]');
  if (none) none.textContent = GD.t('dp.whole');
  if (selected) $('#da-title').textContent = GD.t('da.title', { name: selected.name });
  $('#dp-title').textContent = selected ? GD.t('dp.edit', { name: selected.name }) : GD.t('dp.new');
  $('#dp-submit').textContent = GD.t(selected ? 'save' : 'dp.create');
  $('#da-shown').textContent = shown ? GD.t(shown.reset ? 'da.reset_shown' : 'da.shown', shown) : '';
  if (selected) loadAccounts();
}

export function show() {
  call('GET', '/api/v1/admin/areas').then((r) => {
    if (r.ok) areas = r.body;
    const keep = $('#dp-area').value;
    $('#dp-area').replaceChildren(el('option', { value: '', text: GD.t('dp.whole') }),
      ...areas.map((a) => el('option', { value: a.code, text: `${a.name}（${a.code}）` })));
    $('#dp-area').value = keep;
    load();
  });
  routing.show();
}

function areaName(code) {
  if (!code) return GD.t('dp.whole');
  const a = areas.find((x) => x.code === code);
  return a ? a.name : code;
}

function load() {
  return call('GET', '/api/v1/admin/departments').then((r) => {
    if (!r.ok) return;
    const rows = r.body.map((d) => el('tr', {
      tabindex: '0', dataset: { id: d.id }, class: selected && selected.id === d.id ? 'picked' : '',
      onclick: () => pick(d), onkeydown: (e) => { if (e.key === 'Enter') pick(d); },
    }, [el('td', { text: d.name }), el('td', { text: GD.t('dk.' + d.kind) }), el('td', { text: areaName(d.area) }),
      el('td', { class: 'num', text: d.duty_phone })]));
    $('#dept-table tbody').replaceChildren(...rows);
    $('#dept-empty').hidden = r.body.length > 0;
  });
}

/** Pick department `d` to change it and give it accounts (null: back to a new one). */
function pick(d) {
  selected = d;
  shown = null;
  $('#da-form').hidden = !d;
  $('#dp-new').hidden = !d;
  $('#dp-name').value = d ? d.name : '';
  $('#dp-kind').value = d ? d.kind : DEPARTMENT_KINDS[0];
  $('#dp-area').value = d && d.area ? d.area : '';
  $('#dp-phone').value = d ? d.duty_phone : '';
  $('#dp-error').textContent = '';
  $('#da-error').textContent = '';
  words();
  document.querySelectorAll('#dept-table tbody tr').forEach((tr) => tr.classList.toggle('picked', !!d && tr.dataset.id === d.id));
  // The form's heading stays in view (the account card is below it).
  $('#dp-name').focus();
}

function accountsPath(rest) { return `/api/v1/admin/departments/${encodeURIComponent(selected.id)}/accounts${rest || ''}`; }

/** The picked department's accounts, each with a password reset. */
function loadAccounts() {
  const d = selected;
  return call('GET', accountsPath()).then((r) => {
    if (!r.ok || selected !== d) return;
    $('#da-list').replaceChildren(...r.body.map((a) => el('li', { dataset: { id: a.id } }, [
      el('span', { text: a.name }),
      el('span', { class: 'meta', text: a.phone + (a.enabled ? '' : ' · ' + GD.t('acc.disabled')) }),
      el('button', { type: 'button', class: 'plain small', text: GD.t('da.reset'), onclick: () => reset(a) }),
    ])));
  });
}

function reset(a) {
  const password = randomPassword();
  call('PATCH', accountsPath('/' + encodeURIComponent(a.id)), { body: { password } }).then((r) => {
    if (!r.ok) { $('#da-error').textContent = GD.errText(r); return; }
    $('#da-error').textContent = '';
    shown = { name: r.body.name, phone: r.body.phone, password, reset: true };
    $('#da-shown').textContent = GD.t('da.reset_shown', shown);
    $('#da-shown').scrollIntoView({ block: 'nearest' });
  });
}

function save() {
  const body = { name: $('#dp-name').value, kind: $('#dp-kind').value, duty_phone: $('#dp-phone').value, area: $('#dp-area').value };
  const editing = selected;
  if (!editing && !body.area) delete body.area;
  const done = editing
    ? call('PATCH', `/api/v1/admin/departments/${encodeURIComponent(editing.id)}`, { body })
    : call('POST', '/api/v1/admin/departments', { body });
  done.then((r) => {
    if (!r.ok) { $('#dp-error').textContent = GD.errText(r); return; }
    GD.toast(GD.tr(editing ? 'dp.saved' : 'dp.created', { name: r.body.name }), 'ok');
    load().then(() => pick(r.body));
  });
}

function addAccount() {
  if (!selected) return;
  const password = $('#da-password').value;
  const body = { name: $('#da-name').value, phone: $('#da-phone').value, password };
  call('POST', `/api/v1/admin/departments/${encodeURIComponent(selected.id)}/accounts`, { body }).then((r) => {
    if (!r.ok) { $('#da-error').textContent = GD.errText(r); return; }
    $('#da-error').textContent = '';
    ['#da-name', '#da-phone', '#da-password'].forEach((s) => { $(s).value = ''; });
    shown = { name: r.body.name, phone: r.body.phone, password };
    $('#da-shown').textContent = GD.t('da.shown', shown);
    loadAccounts();
  });
}
