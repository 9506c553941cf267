// Sign-in and sign-out of the operator; an expired token sends them back to sign in.
import { GD, $ } from '../common.js';
import { S } from './state.js';
import { start } from './live.js';

export function showLogin(message) {
  $('#login').hidden = false;
  $('#login-error').textContent = message || '';
  $('#logout').hidden = true;
  $('#login-phone').focus();
}
$('#login-form').addEventListener('submit', function (e) {
  e.preventDefault();
  var body = { phone: $('#login-phone').value.trim(), password: $('#login-password').value };
  GD.api('POST', '/api/v1/auth/login', { body: body }).then(function (r) {
    if (!r.ok) { $('#login-error').textContent = r.status === 401 ? GD.t('login.failed') : r.message; return; }
    GD.saveToken('operator', r.body.access_token);
    $('#login').hidden = true;
    $('#login-password').value = '';
    start(r.body.access_token);
  });
});
$('#logout').addEventListener('click', function () {
  GD.saveToken('operator', null);
  if (S.socket) S.socket.stop();
  S.socket = null;
  showLogin();
});
export function authFailed() {
  GD.saveToken('operator', null);
  if (S.socket) S.socket.stop();
  S.socket = null;
  showLogin(GD.t('login.expired'));
}
