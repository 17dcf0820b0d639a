// Tickcast dashboard: candles and predictions from the gateway's API, kept live by its WebSocket.
// State the tests read is mirrored on <body data-*> (candles, predictions, feed, chart, source).
"use strict";

const CANDLE_LIMIT = 300;
const PREDICTION_LIMIT = 200;
const TABLE_ROWS = 50;

const state = {
  symbol: null,
  predictions: new Map(), // as_of_ms -> Prediction, for the selected symbol
  candleSources: new Set(), // every source among the selected symbol's candles shown
  candleCount: 0,
  socket: null,
  reconnectDelayMs: 500,
  refreshTimer: null,
};

const $ = (id) => document.getElementById(id);

function notice(text) {
  const box = $("notice");
  box.textContent = text;
  box.hidden = !text;
}

async function getJSON(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.detail || `${path}: HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

// ---- where the prices come from -----------------------------------------------------------
// A user must always know whether the prices are the market's: anything but "binance" gets a banner.

const DISTRUST = ["synthetic", "unknown", "replay", "binance"]; // least trustworthy first
const SOURCE_LABELS = {
  binance: { badge: "Binance market data", banner: null },
  replay: {
    badge: "HISTORICAL REPLAY",
    banner: (symbol) => `HISTORICAL REPLAY — ${symbol}: recorded Binance trades replayed; these are past prices, not current ones.`,
  },
  synthetic: {
    badge: "SYNTHETIC DATA",
    banner: (symbol) => `SYNTHETIC DATA — not market prices. ${symbol}'s candles and predictions are generated for demos.`,
  },
  unknown: {
    badge: "SOURCE UNKNOWN",
    banner: (symbol) => `DATA SOURCE UNKNOWN — ${symbol}'s data was stored without its source; do not take it for market prices.`,
  },
};

const sourceOf = (message) => (message.source in SOURCE_LABELS ? message.source : "unknown");

function drawSource() {
  const sources = new Set(state.candleSources);
  for (const p of state.predictions.values()) sources.add(sourceOf(p));
  // The least trustworthy source among everything shown labels the whole view.
  const shown = DISTRUST.find((source) => sources.has(source)) ?? null;
  document.body.dataset.source = shown ?? "none";
  const badge = $("source");
  const banner = $("source-banner");
  if (!shown) {
    badge.hidden = banner.hidden = true;
    return;
  }
  const label = SOURCE_LABELS[shown];
  badge.hidden = false;
  badge.className = `source-badge ${shown}`;
  badge.textContent = label.badge;
  banner.className = `source-banner ${shown}`;
  banner.textContent = label.banner ? label.banner(state.symbol) : "";
  banner.hidden = !label.banner;
}

// ---- chart ---------------------------------------------------------------------------------

const chart = (() => {
  const charts = window.LightweightCharts;
  if (!charts) {
    document.body.dataset.chart = "missing-library";
    notice("The chart library is not built, so the chart cannot be drawn.\n" +
           "Build it once with:  services/gateway/frontend/build.sh   (runs npm ci)  and reload this page.");
    return null;
  }
  const api = charts.createChart($("chart"), {
    autoSize: true,
    layout: { background: { color: "#171c25" }, textColor: "#d8dee9" },
    grid: { vertLines: { color: "#222836" }, horzLines: { color: "#222836" } },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
  const candles = api.addSeries(charts.CandlestickSeries, {
    upColor: "#26a69a", downColor: "#ef5350", wickUpColor: "#26a69a", wickDownColor: "#ef5350", borderVisible: false,
  });
  const predicted = api.addSeries(charts.LineSeries, {
    color: "#f5a623", lineWidth: 2, lineStyle: charts.LineStyle.Dashed,
    pointMarkersVisible: true, title: "predicted",
  });
  document.body.dataset.chart = "ready";
  return { api, candles, predicted };
})();

const seconds = (ms) => Math.floor(ms / 1000);

function candleBar(candle) {
  return { time: seconds(candle.open_time_ms), open: candle.open, high: candle.high, low: candle.low, close: candle.close };
}

function drawCandles(candles) {
  state.candleCount = candles.length;
  state.candleSources = new Set(candles.map(sourceOf));
  drawSource();
  document.body.dataset.candles = String(candles.length);
  if (chart) chart.candles.setData(candles.map(candleBar));
  forecastView.setCandles(candles, chart);
}

function updateCandles(candles) {
  for (const candle of candles) state.candleSources.add(sourceOf(candle));
  drawSource();
  if (!chart) return;
  for (const candle of candles) chart.candles.update(candleBar(candle));
  forecastView.addCandles(candles, chart);
}

function drawPredictedLine() {
  if (!chart) return;
  // One point per target time: the newest forecast for that time wins.
  const byTarget = new Map();
  for (const p of [...state.predictions.values()].sort((a, b) => a.as_of_ms - b.as_of_ms)) {
    byTarget.set(seconds(p.target_time_ms), p.predicted_price);
  }
  const points = [...byTarget.entries()].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value }));
  chart.predicted.setData(points);
  forecastView.setPredictions([...state.predictions.values()], chart);
}

// ---- predictions table ---------------------------------------------------------------------

const timeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});
const price = (value) => value.toLocaleString(undefined, { maximumSignificantDigits: 8 });
const percent = (value) => `${(value * 100).toFixed(3)} %`;

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function drawTable(freshAsOf) {
  const rows = [...state.predictions.values()].sort((a, b) => b.as_of_ms - a.as_of_ms).slice(0, TABLE_ROWS);
  const body = $("predictions").tBodies[0];
  body.replaceChildren(...rows.map((p) => {
    const tr = document.createElement("tr");
    if (p.as_of_ms === freshAsOf) tr.className = "fresh";
    tr.dataset.asOf = String(p.as_of_ms);
    tr.append(
      cell(timeFormat.format(p.as_of_ms)),
      cell(timeFormat.format(p.target_time_ms)),
      cell(price(p.predicted_price)),
      cell(percent(p.predicted_return), p.predicted_return >= 0 ? "up" : "down"),
      cell(p.direction, p.direction),
      cell(`${p.model_name} v${p.model_version}`),
      cell(sourceOf(p), `source ${sourceOf(p)}`),
    );
    return tr;
  }));
  document.body.dataset.predictions = String(state.predictions.size);
}

// ---- model panel ---------------------------------------------------------------------------

function fillList(list, entries, empty) {
  const items = entries.flatMap(([name, value]) => {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = name;
    dd.textContent = value;
    return [dt, dd];
  });
  if (!items.length) {
    const dt = document.createElement("dt");
    dt.textContent = empty;
    items.push(dt);
  }
  list.replaceChildren(...items);
}

const metric = (value) => (typeof value === "number" ? value.toPrecision(4) : value ?? "–");

function drawModels(overview) {
  const champion = overview.champion;
  fillList($("model-facts"), champion ? [
    ["name", champion.name],
    ["version", champion.version],
    ["feature set", champion.feature_set_version ?? "–"],
    ["loaded", champion.loaded_at_ms ? timeFormat.format(champion.loaded_at_ms) : "–"],
    ...Object.entries(champion.attributes),
  ] : [], "no model loaded yet");
  fillList($("offline-metrics"),
    champion ? Object.entries(champion.offline_metrics).map(([name, value]) => [name, metric(value)]) : [], "none");
  $("live-symbol").textContent = state.symbol ? `(${state.symbol})` : "";
  const live = overview.live_metrics.filter((m) => m.symbol === state.symbol);
  fillList($("live-metrics"), live.flatMap((m) => [
    ...(live.length > 1 ? [["model", `${m.model_name} v${m.model_version ?? "?"}`]] : []),
    ["MAE", metric(m.mae)],
    ["persistence MAE", metric(m.persistence_mae)],
    ["skill", metric(m.skill)],
    ["hit rate", m.hit_rate == null ? "–" : percent(m.hit_rate)],
    ["scored", metric(m.count)],
  ]), "none yet");
  forecastView.drawCalibration(overview, state.symbol);
}

// ---- data flow -----------------------------------------------------------------------------

async function loadSymbol(symbol) {
  state.symbol = symbol;
  state.predictions.clear();
  state.candleSources.clear();
  forecastView.reset();
  drawSource();
  const url = new URL(window.location);
  url.searchParams.set("symbol", symbol);
  window.history.replaceState(null, "", url);
  const encoded = encodeURIComponent(symbol);
  const [candles, predictions, models] = await Promise.all([
    getJSON(`/candles/${encoded}?interval=1m&limit=${CANDLE_LIMIT}`).catch(notFoundAsEmpty),
    getJSON(`/predictions/${encoded}?limit=${PREDICTION_LIMIT}`).catch(notFoundAsEmpty),
    getJSON("/models"),
  ]);
  if (symbol !== state.symbol) return; // another symbol was chosen meanwhile
  for (const p of predictions) state.predictions.set(p.as_of_ms, p);
  drawCandles(candles);
  drawPredictedLine();
  drawTable();
  drawSource();
  drawModels(models);
  if (chart) chart.api.timeScale().fitContent();
  openFeed(symbol);
}

function notFoundAsEmpty(error) {
  if (error.status === 404) return [];
  throw error;
}

// A new prediction means a candle has closed: fetch the newest candles and metrics, at most once a second.
function scheduleRefresh() {
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(async () => {
    state.refreshTimer = null;
    const symbol = state.symbol;
    try {
      const [candles, models] = await Promise.all([
        getJSON(`/candles/${encodeURIComponent(symbol)}?interval=1m&limit=5`).catch(notFoundAsEmpty),
        getJSON("/models"),
      ]);
      if (symbol !== state.symbol) return;
      updateCandles(candles);
      if (state.candleCount === 0 && candles.length) await loadSymbol(symbol);
      drawModels(models);
    } catch (error) {
      notice(`Could not refresh: ${error.message}`);
    }
  }, 1000);
}

function onPrediction(prediction) {
  if (prediction.symbol !== state.symbol) return;
  state.predictions.set(prediction.as_of_ms, prediction);
  drawPredictedLine();
  drawTable(prediction.as_of_ms);
  drawSource();
  scheduleRefresh();
}

function setFeed(open, text) {
  const badge = $("feed");
  badge.className = `feed ${open ? "open" : "closed"}`;
  badge.textContent = `feed: ${text}`;
  document.body.dataset.feed = open ? "open" : "closed";
}

function openFeed(symbol) {
  if (state.socket) {
    state.socket.onclose = null;
    state.socket.close();
  }
  setFeed(false, "connecting");
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}/ws/predictions?symbols=${encodeURIComponent(symbol)}`);
  state.socket = socket;
  socket.onopen = () => {
    state.reconnectDelayMs = 500;
    setFeed(true, "live");
  };
  socket.onmessage = (event) => onPrediction(JSON.parse(event.data));
  socket.onclose = (event) => {
    setFeed(false, event.reason ? `closed (${event.reason})` : "reconnecting");
    if (event.code === 1008) return; // refused for a reason reconnecting will not fix
    setTimeout(() => symbol === state.symbol && openFeed(symbol), state.reconnectDelayMs);
    state.reconnectDelayMs = Math.min(state.reconnectDelayMs * 2, 10000);
  };
}

async function start() {
  const select = $("symbol");
  let symbols;
  try {
    symbols = (await getJSON("/symbols")).symbols;
  } catch (error) {
    notice(`The gateway could not list symbols: ${error.message}. Retrying…`);
    setTimeout(start, 3000);
    return;
  }
  if (!symbols.length) {
    notice("No symbols in the store yet: start the pipeline (or POST /symbols) and reload.");
    return;
  }
  select.replaceChildren(...symbols.map((symbol) => new Option(symbol, symbol)));
  const wanted = new URL(window.location).searchParams.get("symbol");
  select.value = symbols.includes(wanted) ? wanted : symbols[0];
  select.onchange = () => loadSymbol(select.value).catch((error) => notice(error.message));
  forecastView.onHorizonChange(() => drawPredictedLine());
  await loadSymbol(select.value).catch((error) => notice(error.message));
}

start();
