// Building blocks of the run report (train/report/report.h), kept apart from the page's sections: HTML escaping,
// number formatting ("—" for missing values), base64, the confusion-matrix colour scale, and line charts
// drawn as inline SVG by hand. Internal to train/report*.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nn::report {

// The page's stylesheet and its script (report_style.cpp). The script only adds conveniences (toggling chart
// series); it sets document.body.dataset.ok = "1" when it has run, which the test checks.
extern const char* const kStyle;
extern const char* const kScript;

// Text into HTML, for element content and for attribute values in double or single quotes.
std::string escape(std::string_view text);

// "—" for NaN and infinities, else the value with `decimals` digits after the point.
std::string format_number(double value, int decimals = 3);
std::string format_percent(double fraction, int decimals = 1);  // 0.8123 -> "81.2%"

std::string base64(const std::vector<uint8_t>& bytes);

// The i-th series colour (a 10-colour qualitative palette, distinguishable on white, cycling after 10).
std::string palette(size_t i);
// The confusion matrix's sequential scale: fraction 0 (white-blue) to 1 (dark blue), as "#rrggbb".
std::string blues(double fraction);

struct ChartSeries {
  std::string name;
  std::vector<double> x, y;  // a NaN y leaves a gap in the line
  bool dashed = false;
};

struct ChartMarker {  // a labelled vertical line, e.g. a stage boundary
  double x = 0;
  std::string label;
};

struct Chart {
  std::string title, x_label, y_label;
  int width = 600, height = 300;  // SVG pixels, legend included
  std::vector<ChartSeries> series;
  std::vector<ChartMarker> markers;
  bool unit_square = false;  // ROC space: both axes fixed to [0, 1], with the chance diagonal
  bool integer_x = false;    // epochs: x ticks on whole numbers
  bool dots = false;         // mark every point (short series)
};

// The chart as an <svg> element. Series are <g class="series" data-series="i"> and legend entries
// <g class="legend-item" data-series="i">, which the page's script uses to toggle series.
std::string svg_chart(const Chart& chart);

}  // namespace nn::report
