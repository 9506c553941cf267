// The admin console (/admin): tabs for staff accounts, QR places, areas, departments and the audit log. Each
// tab is its own module; this one signs in, registers the words and switches tabs.
import { STRINGS } from './strings.js';
import { start } from './session.js';
import * as accounts from './accounts.js';
import * as scenes from './scenes.js';
import * as areas from './areas.js';
import * as audit from './audit.js';
import * as departments from './departments.js';

import { GD, $ } from '../common.js';
GD.strings(STRINGS);
GD.applyStrings();

const views = { mediators: 'accounts', operators: 'accounts', admins: 'accounts', scenes: 'scenes', areas: 'areas', departments: 'departments', audit: 'audit' };
const shows = { accounts: accounts.show, scenes: scenes.show, areas: areas.show, departments: departments.show, audit: audit.show };

function open(tab) {
  if (!views[tab]) tab = 'mediators';
  document.querySelectorAll('.tabs [role=tab]').forEach((b) => b.setAttribute('aria-selected', String(b.dataset.tab === tab)));
  Object.values(views).forEach((v) => { $('#view-' + v).hidden = v !== views[tab]; });
  if (location.hash !== '#' + tab) history.replaceState(null, '', '#' + tab);
  shows[views[tab]](tab);
}

document.querySelectorAll('.tabs [role=tab]').forEach((b) => b.addEventListener('click', () => open(b.dataset.tab)));
accounts.init();
scenes.init();
areas.init();
audit.init();
departments.init();
start(() => open(location.hash.slice(1)));
window.gdAdmin = { open };
