// Shared by the video scenarios: open a room page and enter it, and wait for media to flow.
import { context, WAIT_MS } from './lib.mjs';

/** A page of `browser` at `base` + `url` (lite: 320×180 at 10 fps, so several browsers fit on
 *  two shared cores), entered: the room is showing. */
export async function enter(browser, errors, base, url, opts) {
  const ctx = await context(browser, errors, { ...opts, permissions: ['camera', 'microphone'] });
  const page = await ctx.newPage();
  page.on('console', (m) => { if ((m.type() === 'warning' || m.type() === 'error') && !/Failed to load resource/.test(m.text())) console.log(`[${url.slice(0, 12)}] ${m.type()}: ${m.text()}`); });
  await page.goto(base + url.replace(/(#|$)/, '?lite=1$1'));
  return enterRoom(page);
}

/** On a room page that has loaded: tap the big "enter" button; the room shows. */
export async function enterRoom(page) {
  await page.locator('#enter').waitFor({ state: 'visible', timeout: WAIT_MS });
  await page.locator('#enter').click();
  await page.locator('#room').waitFor({ state: 'visible', timeout: WAIT_MS });
  return page;
}

/** Wait until every connection of `page` is relayed with `peers` inbound video streams growing
 *  (the page samples getStats every 2 s into window.__video.last). */
export async function mediaFlows(page, name, peers) {
  const first = await page.waitForFunction((n) => {
    const r = window.__video.last || [];
    return r.length === n && r.every((p) => p.relay && p.framesDecoded >= 20 && p.videoBytesIn > 0) ? r : null;
  }, peers, { timeout: 45000 }).then((h) => h.jsonValue(), async (e) => {
    console.log(`${name} never saw media: ${JSON.stringify(await page.evaluate(() => [window.__video.last, window.__video.state()]))}`);
    throw e;
  });
  const grew = await page.waitForFunction((before) => {
    const r = window.__video.last || [];
    return r.length === before.length && r.every((p) => {
      const b = before.find((x) => x.id === p.id);
      return b && p.videoBytesIn > b.videoBytesIn && p.relay;
    }) ? r : null;
  }, first, { timeout: WAIT_MS }).then((h) => h.jsonValue(), async (e) => {
    console.log(`${name}'s media stopped growing: ${JSON.stringify(first)} → ${JSON.stringify(await page.evaluate(() => window.__video.last))}`);
    throw e;
  });
  console.log(`ok: ${name} receives video from ${grew.length} peers over TURN relay (` +
    grew.map((p) => `${p.videoBytesIn} B, ${p.framesDecoded} frames`).join('; ') + ')');
}
