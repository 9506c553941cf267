// (issue 18) A resident with a QR code that is not (or no longer) valid and location access
// denied, on a 390×844 phone: the form says the code is invalid, the 110 line sits on top, and
// they can still say where: (a) by dragging the pin on the map, (b) by typing a place. The
// typed-only report goes to the command center at once: its tracking page shows the center's
// phone and how long they have waited, and offers to text its link.
// usage: node resident_without_scene.mjs <base> <unknown_scene> <center_phone>
import { context, scenario, shot, PHONE, WAIT_MS } from './lib.mjs';

const [base, unknownScene, centerPhone] = process.argv.slice(2);

async function fill(page, description) {
  await page.getByRole('button', { name: '邻里纠纷' }).click();
  await page.getByLabel('请简单说说发生了什么').fill(description);
}

await scenario('resident-without-scene', async (browser, errors) => {
  // No geolocation permission: the browser refuses.
  const ctx = await context(browser, errors, PHONE);
  const page = await ctx.newPage();
  await page.goto(`${base}/r/${encodeURIComponent(unknownScene)}`);
  await page.getByText('二维码无效或已停用').waitFor({ timeout: WAIT_MS });
  const order = await page.evaluate(() => {
    const notice = document.querySelector('.notice.urgent'), submit = document.querySelector('#submit');
    return { above: notice.getBoundingClientRect().bottom <= submit.getBoundingClientRect().top
      && notice.compareDocumentPosition(document.querySelector('#report-form')) === Node.DOCUMENT_POSITION_FOLLOWING,
    tel: document.querySelector('.call110').getAttribute('href') };
  });
  if (!order.above || order.tel !== 'tel:110') throw new Error(`the 110 line is not above the form: ${JSON.stringify(order)}`);
  console.log('ok: the form says the QR code is invalid, with 110 on top');
  await page.getByRole('button', { name: '使用我现在的位置' }).click();
  await page.getByText('无法获取您的位置').waitFor({ timeout: WAIT_MS });
  await page.locator('#pick-map').scrollIntoViewIfNeeded();
  await shot(page, 'resident-no-scene-denied', { fullPage: true });

  // (a) Drag the pin about 150 m north-east, then file.
  const pin = page.locator('.pick-pin');
  await pin.waitFor({ timeout: WAIT_MS });
  const home = await page.evaluate(() => window.gdReport.pin.getLatLng());
  const box = await pin.boundingBox();
  const x = box.x + box.width / 2, y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let k = 1; k <= 8; k++) await page.mouse.move(x + 8 * k, y - 6 * k);
  await page.mouse.up();
  await page.getByText('已在地图上标出地点').waitFor({ timeout: WAIT_MS });
  const dropped = await page.evaluate(() => window.gdReport.pin.getLatLng());
  if (!(dropped.lat > home.lat && dropped.lng > home.lng)) throw new Error(`the pin did not move: ${JSON.stringify([home, dropped])}`);
  await fill(page, '小区里两家人因为停车位吵起来了');
  await shot(page, 'resident-pin-dragged', { fullPage: true });
  await page.getByRole('button', { name: '提交上报' }).click();
  await page.waitForURL(/\/t\/[A-Za-z0-9_-]{40,}$/, { timeout: WAIT_MS });
  await page.waitForFunction(() => window.gdTrack && window.gdTrack.view, null, { timeout: WAIT_MS });
  const filed = await page.evaluate(() => window.gdTrack.view.location);
  if (Math.abs(filed.lat - dropped.lat) > 1e-6 || Math.abs(filed.lng - dropped.lng) > 1e-6) {
    throw new Error(`filed at ${JSON.stringify(filed)}, the pin was at ${JSON.stringify(dropped)}`);
  }
  console.log('ok: filed where the pin was dropped');

  // (b) Only a typed place.
  const typed = await ctx.newPage();
  await typed.goto(`${base}/r/${encodeURIComponent(unknownScene)}`);
  await typed.getByText('二维码无效或已停用').waitFor({ timeout: WAIT_MS });
  await fill(typed, '菜市场门口有人推搡，快打起来了');
  // Nothing said about the place yet: the form asks for it.
  await typed.getByRole('button', { name: '提交上报' }).click();
  await typed.getByText('请告诉我们地点').waitFor({ timeout: WAIT_MS });
  await typed.getByLabel('地址或附近的标志（选填）').fill('人民街菜市场东门');
  await typed.getByRole('button', { name: '提交上报' }).click();
  await typed.waitForURL(/\/t\/[A-Za-z0-9_-]{40,}$/, { timeout: WAIT_MS });
  await typed.waitForFunction((phone) => {
    const v = window.gdTrack && window.gdTrack.view;
    const card = document.querySelector('#center-card');
    return v && v.status === 'escalated' && !card.hidden && card.textContent.includes(phone)
      && /您已经等了 \d+秒/.test(document.querySelector('#waited').textContent);
  }, centerPhone, { timeout: WAIT_MS });
  const call = await typed.locator('#center-call').getAttribute('href');
  if (call !== `tel:${centerPhone.replace(/[^0-9+]/g, '')}`) throw new Error(`center call link ${call}`);
  if (!(await typed.locator('#place-line').innerText()).includes('人民街菜市场东门')) throw new Error('the typed place is not shown');
  console.log(`ok: filed by a typed place; escalated at once; the page shows ${centerPhone} and the waiting time`);
  await shot(typed, 'resident-typed-place-escalated', { fullPage: true });

  // The way back: the page texts its own link.
  await typed.getByLabel('把本页链接用短信发到手机').fill('13812345678');
  await typed.getByRole('button', { name: '发短信给我' }).click();
  await typed.getByText('短信已发送，请查收').waitFor({ timeout: WAIT_MS });
  console.log(`ok: the link was texted: ${new URL(typed.url()).pathname.slice(0, 8)}…`);
});
