// Staff accounts (mediators, operators, admins): a server-side searched and paged table, the
// editor (create, change, disable, reset the password, sign out everywhere), CSV import with
// its per-row report, and export.
import { call, fetchRaw } from './session.js';

import { GD, $ } from '../common.js';
const el = GD.el;
const PAGE = 20;
const ROLE = { mediators: 'mediator', operators: 'operator', admins: 'admin' };
let kind = 'mediators';
let offset = 0;
let total = 0;
let editing = null;
let areaNames = new Map();
let searchTimer = null;

export function init() {
  $('#acc-search').addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(() => { offset = 0; load(); }, 250); });
  $('#acc-enabled').addEventListener('change', () => { offset = 0; load(); });
  $('#acc-prev').addEventListener('click', () => { offset = Math.max(0, offset - PAGE); load(); });
  $('#acc-next').addEventListener('click', () => { if (offset + PAGE < total) { offset += PAGE; load(); } });
  $('#acc-new').addEventListener('click', () => edit(null));
  $('#acc-export').addEventListener('click', exportCsv);
  $('#acc-import').addEventListener('click', () => { $('#im-result').textContent = ''; $('#im-errors').hidden = true; $('#importer').hidden = false; });
  $('#im-close').addEventListener('click', () => { $('#importer').hidden = true; });
  $('#import-form').addEventListener('submit', (e) => { e.preventDefault(); importCsv(); });
  $('#ed-close').addEventListener('click', closeEditor);
  $('#editor-form').addEventListener('submit', (e) => { e.preventDefault(); save(); });
  $('#ed-generate').addEventListener('click', () => { $('#ed-password').value = randomPassword(); });
  $('#ed-toggle').addEventListener('click', toggleEnabled);
  $('#ed-revoke').addEventListener('click', revoke);
  const box = $('#ed-specialties');
  GD.CATEGORIES.forEach((c) => box.appendChild(el('label', { class: 'check' }, [
    el('input', { type: 'checkbox', value: c }), el('span', { 'data-i18n': 'cat.' + c, text: GD.t('cat.' + c) })])));
  GD.onLang(() => { if (!$('#view-accounts').hidden) render(lastItems); });
}

export function show(tab) {
  if (tab !== kind) { kind = tab; offset = 0; $('#acc-search').value = ''; }
  $('#view-accounts').dataset.kind = kind;
  $('#acc-title').textContent = GD.t('acc.title.' + kind);
  loadAreas().then(load);
}

function loadAreas() {
  return call('GET', '/api/v1/admin/areas').then((r) => {
    if (r.ok) areaNames = new Map(r.body.map((a) => [a.code, a]));
  });
}

let lastItems = [];
function load() {
  const q = new URLSearchParams({ offset: String(offset), limit: String(PAGE) });
  const words = $('#acc-search').value.trim();
  if (words) q.set('q', words);
  if ($('#acc-enabled').value) q.set('enabled', $('#acc-enabled').value);
  return fetchRaw('GET', `/api/v1/admin/${kind}?${q}`).then((r) => {
    total = Number(r.headers.get('x-total-count') || 0);
    return r.ok ? r.json() : [];
  }).then((items) => { lastItems = items; render(items); });
}

function areaLabel(code) {
  if (!code) return '';
  const a = areaNames.get(code);
  return a ? `${a.name}（${code}）` : code;
}

function render(items) {
  const body = $('#acc-table tbody');
  body.replaceChildren(...items.map((a) => {
    const row = el('tr', { tabindex: '0', dataset: { id: a.id }, class: a.enabled ? '' : 'off', onclick: () => edit(a),
      onkeydown: (e) => { if (e.key === 'Enter') edit(a); } }, [
      el('td', { text: a.name }), el('td', { text: a.phone, class: 'num' }), el('td', { text: areaLabel(a.area) }),
      el('td', { class: 'med-only', text: a.specialties.map((c) => GD.t('cat.' + c)).join(GD.lang === 'zh' ? '、' : ', ') }),
      el('td', { class: 'med-only num', text: String(a.capacity) }),
      el('td', { text: GD.t(a.wechat_openid ? 'yes.bound' : 'no.bound') }),
      el('td', { text: GD.t(a.password_set ? 'pw.set' : 'pw.unset'), class: a.password_set ? '' : 'warn' }),
      el('td', {}, [el('span', { class: 'badge ' + (a.enabled ? 'on' : 'off'), text: GD.t(a.enabled ? 'acc.enabled' : 'acc.disabled') })]),
    ]);
    return row;
  }));
  $('#acc-empty').hidden = items.length > 0;
  const pages = Math.max(1, Math.ceil(total / PAGE));
  $('#acc-page').textContent = GD.t('page.of', { page: Math.floor(offset / PAGE) + 1, pages, total });
  $('#acc-prev').disabled = offset === 0;
  $('#acc-next').disabled = offset + PAGE >= total;
}

function fillAreas(selected) {
  const select = $('#ed-area');
  const wanted = kind === 'mediators' ? ['grid', 'community'] : ['district', 'street', 'community', 'grid'];
  const options = [...areaNames.values()].filter((a) => wanted.includes(a.level));
  select.replaceChildren(el('option', { value: '', text: GD.t('area.none') }),
    ...options.map((a) => el('option', { value: a.code, text: `${a.name}（${GD.t('lvl.' + a.level)} ${a.code}）` })));
  if (selected && !areaNames.has(selected)) select.appendChild(el('option', { value: selected, text: selected }));
  select.value = selected || '';
}

function edit(account) {
  editing = account;
  $('#editor').dataset.kind = kind;
  $('#ed-title').textContent = account ? GD.t('ed.edit', { name: account.name })
    : GD.t('ed.new', { kind: GD.t('kind.' + ROLE[kind]) });
  $('#ed-name').value = account ? account.name : '';
  $('#ed-phone').value = account ? account.phone : '';
  $('#ed-password').value = '';
  $('#ed-password').required = !account;
  $('#ed-capacity').value = account ? account.capacity : 3;
  $('#ed-openid').value = account && account.wechat_openid ? account.wechat_openid : '';
  document.querySelectorAll('#ed-specialties input').forEach((i) => { i.checked = !!account && account.specialties.includes(i.value); });
  fillAreas(account && account.area);
  $('#ed-toggle').hidden = !account;
  $('#ed-revoke').hidden = !account;
  if (account) $('#ed-toggle').textContent = GD.t(account.enabled ? 'ed.disable' : 'ed.enable');
  $('#ed-error').textContent = '';
  $('#editor').hidden = false;
  $('#ed-name').focus();
}

function closeEditor() { $('#editor').hidden = true; editing = null; }

function fail(r) {
  $('#ed-error').textContent = r.code === 'phone_taken' ? GD.t('err.phone_taken') : GD.t('err.failed', { msg: r.message });
}

function save() {
  const body = { name: $('#ed-name').value, phone: $('#ed-phone').value.trim(), area: $('#ed-area').value };
  const password = $('#ed-password').value;
  if (password) body.password = password;
  if (kind === 'mediators') {
    body.specialties = [...document.querySelectorAll('#ed-specialties input:checked')].map((i) => i.value);
    body.capacity = Number($('#ed-capacity').value) || 3;
    body.wechat_openid = $('#ed-openid').value.trim();
  }
  if (!editing && !password) { $('#ed-error').textContent = GD.t('ed.needPassword'); return; }
  if (!editing && !body.area) delete body.area;
  const request = editing ? call('PATCH', `/api/v1/admin/${kind}/${editing.id}`, { body })
    : call('POST', `/api/v1/admin/${kind}`, { body });
  request.then((r) => {
    if (!r.ok) { fail(r); return; }
    closeEditor();
    GD.toast(editing ? GD.t('ed.saved') : GD.t('ed.created', { name: r.body.name }), 'ok');
    if (password) GD.toast(GD.t('ed.password.shown', { password }), 'ok');
    load();
  });
}

function toggleEnabled() {
  const a = editing;
  call('PATCH', `/api/v1/admin/${kind}/${a.id}`, { body: { enabled: !a.enabled } }).then((r) => {
    if (!r.ok) { fail(r); return; }
    closeEditor();
    GD.toast(GD.t(r.body.enabled ? 'ed.enabled' : 'ed.disabled', { name: r.body.name }), 'ok');
    load();
  });
}

function revoke() {
  const a = editing;
  call('POST', `/api/v1/admin/accounts/${a.id}/revoke`, { body: {} }).then((r) => {
    if (!r.ok) { fail(r); return; }
    closeEditor();
    GD.toast(GD.t('ed.revoked', { name: a.name }), 'ok');
  });
}

/** 12 characters from an alphabet without look-alikes (no 0/O, 1/l/I). */
export function randomPassword() {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

function importCsv() {
  const file = $('#im-file').files[0];
  if (!file) { $('#im-result').textContent = GD.t('im.pick'); return; }
  const strict = $('#im-strict').checked;
  $('#im-go').disabled = true;
  file.arrayBuffer().then((bytes) => fetchRaw('POST', `/api/v1/admin/import/${kind}?strict=${strict}`, bytes, 'text/csv'))
    .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
    .then(({ ok, body }) => {
      const rejected = body.rejected || [];
      if (!ok && !body.rejected) {
        $('#im-result').textContent = GD.t('err.failed', { msg: body.error ? body.error.message : '' });
      } else {
        $('#im-result').textContent = ok ? GD.t('im.done', { n: body.imported, bad: rejected.length })
          : GD.t('im.refused', { bad: rejected.length });
      }
      $('#im-result').className = 'result ' + (ok && !rejected.length ? 'ok' : 'bad');
      $('#im-errors tbody').replaceChildren(...rejected.map((e) => el('tr', {}, [
        el('td', { class: 'num', text: String(e.row) }), el('td', { text: e.field ? GD.t('f.' + e.field) : '' }),
        el('td', { text: e.reason })])));
      $('#im-errors').hidden = rejected.length === 0;
      offset = 0;
      load();
    })
    .finally(() => { $('#im-go').disabled = false; });
}

function exportCsv() {
  fetchRaw('GET', `/api/v1/admin/export/${kind}`).then((r) => r.blob()).then((blob) => {
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: `grid-dispatch-${kind}.csv` });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
}
