// (issue 20) The case's difficulty grade on a 360 px phone: with three parties recorded the
// card suggests 一般 and says why; entering the amount in dispute raises the suggestion; one
// tap on 一般 decides it (the button stays pressed after a reload); the card fits 360 px in
// Chinese and in English.
// usage: node casefile_grade.mjs <base> <mediator token> <incident id>
import { context, scenario, shot, PHONE, WAIT_MS } from './lib.mjs';

const [base, token, id] = process.argv.slice(2);
const SMALL = { ...PHONE, viewport: { width: 360, height: 740 } };

async function fits(page, label) {
  const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  if (m.scroll > m.client) throw new Error(`${label} overflows 360 px: ${m.scroll} > ${m.client}`);
}

await scenario('casefile-grade', async (browser, errors) => {
  const ctx = await context(browser, errors, SMALL);
  const page = await ctx.newPage();
  await page.goto(`${base}/m/case/${encodeURIComponent(id)}?token=${encodeURIComponent(token)}`);
  await page.locator('#app').waitFor({ state: 'visible', timeout: WAIT_MS });
  await page.locator('#grade-suggested', { hasText: '建议：一般' }).waitFor({ timeout: WAIT_MS });
  const because = await page.locator('#grade-because').innerText();
  if (!because.includes('当事人 3 人')) throw new Error(`the reason is not shown: ${because}`);
  await page.locator('#grade-decided', { hasText: '尚未定级' }).waitFor({ timeout: WAIT_MS });
  console.log('ok: three parties suggest 一般, with the reason');

  await page.locator('#grade-amount').fill('120000');
  await page.locator('#grade-amount-form button[type=submit]').click();
  await page.locator('#grade-suggested', { hasText: '建议：重大疑难' }).waitFor({ timeout: WAIT_MS });
  console.log('ok: 120000 yuan in dispute suggests 重大疑难');

  await page.locator('#grade-buttons button[data-grade="general"]').click();
  await page.locator('#grade-buttons button[data-grade="general"][aria-pressed="true"]').waitFor({ timeout: WAIT_MS });
  await page.locator('#grade-decided', { hasText: '已定级：一般' }).waitFor({ timeout: WAIT_MS });
  await page.locator('#grade').scrollIntoViewIfNeeded();
  await fits(page, 'the grade card');
  await shot(page, 'casefile-phone-grade');
  console.log('ok: one tap decided 一般');

  await page.reload();
  await page.locator('#grade-buttons button[data-grade="general"][aria-pressed="true"]').waitFor({ timeout: WAIT_MS });
  console.log('ok: the grade stays after a reload');

  await page.locator('#lang-toggle').click();
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await page.locator('#grade-decided', { hasText: 'Graded general' }).waitFor({ timeout: WAIT_MS });
  await page.locator('#grade').scrollIntoViewIfNeeded();
  await fits(page, 'the grade card in English');
  await shot(page, 'casefile-phone-grade-english');
  console.log('ok: English, within 360 px');
});
