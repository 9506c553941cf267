// (g) Revocation reaches the pages: an account disabled through the admin API while its page is
// open is back at the sign-in at once (the socket closes with 4403), with a message saying why,
// on the mediator's phone and on the command center's wall screen. No reconnect attempts first.
// usage: node revoked_sockets.mjs <base> <admin_token> <mediator_id> <mediator_token> <operator_id> <operator_token>
import { api, context, scenario, shot, PHONE, WAIT_MS } from './lib.mjs';

const [base, adminToken, medId, medToken, opId, opToken] = process.argv.slice(2);
/** The promise: the sign-in and its message within 3 s of the admin's change. */
const WITHIN_MS = 3000;

/** Disable `path`'s account, then wait (no sleeping) for the sign-in showing `message`. */
async function disableAndWaitForLogin(page, path, form, message) {
  const started = Date.now();
  await api(base, 'PATCH', path, { token: adminToken, body: { enabled: false } });
  await page.waitForFunction(([formSel, want]) => {
    const f = document.querySelector(formSel);
    const err = document.querySelector('#login-error');
    return f && !f.hidden && f.getBoundingClientRect().height > 0 && err && err.textContent === want;
  }, [form, message], { timeout: WITHIN_MS }).catch(async (e) => {
    const got = await page.evaluate(() => document.querySelector('#login-error')?.textContent);
    throw new Error(`no sign-in with "${message}" within ${WITHIN_MS} ms (message: ${JSON.stringify(got)}): ${e.message}`);
  });
  return Date.now() - started;
}

await scenario('revoked-sockets', async (browser, errors) => {
  const phone = await context(browser, errors, PHONE);
  const med = await phone.newPage();
  // The phone in English, the wall screen in Chinese: both messages are checked.
  await med.goto(`${base}/m?lang=en&token=${encodeURIComponent(medToken)}`);
  await med.waitForSelector('#app:not([hidden])', { timeout: WAIT_MS });
  await med.waitForSelector('#netbar', { state: 'hidden', timeout: WAIT_MS });
  const medMs = await disableAndWaitForLogin(med, `/api/v1/admin/mediators/${medId}`, '#login-form',
    'This account has been disabled, please contact the administrator');
  const stored = await med.evaluate(() => localStorage.getItem('gd.mediator.token'));
  if (stored) throw new Error('the disabled mediator\'s token is still kept');
  await shot(med, 'revoked-mediator-phone');
  console.log(`ok: the mediator's phone signs out in ${medMs} ms`);

  const wall = await context(browser, errors, { viewport: { width: 1920, height: 1080 } });
  const screen = await wall.newPage();
  await screen.goto(`${base}/?token=${encodeURIComponent(opToken)}`);
  await screen.waitForSelector('#link-state[data-state="open"]', { timeout: WAIT_MS });
  const opMs = await disableAndWaitForLogin(screen, `/api/v1/admin/operators/${opId}`, '#login', '账号已停用，请联系管理员');
  await shot(screen, 'revoked-command-center');
  console.log(`ok: the command center signs out in ${opMs} ms`);
  console.log('ok: revoked-sockets');
});
