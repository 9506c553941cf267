// Video mediation (issue #22), the Done-means test: three Chromium pages with fake cameras,
// relayed through a real coturn only (the service hands out iceTransportPolicy "relay"), each
// reporting a relay candidate pair and inbound video bytes growing on every connection; the
// room's controls (mute shows on the others' list, weak link → audio only, remove, end); an
// uninvited page and a used invitation refused; a browser without WebRTC gets the phone number.
// Args: base hostPage partyInvitation expertInvitation noRtcInvitation fallbackPhone operatorToken
import { scenario, context, shot, PHONE, WAIT_MS, MEDIA_FLAGS } from './lib.mjs';
import { enter, mediaFlows } from './video_lib.mjs';

const [base, hostPage, partyInv, expertInv, noRtcInv, phone, opToken] = process.argv.slice(2);
const PHONE_360 = { ...PHONE, viewport: { width: 360, height: 780 } };

await scenario('video-call', async (browser, errors) => {
  const host = await enter(browser, errors, base, hostPage, { viewport: { width: 1280, height: 800 } });
  const party = await enter(browser, errors, base, `/v/${partyInv}`, PHONE_360);
  const expert = await enter(browser, errors, base, `/v/${expertInv}`, { viewport: { width: 1024, height: 768 } });

  await mediaFlows(host, 'the host', 2);
  await mediaFlows(party, 'the party', 2);
  await mediaFlows(expert, 'the expert', 2);
  await host.locator('#people li').nth(2).waitFor({ timeout: WAIT_MS });
  console.log('ok: three people in the list');
  await shot(party, 'video-party-360');
  await shot(host, 'video-host-desktop');

  // The big screen lists the live session and watches it, receive only.
  const screenCtx = await context(browser, errors, { viewport: { width: 1920, height: 1080 }, permissions: ['camera', 'microphone'] });
  const screen = await screenCtx.newPage();
  await screen.goto(`${base}/?token=${encodeURIComponent(opToken)}`);
  const row = screen.locator('#video-list li');
  await row.first().waitFor({ timeout: WAIT_MS });
  await screen.locator('#video-list', { hasText: '3 人在线' }).waitFor({ timeout: WAIT_MS });
  await shot(screen, 'video-command-center');
  const [watch] = await Promise.all([screenCtx.waitForEvent('page'), row.first().locator('button', { hasText: '旁听' }).click()]);
  await watch.locator('#enter').waitFor({ state: 'visible', timeout: WAIT_MS });
  await watch.locator('#headline', { hasText: '旁听' }).waitFor({ timeout: WAIT_MS });
  await watch.locator('#enter').click();
  await mediaFlows(watch, 'the observer', 3);
  if (await watch.locator('.tile.me').count()) throw new Error('the observer sends a picture');
  await shot(watch, 'video-observer');
  await watch.close();

  // Mute shows on the others' lists.
  await party.locator('#mute').click();
  await host.locator('#people li', { hasText: '当事人' }).filter({ hasText: '静音' }).waitFor({ timeout: WAIT_MS });
  console.log('ok: the host sees the party muted');

  // A weak uplink drops the party to audio only, and says so.
  await party.evaluate(() => window.__video.feedStats({ outKbps: 80 }));
  await party.locator('#netbar', { hasText: '只有声音' }).waitFor({ timeout: WAIT_MS });
  await host.locator('#people li', { hasText: '当事人' }).filter({ hasText: '只有声音' }).waitFor({ timeout: WAIT_MS });
  console.log('ok: weak link goes audio only');
  await shot(party, 'video-party-weak-360');

  // English toggle.
  await party.locator('#lang-toggle').click();
  await party.locator('#people', { hasText: 'Mediator' }).waitFor({ timeout: WAIT_MS });
  await shot(party, 'video-party-english-360');
  await party.locator('#lang-toggle').click();

  // The uninvited: the used invitation, and a made-up one.
  const ctx = await context(browser, errors, PHONE_360);
  const stranger = await ctx.newPage();
  await stranger.goto(`${base}/v/${expertInv}`);
  await stranger.locator('#headline', { hasText: '这个邀请已经用过了' }).waitFor({ timeout: WAIT_MS });
  await stranger.goto(`${base}/v/not-an-invitation`);
  await stranger.locator('#headline', { hasText: '这个邀请已经用过了' }).waitFor({ timeout: WAIT_MS });
  if (await stranger.locator('#enter').isVisible()) throw new Error('an uninvited page offers to enter');
  await shot(stranger, 'video-uninvited-360');
  console.log('ok: an uninvited page cannot join');

  // No WebRTC: the phone number instead.
  const old = await context(browser, errors, PHONE_360);
  await old.addInitScript(() => { delete window.RTCPeerConnection; });
  const oldPage = await old.newPage();
  await oldPage.goto(`${base}/v/${noRtcInv}`);
  await oldPage.locator('#fallback-call', { hasText: phone }).waitFor({ timeout: WAIT_MS });
  await shot(oldPage, 'video-no-webrtc-360');
  console.log('ok: no WebRTC gets a phone number');

  // The host removes the expert; then ends the session.
  await host.locator('#people li', { hasText: '部门专家' }).locator('button.remove').click();
  await expert.locator('#headline', { hasText: '调解员已请您离开' }).waitFor({ timeout: WAIT_MS });
  await host.locator('#people li', { hasText: '部门专家' }).waitFor({ state: 'detached', timeout: WAIT_MS });
  console.log('ok: the host removed the expert');
  await host.locator('#end').click();
  await party.locator('#headline', { hasText: '这次视频调解已经结束' }).waitFor({ timeout: WAIT_MS });
  await shot(party, 'video-ended-360');
  console.log('ok: the session ended for everyone');
}, { args: MEDIA_FLAGS });
