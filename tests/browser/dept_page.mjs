// (issue 21) A department's page: it signs in on a 360 px phone, a call-in arrives live (no
// reload), it reports in (报到) with a note, the page switches to English with nothing left in
// Chinese but what people typed and nothing wider than the screen; then on a desktop it answers.
// The resident of a report handed over to the department sees who has it now.
// usage: node dept_page.mjs <base> <phone> <password> <operator token> <incident id> <department id> <typed JSON> <tracking token>
import { api, context, scenario, shot, PHONE, WAIT_MS } from './lib.mjs';

const [base, phone, password, opToken, incident, department, typedJson, tracking] = process.argv.slice(2);
const typed = JSON.parse(typedJson);
const SMALL = { ...PHONE, viewport: { width: 360, height: 740 } };
const CJK = /[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]/;

async function fits(page, label) {
  const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  if (m.scroll > m.client) throw new Error(`${label} overflows: ${m.scroll} > ${m.client}`);
}

await scenario('dept-page', async (browser, errors) => {
  const ctx = await context(browser, errors, SMALL);
  const page = await ctx.newPage();
  await page.goto(`${base}/d`);
  await page.locator('#login-phone').fill(phone);
  await page.locator('#login-password').fill(password);
  await page.getByRole('button', { name: '登录' }).click();
  await page.locator('#called-empty').waitFor({ state: 'visible', timeout: WAIT_MS });

  const made = await api(base, 'POST', `/api/v1/command/incidents/${incident}/call-ins`,
    { token: opToken, body: { departments: [department], note: typed[0], urgency: 'urgent' } });
  const id = made[0].id;
  const card = page.locator(`#called [data-call-in="${id}"]`);
  await card.waitFor({ timeout: WAIT_MS });
  console.log('ok: the call-in arrived live');
  await fits(page, 'queue (zh)');
  await shot(page, 'dept-phone-called', { fullPage: true });

  await card.locator('textarea').first().fill(typed[1]);
  await card.getByRole('button', { name: '报到' }).click();
  const acked = page.locator(`#acked [data-call-in="${id}"]`);
  await acked.waitFor({ timeout: WAIT_MS });
  const after = await api(base, 'GET', `/api/v1/command/incidents/${incident}/call-ins`, { token: opToken });
  const mine = after.call_ins.find((c) => c.id === id);
  if (mine.state !== 'acknowledged' || mine.ack_note !== typed[1]) throw new Error(`not acknowledged: ${JSON.stringify(mine)}`);
  console.log('ok: acknowledged from the phone');
  await shot(page, 'dept-phone-acknowledged', { fullPage: true });

  await page.locator('#lang-toggle').click();
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await acked.getByRole('button', { name: 'Answer' }).waitFor({ timeout: WAIT_MS });
  let rest = await page.evaluate(() => document.body.innerText);
  for (const s of [...typed, '中文']) rest = rest.split(s).join(' ');
  const left = rest.split('\n').filter((l) => CJK.test(l));
  if (left.length) throw new Error(`Chinese left after the toggle: ${JSON.stringify(left)}`);
  await fits(page, 'queue (en)');
  await shot(page, 'dept-phone-english', { fullPage: true });
  console.log('ok: English, within 360 px');

  const token = await page.evaluate(() => localStorage.getItem('gd.department.token'));
  const desk = await (await context(browser, errors, { viewport: { width: 1366, height: 800 } })).newPage();
  await desk.goto(`${base}/d?token=${encodeURIComponent(token)}`);
  const row = desk.locator(`#acked [data-call-in="${id}"]`);
  await row.waitFor({ timeout: WAIT_MS });
  await row.locator('select').selectOption('arrived');
  await row.locator('textarea').last().fill(typed[2]);
  await row.getByRole('button', { name: '答复' }).click();
  await desk.locator(`#done [data-call-in="${id}"]`).waitFor({ timeout: WAIT_MS });
  // The phone follows over its socket.
  await page.locator(`#done [data-call-in="${id}"]`).waitFor({ timeout: WAIT_MS });
  await shot(desk, 'dept-desktop-answered', { fullPage: true });
  console.log('ok: answered from the desktop, the phone followed');

  const resident = await (await context(browser, errors, SMALL)).newPage();
  await resident.goto(`${base}/t/${encodeURIComponent(tracking)}`);
  await resident.locator('#lead-line', { hasText: '现在由 南滩派出所 负责办理' }).waitFor({ timeout: WAIT_MS });
  await fits(resident, 'tracking');
  await shot(resident, 'dept-tracking-lead', { fullPage: true });
  console.log('ok: the resident sees who has it now');
});
