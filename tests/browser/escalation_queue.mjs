// (c) An unclaimed report escalates (short dispatch.escalate_after in the test settings) and
// appears in the operator's queue with an overdue timer; the operator assigns from the panel.
// usage: node escalation_queue.mjs <base> <operator_token> <mediator_name> <lat> <lng>
import { api, context, scenario, shot, WAIT_MS } from './lib.mjs';

const [base, opToken, medName, lat0, lng0] = process.argv.slice(2);
const lat = Number(lat0), lng = Number(lng0);

await scenario('escalation-queue', async (browser, errors) => {
  const ctx = await context(browser, errors, { viewport: { width: 1920, height: 1080 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/?token=${encodeURIComponent(opToken)}`);
  await page.waitForSelector('#link-state[data-state="open"]', { timeout: WAIT_MS });

  const report = await api(base, 'POST', '/api/v1/reports', {
    body: { location: { lat, lng, coord: 'wgs84' }, category: 'wages', description: '工地拖欠二十多名工人三个月工资，工人情绪激动', phone: '13912345678', risk: 'red' },
  });
  const item = `#q-escalated [data-id="${report.id}"]`;
  await page.waitForSelector(item, { timeout: WAIT_MS });
  console.log('ok: the escalated report is in the queue');
  await page.waitForFunction((sel) => {
    const el = document.querySelector(sel);
    return el && el.classList.contains('overdue') && /已超时/.test(el.textContent);
  }, item, { timeout: WAIT_MS });
  await page.waitForFunction(() => document.querySelector('#c-overdue').textContent === '1'
    && document.querySelector('.counter.alert').classList.contains('hot'), null, { timeout: WAIT_MS });
  console.log('ok: it counts as overdue, with a running timer');

  await page.click(item);
  const assign = page.locator('#panel button.assign').first();
  await assign.waitFor({ timeout: WAIT_MS });
  const panel = await page.locator('#panel').innerText();
  if (!panel.includes(medName) || !/超时未接单/.test(panel)) throw new Error(`panel: ${panel}`);
  await shot(page, 'command-escalated');

  await assign.click();
  await page.waitForSelector(item, { state: 'detached', timeout: WAIT_MS });
  await page.waitForFunction(() => /已接单/.test(document.querySelector('#panel-title').textContent), null, { timeout: WAIT_MS });
  console.log(`ok: assigned to ${medName}; the queue is clear`);
  await shot(page, 'command-assigned');
});
