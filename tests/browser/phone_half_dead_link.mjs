// (issue 18) A mediator's phone in the field, 390×844: on duty (the tap primes the offer sound
// and asks to keep the screen on), then the link dies (`setOffline`): the red bar shows within
// 20 s; a report filed meanwhile appears once the link is back, rings, and names its place; the
// job card navigates with web links of three map apps. Then the command center raises it to
// red and the holder's phone shows the colour and the new arrival deadline without a reload.
// usage: node phone_half_dead_link.mjs <base> <mediator_phone> <password> <lat> <lng> <scene_id> <scene_name> <operator_token>
import { api, context, scenario, shot, PHONE, WAIT_MS } from './lib.mjs';

const [base, medPhone, medPassword, lat0, lng0, sceneId, sceneName, opToken] = process.argv.slice(2);
const lat = Number(lat0), lng = Number(lng0);

await scenario('phone-half-dead-link', async (browser, errors) => {
  const ctx = await context(browser, errors, { ...PHONE, geolocation: { latitude: lat + 0.004, longitude: lng, accuracy: 15 } });
  await ctx.grantPermissions(['geolocation'], { origin: base });
  // Every mediator socket passes through here; `deaf` makes the link half-dead: the socket stays
  // open on both ends, but nothing gets through (the server still sees its pings answered).
  let deaf = false;
  await ctx.routeWebSocket(/\/api\/v1\/mediator\/ws/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => { if (!deaf) server.send(m); });
    server.onMessage((m) => { if (!deaf) ws.send(m); });
  });
  const med = await ctx.newPage();
  await med.goto(`${base}/m`);
  await med.getByLabel('手机号').fill(medPhone);
  await med.getByLabel('密码').fill(medPassword);
  await med.getByRole('button', { name: '登录' }).click();
  await med.getByRole('button', { name: '上岗' }).click();
  await med.waitForFunction(() => /位置已共享/.test(document.querySelector('#pos-state').textContent), null, { timeout: WAIT_MS });
  // The screen lock: held, or the mediator is told it cannot be.
  await med.waitForFunction(() => {
    const w = document.querySelector('#wake-state');
    return !w.hidden && /屏幕/.test(w.textContent);
  }, null, { timeout: WAIT_MS });
  const wake = await med.evaluate(() => window.gdMediator.alerts.wake);
  console.log(`ok: on duty; screen wake lock: ${wake} ("${await med.locator('#wake-state').innerText()}")`);
  await shot(med, 'phone-on-duty');

  // (a) The link goes half-dead: the page's own heartbeat notices within 20 s, and the page
  // polls; a report filed meanwhile still appears.
  let cut = Date.now();
  deaf = true;
  await med.waitForFunction(() => {
    const bar = document.querySelector('#netbar');
    return !bar.hidden && bar.classList.contains('bad') && /网络已断开/.test(bar.textContent);
  }, null, { timeout: WAIT_MS });
  console.log(`ok: a half-dead link: the red bar shows ${((Date.now() - cut) / 1000).toFixed(1)} s after it went silent`);
  await shot(med, 'phone-link-half-dead');
  const polled = await api(base, 'POST', '/api/v1/reports', {
    body: { location: { lat, lng, coord: 'wgs84' }, category: 'property', description: '物业停水三天没人管', phone: '13812345679' },
  });
  await med.locator(`article.offer[data-id="${polled.id}"]`).waitFor({ timeout: WAIT_MS });
  console.log('ok: the offer filed meanwhile came by polling');
  deaf = false;
  await med.waitForFunction(() => document.querySelector('#netbar').hidden, null, { timeout: WAIT_MS });
  await med.locator(`article.offer[data-id="${polled.id}"]`).getByRole('button', { name: '不方便' }).click();
  await med.locator(`article.offer[data-id="${polled.id}"]`).waitFor({ state: 'detached', timeout: WAIT_MS });

  // (b) The phone loses its network. The bar turns red within 20 s.
  cut = Date.now();
  await ctx.setOffline(true);
  await med.waitForFunction(() => {
    const bar = document.querySelector('#netbar');
    return !bar.hidden && bar.classList.contains('bad') && /网络/.test(bar.textContent);
  }, null, { timeout: WAIT_MS });
  console.log(`ok: the red bar shows ${((Date.now() - cut) / 1000).toFixed(1)} s after the link died`);

  // A report filed meanwhile (by someone else's phone, not this one).
  const filed = await api(base, 'POST', '/api/v1/reports', {
    body: { scene: sceneId, category: 'neighbor', description: '两户人家因为楼道堆放杂物吵起来了', phone: '13812345678', address: '3号楼2单元楼道' },
  });
  await shot(med, 'phone-link-dead', { fullPage: true });
  if (await med.locator('article.offer').count()) throw new Error('an offer arrived over a dead link?');

  // The link comes back: the missed offer appears (poll or the socket's snapshot), and rings.
  const back = Date.now();
  await ctx.setOffline(false);
  const offer = med.locator(`article.offer[data-id="${filed.id}"]`);
  await offer.waitFor({ timeout: WAIT_MS });
  console.log(`ok: the missed offer appeared ${((Date.now() - back) / 1000).toFixed(1)} s after the link came back`);
  await med.waitForFunction(() => document.querySelector('#netbar').hidden, null, { timeout: WAIT_MS });
  await med.waitForFunction(() => window.gdMediator.alerts.played + window.gdMediator.alerts.vibrated > 0, null, { timeout: WAIT_MS });
  const alerts = await med.evaluate(() => window.gdMediator.alerts);
  console.log(`ok: the offer rang (sound played ${alerts.played}×, vibrated ${alerts.vibrated}×)`);
  const offerText = await offer.innerText();
  if (!offerText.includes(sceneName) || !offerText.includes('3号楼2单元楼道')) throw new Error(`offer lacks the place: ${offerText}`);
  console.log('ok: the offer names its place');
  await shot(med, 'phone-missed-offer', { fullPage: true });

  // Accept: the job card navigates with web links (WeChat and iOS ignore geo:).
  await offer.getByRole('button', { name: '接单' }).click();
  const job = med.locator(`article.job[data-id="${filed.id}"]`);
  await job.waitFor({ timeout: WAIT_MS });
  for (const [cls, host] of [['nav-amap', 'uri.amap.com'], ['nav-qq', 'apis.map.qq.com'], ['nav-baidu', 'api.map.baidu.com']]) {
    const href = await job.locator(`a.${cls}`).getAttribute('href');
    const u = new URL(href);
    if (u.host !== host || !/wgs84|coord_type=1/.test(href) || !href.includes(String(lat).slice(0, 6))) throw new Error(`${cls}: ${href}`);
  }
  console.log('ok: the job navigates with AMap, Tencent and Baidu web links');

  // The command center raises it to red: the phone shows the colour and the new deadline.
  const before = await med.evaluate((id) => window.gdMediator.mine.get(id).arrive_by, filed.id);
  const raised = await api(base, 'POST', `/api/v1/command/incidents/${filed.id}/risk`, { token: opToken, body: { risk: 'red' } });
  const newArrive = raised.arrive_by;
  if (!newArrive || newArrive === before) throw new Error(`the deadline did not change: ${before} → ${newArrive}`);
  await med.waitForFunction(({ id, due }) => {
    const card = document.querySelector(`article.job[data-id="${id}"]`);
    const v = window.gdMediator.mine.get(id);
    return card && card.classList.contains('risk-red') && v.arrive_by === due && /红色/.test(card.textContent);
  }, { id: filed.id, due: newArrive }, { timeout: WAIT_MS });
  const shown = await job.locator('.deadlines').innerText();
  console.log(`ok: the holder sees red and the new arrival deadline (${shown.split('\n')[0]})`);
  const toast = await med.locator('#toast').textContent();
  if (!/红色/.test(toast)) throw new Error(`no toast about the colour: ${toast}`);
  // Readable: an error toast once took the page's red error text colour on its red background.
  const [fg, bg] = await med.evaluate(() => { const cs = getComputedStyle(document.querySelector('#toast')); return [cs.color, cs.backgroundColor]; });
  if (fg === bg) throw new Error(`the toast's text is invisible: ${fg} on ${bg}`);
  console.log(`ok: the holder was told: ${toast}`);
  await med.waitForFunction(() => document.querySelector('#toast').getAnimations().length === 0, null, { timeout: WAIT_MS });
  await shot(med, 'phone-risk-raised');
});
