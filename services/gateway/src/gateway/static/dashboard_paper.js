// Tickcast dashboard, paper trading: each served model's simulated portfolio against buy-and-hold.
// Simulated from forecasts, never advice: the section's label says so. Reads GET /paper and
// GET /paper/{symbol}?model=, every 15 s and when the symbol, the model or the scope changes.
// State the tests read is mirrored on <body data-*> (paper-models, paper-points, paper-model).
"use strict";

(() => {
  const REFRESH_MS = 15_000;
  const $p = (id) => document.getElementById(id);
  const pct = (x, digits = 2) => `${(x * 100).toFixed(digits)} %`;
  let chart = null;

  function ensureChart() {
    const charts = window.LightweightCharts;
    if (chart || !charts) return chart;
    const api = charts.createChart($p("paper-chart"), {
      autoSize: true,
      layout: { background: { color: "#171c25" }, textColor: "#d8dee9" },
      grid: { vertLines: { color: "#222836" }, horzLines: { color: "#222836" } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    const equity = api.addSeries(charts.LineSeries, { color: "#4fc3f7", lineWidth: 2, title: "strategy" });
    const hold = api.addSeries(charts.LineSeries, { color: "#b0bec5", lineWidth: 1, title: "buy & hold" });
    const drawdown = api.addSeries(charts.HistogramSeries, {
      color: "rgba(239, 83, 80, 0.6)", title: "drawdown %", priceFormat: { type: "percent" },
    }, 1);
    chart = { api, equity, hold, drawdown };
    return chart;
  }

  async function getPaper(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }

  function fillModels(overview) {
    const select = $p("paper-model");
    const chosen = select.value;
    select.replaceChildren(...overview.models.map((m) => new Option(`${m.model} (${m.role})`, m.model)));
    if (overview.models.some((m) => m.model === chosen)) select.value = chosen;
    const rows = overview.models.map((m) => {
      const t = m.total;
      const row = document.createElement("tr");
      for (const text of [m.model, m.role, pct(t.strategy_return), pct(t.buy_hold_return), pct(t.max_drawdown),
                          `${t.turnover.toFixed(1)}×`, pct(t.fees_paid, 3), String(t.trades), pct(t.exposure, 0)]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      return row;
    });
    $p("paper-models").querySelector("tbody").replaceChildren(...rows);
    document.body.dataset.paperModels = String(overview.models.length);
  }

  function drawCurve(curve) {
    const view = ensureChart();
    const points = curve ? curve.points : [];
    $p("paper-empty").hidden = points.length > 0;
    document.body.dataset.paperPoints = String(points.length);
    document.body.dataset.paperModel = curve ? curve.model : "";
    if (!view) return;
    const t = (p) => Math.floor(p.time_ms / 1000);
    view.equity.setData(points.map((p) => ({ time: t(p), value: p.equity })));
    view.hold.setData(points.map((p) => ({ time: t(p), value: p.buy_hold_equity })));
    view.drawdown.setData(points.map((p) => ({ time: t(p), value: -p.drawdown * 100 })));
    view.api.timeScale().fitContent();
  }

  async function refresh() {
    try {
      const overview = await getPaper("/paper");
      if (!overview) return;
      fillModels(overview);
      const model = $p("paper-model").value;
      const scope = $p("paper-scope").value;
      const symbol = scope === "ALL" ? "ALL" : $p("symbol").value;
      if (!symbol) { setTimeout(refresh, 500); return; } // dashboard.js has not listed the symbols yet
      if (!model) return drawCurve(null);
      const query = new URLSearchParams({ model });
      drawCurve(await getPaper(`/paper/${encodeURIComponent(symbol)}?${query}`));
    } catch (error) {
      console.warn("paper trading not refreshed", error);
    }
  }

  for (const id of ["paper-model", "paper-scope", "symbol"]) $p(id).addEventListener("change", refresh);
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
