// skinnet serve's page logic. Fills the model card from GET api/model, and sends each chosen or dropped
// image to POST api/predict?cam=1 (multipart field "image"), one request at a time, rendering a result card
// per image as its answer arrives. Everything the server sends is data, never markup: it enters the DOM
// only through textContent, attributes and style properties.
//
// Stable hooks, used by tests/browser/page_test.js (keep them when restyling):
//   #file-input               <input type=file accept=image/* multiple>; its change event starts uploads
//   #drop-zone                drop target for image files
//   #results                  one .result card per uploaded image, in upload order
//   .result[data-status]      "pending" until the answer arrives, then "done" or "error"
//   .top-class                full name of the most probable class (top[0].name)
//   .track > .bar             one bar per class shown; bar.style.width is the probability in %
//   .cam-toggle               checkbox: show the Grad-CAM overlay instead of the original image
//   img.original, img.cam     the upload and the overlay; img.cam is created on the first toggle and
//                             exactly one of the two is shown (the other has the hidden attribute)
//   .error                    a failed card's message
//   #model-card[data-status]  "pending", then "done" or "error"
//   #synthetic-banner         present only when the model was trained on synthetic images
'use strict';

const MODEL_URL = 'api/model';
const PREDICT_URL = 'api/predict?cam=1';
const MAX_RETRY_WAIT_S = 30;  // a busy server asking for a longer wait gets an error instead of a retry

// el('p', {class: 'x'}, 'text', child): builds elements without innerHTML; strings become text nodes.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

const percent = (p, digits = 1) => (100 * p).toFixed(digits) + '%';
// Softmax outputs of a confident model reach 1e-10; "0.0%" would read as impossible rather than unlikely.
const shownPercent = (p) => (p > 0 && p < 0.0005 ? '<0.1%' : percent(p));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Resolves to the parsed JSON of a 2xx answer; otherwise throws with the server's {"error": ...} message.
async function readJson(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (empty body, a proxy's HTML page): the status line below still says what happened.
  }
  if (!response.ok) {
    const message = body && typeof body.error === 'string' ? body.error : response.statusText;
    throw new Error(`${message || 'request failed'} (HTTP ${response.status})`);
  }
  if (body === null) throw new Error('the server answered with something that is not JSON');
  return body;
}

async function fetchJson(url, options) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (err) {
    throw new Error(`could not reach the server (${err.message})`);
  }
  return { response, json: () => readJson(response) };
}

// Retry-After is either seconds or an HTTP date; null when absent or unreadable.
function retryAfterSeconds(response) {
  const value = response.headers.get('Retry-After');
  if (!value) return null;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  return Number.isFinite(seconds) ? Math.max(0, Math.ceil(seconds)) : null;
}

// ---- model card ----

function syntheticBanner(datasetName) {
  return el('div', { id: 'synthetic-banner', class: 'synthetic-banner', role: 'alert' },
    el('strong', {}, 'SYNTHETIC'),
    el('p', {}, `This model was trained on synthetic images in ${datasetName}'s format (skinnet synth), not on ` +
      'photographs of real skin. Its outputs mean nothing about real lesions.'));
}

function metricsBlock(metrics, fullName) {
  const block = el('div', { class: 'metrics' }, el('h3', {}, 'Test results'));
  if (!metrics) {
    block.append(el('p', { class: 'muted' }, 'No test metrics recorded.'));
    return block;
  }
  block.append(el('p', {}, 'Balanced accuracy ', el('strong', {}, percent(metrics.balanced_accuracy)),
    ` on ${metrics.n} test images (the mean of the per-class recalls below).`));
  const rows = (metrics.per_class || []).map((row) => el('tr', {},
    el('th', { scope: 'row' }, fullName(row.class)),
    el('td', {}, percent(row.recall)),
    el('td', {}, String(row.support))));
  block.append(el('table', { class: 'recall' },
    el('caption', {}, 'Recall: the share of each class\u2019s test images classified as that class.'),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, 'Class'), el('th', { scope: 'col' }, 'Recall'),
      el('th', { scope: 'col' }, 'Images'))),
    el('tbody', {}, ...rows)));
  return block;
}

function renderModelCard(card, model) {
  const classes = model.classes || [];
  const names = model.class_names || [];
  const fullName = (code) => names[classes.indexOf(code)] || code;
  const dataset = model.dataset;
  const facts = [
    ['Architecture', model.arch],
    ['Dataset', dataset ? dataset.name + (dataset.synthetic ? ' (synthetic images)' : '') : 'unknown'],
    ['Classes', String(classes.length)],
    ['Input', `${model.input_size} \u00d7 ${model.input_size} pixels`],
    ['Grad-CAM layer', model.cam_layer],
    ['Weights', model.source],
    ['skinnet', model.version],
  ];
  const list = el('dl', { class: 'facts' });
  for (const [term, value] of facts) {
    if (value !== undefined && value !== null) list.append(el('dt', {}, term), el('dd', {}, String(value)));
  }
  card.replaceChildren(
    el('h2', { id: 'model-title' }, 'Model card'),
    el('p', { class: 'disclaimer' }, model.disclaimer ||
      'This is a research model, not a medical device: do not use it to make decisions about anyone\u2019s health.'),
    list,
    metricsBlock(model.metrics, fullName));
  if (dataset && dataset.synthetic) document.getElementById('main').prepend(syntheticBanner(dataset.name));
}

async function loadModelCard() {
  const card = document.getElementById('model-card');
  try {
    renderModelCard(card, await (await fetchJson(MODEL_URL)).json());
    card.dataset.status = 'done';
  } catch (err) {
    card.replaceChildren(el('h2', { id: 'model-title' }, 'Model card'),
      el('p', { class: 'error', role: 'alert' }, `Could not load the model description: ${err.message}`));
    card.dataset.status = 'error';
  }
}

// ---- result cards ----

function createCard(file) {
  const original = el('img', { class: 'original', src: URL.createObjectURL(file), alt: `Uploaded image ${file.name}` });
  const caption = el('figcaption', {}, 'Original image');
  const figure = el('figure', { class: 'picture' }, original, caption);
  const status = el('p', { class: 'status', role: 'status' }, 'Waiting for the images before it\u2026');
  const body = el('div', { class: 'body' }, el('h3', { class: 'file-name' }, file.name), status);
  const root = el('article', { class: 'result', 'data-status': 'pending' }, figure, body);
  // A file the browser cannot display still goes to the server, which says what is wrong with it.
  original.addEventListener('error', () => {
    original.hidden = true;
    caption.textContent = 'No preview: the browser cannot display this file.';
  });
  return { file, root, figure, original, caption, body, status, cam: null };
}

// The Grad-CAM overlay arrives with the answer; its <img> is only built when first asked for.
function camToggle(card, cam, className) {
  const toggle = el('input', { type: 'checkbox', class: 'cam-toggle' });
  toggle.addEventListener('change', () => {
    if (!card.cam) {
      card.cam = el('img', { class: 'cam', src: cam.png, alt: `Grad-CAM heatmap for ${className} over ${card.file.name}` });
      card.original.after(card.cam);
    }
    card.cam.hidden = !toggle.checked;
    card.original.hidden = toggle.checked;
    card.caption.textContent = toggle.checked
      ? `Grad-CAM heatmap for ${className}, from ${cam.layer}: warm colours mark the regions that raised this class\u2019s score.`
      : 'Original image';
  });
  return el('label', { class: 'toggle' }, toggle, ` Show the Grad-CAM heatmap for ${className}`);
}

function showPrediction(card, answer, seconds) {
  const top = answer.top || [];
  if (top.length === 0) throw new Error('the answer lists no classes');
  const name = (t) => t.name || t.class;
  const bars = el('ol', { class: 'probs', 'aria-label': 'Most likely classes' }, ...top.map((t) => {
    const bar = el('span', { class: 'bar' });
    bar.style.width = percent(Math.min(Math.max(t.prob, 0), 1), 3);
    return el('li', {}, el('span', { class: 'name' }, name(t)),
      el('span', { class: 'track', 'aria-hidden': 'true' }, bar), el('span', { class: 'pct' }, shownPercent(t.prob)));
  }));
  card.status.textContent = `Classified in ${seconds.toFixed(1)} s.`;
  card.body.append(el('p', { class: 'headline' }, 'Most likely: ',
    el('strong', { class: 'top-class' }, name(top[0])), ` (${percent(top[0].prob)})`), bars);
  const cam = answer.cam;
  if (cam && typeof cam.png === 'string' && cam.png.startsWith('data:image/')) {
    card.body.append(camToggle(card, cam, cam.name || cam.class));
  } else {
    card.body.append(el('p', { class: 'muted' }, 'The server sent no Grad-CAM heatmap.'));
  }
}

// One POST per image; a busy server (503) is asked once more after the wait it names.
async function predict(card) {
  for (let attempt = 0; ; attempt++) {
    const form = new FormData();
    form.append('image', card.file, card.file.name);
    const { response, json } = await fetchJson(PREDICT_URL, { method: 'POST', body: form });
    const wait = response.status === 503 && attempt === 0 ? (retryAfterSeconds(response) ?? 1) : null;
    if (wait === null || wait > MAX_RETRY_WAIT_S) return json();
    card.status.textContent = `The server is busy; trying again in ${wait} s\u2026`;
    await sleep(wait * 1000);
  }
}

async function classify(card) {
  card.status.textContent = 'Classifying\u2026';
  const start = performance.now();
  try {
    showPrediction(card, await predict(card), (performance.now() - start) / 1000);
    card.root.dataset.status = 'done';
  } catch (err) {
    card.status.hidden = true;
    card.body.append(el('p', { class: 'error', role: 'alert' }, `Could not classify this image: ${err.message}`));
    card.root.dataset.status = 'error';
  }
}

// Requests go one at a time so a batch of images does not make the server answer 503 to most of them.
let queue = Promise.resolve();

function addFiles(files) {
  const results = document.getElementById('results');
  for (const file of Array.from(files)) {
    const card = createCard(file);
    results.append(card.root);
    queue = queue.then(() => classify(card));
  }
}

function setUpUpload() {
  const input = document.getElementById('file-input');
  const zone = document.getElementById('drop-zone');
  input.addEventListener('change', () => {
    addFiles(input.files);
    input.value = '';  // so choosing the same file again is a change too
  });
  zone.addEventListener('click', (e) => {
    if (!e.target.closest('label, input')) input.click();
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', (e) => {
    if (!zone.contains(e.relatedTarget)) zone.classList.remove('over');
  });
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    addFiles(e.dataTransfer.files);
  });
  // A drop that misses the zone would otherwise open the image in this tab and lose the results.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
}

setUpUpload();
loadModelCard();
