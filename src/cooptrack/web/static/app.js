/* Draws the page's charts with plotly.js from the JSON in <script id="chart-data">.
   Nothing to draw, no plotly, or a chart's element missing: the page stays as it is (tables). */
(function () {
  "use strict";

  function readData() {
    var holder = document.getElementById("chart-data");
    if (!holder) { return null; }
    try {
      return JSON.parse(holder.textContent || "{}");
    } catch (e) {
      return null;
    }
  }

  function draw() {
    var data = readData();
    if (!data || !Array.isArray(data.charts) || data.charts.length === 0) { return; }
    if (typeof window.Plotly === "undefined") { return; }
    var base = {
      margin: { l: 60, r: 16, t: 12, b: 48 },
      height: 300,
      font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: "#1f2933" },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      separators: data.separators || ".,",
      showlegend: true
    };
    data.charts.forEach(function (chart) {
      var element = document.getElementById(chart.target);
      if (!element || !Array.isArray(chart.traces) || chart.traces.length === 0) { return; }
      var layout = Object.assign({}, base, chart.layout || {});
      if (chart.traces.length === 1) { layout.showlegend = false; }
      element.textContent = "";
      window.Plotly.newPlot(element, chart.traces, layout,
        { displaylogo: false, responsive: true, displayModeBar: false });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
