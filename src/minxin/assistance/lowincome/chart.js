/* 低收入居民倍增计划: per county, per-capita income in the base year and the report year (bars), and where
   an even path to doubling would stand (line). Data comes from the element's data-income-chart attribute;
   no inline script (the CSP allows only our own files). */
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var nodes = document.querySelectorAll("[data-income-chart]");
  var charts = [];
  for (var i = 0; i < nodes.length; i++) {
    var el = nodes[i];
    var spec;
    try { spec = JSON.parse(el.getAttribute("data-income-chart")); } catch (e) { continue; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      color: ["#9bb7da", "#1f5fa8", "#e0a43a", "#b42318"],
      animationDuration: 300,
      textStyle: { fontFamily: "inherit" },
      tooltip: { trigger: "axis", renderMode: "richText", axisPointer: { type: "shadow" } },
      legend: { top: 0, right: 0, itemWidth: 12, itemHeight: 12 },
      grid: { left: 8, right: 8, top: 32, bottom: 4, containLabel: true },
      xAxis: { type: "category", data: spec.names, axisTick: { show: false },
               axisLabel: { interval: 0, color: "#3b4658" } },
      yAxis: { type: "value", name: spec.unit || "", splitLine: { lineStyle: { color: "#e6ebf2" } },
               axisLabel: { color: "#6b778a" } },
      series: [
        { name: spec.base_label, type: "bar", data: spec.base, barMaxWidth: 32 },
        { name: spec.year_label, type: "bar", data: spec.year, barMaxWidth: 32 },
        { name: spec.path_label, type: "line", data: spec.path, symbol: "diamond", symbolSize: 9,
          lineStyle: { type: "dashed" } },
        { name: spec.target_label, type: "scatter", data: spec.target, symbol: "rect", symbolSize: [22, 3] }
      ]
    });
    charts.push(chart);
  }
  window.addEventListener("resize", function () {
    for (var j = 0; j < charts.length; j++) { charts[j].resize(); }
  });
})();
