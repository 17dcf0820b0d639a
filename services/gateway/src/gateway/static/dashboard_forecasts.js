// Tickcast dashboard, distribution forecasts: the fan of predicted price bands over the candles, the
// realized price landing inside or outside them, and the live calibration of each forecaster.
// Loaded before dashboard.js, which calls forecastView.* as candles, predictions and /models arrive.
// State the tests read is mirrored on <body data-*> (fan-points, fan-inside, fan-outside, calibration-rows).
"use strict";

const FAN_BANDS = [ // nominal coverage, lower and upper quantile levels, line style
  { nominal: 0.9, low: 0.05, high: 0.95, color: "rgba(79, 195, 247, 0.45)", width: 1 },
  { nominal: 0.8, low: 0.10, high: 0.90, color: "rgba(79, 195, 247, 0.75)", width: 1 },
  { nominal: 0.5, low: 0.25, high: 0.75, color: "rgba(79, 195, 247, 1)", width: 2 },
];
const TARGET_NAMES = { distribution: "price band", volatility: "volatility", probability: "P(up)" };

const forecastView = (() => {
  const closes = new Map(); // open_time_ms -> close, for the selected symbol
  let series = null; // created on first use, over dashboard.js's chart
  let markers = null;
  let predictions = [];

  const $f = (id) => document.getElementById(id);
  const toSeconds = (ms) => Math.floor(ms / 1000);
  const selectedHorizon = () => Number($f("fan-horizon").value);

  function ensureSeries(chartView) {
    if (series || !chartView) return series;
    const charts = window.LightweightCharts;
    series = FAN_BANDS.flatMap((band) => ["low", "high"].map((side) => chartView.api.addSeries(charts.LineSeries, {
      color: band.color, lineWidth: band.width, lineStyle: charts.LineStyle.Solid,
      lastValueVisible: false, priceLineVisible: false, crosshairMarkerVisible: false,
      title: side === "high" ? `${Math.round(band.nominal * 100)}%` : "",
    })));
    markers = charts.createSeriesMarkers(chartView.candles, []);
    return series;
  }

  const quantile = (forecast, level) => {
    const at = forecast.quantile_levels.findIndex((l) => Math.abs(l - level) < 1e-9);
    return at < 0 ? null : forecast.price_quantiles[at];
  };

  // The forecast of the selected horizon per target time: the newest one made for that time.
  function forecastsByTarget(horizon) {
    const byTarget = new Map();
    for (const p of [...predictions].sort((a, b) => a.as_of_ms - b.as_of_ms)) {
      for (const f of p.forecasts ?? []) if (f.horizon === horizon) byTarget.set(f.target_time_ms, f);
    }
    return [...byTarget.entries()].sort((a, b) => a[0] - b[0]);
  }

  function draw(chartView) {
    const horizon = selectedHorizon();
    const targets = forecastsByTarget(horizon);
    if (ensureSeries(chartView)) {
      FAN_BANDS.forEach((band, i) => {
        for (const [j, level] of [band.low, band.high].entries()) {
          series[2 * i + j].setData(targets.flatMap(([time, f]) => {
            const value = quantile(f, level);
            return value == null ? [] : [{ time: toSeconds(time), value }];
          }));
        }
      });
    }
    // The realized close at each target time: inside the 80% band or outside it.
    let inside = 0;
    let outside = 0;
    const landed = [];
    for (const [time, f] of targets) {
      const close = closes.get(time);
      const low = quantile(f, 0.10);
      const high = quantile(f, 0.90);
      if (close == null || low == null || high == null) continue;
      const within = close >= low && close <= high;
      within ? inside++ : outside++;
      landed.push({
        time: toSeconds(time), position: within ? "inBar" : close > high ? "aboveBar" : "belowBar",
        shape: within ? "circle" : "square", color: within ? "#9ccc65" : "#ff7043", size: within ? 0.4 : 0.8,
      });
    }
    if (markers) markers.setMarkers(landed);
    document.body.dataset.fanPoints = String(targets.length);
    document.body.dataset.fanInside = String(inside);
    document.body.dataset.fanOutside = String(outside);
    const scored = inside + outside;
    $f("fan-summary").textContent = targets.length
      ? `${targets.length} bands of ${horizon} min ahead; realized close inside the 80 % band ${inside} of ${scored}` +
        (scored ? ` (${(100 * inside / scored).toFixed(0)} %, nominal 80 %)` : "")
      : `no distribution forecast of ${horizon} min ahead for this symbol yet`;
    drawForecasters(targets.length ? targets[targets.length - 1][1] : null);
    drawReliability(targets, horizon);
  }

  // P(up) against the share of rises among the matured forecasts on screen, in bins of P(up).
  function drawReliability(targets, horizon) {
    const bins = [0, 0.2, 0.4, 0.6, 0.8, 1.0001].slice(0, -1).map((low, i, lows) => ({
      low, high: lows[i + 1] ?? 1, forecast: 0, rose: 0, n: 0,
    }));
    for (const [time, f] of targets) {
      const close = closes.get(time);
      const base = closes.get(time - horizon * 60_000);
      if (close == null || base == null) continue;
      const bin = bins.find((b) => f.p_up >= b.low && f.p_up < b.high) ?? bins[bins.length - 1];
      bin.forecast += f.p_up;
      bin.rose += Math.log(close / base) > f.dead_band ? 1 : 0;
      bin.n += 1;
    }
    const rows = bins.filter((b) => b.n > 0).map((b) => {
      const tr = document.createElement("tr");
      tr.append(textCell(`${(b.low * 100).toFixed(0)}–${(Math.min(b.high, 1) * 100).toFixed(0)} %`),
        textCell(pct(b.forecast / b.n)), textCell(pct(b.rose / b.n)), textCell(String(b.n)));
      return tr;
    });
    $f("reliability").tBodies[0].replaceChildren(...rows);
    $f("reliability-horizon").textContent = `${horizon} min ahead`;
    document.body.dataset.reliabilityRows = String(rows.length);
  }

  // Which forecaster serves each target of the newest forecast: a model (name, version, kind) or a baseline.
  function drawForecasters(newest) {
    const rows = newest ? Object.entries(TARGET_NAMES).map(([target, name]) => {
      const label = newest.forecasters?.[target] ?? "–";
      const baseline = label.startsWith("baseline");
      const tr = document.createElement("tr");
      const kind = document.createElement("td");
      kind.textContent = baseline ? "baseline" : "model";
      kind.className = baseline ? "baseline" : "model";
      tr.append(textCell(name), kind, textCell(label.replace(/^baseline /, "")));
      return tr;
    }) : [];
    $f("forecasters").tBodies[0].replaceChildren(...rows);
  }

  function textCell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  const pct = (value) => (value == null ? "–" : `${(value * 100).toFixed(1)} %`);
  const num = (value) => (value == null ? "–" : value.toPrecision(3));

  // Live coverage against nominal per horizon (the further from nominal, the warmer), with the losses.
  function drawCalibration(overview, symbol) {
    const scores = (overview.forecast_live_scores ?? []).filter((s) => s.symbol === symbol);
    const horizons = [...new Set(scores.map((s) => s.horizon))].sort((a, b) => a - b);
    const rows = horizons.map((h) => {
      const of = (target) => scores.filter((s) => s.horizon === h && s.target === target)
        .sort((a, b) => b.last_target_time_ms - a.last_target_time_ms)[0] ?? {};
      const band = of("distribution");
      const tr = document.createElement("tr");
      tr.append(
        textCell(`${h} min`),
        textCell(pct(band.coverage_80), coverageClass(band.coverage_80, 0.8)),
        textCell(pct(band.coverage_90), coverageClass(band.coverage_90, 0.9)),
        textCell(num(band.pinball)),
        textCell(num(of("volatility").qlike)),
        textCell(num(of("probability").brier)),
        textCell(String(band.count ?? "–")),
      );
      tr.title = `forecasters: ${["distribution", "volatility", "probability"]
        .map((t) => `${TARGET_NAMES[t]}: ${of(t).forecaster ?? "–"}`).join("; ")}`;
      return tr;
    });
    $f("calibration").tBodies[0].replaceChildren(...rows);
    $f("calibration-empty").hidden = rows.length > 0;
    document.body.dataset.calibrationRows = String(rows.length);
  }

  // Within 2 points of nominal is calibrated; within 5 is a warning; further is off.
  function coverageClass(value, nominal) {
    if (value == null) return "";
    const gap = Math.abs(value - nominal);
    return gap <= 0.02 ? "calibrated" : gap <= 0.05 ? "near" : "off";
  }

  return {
    reset() {
      closes.clear();
      predictions = [];
    },
    setCandles(candles, chartView) {
      closes.clear();
      for (const c of candles) closes.set(c.open_time_ms, c.close);
      draw(chartView);
    },
    addCandles(candles, chartView) {
      for (const c of candles) closes.set(c.open_time_ms, c.close);
      draw(chartView);
    },
    setPredictions(all, chartView) {
      predictions = all;
      draw(chartView);
    },
    drawCalibration,
    onHorizonChange(handler) {
      $f("fan-horizon").onchange = handler;
    },
  };
})();
