/* Charts: every element with data-chart='{"names": [...], "series": [{"name", "data"}]}' becomes a
   stacked bar chart. Tooltips use ECharts' rich-text mode (no inline-styled HTML, for the CSP). */
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var palette = ["#1f5fa8", "#e0a43a", "#3a8f6a", "#b42318"];
  var charts = [];
  var nodes = document.querySelectorAll("[data-chart]");
  for (var i = 0; i < nodes.length; i++) {
    var el = nodes[i];
    var spec;
    try { spec = JSON.parse(el.getAttribute("data-chart")); } catch (e) { continue; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      color: palette,
      animationDuration: 300,
      textStyle: { fontFamily: "inherit" },
      tooltip: { trigger: "axis", renderMode: "richText", axisPointer: { type: "shadow" } },
      legend: { top: 0, right: 0, itemWidth: 12, itemHeight: 12 },
      grid: { left: 8, right: 8, top: 32, bottom: 4, containLabel: true },
      xAxis: { type: "category", data: spec.names, axisTick: { show: false },
               axisLabel: { interval: 0, color: "#3b4658" } },
      yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#e6ebf2" } },
               axisLabel: { color: "#6b778a" } },
      series: spec.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "total", data: s.data, barMaxWidth: 36 };
      })
    });
    charts.push(chart);
  }
  window.addEventListener("resize", function () {
    for (var j = 0; j < charts.length; j++) { charts[j].resize(); }
  });
})();
