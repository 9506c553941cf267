// Who did what: the audit log, newest first, paged on the server.
import { call } from './session.js';

import { GD, $ } from '../common.js';
const el = GD.el;
const PAGE = 50;
let offset = 0;
let total = 0;
let last = [];

export function init() {
  $('#au-prev').addEventListener('click', () => { offset = Math.max(0, offset - PAGE); load(); });
  $('#au-next').addEventListener('click', () => { if (offset + PAGE < total) { offset += PAGE; load(); } });
  GD.onLang(() => render(last));
}

export function show() { offset = 0; load(); }

function load() {
  call('GET', `/api/v1/admin/audit?offset=${offset}&limit=${PAGE}`).then((r) => {
    if (!r.ok) return;
    total = r.body.total;
    last = r.body.items;
    render(last);
  });
}

function render(items) {
  $('#audit-table tbody').replaceChildren(...items.map((e) => el('tr', {}, [
    el('td', { class: 'num', text: GD.fmtDateTime(e.at) }),
    el('td', { text: e.actor_name || (e.actor_id.length > 30 ? e.actor_id.slice(0, 8) : e.actor_id) }),
    el('td', { text: GD.t('act.' + e.action) }),
    el('td', { text: `${GD.t('kind.' + e.target_kind)} ${e.target_name}` }),
    el('td', { text: e.detail || '' }),
  ])));
  const pages = Math.max(1, Math.ceil(total / PAGE));
  $('#au-page').textContent = GD.t('page.of', { page: Math.floor(offset / PAGE) + 1, pages, total });
  $('#au-prev').disabled = offset === 0;
  $('#au-next').disabled = offset + PAGE >= total;
}
