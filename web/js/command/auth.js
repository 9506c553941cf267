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
GD.loginForm('operator', function (token) {
  $('#login').hidden = true;
  start(token);
});
$('#logout').addEventListener('click', function () {
  GD.saveToken('operator', null);
  if (S.socket) S.socket.stop();
  S.socket = null;
  showLogin();
});
/** Back to the sign-in, with `message` (default: the session expired). */
export function authFailed(message) {
  GD.saveToken('operator', null);
  if (S.socket) S.socket.stop();
  S.socket = null;
  showLogin(message || GD.t('login.expired'));
}
