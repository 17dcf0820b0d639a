// Tickcast dashboard: candles and predictions from the gateway's API, kept live by its WebSocket.
// State the tests read is mirrored on <body data-*> (candles, predictions, feed, chart, source, stale, decimals).
"use strict";

const CANDLE_LIMIT = 300;
const PREDICTION_LIMIT = 200;
const TABLE_ROWS = 50;
const FRESHNESS_CHECK_MS = 10_000;

const state = {
  symbol: null,
  model: "champion", // whose predictions are shown: "champion", a challenger's version or "persistence"
  predictions: new Map(), // as_of_ms -> Prediction, for the selected symbol
  candleSources: new Set(), // every source among the selected symbol's candles shown
  candleCount: 0,
  closes: new Map(), // open_time_ms -> close of the selected symbol's 1m candles: the outcomes of predictions
  decimals: 2, // price decimals of the selected symbol: its tick size, read from its prices
  minutesPerCandle: 1, // the served interval in minutes (horizons are shown in minutes)
  stale: null, // the selected symbol's freshness problem, if any
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

// The tick size is not in the API: the most decimals among the recent prices tell it (0.01 for BTCUSDT).
function decimalsOf(value) {
  const text = String(value);
  if (text.includes("e-")) return Math.min(8, Number(text.split("e-")[1]));
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : Math.min(8, text.length - dot - 1);
}

function learnTickSize(candles) {
  let decimals = 0;
  for (const c of candles.slice(-100)) {
    decimals = Math.max(decimals, decimalsOf(c.open), decimalsOf(c.high), decimalsOf(c.low), decimalsOf(c.close));
  }
  state.decimals = decimals;
  document.body.dataset.decimals = String(decimals);
  if (chart) {
    const format = { type: "price", precision: decimals, minMove: 10 ** -decimals };
    chart.candles.applyOptions({ priceFormat: format });
    chart.predicted.applyOptions({ priceFormat: format });
  }
}

function rememberCloses(candles) {
  for (const c of candles) if (c.interval === "1m") state.closes.set(c.open_time_ms, c.close);
}

function drawCandles(candles) {
  state.candleCount = candles.length;
  state.closes = new Map();
  rememberCloses(candles);
  if (candles.length) learnTickSize(candles);
  state.candleSources = new Set(candles.map(sourceOf));
  drawSource();
  document.body.dataset.candles = String(candles.length);
  if (chart) chart.candles.setData(candles.map(candleBar));
  forecastView.setCandles(candles, chart);
}

function updateCandles(candles) {
  rememberCloses(candles);
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

// Every time on the page is UTC, as on the chart's axis, and says so.
const timeFormat = new Intl.DateTimeFormat("en-GB", {
  month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: "UTC",
});
const timeWithZone = (ms) => `${timeFormat.format(ms)} UTC`;
const price = (value) => value.toLocaleString("en-US", {
  minimumFractionDigits: state.decimals, maximumFractionDigits: state.decimals,
});
const percent = (value, digits = 3) => `${(value * 100).toFixed(digits)} %`;
const signedPercent = (value, digits = 2) => `${value >= 0 ? "+" : "−"}${Math.abs(value * 100).toFixed(digits)} %`;
const integer = (value) => Math.round(value).toLocaleString("en-US");
const minutes = (count) => (count >= 60 && count % 60 === 0 ? `${count / 60} h` : `${count} min`);

// What happened at a prediction's target: the close of the candle that opens then (as inference scores it).
function outcomeOf(p) {
  const actual = state.closes.get(p.target_time_ms);
  if (actual === undefined) return null;
  const base = p.predicted_price / Math.exp(p.predicted_return);
  const realised = Math.log(actual / base);
  const rightWay = p.direction === "flat" ? null : (p.direction === "up") === (realised > 0);
  return { actual, realised, miss: actual - p.predicted_price, rightWay };
}

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
    const outcome = outcomeOf(p);
    tr.dataset.outcome = outcome ? "known" : "pending";
    const direction = outcome && outcome.rightWay !== null ? `${p.direction} ${outcome.rightWay ? "✓" : "✗"}` : p.direction;
    tr.append(
      cell(timeFormat.format(p.as_of_ms)),
      cell(timeFormat.format(p.target_time_ms)),
      cell(price(p.predicted_price)),
      cell(signedPercent(p.predicted_return, 3), p.predicted_return >= 0 ? "up" : "down"),
      cell(direction, outcome && outcome.rightWay !== null ? (outcome.rightWay ? "hit" : "miss") : p.direction),
      ...(outcome ? [
        cell(price(outcome.actual)),
        cell(signedPercent(outcome.realised, 3), outcome.realised >= 0 ? "up" : "down"),
        cell(`${outcome.miss >= 0 ? "+" : "−"}${price(Math.abs(outcome.miss))}`),
      ] : [cell("pending", "pending"), cell(""), cell("")]),
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

const number = (value) => (typeof value === "number" ? value.toPrecision(4) : value ?? "–");

// Offline metric names as training records them (test_ prefix: the held-out test set), for people.
// Errors are of log returns: shown as percent moves.
const OFFLINE_METRICS = {
  n: ["test samples", integer],
  mae: ["MAE (return)", (v) => percent(v)],
  rmse: ["RMSE (return)", (v) => percent(v)],
  mae_persistence: ["MAE of no-change forecast", (v) => percent(v)],
  rmse_persistence: ["RMSE of no-change forecast", (v) => percent(v)],
  skill: ["skill vs no-change", (v) => signedPercent(v, 1)],
  directional_accuracy: ["direction right", (v) => percent(v, 1)],
  strategy_return: ["long/flat strategy return", (v) => signedPercent(v, 2)],
  buy_and_hold_return: ["buy-and-hold return", (v) => signedPercent(v, 2)],
  trades: ["strategy trades", integer],
  exposure: ["time in the market", (v) => percent(v, 1)],
};

function offlineEntries(metrics) {
  const values = Object.fromEntries(Object.entries(metrics).map(([name, v]) => [name.replace(/^test_/, ""), v]));
  const entries = [];
  for (const [name, value] of Object.entries(values)) {
    if (name === "directional_ci_low" || name === "directional_ci_high") continue;
    const horizon = /^mae_h(\d+)$/.exec(name);
    if (horizon) {
      entries.push([`MAE, horizon ${minutes(Number(horizon[1]) * state.minutesPerCandle)}`, percent(value)]);
    } else if (name in OFFLINE_METRICS) {
      const [label, format] = OFFLINE_METRICS[name];
      entries.push([label, typeof value === "number" ? format(value) : String(value)]);
      if (name === "directional_accuracy" && "directional_ci_low" in values) {
        entries.push(["  95 % interval", `${percent(values.directional_ci_low, 1)} – ${percent(values.directional_ci_high, 1)}`]);
      }
    } else {
      entries.push([name.replaceAll("_", " "), number(value)]);
    }
  }
  return entries;
}

function minutesOf(interval) {
  const match = /^(\d+)([smhdw])$/.exec(interval ?? "");
  if (!match) return null;
  return Number(match[1]) * { s: 1 / 60, m: 1, h: 60, d: 1440, w: 10080 }[match[2]];
}

function drawModels(overview) {
  const champion = overview.champion;
  const attributes = champion ? { ...champion.attributes } : {};
  state.minutesPerCandle = minutesOf(attributes.interval) ?? 1;
  const horizon = Number(attributes.horizon);
  const facts = champion ? [
    ["name", champion.name],
    ["version", champion.version],
    ["feature set", champion.feature_set_version ?? "–"],
    ["loaded", champion.loaded_at_ms ? timeWithZone(champion.loaded_at_ms) : "–"],
  ] : [];
  if (champion && attributes.interval) facts.push(["candles", `${minutes(state.minutesPerCandle)}`]);
  if (champion && horizon) facts.push(["horizon", minutes(horizon * state.minutesPerCandle)]);
  if (champion && attributes.lag_window) facts.push(["looks back", `${integer(Number(attributes.lag_window))} candles`]);
  for (const name of ["interval", "horizon", "lag_window"]) delete attributes[name];
  facts.push(...Object.entries(attributes).map(([name, value]) => [name.replaceAll("_", " "), value]));
  fillList($("model-facts"), facts, "no model loaded yet");
  fillList($("offline-metrics"), champion ? offlineEntries(champion.offline_metrics) : [], "none");
  const horizonText = horizon ? `, horizon ${minutes(horizon * state.minutesPerCandle)}` : "";
  $("live-symbol").textContent = state.symbol ? `(${state.symbol}${horizonText})` : "";
  const live = overview.live_metrics.filter((m) => m.symbol === state.symbol);
  fillList($("live-metrics"), live.flatMap((m) => [
    ...(live.length > 1 ? [["model", `${m.model_name} v${m.model_version ?? "?"}`]] : []),
    ["MAE (return)", m.mae == null ? "–" : percent(m.mae)],
    ["MAE of no-change forecast", m.persistence_mae == null ? "–" : percent(m.persistence_mae)],
    ["skill vs no-change", m.skill == null ? "–" : signedPercent(m.skill, 1)],
    ["direction right", m.hit_rate == null ? "–" : percent(m.hit_rate, 1)],
    ["predictions scored", m.count == null ? "–" : integer(m.count)],
  ]), "none yet");
  forecastView.drawCalibration(overview, state.symbol);
  const followed = leaderboardView.fillPicker(overview, state.model);
  leaderboardView.draw(overview, followed);
  if (followed !== state.model) { // the model followed is no longer served
    notice(`Model ${state.model} is no longer served: showing the champion's predictions.`);
    chooseModel(followed);
  }
}

function chooseModel(model) {
  state.model = model;
  const url = new URL(window.location);
  if (model === "champion") url.searchParams.delete("model");
  else url.searchParams.set("model", model);
  window.history.replaceState(null, "", url);
  if (state.symbol) loadSymbol(state.symbol).catch((error) => notice(error.message));
}

// ---- data freshness ------------------------------------------------------------------------
// /health says, per symbol, how long ago its last trade arrived and whether its candles keep up.

async function checkFreshness() {
  try {
    const health = await getJSON("/health");
    const mine = health.freshness.find((f) => f.symbol === state.symbol);
    const general = health.problems.filter((p) => p.startsWith("age of the last trades unknown"));
    state.stale = mine && mine.stale ? mine : null;
    const banner = $("stale-banner");
    const lines = [];
    if (state.stale) {
      const last = mine.last_trade_received_ms ? ` Last trade received ${timeWithZone(mine.last_trade_received_ms)}.` : "";
      lines.push(`STALE DATA — ${mine.symbol}: ${mine.reason}.${last} What is shown is not current.`);
    }
    lines.push(...general);
    banner.textContent = lines.join("\n");
    banner.hidden = !lines.length;
    document.body.dataset.stale = state.stale ? "stale" : "fresh";
    drawFeedBadge();
  } catch (error) {
    // /health answers 503 while Redis is away; the other panels say so already.
  }
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
    getJSON(`/predictions/${encoded}?limit=${PREDICTION_LIMIT}&model=${encodeURIComponent(state.model)}`)
      .catch(notFoundAsEmpty),
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
  checkFreshness();
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
      drawTable();
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
  state.feedOpen = open;
  state.feedText = text;
  document.body.dataset.feed = open ? "open" : "closed";
  drawFeedBadge();
}

// The badge is about the data, not only the socket: a connected feed of stale data says "stale".
function drawFeedBadge() {
  const badge = $("feed");
  const stale = state.feedOpen && state.stale;
  badge.className = `feed ${stale ? "stale" : state.feedOpen ? "open" : "closed"}`;
  badge.textContent = `feed: ${stale ? "stale" : state.feedText ?? "connecting"}`;
}

function openFeed(symbol) {
  if (state.socket) {
    state.socket.onclose = null;
    state.socket.close();
  }
  setFeed(false, "connecting");
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}/ws/predictions?symbols=${encodeURIComponent(symbol)}`
    + `&model=${encodeURIComponent(state.model)}`);
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
  state.model = new URL(window.location).searchParams.get("model") ?? "champion";
  $("model").onchange = (event) => chooseModel(event.target.value);
  forecastView.onHorizonChange(() => drawPredictedLine());
  await loadSymbol(select.value).catch((error) => notice(error.message));
  setInterval(checkFreshness, FRESHNESS_CHECK_MS);
}

start();
