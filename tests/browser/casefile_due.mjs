// (issue 20) After the agreement, on a 360 px phone: the performance follow-up falls due while
// the phone's page is open, which says so and links the case; the case page shows it first; the mediator records "performed" and the reminder goes away. The
// reporter's tracking page shows the 司法确认 reminder with its last day.
// usage: node casefile_due.mjs <base> <mediator token> <incident id> <tracking token>
import { context, scenario, shot, PHONE, WAIT_MS } from './lib.mjs';

const [base, token, id, tracking] = process.argv.slice(2);
const SMALL = { ...PHONE, viewport: { width: 360, height: 740 } };

async function fits(page, label) {
  const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  if (m.scroll > m.client) throw new Error(`${label} overflows 360 px: ${m.scroll} > ${m.client}`);
}

await scenario('casefile-due', async (browser, errors) => {
  const ctx = await context(browser, errors, SMALL);
  const page = await ctx.newPage();
  // The phone's page is open when the follow-up falls due (the Rust side moves the clock once
  // this page's socket is connected).
  await page.goto(`${base}/m?token=${encodeURIComponent(token)}`);
  await page.locator('#case-due').waitFor({ state: 'visible', timeout: WAIT_MS });
  const banner = await page.locator('#case-due').innerText();
  if (!banner.includes('到期：请回访并记录履行情况')) throw new Error(`no follow-up on the phone page: ${banner}`);
  await fits(page, 'the phone page');
  await shot(page, 'phone-case-due');
  console.log('ok: the phone page says the follow-up is due');
  await page.locator('#case-due a', { hasText: '打开案卷' }).first().click();
  await page.waitForURL(`**/m/case/${encodeURIComponent(id)}`, { timeout: WAIT_MS });
  await page.locator('#due').waitFor({ state: 'visible', timeout: WAIT_MS });
  const due = await page.locator('#due').innerText();
  if (!due.includes('到期：请回访并记录履行情况')) throw new Error(`no due follow-up: ${due}`);
  const top = await page.locator('#due').boundingBox();
  if (top.y > 200) throw new Error(`the due follow-up is not first on the page: y=${top.y}`);
  await fits(page, 'the due follow-up');
  await shot(page, 'casefile-phone-follow-up-due');
  console.log('ok: the due follow-up is first on the case page');

  await page.locator('#follow-note').fill('张三确认已收到伍佰元');
  await page.locator('#follow-up [data-performance="performed"]').click();
  await page.locator('#follow-up').waitFor({ state: 'hidden', timeout: WAIT_MS });
  await page.locator('.toast', { hasText: '已记录：已履行' }).waitFor({ timeout: WAIT_MS });
  await shot(page, 'casefile-phone-follow-up-recorded');
  console.log('ok: performed recorded; the follow-up is no longer due');

  const resident = await ctx.newPage();
  await resident.goto(`${base}/t/${encodeURIComponent(tracking)}`);
  await resident.locator('#confirm-card').waitFor({ state: 'visible', timeout: WAIT_MS });
  const notice = await resident.locator('#confirm-text').innerText();
  if (!/\d{4}-\d{2}-\d{2} 前/.test(notice) || !notice.includes('司法确认')) throw new Error(`no reminder with its date: ${notice}`);
  await fits(resident, 'the tracking page');
  await resident.locator('#confirm-card').scrollIntoViewIfNeeded();
  await shot(resident, 'resident-confirmation-reminder');
  console.log('ok: the reporter sees the 司法确认 reminder with its last day');
});
