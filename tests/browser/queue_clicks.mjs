// Clicks at a human speed land on a changing queue: 20 presses of 150 ms on escalated items
// while mediators stream positions, new reports arrive and items change (supervision flags,
// countdowns); every one must open the panel of the item it was aimed at.
// usage: node queue_clicks.mjs <base> <operator_token>
import { context, scenario, shot, WAIT_MS } from './lib.mjs';

const [base, opToken] = process.argv.slice(2);
const PRESSES = 20;

await scenario('queue-clicks', async (browser, errors) => {
  const ctx = await context(browser, errors, { viewport: { width: 1920, height: 1080 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/?token=${encodeURIComponent(opToken)}`);
  await page.waitForSelector('#link-state[data-state="open"]', { timeout: WAIT_MS });
  // The escalated list (`#q-esc` on builds before the tabs).
  const list = await page.evaluate(() => (document.querySelector('#q-escalated') ? '#q-escalated' : '#q-esc'));
  await page.waitForFunction((l) => document.querySelectorAll(`${l} .item`).length >= 8, list, { timeout: WAIT_MS });

  let hits = 0;
  const misses = [];
  for (let k = 0; k < PRESSES; k++) {
    // Aim at one of the first items, as an operator would.
    const { id, x, y } = await page.evaluate(([l, n]) => {
      const el = document.querySelectorAll(`${l} .item`)[n];
      const r = el.getBoundingClientRect();
      return { id: el.dataset.id, x: r.x + r.width / 2, y: r.y + r.height / 2 };
    }, [list, k % 6]);
    await page.mouse.move(x, y);
    // The panel of the item it landed on loads that incident (the same on every build).
    const opened = page.waitForRequest((r) => r.url().endsWith(`/api/v1/command/incidents/${id}`), { timeout: 1500 })
      .then(() => true, () => false);
    await page.mouse.down();
    await page.waitForTimeout(150);
    await page.mouse.up();
    if (await opened) hits++; else misses.push(id);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.querySelector('#panel').hidden, null, { timeout: 2000 });
  }
  console.log(`clicks landed: ${hits} of ${PRESSES}`);
  await shot(page, 'command-queue-clicks');
  if (hits !== PRESSES) throw new Error(`${PRESSES - hits} clicks were lost (aimed at ${misses.join(', ')})`);
  console.log(`ok: ${hits} of ${PRESSES} clicks landed on a changing queue`);
});
