// Thousands of moving mediators stay readable and fast: zoomed out they are drawn as counted
// clusters, zoomed in as single dots; the frame time (requestAnimationFrame deltas) is measured
// while every mediator's position streams in, with pans and zooms in between.
// usage: node clusters.mjs <base> <operator_token> <mediators>
import { context, scenario, shot, WAIT_MS } from './lib.mjs';

const [base, opToken, count0] = process.argv.slice(2);
const COUNT = Number(count0);
const MEASURE_MS = 12000;

function pct(sorted, p) { return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]; }

await scenario('clusters', async (browser, errors) => {
  const ctx = await context(browser, errors, { viewport: { width: 1920, height: 1080 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/?token=${encodeURIComponent(opToken)}`);
  await page.waitForSelector('#link-state[data-state="open"]', { timeout: WAIT_MS });
  await page.waitForFunction((n) => window.gdCommand.mediators.size >= n, COUNT, { timeout: 60000 });
  console.log(`ok: ${COUNT} mediators on the screen`);
  await page.evaluate(() => window.gdCommand.S.map.setZoom(12, { animate: false }));

  // Frames while positions stream (the Rust test keeps moving everyone), panning now and then.
  const frames = await page.evaluate(async (ms) => {
    const deltas = [];
    const moved = window.gdCommand.drawStats.count;
    let last = performance.now();
    const end = last + ms;
    let pans = 0;
    await new Promise((done) => {
      function frame(now) {
        deltas.push(now - last);
        last = now;
        if (now > end) { done(); return; }
        // A small pan every second, as an operator drags the map.
        if (Math.floor((end - now) / 1000) !== pans) { pans = Math.floor((end - now) / 1000); window.gdCommand.S.map.panBy([pans % 2 ? 60 : -60, 30], { animate: false }); }
        requestAnimationFrame(frame);
      }
      requestAnimationFrame(frame);
    });
    const s = window.gdCommand.drawStats;
    return { deltas, redraws: s.count - moved, drawMax: s.maxMs, drawAvg: s.totalMs / Math.max(1, s.count) };
  }, MEASURE_MS);
  const sorted = frames.deltas.slice(1).sort((a, b) => a - b);
  const p95 = pct(sorted, 0.95), p50 = pct(sorted, 0.5), worst = sorted[sorted.length - 1];
  const over = sorted.filter((d) => d > 33).length;
  console.log(`frame time with ${COUNT} mediators moving: p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, worst ${worst.toFixed(1)} ms, `
    + `${over} of ${sorted.length} frames over 33 ms; ${frames.redraws} redraws, draw avg ${frames.drawAvg.toFixed(1)} ms, max ${frames.drawMax.toFixed(1)} ms`);
  if (frames.redraws < 10) throw new Error(`the positions did not stream (${frames.redraws} redraws)`);
  if (p95 > 33) throw new Error(`p95 frame time ${p95.toFixed(1)} ms > 33 ms`);

  // Zoomed out: clusters, far fewer shapes than mediators, counts adding up.
  await page.click('#fit');
  await page.waitForTimeout(300);
  const out = await page.evaluate(() => window.gdCommand.drawn());
  const clustered = out.clusters.reduce((a, c) => a + c.n, 0);
  if (!out.clusters.length || out.clusters.length + out.dots > 600 || clustered < 1000) throw new Error(`zoomed out: ${JSON.stringify({ clusters: out.clusters.length, dots: out.dots })}`);
  console.log(`ok: zoomed out, ${clustered + out.dots} mediators in view drawn as ${out.clusters.length} clusters and ${out.dots} dots`);
  await shot(page, 'command-clusters');

  // A click on a cluster zooms in on it; at street level every mediator is a dot.
  // The cluster nearest the middle of the map (clear of the legend and the controls).
  const box = await page.locator('#map').boundingBox();
  const mid = (c) => Math.hypot(c.x - box.width / 2, c.y - box.height / 2);
  const c = out.clusters.sort((a, b) => mid(a) - mid(b))[0];
  const z0 = await page.evaluate(() => window.gdCommand.S.map.getZoom());
  await page.mouse.click(box.x + c.x, box.y + c.y);
  await page.waitForFunction((z) => window.gdCommand.S.map.getZoom() > z, z0, { timeout: WAIT_MS }).catch(async (e) => {
    const at = await page.evaluate(([x, y]) => { const el = document.elementFromPoint(x, y); return `${el.tagName}.${el.className}`; }, [box.x + c.x, box.y + c.y]);
    throw new Error(`the cluster click at ${JSON.stringify(c)} (on ${at}) did not zoom in from ${z0}: ${e.message}`);
  });
  await page.evaluate(() => window.gdCommand.S.map.setZoom(17, { animate: false }));
  await page.waitForFunction(() => { const d = window.gdCommand.drawn(); return d.clusters.length === 0 && d.dots > 0; }, null, { timeout: WAIT_MS });
  console.log('ok: a click on a cluster zooms in; at zoom 17 every mediator is its own dot');
  await shot(page, 'command-clusters-street');
  console.log(`ok: frame-time p95=${p95.toFixed(1)}ms worst=${worst.toFixed(1)}ms n=${COUNT}`);
});
