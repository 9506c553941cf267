// (b) A resident files through /r/{scene}, a mediator accepts on /m, and the resident's
// /t/{token} page shows the claim and the mediator's name without a reload. The command center
// supervises (督办) and the mediator's card shows the order; after the resolution the resident
// rates it on the same page, and the operator's incident panel shows the rating.
// usage: node resident_to_claim.mjs <base> <scene_id> <scene_name> <mediator_phone> <mediator_password> <mediator_name> <lat> <lng> <operator_token>
import { api, context, scenario, shot, PHONE, WAIT_MS } from './lib.mjs';

const [base, sceneId, sceneName, medPhone, medPassword, medName, lat0, lng0, opToken] = process.argv.slice(2);
const lat = Number(lat0), lng = Number(lng0);

await scenario('resident-to-claim', async (browser, errors) => {
  // The mediator: logs in on the phone page, goes on duty, shares a position ~450 m away.
  const medCtx = await context(browser, errors, { ...PHONE, geolocation: { latitude: lat + 0.004, longitude: lng, accuracy: 12 } });
  await medCtx.grantPermissions(['geolocation'], { origin: base });
  const med = await medCtx.newPage();
  await med.goto(`${base}/m`);
  await med.getByLabel('手机号').fill(medPhone);
  await med.getByLabel('密码').fill(medPassword);
  await med.getByRole('button', { name: '登录' }).click();
  await med.getByRole('button', { name: '上岗' }).click();
  await med.waitForFunction(() => document.querySelector('#duty-state').textContent === '在岗中', null, { timeout: WAIT_MS });
  await med.waitForFunction(() => /位置已共享/.test(document.querySelector('#pos-state').textContent), null, { timeout: WAIT_MS });
  console.log('ok: the mediator is on duty and sharing a position');

  // The resident: WeChat's browser on a phone, from the scene's QR code.
  const resCtx = await context(browser, errors, PHONE);
  const res = await resCtx.newPage();
  await res.goto(`${base}/r/${encodeURIComponent(sceneId)}`);
  await res.getByText(sceneName).waitFor({ timeout: WAIT_MS });
  await res.getByRole('button', { name: '邻里纠纷' }).click();
  await res.getByLabel('请简单说说发生了什么').fill('楼上每天晚上十一点以后还在装修，敲打声很大，上去说了两次都没用。');
  await res.getByLabel('您的手机号').fill('13812345678');
  await shot(res, 'resident-form', { fullPage: true });
  // An impatient double tap must file one report.
  await res.getByRole('button', { name: '提交上报' }).dblclick();
  await res.waitForURL(/\/t\/[A-Za-z0-9_-]{40,}$/, { timeout: WAIT_MS });
  await res.waitForFunction(() => window.gdTrack && window.gdTrack.view && window.gdTrack.view.status === 'dispatching', null, { timeout: WAIT_MS });
  await res.evaluate(() => { window.__sameDocument = true; });
  console.log(`ok: filed, tracking at ${new URL(res.url()).pathname.slice(0, 12)}…`);

  // The offer reaches the mediator; they accept.
  const offer = med.locator('article.offer').first();
  await offer.waitFor({ timeout: WAIT_MS });
  const offerText = await offer.innerText();
  if (!/邻里纠纷/.test(offerText) || !/距您/.test(offerText) || !/此单 \d+分\d+秒 后失效/.test(offerText)) {
    throw new Error(`offer card lacks category, distance or countdown: ${offerText}`);
  }
  await shot(med, 'mediator-offer', { fullPage: true });
  await offer.getByRole('button', { name: '接单' }).click();
  const job = med.locator('article.job').first();
  await job.waitFor({ timeout: WAIT_MS });
  const call = await job.locator('a.call').getAttribute('href');
  if (call !== 'tel:13812345678') throw new Error(`call link ${call}`);
  if (!/^geo:/.test(await job.locator('a.navigate').getAttribute('href'))) throw new Error('no navigate link');
  console.log('ok: the mediator holds it, with call and navigate');

  // The resident's page follows without a reload.
  await res.waitForFunction((name) => {
    const v = window.gdTrack.view;
    return v && v.status === 'claimed' && document.querySelector('#headline').textContent.includes(name)
      && !document.querySelector('#mediator-card').hidden;
  }, medName, { timeout: WAIT_MS });
  if (!(await res.evaluate(() => window.__sameDocument === true))) throw new Error('the tracking page reloaded');
  const callMediator = await res.locator('#call').getAttribute('href');
  if (callMediator !== `tel:${medPhone}`) throw new Error(`resident call link ${callMediator}`);
  await res.waitForFunction(() => !document.querySelector('#track-map').hidden, null, { timeout: WAIT_MS });
  const via = await res.evaluate(() => window.gdTrack.via);
  console.log(`ok: the tracking page shows ${medName} without a reload (updates via ${via})`);
  await shot(res, 'resident-tracking', { fullPage: true });

  // The command center supervises: the order shows on the mediator's card, with the deadlines.
  const incidentId = await res.evaluate(() => window.gdTrack.view.id);
  await api(base, 'POST', `/api/v1/command/incidents/${incidentId}/supervise`, { token: opToken, body: { note: '请今天之内到场处理' } });
  await job.getByText('指挥中心督办：请今天之内到场处理').waitFor({ timeout: WAIT_MS });
  const jobText = await job.innerText();
  if (!/到场时限/.test(jobText) || !/办结时限/.test(jobText) || !/还剩/.test(jobText)) throw new Error(`job card lacks deadlines: ${jobText}`);
  console.log('ok: the mediator sees the supervision order and the deadlines');
  await shot(med, 'mediator-supervised', { fullPage: true });

  // Arrive and resolve; the resident sees it closed.
  await job.getByRole('button', { name: '我已到场' }).click();
  await med.getByText('调解成功').click();
  await med.getByLabel('处理情况（选填）').fill('双方协商：晚上九点后停止施工。');
  await shot(med, 'mediator-resolve', { fullPage: true });
  await med.getByRole('button', { name: '办结' }).click();
  await med.locator('article.job').waitFor({ state: 'detached', timeout: WAIT_MS });
  await res.waitForFunction(() => window.gdTrack.view.status === 'resolved'
    && document.querySelector('#headline').textContent.includes('调解成功'), null, { timeout: WAIT_MS });
  if (!(await res.evaluate(() => window.__sameDocument === true))) throw new Error('the tracking page reloaded');
  console.log('ok: resolved, and the resident sees the outcome');
  await shot(res, 'resident-resolved', { fullPage: true });

  // The follow-up visit: four stars, solved, a few words; thanks without a reload.
  await res.locator('#feedback-card').waitFor({ timeout: WAIT_MS });
  await res.getByRole('button', { name: '提交评价' }).click();
  await res.waitForFunction(() => /请点一颗星/.test(document.querySelector('#fb-error').textContent), null, { timeout: WAIT_MS });
  await res.getByRole('button', { name: '4 颗星：满意' }).click();
  await res.getByRole('button', { name: '问题已解决' }).click();
  await res.getByLabel('还想说的话（可以不填）').fill('调解员很耐心，谢谢');
  await res.locator('#feedback-card').scrollIntoViewIfNeeded();
  await shot(res, 'resident-rating', { fullPage: true });
  await res.getByRole('button', { name: '提交评价' }).click();
  await res.waitForFunction(() => !document.querySelector('#thanks-card').hidden
    && document.querySelector('#feedback-card').hidden
    && /感谢您的评价/.test(document.querySelector('#thanks-card').textContent), null, { timeout: WAIT_MS });
  if (!(await res.evaluate(() => window.__sameDocument === true))) throw new Error('the tracking page reloaded');
  const resText = await res.evaluate(() => document.body.innerText);
  if (/\bev\.|微信通知/.test(resText)) throw new Error(`raw keys or delivery lines on the resident page: ${resText}`);
  console.log('ok: the resident rated it and sees the thanks without a reload');
  await shot(res, 'resident-thanks', { fullPage: true });

  // The operator's incident panel shows the rating.
  const opCtx = await context(browser, errors, { viewport: { width: 1920, height: 1080 } });
  const op = await opCtx.newPage();
  await op.goto(`${base}/?token=${encodeURIComponent(opToken)}#incident=${incidentId}`);
  await op.waitForFunction(() => {
    const f = document.querySelector('#panel .feedback');
    return f && /★★★★☆/.test(f.textContent) && /调解员很耐心/.test(f.textContent) && /问题已解决/.test(f.textContent);
  }, null, { timeout: WAIT_MS });
  const panelText = await op.locator('#panel').innerText();
  if (!/群众评价 4 星/.test(panelText) || !/指挥中心督办：请今天之内到场处理/.test(panelText)) throw new Error(`panel: ${panelText}`);
  const opText = await op.evaluate(() => document.body.innerText);
  if (/\bev\./.test(opText)) throw new Error(`raw event keys on the command center: ${opText}`);
  console.log('ok: the command center panel shows the rating');
  await shot(op, 'command-feedback');
});
