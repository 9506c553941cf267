// The admin's session: a token from `?token=` (the CLI's), localStorage, or the login form; every
// API call goes through `call`, which asks for a login again when the token is refused.
import { GD, $ } from '../common.js';

let token = GD.takeToken('admin');
let onReady = () => {};

export function call(method, path, opts = {}) {
  return GD.api(method, path, Object.assign({ token }, opts)).then((r) => {
    if (r.status === 401) showLogin(GD.t('login.expired'));
    return r;
  });
}

/** Raw fetch with the token (CSV bodies, downloads). */
export function fetchRaw(method, path, body, contentType) {
  const headers = { Authorization: 'Bearer ' + token };
  if (contentType) headers['Content-Type'] = contentType;
  return fetch(path, { method, headers, body, cache: 'no-store' });
}

function showLogin(message) {
  $('#login').hidden = false;
  $('#login-error').textContent = message || '';
  $('#logout').hidden = true;
  $('#login-phone').focus();
}

/** Start: check the token (or ask for a login), then call `ready()`. */
export function start(ready) {
  onReady = ready;
  GD.loginForm('admin', (t) => { token = t; check(); });
  $('#logout').addEventListener('click', () => { token = null; GD.saveToken('admin', null); location.reload(); });
  check();
}

/** Whether the token is an admin's: then show who is signed in and call `ready()`. */
function check() {
  if (!token) { showLogin(''); return; }
  GD.api('GET', '/api/v1/admin/admins?limit=500', { token }).then((r) => {
    if (!r.ok) {
      const why = { 401: 'login.expired', 403: 'login.notAdmin' }[r.status];
      showLogin(why ? GD.t(why) : r.message);
      return;
    }
    $('#login').hidden = true;
    $('#logout').hidden = false;
    const sub = subject(token);
    const me = (r.body || []).find((a) => a.id === sub);
    const who = () => { $('#who').textContent = me ? me.name : GD.t('who.ops'); };
    who();
    GD.onLang(who);
    onReady();
  });
}

/** The token's `sub` (read, not verified: the server verifies). */
function subject(t) {
  try { return JSON.parse(atob(t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).sub; } catch (e) { return null; }
}
