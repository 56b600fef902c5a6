#!/usr/bin/env node
// Headless-browser test of the page that `skinnet serve` embeds (tools/serve/page/): drives Debian's
// chromium through puppeteer-core against a running server, uploads one image the way a user would, and
// checks what a user would see: the model card, the result card's classes and bars, the Grad-CAM toggle,
// the SYNTHETIC banner, and a non-blank screenshot. Prints one line of JSON; exits 0 only if every check
// passed, 1 on a failed check, 2 on a usage error or missing dependency. See tests/browser/README.md.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';  // Debian's build; never a browser downloaded by puppeteer
const MIN_SCREENSHOT_BYTES = 10 * 1024;  // a blank 1280-wide page compresses to far less
const USAGE = 'usage: node tests/browser/page_test.js --url URL --image FILE --screenshot FILE.png ' +
  '[--expect-top "FULL NAME"] [--expect-synthetic 1|0] [--timeout SECONDS (default 60)]';

class UsageError extends Error {}

function parseArgs(argv) {
  const flags = { '--url': 'url', '--image': 'image', '--screenshot': 'screenshot', '--expect-top': 'expectTop',
    '--expect-synthetic': 'expectSynthetic', '--timeout': 'timeout' };
  const args = { timeout: '60' };
  for (let i = 0; i < argv.length; i += 2) {
    if (!(argv[i] in flags)) throw new UsageError(`unknown argument ${argv[i]}`);
    if (argv[i + 1] === undefined) throw new UsageError(`${argv[i]} needs a value`);
    args[flags[argv[i]]] = argv[i + 1];
  }
  for (const name of ['url', 'image', 'screenshot']) {
    if (!args[name]) throw new UsageError(`--${name} is required`);
  }
  if (!fs.existsSync(args.image)) throw new UsageError(`--image ${args.image} does not exist`);
  if (args.expectSynthetic !== undefined && !['0', '1'].includes(args.expectSynthetic)) {
    throw new UsageError('--expect-synthetic takes 1 or 0');
  }
  args.timeoutMs = Number(args.timeout) * 1000;
  if (!(args.timeoutMs > 0)) throw new UsageError('--timeout takes a positive number of seconds');
  return args;
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// Everything the page shows for the first (only) uploaded image.
function readCard() {
  const card = document.querySelector('#results .result');
  const bars = [...card.querySelectorAll('.bar')].map((bar) => ({
    width: bar.getBoundingClientRect().width,
    track: bar.parentElement.getBoundingClientRect().width,
    style: bar.style.width,
  }));
  const top = card.querySelector('.top-class');
  return { top: top ? top.textContent.trim() : '', bars };
}

// The shown overlay: its visibility, sizes, and how many colours it holds once drawn on a canvas.
function readCam() {
  const card = document.querySelector('#results .result');
  const img = card.querySelector('img.cam');
  const original = card.querySelector('img.original');
  const shown = (e) => {
    const style = getComputedStyle(e);
    const rect = e.getBoundingClientRect();
    return !e.hidden && style.display !== 'none' && style.visibility !== 'hidden' && Number(style.opacity) > 0 &&
      rect.width > 0 && rect.height > 0;
  };
  if (!img) return { exists: false };
  const rect = img.getBoundingClientRect();
  const scale = Math.min(1, 256 / Math.max(img.naturalWidth, img.naturalHeight, 1));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
  canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
  const context = canvas.getContext('2d');
  context.drawImage(img, 0, 0, canvas.width, canvas.height);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const colours = new Set();
  for (let i = 0; i < pixels.length && colours.size < 64; i += 4) {
    colours.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
  }
  return {
    exists: true, shown: shown(img), originalShown: shown(original), loaded: img.complete && img.naturalWidth > 0,
    width: img.naturalWidth, height: img.naturalHeight, rendered: [rect.width, rect.height], colours: colours.size,
  };
}

async function runChecks(puppeteer, args, session) {
  session.browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: session.userDataDir,
    // --disable-dev-shm-usage: containers often give /dev/shm a few MB, which crashes renderers.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: args.timeoutMs,
  });
  const page = await session.browser.newPage();
  page.setDefaultTimeout(args.timeoutMs);  // the overall deadline governs, not puppeteer's 30 s default
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(`page error: ${err.message}`));
  page.on('error', (err) => pageErrors.push(`page crashed: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(`console error: ${msg.text()} (${msg.location().url || 'no url'})`);
  });
  const noPageErrors = () => check(pageErrors.length === 0, pageErrors.join('; '));
  await page.setViewport({ width: 1280, height: 900 });

  const response = await page.goto(args.url, { waitUntil: 'load' });
  check(response && response.ok(), `GET ${args.url} answered ${response ? response.status() : 'nothing'}`);
  const model = await page.waitForSelector('#model-card:not([data-status="pending"])');
  const modelStatus = await model.evaluate((e) => [e.dataset.status, e.querySelector('.error')?.textContent]);
  check(modelStatus[0] === 'done', `the model card failed: ${modelStatus[1]}`);

  const input = await page.waitForSelector('#file-input');
  await input.uploadFile(path.resolve(args.image));
  const card = await page.waitForSelector('#results .result:not([data-status="pending"])');
  const cardStatus = await card.evaluate((e) => [e.dataset.status, e.querySelector('.error')?.textContent]);
  check(cardStatus[0] === 'done', `the result card shows an error: ${cardStatus[1]}`);

  const found = await page.evaluate(readCard);
  check(found.top !== '', 'the result card names no top class');
  check(args.expectTop === undefined || found.top === args.expectTop,
    `top class is "${found.top}", expected "${args.expectTop}"`);
  check(found.bars.length > 0, 'the result card has no .bar');
  check(found.bars.every((b) => b.width > 0), `a bar has no rendered width: ${JSON.stringify(found.bars)}`);
  check(found.bars.every((b) => b.width <= found.bars[0].width), 'the top class\'s bar is not the widest');
  const expected = (parseFloat(found.bars[0].style) / 100) * found.bars[0].track;
  check(found.bars[0].style.endsWith('%') && Math.abs(found.bars[0].width - expected) <= 1.5,
    `the top bar is ${found.bars[0].width}px wide, but its style ${found.bars[0].style} of a ` +
    `${found.bars[0].track}px track is ${expected}px`);

  // Mouse click shows the overlay; Space on the focused toggle goes back and forth (keyboard use).
  await page.click('#results .result .cam-toggle');
  await page.waitForFunction(() => {
    const img = document.querySelector('#results .result img.cam');
    return img && img.complete && img.naturalWidth > 0;
  });
  let cam = await page.evaluate(readCam);
  check(cam.shown && !cam.originalShown, `after the toggle the overlay is not the image shown: ${JSON.stringify(cam)}`);
  check(cam.colours > 1, 'the Grad-CAM overlay is a single colour');
  await page.keyboard.press('Space');
  cam = await page.evaluate(readCam);
  check(!cam.shown && cam.originalShown, 'Space on the toggle did not bring the original image back');
  await page.keyboard.press('Space');
  cam = await page.evaluate(readCam);
  check(cam.shown && !cam.originalShown, 'Space on the toggle did not show the overlay again');

  const banner = await page.$eval('body', () => {
    const e = document.getElementById('synthetic-banner');
    return e ? e.getBoundingClientRect().height : null;
  });
  const synthetic = banner !== null;
  check(!synthetic || banner > 0, 'the SYNTHETIC banner is present but not displayed');
  check(args.expectSynthetic === undefined || synthetic === (args.expectSynthetic === '1'),
    `SYNTHETIC banner ${synthetic ? 'shown' : 'missing'}, expected ${args.expectSynthetic === '1' ? 'shown' : 'none'}`);

  await page.screenshot({ path: args.screenshot, fullPage: true });
  const bytes = fs.statSync(args.screenshot).size;
  check(bytes > MIN_SCREENSHOT_BYTES, `the screenshot is ${bytes} bytes; a page with content is over ${MIN_SCREENSHOT_BYTES}`);
  noPageErrors();
  return {
    ok: true, top: found.top, bars: found.bars.length,
    cam: { width: cam.width, height: cam.height, rendered: cam.rendered, colours: cam.colours },
    synthetic, screenshot: args.screenshot, screenshot_bytes: bytes,
  };
}

// Closing is bounded too: a wedged browser is killed by the process id it was started with.
async function closeBrowser(browser) {
  const closed = await Promise.race([browser.close().then(() => true, () => false),
    new Promise((resolve) => setTimeout(() => resolve(false), 5000))]);
  const child = browser.process();
  if (!closed && child && child.exitCode === null) child.kill('SIGKILL');
}

function emit(code, result) {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exitCode = code;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return emit(2, { ok: false, error: `${err.message}; ${USAGE}` });
  }
  let puppeteer;
  try {
    puppeteer = require(path.join(ROOT, 'build/node/node_modules/puppeteer-core'));
  } catch (err) {
    return emit(2, { ok: false, error: `cannot load puppeteer-core from build/node/node_modules ` +
      `(${err.message.split('\n')[0]}); run \`make deps\` (needs node >= 18)` });
  }

  const session = { browser: null, userDataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'skinnet-page-test-')) };
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${args.timeout} s`)), args.timeoutMs);
  });
  try {
    emit(0, await Promise.race([runChecks(puppeteer, args, session), deadline]));
  } catch (err) {
    emit(1, { ok: false, error: err.message });
  } finally {
    clearTimeout(timer);
    if (session.browser) await closeBrowser(session.browser);
    fs.rmSync(session.userDataDir, { recursive: true, force: true });
  }
}

main()
  .catch((err) => emit(1, { ok: false, error: `internal error: ${err.stack}` }))
  .then(() => process.exit());
