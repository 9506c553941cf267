// (issue 20) The case file on a 360 px phone: the holding mediator adds two parties (and removes
// a third entered by mistake; no removing once signed), records
// two entries, drafts the agreement from the neighbour template, both parties and then the
// mediator sign with a finger on the canvas, the agreement takes effect, its PDF is downloaded
// (the Rust side reads it back with pdftotext); a change after signing is version 2 with every
// signature needed again.
// usage: node casefile_phone.mjs <base> <mediator token> <incident id> <pdf out path>
import { writeFileSync } from 'node:fs';
import { context, scenario, shot, PHONE, WAIT_MS } from './lib.mjs';

const [base, token, id, pdfOut] = process.argv.slice(2);
const SMALL = { ...PHONE, viewport: { width: 360, height: 740 }, acceptDownloads: true };

async function fits(page, label) {
  const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  if (m.scroll > m.client) throw new Error(`${label} overflows 360 px: ${m.scroll} > ${m.client}`);
}

async function addParty(page, role, name, phone) {
  await page.locator('#party-form-box summary').click();
  await page.locator('#party-role').selectOption(role);
  await page.locator('#party-name').fill(name);
  await page.locator('#party-phone').fill(phone);
  await page.locator('#party-form button[type=submit]').click();
  await page.locator('.party .who', { hasText: name }).waitFor({ timeout: WAIT_MS });
}

/** Sign with a finger-like stroke on the pad. */
async function signOnPad(page) {
  const canvas = page.locator('#pad-canvas');
  await canvas.waitFor({ state: 'visible', timeout: WAIT_MS });
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x + 30, box.y + 120);
  await page.mouse.down();
  for (let i = 1; i <= 24; i++) {
    await page.mouse.move(box.x + 30 + i * 11, box.y + 100 + Math.sin(i / 2) * 40);
  }
  await page.mouse.up();
  await page.locator('#pad-ok').click();
  await page.locator('#pad').waitFor({ state: 'hidden', timeout: WAIT_MS });
}

await scenario('casefile-phone', async (browser, errors) => {
  const ctx = await context(browser, errors, SMALL);
  const page = await ctx.newPage();
  await page.goto(`${base}/m/case/${encodeURIComponent(id)}?token=${encodeURIComponent(token)}`);
  await page.locator('#app').waitFor({ state: 'visible', timeout: WAIT_MS });

  await addParty(page, 'applicant', '张三', '13900001111');
  await addParty(page, 'respondent', '李四', '13700002222');
  // A party entered by mistake is removed (the phone asks first).
  await addParty(page, 'third_party', '王五错录', '13600003333');
  page.once('dialog', (d) => d.accept());
  await page.locator('.party', { hasText: '王五错录' }).locator('button.remove').click();
  await page.locator('.party .who', { hasText: '王五错录' }).waitFor({ state: 'detached', timeout: WAIT_MS });
  console.log('ok: a wrongly entered party removed');
  const listed = await page.locator('#parties').innerText();
  if (listed.includes('13900001111') || !listed.includes('139****1111')) throw new Error(`phones not masked: ${listed}`);
  console.log('ok: two parties added, phones masked');

  for (const text of ['问：楼上漏水从什么时候开始？答：上个月初。', '李四表示愿意赔偿并修好防水。']) {
    await page.locator('#entry-text').fill(text);
    await page.locator('#entry-form button[type=submit]').click();
    await page.locator('.entry', { hasText: text }).waitFor({ timeout: WAIT_MS });
  }
  console.log('ok: two record entries');
  await shot(page, 'casefile-phone-parties-record', { fullPage: true });

  await page.locator('#template-category').selectOption('neighbor');
  await page.locator('#use-template').click();
  await page.locator('#clause-0').waitFor({ timeout: WAIT_MS });
  await page.locator('#clause-1').check();
  await page.locator('#clause-2').check();
  await page.locator('#a-facts').fill('双方系上下楼邻居，因楼上卫生间漏水发生纠纷。');
  await page.locator('#a-terms').fill('李四一次性赔偿张三损失伍佰元。\n' + (await page.locator('#a-terms').inputValue()));
  await page.locator('#a-place').fill('城中区南大街1号');
  await page.locator('#a-due').fill('2027-01-15');
  await page.locator('#save-agreement').click();
  await page.locator('#agreement-state', { hasText: '第1版' }).waitFor({ timeout: WAIT_MS });
  console.log('ok: the agreement drafted from the template');

  for (let n = 0; n < 3; n++) {
    const button = page.locator('#signers .signer button').first();
    await button.click();
    if (n === 0) await shot(page, 'casefile-phone-signing');
    await signOnPad(page);
    await page.locator('#signers .signed').nth(n).waitFor({ timeout: WAIT_MS });
  }
  await page.locator('#agreement-state', { hasText: '已生效' }).waitFor({ timeout: WAIT_MS });
  if (await page.locator('.party button.remove').count()) throw new Error('parties are removable after signing');
  await fits(page, 'the case file');
  await shot(page, 'casefile-phone-effective', { fullPage: true });
  console.log('ok: both parties and the mediator signed; the agreement took effect');

  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: WAIT_MS }),
    page.locator('.doc[data-doc="agreement.pdf"]').click(),
  ]);
  await download.saveAs(pdfOut);
  console.log('ok: the agreement PDF downloaded');

  await page.locator('#a-terms').fill('李四一次性赔偿张三损失陆佰元。');
  await page.locator('#save-agreement').click();
  await page.locator('#agreement-state', { hasText: '第2版' }).waitFor({ timeout: WAIT_MS });
  const waiting = await page.locator('#signers .signer button').count();
  if (waiting !== 3) throw new Error(`version 2 should wait for 3 signatures, waits for ${waiting}`);
  await shot(page, 'casefile-phone-version-2', { fullPage: true });
  console.log('ok: a change after signing is version 2 and needs every signature');

  await page.locator('#lang-toggle').click();
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await fits(page, 'the case file in English');
  await shot(page, 'casefile-phone-english', { fullPage: true });
  writeFileSync(pdfOut + '.done', 'ok');
});
