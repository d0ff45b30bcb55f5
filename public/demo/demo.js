// The demo page's script: zone names from /zones, distance from the zone centroids, the prediction
// from POST /predict. No framework, no build step; served by the service itself (docs/api.md).

// Road miles per straight-line mile between zone centroids: the median over January 2021's green
// trips between different zones (docs/api.md, "Demo page"; scripts/road-factor.ts recomputes it).
const ROAD_FACTOR = 1.33;
const EARTH_RADIUS_MILES = 3958.8;

const LABELS = {
  PULocationID: 'Pickup zone',
  DOLocationID: 'Drop-off zone',
  trip_distance: 'Distance',
  pickup_datetime: 'Pickup time',
};

const $ = (id) => document.getElementById(id);
const form = $('trip');
const fields = { pickup: $('pickup'), dropoff: $('dropoff'), when: $('when'), distance: $('distance') };
/** Zone id → zone, and the datalist text of each zone → id. */
const zones = new Map();
const byLabel = new Map();
let distanceEdited = false;

const zoneLabel = (z) => `${z.zone}, ${z.borough} (${z.id})`;

/** The zone id a typed text names: a suggestion, "(132)", a bare id, or a unique zone name. */
function zoneIdOf(text) {
  const t = text.trim();
  if (t === '') return undefined;
  if (byLabel.has(t)) return byLabel.get(t);
  const m = /\((\d{1,3})\)\s*$/.exec(t) ?? /^(\d{1,3})$/.exec(t);
  if (m) return Number(m[1]);
  const named = [...zones.values()].filter((z) => z.zone.toLowerCase() === t.toLowerCase());
  return named.length === 1 ? named[0].id : undefined;
}

function haversineMiles(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_MILES * Math.asin(Math.sqrt(h));
}

/** Pre-fills the distance from the two zones' centroids, unless the person typed one. */
function prefillDistance() {
  const a = zones.get(zoneIdOf(fields.pickup.value));
  const b = zones.get(zoneIdOf(fields.dropoff.value));
  const note = $('distance-note');
  if (!a || !b || a.lat === null || b.lat === null) {
    note.textContent = zones.size > 0 ? 'Pick two zones to estimate the distance, or type it.' : 'Type the distance in miles.';
    return;
  }
  const straight = haversineMiles(a, b);
  note.textContent = `Estimated: ${straight.toFixed(2)} mi between the zone centres × ${ROAD_FACTOR} (typical road detour). Edit it if you know better.`;
  if (!distanceEdited) fields.distance.value = (straight * ROAD_FACTOR).toFixed(2);
}

/** The request body for the form as it stands (what the curl line shows too). */
function tripBody() {
  const body = {
    PULocationID: zoneIdOf(fields.pickup.value) ?? null,
    DOLocationID: zoneIdOf(fields.dropoff.value) ?? null,
    trip_distance: fields.distance.value.trim() === '' ? null : Number(fields.distance.value),
  };
  if (fields.when.value) body.pickup_datetime = fields.when.value;
  return body;
}

function showCurl() {
  const body = JSON.stringify(tripBody());
  $('curl').textContent = `curl -s ${location.origin}/predict -H 'Content-Type: application/json' -d '${body}'`;
}

/** An API error in words: each bad field by its label, else the problem's detail. */
function describeProblem(status, problem) {
  if (problem && Array.isArray(problem.errors) && problem.errors.length > 0) {
    return problem.errors.map((e) => `${LABELS[e.field] ?? e.field} ${e.message}.`).join('\n');
  }
  if (problem && typeof problem.detail === 'string') return `${problem.title ?? 'Error'}: ${problem.detail}.`;
  return `The service answered ${status}.`;
}

function showError(text) {
  $('result').hidden = true;
  $('error').textContent = text;
  $('error').hidden = false;
}

function showPrediction(answer) {
  $('error').hidden = true;
  $('minutes').textContent = `≈ ${Math.round(answer.duration)} min`;
  $('exact').textContent = String(answer.duration);
  $('result-model').textContent = answer.model_version;
  const interval = $('interval');
  if (typeof answer.duration_p10 === 'number' && typeof answer.duration_p90 === 'number') {
    interval.textContent = `${Math.round(answer.duration_p10)}–${Math.round(answer.duration_p90)} min (8 rides in 10)`;
    interval.hidden = false;
  } else interval.hidden = true;
  $('result').hidden = false;
}

async function predict(event) {
  event.preventDefault();
  const body = tripBody();
  const unknown = [
    [fields.pickup, body.PULocationID, 'Pickup zone'],
    [fields.dropoff, body.DOLocationID, 'Drop-off zone'],
  ].filter(([input, id]) => input.value.trim() !== '' && id === null);
  if (unknown.length > 0) {
    showError(unknown.map(([input, , label]) => `${label}: “${input.value.trim()}” is not a zone we know; pick one from the suggestions or type its number (1–265).`).join('\n'));
    return;
  }
  $('submit').disabled = true;
  try {
    const res = await fetch('/predict', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await res.json().catch(() => undefined);
    if (res.ok && answer) showPrediction(answer);
    else showError(describeProblem(res.status, answer));
  } catch {
    showError('The service could not be reached. Check your connection and try again.');
  } finally {
    $('submit').disabled = false;
  }
}

async function loadZones() {
  const note = $('zones-note');
  try {
    const res = await fetch('/zones');
    if (!res.ok) {
      const problem = await res.json().catch(() => undefined);
      note.textContent = `No zone names: ${problem?.detail ?? `the service answered ${res.status}`}. Type zone numbers (1–265).`;
      return;
    }
    const list = $('zones');
    for (const z of await res.json()) {
      zones.set(z.id, z);
      byLabel.set(zoneLabel(z), z.id);
      const option = document.createElement('option');
      option.value = zoneLabel(z);
      list.append(option);
    }
    note.textContent = `${zones.size} zones, from the served model's zone table.`;
  } catch {
    note.textContent = 'Zone names could not be loaded. Type zone numbers (1–265).';
  }
}

async function loadModel() {
  try {
    const res = await fetch('/model');
    $('model-version').textContent = res.ok ? (await res.json()).model_version : 'not loaded yet';
  } catch {
    $('model-version').textContent = 'unknown';
  }
}

fields.distance.addEventListener('input', () => {
  distanceEdited = fields.distance.value.trim() !== '';
  showCurl();
});
for (const input of [fields.pickup, fields.dropoff]) {
  input.addEventListener('input', () => {
    prefillDistance();
    showCurl();
  });
}
fields.when.addEventListener('input', showCurl);
form.addEventListener('submit', predict);

await Promise.all([loadZones(), loadModel()]);
prefillDistance();
showCurl();
document.body.dataset.ready = 'true';
