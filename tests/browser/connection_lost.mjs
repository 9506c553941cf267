// A wall screen that never lies: when the live socket drops (and cannot come back), an overlay
// over the whole page says so, countdowns stop and counters grey out; when it is back, the
// overlay goes and the countdowns run again.
// usage: node connection_lost.mjs <base> <operator_token>
import { api, context, cuttableSockets, scenario, shot, WAIT_MS } from './lib.mjs';

const [base, opToken] = process.argv.slice(2);
const wait = { timeout: WAIT_MS };

await scenario('connection-lost', async (browser, errors) => {
  const ctx = await context(browser, errors, { viewport: { width: 1920, height: 1080 } });
  const page = await ctx.newPage();
  // The live socket goes through the test, which can cut it and refuse reconnects.
  const live = await cuttableSockets(page, /\/api\/v1\/command\/live/);
  await page.goto(`${base}/?token=${encodeURIComponent(opToken)}`);
  await page.waitForSelector('#link-state[data-state="open"]', wait);
  const report = await api(base, 'POST', '/api/v1/reports', {
    body: { location: { lat: 36.6171, lng: 101.7782, coord: 'wgs84' }, category: 'neighbor', description: '楼上漏水，多次协商未果', risk: 'yellow' },
  });
  const timer = `[data-id="${report.id}"] .timer`;
  await page.waitForSelector(`#q-escalated ${timer}`, wait);
  await page.waitForFunction((t) => /\d/.test(document.querySelector(t).textContent), timer, wait);
  if (!(await page.locator('#offline').isHidden())) throw new Error('the overlay shows while connected');
  console.log('ok: live, no overlay, the countdown runs');

  await live.cut();
  await page.waitForSelector('#offline:not([hidden])', wait);
  const cover = await page.evaluate(() => {
    const r = document.querySelector('#offline').getBoundingClientRect();
    return { w: r.width, h: r.height, offline: document.body.classList.contains('offline'),
      counter: getComputedStyle(document.querySelector('#c-today')).color, text: document.querySelector('#offline').innerText };
  });
  if (cover.w < 1900 || cover.h < 1060 || !cover.offline) throw new Error(`the overlay does not cover the page: ${JSON.stringify(cover)}`);
  if (!/实时连接已中断/.test(cover.text)) throw new Error(`overlay text: ${cover.text}`);
  if (cover.counter !== 'rgb(107, 118, 137)') throw new Error(`counters are not grey: ${cover.counter}`);
  const frozen = await page.locator(timer).textContent();
  await page.waitForTimeout(2500);
  const later = await page.locator(timer).textContent();
  if (frozen !== later) throw new Error(`the countdown ran while the screen was offline: ${frozen} → ${later}`);
  console.log(`ok: connection lost: the overlay covers the page, counters grey, the countdown stopped at "${frozen}"`);
  await shot(page, 'command-connection-lost');

  live.restore();
  await page.waitForSelector('#offline', { state: 'hidden', timeout: 40000 });
  await page.waitForSelector('#link-state[data-state="open"]', wait);
  await page.waitForFunction(([t, before]) => document.querySelector(t).textContent !== before, [timer, frozen], wait);
  console.log('ok: back online: the overlay is gone and the countdown runs again');
});
