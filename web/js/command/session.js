// Who is signed in and which area they see (`GET /api/v1/command/me`). An operator whose
// account names an area that does not exist, or who is refused the screen, gets a banner that
// says so and what to do, never a silent empty screen with a green status dot.
import { GD, $ } from '../common.js';
import { S } from './state.js';
import { authFailed } from './auth.js';

/** Ask the server about this operator and show the banner when their area is a problem. */
export function loadSession() {
  return GD.api('GET', '/api/v1/command/me', { token: S.token }).then(function (r) {
    if (r.status === 401) { authFailed(); return; }
    if (r.status === 403) { showAreaProblem(r.message); return; }
    if (!r.ok || !r.body) return;
    S.session = r.body;
    renderBanner();
  });
}

/** The banner for a refusal the server explained (e.g. no area while several districts exist). */
export function showAreaProblem(message) {
  S.session = { area_status: 'refused', message: message };
  renderBanner();
}

/** The banner in the current language (called again when it changes). */
export function renderBanner() {
  var s = S.session, box = $('#area-banner');
  var text = null;
  if (s && s.area_status === 'unknown') text = GD.t('ban.unknown', { area: s.area });
  else if (s && s.area_status === 'refused') text = GD.t('ban.refused', { msg: s.message || '' });
  box.hidden = !text;
  box.textContent = text || '';
  box.dataset.status = s ? s.area_status : '';
}
