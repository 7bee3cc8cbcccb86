// asmdb's web map: the promoted probability map in the QGIS style's classes, labels, the review
// queue and "find more like this", over the registered imagery of the period shown, all from
// this server (a plain background as base map, no CDN).
"use strict";

const TMS = "WebMercatorQuad";
const state = { config: null, session: null, items: [], index: 0, conflict: null, similar: null, imagery: [], imageMaps: {}, rankings: new Map() };
const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.method && options.method !== "GET" && state.session && state.session.csrf) {
    headers["X-CSRF-Token"] = state.session.csrf;
  }
  const response = await fetch(path, {
    method: options.method || "GET",
    headers,
    credentials: "same-origin",
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  return { status: response.status, ok: response.ok, data };
}

function text(value) {
  return value === null || value === undefined ? "" : String(value);
}

function element(tag, content, attrs = {}) {
  const node = document.createElement(tag);
  if (content !== undefined) node.textContent = content;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

// Only the columns the map draws and the popup reads (the server's list for each layer):
// smaller tiles at country zooms.
function tileUrl(collection, filter) {
  const base = `${location.origin}/collections/${encodeURIComponent(collection)}/tiles/${TMS}/{z}/{x}/{y}`;
  const query = new URLSearchParams();
  const info = state.config.collections[collection];
  if (info && info.properties && info.properties.length) query.set("properties", info.properties.join(","));
  if (filter) query.set("filter", filter);
  if (state.reloads && state.reloads[collection]) query.set("v", state.reloads[collection]);
  const q = query.toString();
  return q ? `${base}?${q}` : base;
}

// The MapLibre layer of a layer the server declares (cfg.layers): its kind and paint.
function layerSpec(def) {
  return { type: def.kind, paint: def.paint };
}

function drawLegend(cfg) {
  const box = $("legend-classes");
  box.textContent = "";
  for (const cls of cfg.classes) {
    const row = element("div", undefined, { class: "legend-row" });
    const swatch = element("span", undefined, { class: "swatch" });
    swatch.style.background = cls.color;
    row.append(swatch, element("span", cls.label));
    box.append(row);
  }
  // The blocks of the country zooms: what their colour says, and what their outline marks.
  const blocks = $("legend-blocks");
  blocks.textContent = "";
  if (!cfg.blocks_legend || !cfg.layers.some((def) => def.overviews)) return;
  blocks.append(element("p", cfg.blocks_legend.fill, { class: "legend-note" }));
  const row = element("div", undefined, { class: "legend-row" });
  const swatch = element("span", undefined, { class: "swatch outline" });
  swatch.style.borderColor = cfg.blocks_legend.outline_color;
  row.append(swatch, element("span", cfg.blocks_legend.outline));
  blocks.append(row);
}

// A layer by period shows the period chosen on the slider (its promoted map), through the
// tiles request's filter, so each tile holds that period only.
function periodFilter(def) {
  return def.by_period && state.period ? `map_id=${Number(state.period.map_id)}` : "";
}

function joinFilters(...parts) {
  return parts.filter(Boolean).join(" AND ");
}

function addVectorSource(map, def, id, collection, filter, options) {
  map.addSource(id, Object.assign({
    type: "vector",
    tiles: [tileUrl(collection, joinFilters(filter, periodFilter(def)))],
  }, options));
  state.sources.push({ id, collection, filter, def });
}

// Country zooms draw the map's overview blocks (one block size per zoom range, each tile a few
// hundred blocks); from cfg.full_resolution_zoom on, the map's own tiles.
function addOverviewLayers(map, cfg, def, info) {
  const ids = [];
  const fills = [];
  for (const level of cfg.overviews) {
    const id = `${def.id}-overview-${level.cells}`;
    addVectorSource(map, def, id, def.overviews, `cells=${level.cells}`, {
      minzoom: level.minzoom,
      maxzoom: level.maxzoom - 1,
      bounds: info.bounds || undefined,
    });
    const zooms = { minzoom: level.minzoom, maxzoom: level.maxzoom };
    const layout = { visibility: def.hidden ? "none" : "visible" };
    map.addLayer(Object.assign({ id, source: id, "source-layer": "default", type: "fill" }, zooms, {
      paint: def.overview_paint,
      layout,
    }));
    ids.push(id);
    fills.push(id);
    // Blocks holding a tile of the top class, outlined (their fill is their mean's class).
    if (def.overview_outline) {
      const outline = `${id}-hot`;
      map.addLayer(Object.assign({ id: outline, source: id, "source-layer": "default", type: "line" }, zooms, {
        filter: def.overview_outline.filter,
        paint: def.overview_outline.paint,
        layout: Object.assign({}, layout),
      }));
      ids.push(outline);
    }
  }
  return { ids, fills };
}

function addLayers(map, cfg) {
  const list = $("layer-list");
  list.textContent = "";
  state.overviewLayers = [];
  state.sources = [];
  state.layerIds = {};
  state.layerBoxes = {};
  // The layers this visitor may read, in drawing order, as the server declares them.
  for (const def of cfg.layers) {
    if (!cfg.collections[def.collection]) continue;
    const info = cfg.collections[def.collection];
    const ids = [def.id];
    let minzoom = 0;
    if (def.overviews && cfg.collections[def.overviews] && cfg.overviews.length) {
      const overview = addOverviewLayers(map, cfg, def, info);
      state.overviewLayers.push(...overview.fills);  // a click on a block: its popup, once
      ids.push(...overview.ids);
      minzoom = cfg.full_resolution_zoom;
    }
    addVectorSource(map, def, def.id, def.collection, "", {
      minzoom,
      maxzoom: 14,
      bounds: info.bounds || undefined,
    });
    const spec = layerSpec(def);
    map.addLayer(Object.assign({ id: def.id, source: def.id, "source-layer": "default", minzoom }, spec, {
      layout: { visibility: def.hidden ? "none" : "visible" },
    }));
    const label = element("label");
    const box = element("input", undefined, { type: "checkbox", "data-layer": def.id });
    box.checked = !def.hidden;
    box.addEventListener("change", () => showLayer(map, def.id, box.checked));
    state.layerIds[def.id] = ids;
    state.layerBoxes[def.id] = box;
    label.append(box, document.createTextNode(" " + def.title));
    list.append(label, element("br"));
  }
  map.addSource("similar", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
  map.addLayer({ id: "similar", type: "line", source: "similar", paint: { "line-color": "#ff00ff", "line-width": 3 } });
}

function showLayer(map, defId, visible) {
  for (const id of state.layerIds[defId] || []) map.setLayoutProperty(id, "visibility", visible ? "visible" : "none");
  if (state.layerBoxes[defId]) state.layerBoxes[defId].checked = visible;
}

// --- Imagery ------------------------------------------------------------------------------
// How the page draws imagery: the server's declaration (/api/config "imagery": its list and
// tile routes, zooms, paint, whether it is off at first; null when this visitor may not see
// imagery) over these.
const IMAGERY_DEFAULTS = {
  list: "/api/imagery",
  tiles: "/imagery/{name}/tiles/WebMercatorQuad/{z}/{x}/{y}.png",
  tile_size: 256,
  minzoom: 0,
  maxzoom: 24,
  paint: {},
  hidden: false,
  outline_color: "#ffff00",
  basemaps: [
    { id: "light", title: "Plain, light", color: "#f4f4f2" },
    { id: "dark", title: "Plain, dark", color: "#1f2124" },
  ],
};
// The imagery select's values: the period's imagery, none, or "name:" and a name (any text).
const AUTO = "auto";
const NONE = "none";
const BY_NAME = "name:";

function imageryConfig() {
  return Object.assign({}, IMAGERY_DEFAULTS, (state.config && state.config.imagery) || {});
}

function rasterSource(imagery) {
  const cfg = imageryConfig();
  const path = typeof imagery.tiles === "string" && imagery.tiles.startsWith("/")
    ? imagery.tiles  // the list's own route for it
    : cfg.tiles.replace("{name}", encodeURIComponent(imagery.name));
  // The imagery's own lowest zoom (the list's "minzoom"): the server draws nothing below it, as
  // a tile there would read too much of a file; MapLibre then asks for none.
  const own = Number.isInteger(imagery.minzoom) ? imagery.minzoom : cfg.minzoom;
  const minzoom = Math.min(Math.max(cfg.minzoom, own), cfg.maxzoom);
  const source = { type: "raster", tiles: [location.origin + path], tileSize: cfg.tile_size, minzoom, maxzoom: cfg.maxzoom };
  const b = imagery.bounds;
  if (Array.isArray(b) && b.length === 4 && b.every(Number.isFinite)) source.bounds = b;
  return source;
}

// The registered imagery this visitor may see, oldest period first; [] when none or refused.
async function loadImagery() {
  state.imagery = [];
  if (!state.config.imagery) return;  // none served to this visitor
  const { status, data } = await api(imageryConfig().list);
  if (status !== 200 || !data || !Array.isArray(data.imagery)) return;
  state.imagery = data.imagery.filter((i) => i && typeof i.name === "string")
    .sort((a, b) => text(a.period_start).localeCompare(text(b.period_start)) || a.name.localeCompare(b.name));
}

// The imagery of a period over an area ([w, s, e, n]; null: anywhere), best first, as the
// server ranks it by the rule `review export --imagery` follows (docs/web.md): only imagery
// meeting both; [] when none does, the period is undated or the server refused.
async function imageryFor(start, end, bbox) {
  if (!state.config.imagery || !state.imagery.length || !start || !end) return [];
  const query = new URLSearchParams({ period: `${start}/${end}` });
  if (bbox) query.set("bbox", bbox.join(","));
  const url = `${imageryConfig().list}?${query}`;
  if (state.rankings.has(url)) return state.rankings.get(url);
  const { status, data } = await api(url);
  if (status !== 200 || !data || !Array.isArray(data.imagery)) return [];
  const ranked = data.imagery.filter((i) => i && typeof i.name === "string");
  if (state.rankings.size > 100) state.rankings.clear();
  state.rankings.set(url, ranked);
  return ranked;
}

// The main map's view as a bbox the server takes (within -180..180, -90..90), or null.
function viewBbox(map) {
  const b = map.getBounds();
  const w = Math.max(-180, b.getWest());
  const e = Math.min(180, b.getEast());
  const s = Math.max(-90, b.getSouth());
  const n = Math.min(90, b.getNorth());
  return w < e && s < n ? [w, s, e, n] : null;
}

function imageryText(imagery) {
  return `${imagery.name} (${periodText(imagery)})`;
}

// The imagery the map draws: the one chosen, or (automatic) the best of the period shown over
// the view; with why there is none.
async function chosenImagery(map) {
  const value = $("imagery").value;
  if (value === NONE) return { imagery: null, why: "No imagery drawn." };
  if (value.startsWith(BY_NAME)) {
    return { imagery: state.imagery.find((i) => BY_NAME + i.name === value) || null, why: "No imagery drawn." };
  }
  const p = state.period;
  if (!p || !p.period_start || !p.period_end) {
    return { imagery: null, why: "The map shown has no period: choose an imagery by name." };
  }
  const ranked = await imageryFor(p.period_start, p.period_end, viewBbox(map));
  return { imagery: ranked[0] || null, why: `No imagery of this period (${periodText(p)}) here.` };
}

// Under every vector layer: just above the background.
async function drawImagery(map) {
  const ticket = (state.imageryTicket = (state.imageryTicket || 0) + 1);
  const { imagery, why } = await chosenImagery(map);
  if (ticket !== state.imageryTicket) return;  // chosen again meanwhile
  const shown = map.getSource("imagery") ? state.imageryShown : null;
  if (shown && imagery && shown.name === imagery.name) return;
  if (map.getLayer("imagery")) map.removeLayer("imagery");
  if (map.getSource("imagery")) map.removeSource("imagery");
  state.imageryShown = null;
  if (imagery) {
    map.addSource("imagery", rasterSource(imagery));
    const above = map.getStyle().layers[1];
    map.addLayer({ id: "imagery", type: "raster", source: "imagery", paint: imageryConfig().paint }, above ? above.id : undefined);
    state.imageryShown = imagery;
  }
  map.getContainer().dataset.imagery = imagery ? imagery.name : "";
  const message = $("imagery-message");
  if (!state.config.imagery) message.textContent = state.session.user ? "No imagery on this server." : "Log in to see the imagery.";
  else if (!state.imagery.length) message.textContent = "No imagery registered (asmdb imagery add).";
  else message.textContent = imagery ? `Drawn: ${imageryText(imagery)}` : why;
}

async function setupImagery(map) {
  const select = $("imagery");
  select.textContent = "";
  select.append(element("option", "The period's imagery", { value: AUTO }));
  for (const im of state.imagery) select.append(element("option", imageryText(im), { value: BY_NAME + im.name }));
  select.append(element("option", "None", { value: NONE }));
  select.disabled = !state.imagery.length;
  if (imageryConfig().hidden) select.value = NONE;  // the server says: off when the page opens
  select.onchange = () => drawImagery(map);
  // The period's imagery follows the view (regional imagery: the one covering it).
  map.on("moveend", () => { if (select.value === AUTO) drawImagery(map); });
  // Base map: a plain colour (nothing from the internet).
  const base = $("basemap");
  base.textContent = "";
  for (const b of imageryConfig().basemaps) base.append(element("option", b.title, { value: b.id }));
  base.onchange = () => {
    const b = imageryConfig().basemaps.find((x) => x.id === base.value);
    if (!b) return;
    map.setPaintProperty("background", "background-color", b.color);
    map.getContainer().style.background = b.color;
  };
  // Opacity of the map layers above the imagery, relative to each layer's own.
  const slider = $("layer-opacity");
  state.opacityBase = {};
  for (const layer of map.getStyle().layers) {
    if (layer.type === "background" || layer.type === "raster") continue;
    for (const prop of OPACITY_PROPERTIES[layer.type] || []) {
      const value = map.getPaintProperty(layer.id, prop);
      state.opacityBase[`${layer.id}\u0000${prop}`] = typeof value === "number" ? value : 1;
    }
  }
  slider.oninput = () => setLayerOpacity(map, Number(slider.value) / 100);
  await drawImagery(map);
}

const OPACITY_PROPERTIES = {
  fill: ["fill-opacity"],
  line: ["line-opacity"],
  circle: ["circle-opacity", "circle-stroke-opacity"],
};

function setLayerOpacity(map, share) {
  $("layer-opacity-label").textContent = `${Math.round(share * 100)}%`;
  for (const [key, base] of Object.entries(state.opacityBase)) {
    const [id, prop] = key.split("\u0000");
    if (map.getLayer(id)) map.setPaintProperty(id, prop, base * share);
  }
}

// A small map of one tile: the imagery under the tile's outline, named by period. `bbox` is
// [w, s, e, n]; resolves when its first tiles are drawn. Kept in state.imageMaps[group] (each
// is a WebGL context: removed with its panel or popup).
function imageMap(container, group, imagery, bbox, caption) {
  const figure = element("figure", undefined, { class: "tile-image" });
  const box = element("div", undefined, { class: "tile-image-map" });
  figure.append(box, element("figcaption", caption));
  container.append(figure);
  figure.dataset.imagery = imagery ? imagery.name : "";
  if (!imagery) {
    box.append(element("p", "No imagery of this period.", { class: "hint" }));
    figure.dataset.ready = "true";
    return null;
  }
  const [w, s, e, n] = bbox;
  const outline = {
    type: "Feature",
    properties: {},
    geometry: { type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] },
  };
  const color = imageryConfig().basemaps[0].color;
  const small = new maplibregl.Map({
    container: box,
    style: {
      version: 8,
      sources: { imagery: rasterSource(imagery), outline: { type: "geojson", data: outline } },
      layers: [
        { id: "background", type: "background", paint: { "background-color": color } },
        { id: "imagery", type: "raster", source: "imagery", paint: imageryConfig().paint },
        { id: "outline", type: "line", source: "outline", paint: { "line-color": imageryConfig().outline_color, "line-width": 2 } },
      ],
    },
    bounds: [[w, s], [e, n]],
    fitBoundsOptions: { padding: 40 },
    attributionControl: false,
  });
  small.once("idle", () => { figure.dataset.ready = "true"; });
  (state.imageMaps[group] = state.imageMaps[group] || []).push(small);
  return small;
}

function removeImageMaps(group) {
  for (const small of state.imageMaps[group] || []) small.remove();
  state.imageMaps[group] = [];
}

// "start/end" (the tile API's period; "?" unknown) as [start, end].
function splitPeriod(period) {
  if (!period) return [null, null];
  return String(period).split("/").map((d) => (d && d !== "?" ? d : null));
}

// One tile of a layer, from the OGC API (its whole outline and every column).
async function tileFeature(collection, tileId, mapId) {
  const filter = joinFilters(`tile_id=${Number(tileId)}`, mapId !== undefined ? `map_id=${Number(mapId)}` : "");
  const query = new URLSearchParams({ filter, limit: "1", f: "geojson" });
  const { status, data } = await api(`/collections/${encodeURIComponent(collection)}/items?${query}`);
  if (status !== 200 || !data || !Array.isArray(data.features) || !data.features.length) return null;
  return data.features[0];
}

function featureBbox(feature) {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === "number") { w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]); return; }
    for (const x of c) walk(x);
  };
  walk(feature.geometry.coordinates);
  return [w, s, e, n];
}

// The caption of a tile's image: the imagery's own name and dates, or the period none shows.
function imageCaption(imagery, start, end) {
  return imagery ? imageryText(imagery) : `no imagery of this period (${periodText({ period_start: start, period_end: end })})`;
}

// The image of one tile in the map's period, in `container` (or why there is none): the best
// imagery the server ranks for the period and the tile. `current()`: whether it is still
// wanted once the ranking has come.
async function showTileImage(container, group, bbox, start, end, current = () => true) {
  removeImageMaps(group);
  container.textContent = "";
  if (!state.imagery.length) {
    container.append(element("p", "No imagery registered: no image of the tile to show.", { class: "hint" }));
    return;
  }
  if (!start || !end) {
    container.append(element("p", "The map's period is undated: no imagery matches it.", { class: "hint" }));
    return;
  }
  const ranked = await imageryFor(start, end, bbox);
  if (!current()) return;
  removeImageMaps(group);
  container.textContent = "";
  const imagery = ranked[0] || null;
  imageMap(container, group, imagery, bbox, imageCaption(imagery, start, end));
}

// --- Periods ------------------------------------------------------------------------------
function periodText(period) {
  if (!period.period_start && !period.period_end) return "undated";
  return `${period.period_start || "?"} to ${period.period_end || "?"}`;
}

// The periods of the layers by period, from the server; the newest is chosen first.
async function loadPeriods(cfg) {
  state.periods = [];
  state.period = null;
  if (!cfg.layers.some((def) => def.by_period)) return;
  const { status, data } = await api("/api/periods");
  if (status !== 200 || !data || !Array.isArray(data.periods)) return;
  state.periods = data.periods;
  if (state.periods.length) state.period = state.periods[state.periods.length - 1];
}

// A slider only when there are at least two periods; moving it shows that period's map.
function setupPeriodSlider(map) {
  if (state.periods.length < 2) return;
  const slider = $("period");
  slider.min = "0";
  slider.max = String(state.periods.length - 1);
  slider.value = slider.max;
  $("period-label").textContent = periodText(state.period);
  $("period-box").hidden = false;
  slider.addEventListener("input", () => {
    state.period = state.periods[Number(slider.value)];
    $("period-label").textContent = periodText(state.period);
    drawImagery(map);
    const sources = state.sources.filter((source) => source.def.by_period);
    const updated = whenTilesSet(map, sources.map((source) => source.id));
    for (const source of sources) {
      map.getSource(source.id).setTiles([tileUrl(source.collection, joinFilters(source.filter, periodFilter(source.def)))]);
    }
    const shown = state.config.layers.filter((def) => def.by_period).map((def) => def.id);
    for (const id of shown) if (state.layerBoxes[id]) state.layerBoxes[id].checked = true;
    updated.then(() => { for (const id of shown) showLayer(map, id, true); });
  });
}

// A vector source takes the URL given to setTiles only once it has reloaded, asynchronously:
// a hidden layer made visible before then asks for the old URL's tiles and keeps them (the
// period shown would not be the one chosen). This resolves once every source in `ids` has
// said it holds its new URL (its "content" data event), or after five seconds at most.
function whenTilesSet(map, ids) {
  return new Promise((resolve) => {
    const pending = new Set(ids);
    let timer = null;
    const done = () => {
      map.off("sourcedata", seen);
      clearTimeout(timer);
      resolve();
    };
    const seen = (event) => {
      if (event.sourceDataType === "content" && pending.delete(event.sourceId) && !pending.size) done();
    };
    if (!pending.size) return resolve();
    timer = setTimeout(done, 5000);
    map.on("sourcedata", seen);
  });
}

// Draw a collection's tiles afresh (after a change to its rows), wherever the page draws it.
function reloadCollection(map, collection) {
  state.reloads = state.reloads || {};
  state.reloads[collection] = Date.now();
  for (const source of state.sources.filter((s) => s.collection === collection && !s.filter)) {
    map.getSource(source.id).setTiles([tileUrl(collection)]);
  }
}

// The extent of the first layer drawn (the map), else of any layer.
function fitToData(map, cfg) {
  const first = cfg.layers.find((def) => cfg.collections[def.collection]);
  const info = (first && cfg.collections[first.collection]) || Object.values(cfg.collections)[0];
  if (info && info.bounds) {
    const b = info.bounds;
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 20, animate: false });
  }
}

// A click on an overview block: what it sums up, and a way to its tiles.
function showBlock(map, event) {
  const p = event.features[0].properties;
  const box = element("div", undefined, { class: "popup" });
  const table = element("table");
  const row = (k, v) => { const tr = element("tr"); tr.append(element("td", k), element("td", text(v))); table.append(tr); };
  row("block", `${p.cells} x ${p.cells} tiles`);
  row("tiles mapped", p.tiles);
  row("mean probability (its colour)", Number(p.probability_mean).toFixed(3));
  row("highest probability", Number(p.probability).toFixed(3));
  const zoom = element("button", "Zoom to its tiles", { type: "button" });
  zoom.onclick = () => map.easeTo({ center: event.lngLat, zoom: state.config.full_resolution_zoom });
  box.append(table, zoom);
  new maplibregl.Popup().setLngLat(event.lngLat).setDOMContent(box).addTo(map);
}

// Whether a change tile is drawn (absent tiles are not: a click passes through them).
function changeDrawn(p) {
  return state.config.change_classes.some((c) => c.name === p.class && c.drawn);
}

// A tile of the change map: its class and both probabilities, from the tile itself, and the
// imagery of both periods side by side, the tile outlined in each (mined before? after?).
function showChange(map, event, def) {
  const p = event.features[0].properties;
  if (!changeDrawn(p)) return;
  const box = element("div", undefined, { class: "popup change-popup" });
  const table = element("table");
  const row = (k, v) => { const tr = element("tr"); tr.append(element("td", k), element("td", text(v))); table.append(tr); };
  const number = (v) => (v === undefined || v === null ? "no data" : Number(v).toFixed(3));
  row("tile", p.tile_id);
  row("change", String(p.class).replace("_", " "));
  row("probability before", number(p.p_from));
  row("probability after", number(p.p_to));
  box.append(table);
  const images = element("div", undefined, { class: "change-images" });
  box.append(images);
  box.setAttribute("data-tile-id", text(p.tile_id));
  const popup = new maplibregl.Popup({ maxWidth: "480px" }).setLngLat(event.lngLat).setDOMContent(box).addTo(map);
  popup.on("close", () => removeImageMaps("change"));
  showChangeImages(popup, images, def, p.tile_id);
}

// Before and after: each period's best imagery for the tile, the tile outlined, captioned with
// the imagery's own name and dates; said plainly when both are the same imagery.
async function showChangeImages(popup, container, def, tileId) {
  removeImageMaps("change");
  if (!state.imagery.length) {
    container.append(element("p", "No imagery registered: no images of the two periods to show.", { class: "hint" }));
    return;
  }
  const feature = await tileFeature(def.collection, tileId);
  if (!popup.isOpen()) return;
  if (!feature) {
    container.append(element("p", "The tile's outline could not be read.", { class: "hint" }));
    return;
  }
  const f = feature.properties;
  const bbox = featureBbox(feature);
  const [before, after] = (await Promise.all([
    imageryFor(f.from_period_start, f.from_period_end, bbox),
    imageryFor(f.to_period_start, f.to_period_end, bbox),
  ])).map((ranked) => ranked[0] || null);
  if (!popup.isOpen()) return;
  imageMap(container, "change", before, bbox, `before: ${imageCaption(before, f.from_period_start, f.from_period_end)}`);
  imageMap(container, "change", after, bbox, `after: ${imageCaption(after, f.to_period_start, f.to_period_end)}`);
  if (before && after && before.name === after.name) {
    container.append(element(
      "p",
      `Before and after are the same imagery (${before.name}): it cannot show a change between the two periods.`,
      { class: "hint same-imagery" },
    ));
  }
}

// Areas as people read them: whole km2 from 10 up, one decimal below.
function km2(v) {
  const n = Number(v);
  return n >= 10 ? String(Math.round(n)) : n.toFixed(1);
}

// The zones of the change by zone at a click (zones may nest, as concessions in districts do):
// per zone and class the estimated area with its 95% interval beside the area the map shows,
// or, with too few reviews, that there is no interval and why.
function showZone(map, event) {
  const box = element("div", undefined, { class: "popup zone-popup" });
  const seen = new Set();
  for (const feature of event.features) {
    const p = feature.properties;
    if (seen.has(p.zone_id)) continue;  // a zone cut across vector tiles comes in pieces
    seen.add(p.zone_id);
    box.append(zoneSection(p));
  }
  new maplibregl.Popup({ maxWidth: "360px" }).setLngLat(event.lngLat).setDOMContent(box).addTo(map);
}

function zoneSection(p) {
  const year = (d) => (d ? String(d).slice(0, 4) : "?");
  const when = `${year(p.period_from)} -> ${year(p.period_to)}`;
  const estimated = typeof p.new_km2 === "number";
  const section = element("div", undefined, { class: "zone" });
  const mapped = km2(p.new_mapped_km2);
  const headline = estimated
    ? `new mining ${when} in ${p.zone}: ${km2(p.new_km2)} km2, 95% ` +
      `${km2(p.new_low)}-${km2(p.new_high)} km2; the map shows ${mapped}`
    : `new mining ${when} in ${p.zone}: the map shows ${mapped} km2`;
  section.append(element("p", headline, { class: "zone-headline" }));
  if (!estimated) {
    section.append(element("p", `No interval: ${text(p.note || "too few reviewed sample tiles")}.`, { class: "hint" }));
  }
  const table = element("table");
  const head = element("tr");
  head.append(element("th", "class"), element("th", estimated ? "estimated km2 (95%)" : "estimated"), element("th", "map km2"));
  table.append(head);
  for (const c of state.config.change_classes) {
    if (p[`${c.name}_mapped_km2`] === undefined) continue;
    const tr = element("tr");
    const value = estimated
      ? `${km2(p[`${c.name}_km2`])} (${km2(p[`${c.name}_low`])}-${km2(p[`${c.name}_high`])})`
      : "too few reviews";
    tr.append(element("td", c.description), element("td", value), element("td", km2(p[`${c.name}_mapped_km2`])));
    table.append(tr);
  }
  section.append(table, element("p", `${text(p.reviewed)} reviewed sample tiles in the zone`, { class: "hint" }));
  return section;
}

async function showPopup(map, event, def) {
  const feature = event.features[0];
  const tileId = feature.properties.tile_id;
  const box = element("div", undefined, { class: "popup" });
  const table = element("table");
  const row = (k, v) => { const tr = element("tr"); tr.append(element("td", k), element("td", text(v))); table.append(tr); };
  // A tile of the maps by period: that period's map; else the map latest_predictions shows.
  const mapId = feature.properties.map_tile_id !== undefined ? feature.properties.map_id : undefined;
  const query = mapId !== undefined ? `?map_id=${encodeURIComponent(Number(mapId))}` : "";
  const { status, data } = await api(`/api/tiles/${encodeURIComponent(tileId)}${query}`);
  if (status !== 200) {
    box.append(element("p", data && data.detail ? text(data.detail) : "no data"));
  } else {
    row("tile", data.tile_id);
    row("probability", Number(data.probability).toFixed(3));
    row("run", data.run_id);
    if (data.period) row("period", data.period);
    box.append(table);
    if (data.labels) {
      box.append(element("strong", "Nearest labels"));
      const ul = element("ul");
      for (const l of data.labels) {
        const kind = l.label === 1 ? `mine${l.mine_type ? " (" + l.mine_type + ")" : ""}` : "not a mine";
        ul.append(element("li", `${l.unique_id}: ${kind}, ${(l.metres / 1000).toFixed(2)} km`));
      }
      box.append(ul);
    } else {
      box.append(element("p", "Log in to see the nearest labels.", { class: "hint" }));
    }
    const more = element("button", "More like this", { type: "button", id: "more-like-this" });
    more.addEventListener("click", () => findSimilar(map, [data.tile_id]));
    box.append(more);
  }
  box.setAttribute("data-tile-id", text(tileId));
  const image = element("div", undefined, { class: "popup-image" });
  box.append(image);
  const popup = new maplibregl.Popup({ maxWidth: "300px" }).setLngLat(event.lngLat).setDOMContent(box).addTo(map);
  popup.on("close", () => removeImageMaps("popup"));
  if (status === 200 && !state.imagery.length) showTileImage(image, "popup");  // says there is none
  else if (status === 200) {
    const [start, end] = splitPeriod(data.period);
    const outline = await tileFeature(def.collection, tileId, mapId);
    if (outline && popup.isOpen()) showTileImage(image, "popup", featureBbox(outline), start, end, () => popup.isOpen());
  }
}

async function findSimilar(map, tiles) {
  $("similar-message").textContent = "searching ...";
  const query = tiles.map((t) => "tile=" + encodeURIComponent(t)).join("&");
  const { status, data } = await api(`/api/similar?${query}&top=50`);
  if (status !== 200) {
    $("similar-message").textContent = data && data.detail ? text(data.detail) : "search failed";
    return;
  }
  state.similar = data.results;
  const features = data.results.map((r, i) => ({
    type: "Feature",
    properties: { tile_id: r.tile_id, similarity: r.similarity, rank: i + 1 },
    geometry: {
      type: "Polygon",
      coordinates: [[[r.bbox[0], r.bbox[1]], [r.bbox[2], r.bbox[1]], [r.bbox[2], r.bbox[3]], [r.bbox[0], r.bbox[3]], [r.bbox[0], r.bbox[1]]]],
    },
  }));
  map.getSource("similar").setData({ type: "FeatureCollection", features });
  $("similar-message").textContent = `${features.length} similar tiles (magenta), best ${features.length ? features[0].properties.similarity.toFixed(3) : "-"}`;
  $("similar-clear").hidden = false;
}

// --- Review -------------------------------------------------------------------------------
function currentItem() { return state.items[state.index]; }

function showItem() {
  const item = currentItem();
  const box = $("review-item");
  box.textContent = "";
  $("review-conflict").hidden = true;
  $("review-message").textContent = "";
  if (!item) {
    box.textContent = "The queue is empty.";
    $("review-position").textContent = "";
    removeImageMaps("review");
    $("review-image").textContent = "";
    return;
  }
  $("review-position").textContent = `${state.index + 1} / ${state.items.length}`;
  const table = element("table");
  const row = (k, v) => { const tr = element("tr"); tr.append(element("td", k), element("td", text(v))); table.append(tr); };
  row("review", item.review_id);
  row("tile", item.tile_id);
  row("probability", Number(item.probability).toFixed(3));
  row("why", `${item.reason} (${item.stratum})`);
  row("status", item.status);
  if (item.reviewer) row("by", `${item.reviewer}, ${item.reviewed_at}`);
  box.append(table);
  $("review-notes").value = item.notes || "";
  showReviewImage(item);
}

// The tile under review in the imagery of its map's period (the promoted map's, from the tile
// API; else the period shown).
async function showReviewImage(item) {
  const container = $("review-image");
  removeImageMaps("review");
  container.textContent = "";
  container.dataset.tileId = text(item.tile_id);
  let [start, end] = state.period ? [state.period.period_start, state.period.period_end] : [null, null];
  if (state.imagery.length) {
    const { status, data } = await api(`/api/tiles/${encodeURIComponent(item.tile_id)}`);
    if (status === 200 && data.period) [start, end] = splitPeriod(data.period);
  }
  if (currentItem() !== item) return;  // moved on meanwhile
  showTileImage(container, "review", item.bbox, start, end, () => currentItem() === item);
}

function zoomToItem(map) {
  const item = currentItem();
  if (!item) return;
  const b = item.bbox;
  map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 120, maxZoom: 14, animate: false });
}

async function answer(map, status, replace) {
  const item = currentItem();
  if (!item) return;
  const body = { status, notes: $("review-notes").value };
  if (replace && state.conflict) {
    Object.assign(body, {
      replace: true,
      seen_status: state.conflict.status,
      seen_reviewer: state.conflict.reviewer,
      seen_reviewed_at: state.conflict.reviewed_at,
    });
  }
  const { status: code, data } = await api(`/api/review/${item.review_id}`, { method: "POST", body });
  if (code === 200) {
    state.items[state.index] = data.item;
    state.conflict = null;
    showItem();
    $("review-message").textContent = `saved: ${data.item.status}`;
    for (const def of state.config.layers.filter((d) => d.reload_after_review)) reloadCollection(map, def.collection);
  } else if (code === 409) {
    const current = data.current;
    state.conflict = current;
    state.pendingStatus = status;
    state.items[state.index] = current;
    $("review-conflict-text").textContent =
      `${current.reviewer} answered "${current.status}" at ${current.reviewed_at}. `;
    $("review-conflict").hidden = false;
  } else {
    $("review-message").textContent = data && data.detail ? text(data.detail) : `error ${code}`;
  }
}

async function loadReview(map) {
  const { status, data } = await api("/api/review");
  if (status !== 200) return;
  state.items = data.items;
  state.index = Math.max(0, state.items.findIndex((i) => i.status === "pending"));
  $("review").hidden = false;
  showItem();
  $("review-prev").onclick = () => { if (state.index > 0) { state.index--; showItem(); zoomToItem(map); } };
  $("review-next").onclick = () => { if (state.index < state.items.length - 1) { state.index++; showItem(); zoomToItem(map); } };
  $("review-zoom").onclick = () => zoomToItem(map);
  for (const button of $("review-answers").querySelectorAll("button")) {
    button.onclick = () => answer(map, button.dataset.status, false);
  }
  $("review-replace").onclick = () => answer(map, state.pendingStatus, true);
  const answers = $("review-answers").querySelectorAll("button");
  for (const b of answers) b.disabled = !state.session.can_review;
  if (!state.session.can_review) $("review-message").textContent = "Your role may look at the queue but not answer it.";
}

// --- Account ------------------------------------------------------------------------------
function showAccount() {
  const s = state.session;
  $("login").hidden = !!s.user;
  $("who").hidden = !s.user;
  if (s.user) $("user").textContent = `Logged in as ${s.user}`;
  $("login").onsubmit = async (event) => {
    event.preventDefault();
    const { status, data } = await api("/api/login", {
      method: "POST",
      body: { username: $("username").value, password: $("password").value },
    });
    $("password").value = "";
    if (status === 200) location.reload();
    else $("login-message").textContent = data && data.detail ? text(data.detail) : "login failed";
  };
  $("logout").onclick = async () => { await api("/api/logout", { method: "POST", body: {} }); location.reload(); };
}

async function main() {
  const { status, data } = await api("/api/config");
  if (status !== 200) { document.body.textContent = "asmdb: the server did not answer."; return; }
  state.config = data;
  state.session = data.session;
  showAccount();
  drawLegend(data);
  const map = new maplibregl.Map({
    container: "map",
    style: {
      version: 8,
      sources: {},
      layers: [{ id: "background", type: "background", paint: { "background-color": "#f4f4f2" } }],
    },
    center: [0, 0],
    zoom: 1,
    attributionControl: false,
  });
  window.asmdbMap = map;
  window.asmdbImageMaps = state.imageMaps;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  map.addControl(new maplibregl.ScaleControl());
  map.on("load", async () => {
    await Promise.all([loadPeriods(data), loadImagery()]);
    addLayers(map, data);
    setupPeriodSlider(map);
    fitToData(map, data);
    await setupImagery(map);
    if (!data.layers.length && !data.session.user) {
      $("login-message").textContent = "Log in to see the map.";
    }
    // What a click on each layer shows; only the top-most layer under the pointer answers.
    const clickable = {};
    const pointer = (id) => {
      map.on("mouseenter", id, () => { map.getCanvas().style.cursor = "pointer"; });
      map.on("mouseleave", id, () => { map.getCanvas().style.cursor = ""; });
    };
    for (const id of state.overviewLayers) {
      clickable[id] = (event) => showBlock(map, event);
      pointer(id);
    }
    for (const def of data.layers) {
      if (!map.getLayer(def.id)) continue;
      if (def.popup === "tile") {
        clickable[def.id] = (event) => showPopup(map, event, def);
        pointer(def.id);
      } else if (def.popup === "change") {
        clickable[def.id] = (event) => showChange(map, event, def);
      } else if (def.popup === "zone") {
        clickable[def.id] = (event) => showZone(map, event);
      }
    }
    const changeLayers = new Set(data.layers.filter((d) => d.popup === "change").map((d) => d.id));
    map.on("click", (event) => {
      const hits = map.queryRenderedFeatures(event.point, { layers: Object.keys(clickable) })
        .filter((f) => !changeLayers.has(f.layer.id) || changeDrawn(f.properties));
      if (!hits.length) return;
      const top = hits[0].layer.id;
      clickable[top]({ lngLat: event.lngLat, point: event.point, features: hits.filter((f) => f.layer.id === top) });
    });
    $("similar-clear").onclick = () => {
      map.getSource("similar").setData({ type: "FeatureCollection", features: [] });
      $("similar-message").textContent = "";
      $("similar-clear").hidden = true;
    };
    if (data.session.user) await loadReview(map);
    // Ready at the next idle frame; a frame is asked for, since the map may have gone idle
    // while the review queue loaded, and an idle map draws no frame on its own.
    map.once("idle", () => { window.asmdbReady = true; });
    map.triggerRepaint();
  });
}

main();
