// Report building blocks (see report_svg.h): escaping, number formatting, base64, colours and SVG line charts.
#include "train/report/report_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace nn::report {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string format_number(double value, int decimals) {
  if (!std::isfinite(value)) return "—";
  return fmt::format("{:.{}f}", value, decimals);
}

std::string format_percent(double fraction, int decimals) {
  if (!std::isfinite(fraction)) return "—";
  return fmt::format("{:.{}f}%", 100 * fraction, decimals);
}

std::string base64(const std::vector<uint8_t>& bytes) {
  static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t b0 = bytes[i], b1 = i + 1 < bytes.size() ? bytes[i + 1] : 0,
                   b2 = i + 2 < bytes.size() ? bytes[i + 2] : 0;
    const uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += kDigits[(v >> 18) & 63];
    out += kDigits[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kDigits[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kDigits[v & 63] : '=';
  }
  return out;
}

std::string palette(size_t i) {
  // Tableau 10: qualitative, readable as thin lines on white.
  static constexpr std::array<const char*, 10> kColours = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                                           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
  return kColours[i % kColours.size()];
}

std::string blues(double fraction) {
  // ColorBrewer's 9-class Blues, interpolated linearly: monotone in lightness, so the order of shades reads
  // correctly in greyscale too.
  static constexpr std::array<uint32_t, 9> kStops = {0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6,
                                                     0x4292c6, 0x2171b5, 0x08519c, 0x08306b};
  const double t = std::isfinite(fraction) ? std::clamp(fraction, 0.0, 1.0) * (kStops.size() - 1) : 0.0;
  const size_t lo = std::min(static_cast<size_t>(t), kStops.size() - 2);
  const double f = t - static_cast<double>(lo);
  int rgb[3];
  for (int c = 0; c < 3; ++c) {
    const int shift = 16 - 8 * c;
    const double a = (kStops[lo] >> shift) & 255, b = (kStops[lo + 1] >> shift) & 255;
    rgb[c] = static_cast<int>(std::lround(a + (b - a) * f));
  }
  return fmt::format("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
}

namespace {

struct Range {
  double lo = 0, hi = 1;
};

// About `target` ticks at 1, 2, 2.5 or 5 times a power of ten, covering [lo, hi].
std::vector<double> nice_ticks(Range r, int target, bool integer) {
  const double raw = (r.hi - r.lo) / target;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power * 10;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * power >= raw) {
      step = m * power;
      break;
    }
  if (integer) step = std::max(1.0, std::round(step));
  std::vector<double> ticks;
  for (double v = std::ceil(r.lo / step - 1e-9) * step; v <= r.hi + step * 1e-9; v += step)
    ticks.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return ticks;
}

// The finite range of the values, widened when it is a single value so the axis has a span.
Range data_range(const std::vector<ChartSeries>& series, bool use_x) {
  Range r{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (const ChartSeries& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      const double v = use_x ? s.x[i] : s.y[i];
      r.lo = std::min(r.lo, v);
      r.hi = std::max(r.hi, v);
    }
  if (!std::isfinite(r.lo)) return {0, 1};
  if (r.hi - r.lo <= 1e-12 * std::max(1.0, std::fabs(r.hi))) {
    const double pad = r.lo != 0 ? std::fabs(r.lo) * 0.1 : 1.0;
    r.lo -= pad;
    r.hi += pad;
  }
  return r;
}

std::string tick_label(double v) { return fmt::format("{:g}", v); }

}  // namespace

std::string svg_chart(const Chart& c) {
  // Plot area inside the SVG: axes labels left and below, the legend to the right, as wide as its longest
  // entry needs (about 6.5 px per character at 12 px).
  size_t longest = 0;
  for (const ChartSeries& ser : c.series) longest = std::max(longest, ser.name.size());
  const double legend = std::clamp(48 + 6.5 * static_cast<double>(longest), 110.0, 0.45 * c.width);
  const double left = 58, right = c.width - legend, top = 30, bottom = c.height - 42.0;
  Range xr = c.unit_square ? Range{0, 1} : data_range(c.series, true);
  Range yr = c.unit_square ? Range{0, 1} : data_range(c.series, false);
  const std::vector<double> xt = nice_ticks(xr, c.unit_square ? 5 : 6, c.integer_x && !c.unit_square);
  std::vector<double> yt = nice_ticks(yr, 5, false);
  if (!c.unit_square && yt.size() > 1) {  // the y axis ends on ticks; the x axis spans the data (epochs) exactly
    const double ystep = yt[1] - yt[0];
    yr.lo = std::floor(yr.lo / ystep + 1e-9) * ystep;
    yr.hi = std::ceil(yr.hi / ystep - 1e-9) * ystep;
    yt = nice_ticks(yr, 5, false);
  }
  const auto px = [&](double x) { return left + (x - xr.lo) / (xr.hi - xr.lo) * (right - left); };
  const auto py = [&](double y) { return bottom - (y - yr.lo) / (yr.hi - yr.lo) * (bottom - top); };

  std::string s = fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" aria-label=\"{2}\">"
      "<title>{2}</title><text class=\"chart-title\" x=\"{3}\" y=\"18\">{2}</text>",
      c.width, c.height, escape(c.title), left);
  s += "<g class=\"grid\">";
  for (double v : yt) {
    if (v < yr.lo - 1e-12 || v > yr.hi + 1e-12) continue;
    s += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>", left, right, py(v), py(v));
    s += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>", left - 6,
                     py(v) + 4, tick_label(v));
  }
  for (double v : xt) {
    if (v < xr.lo - 1e-12 || v > xr.hi + 1e-12) continue;
    s += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>", px(v), px(v), top, bottom);
    s += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>", px(v),
                     bottom + 16, tick_label(v));
  }
  s += "</g>";
  s += fmt::format("<rect class=\"frame\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"/>", left, top,
                   right - left, bottom - top);
  s += fmt::format("<text class=\"axis-label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>",
                   (left + right) / 2, c.height - 6.0, escape(c.x_label));
  s += fmt::format(
      "<text class=\"axis-label\" transform=\"translate(14 {:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
      (top + bottom) / 2, escape(c.y_label));
  if (c.unit_square)
    s += fmt::format("<line class=\"chance\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>", px(0), py(0),
                     px(1), py(1));
  for (const ChartMarker& m : c.markers) {
    if (!std::isfinite(m.x) || m.x < xr.lo || m.x > xr.hi) continue;
    s += fmt::format(
        "<g class=\"marker\"><line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\"/>"
        "<text x=\"{3:.1f}\" y=\"{4:.1f}\">{5}</text></g>",
        px(m.x), top, bottom, px(m.x) + 3, top + 11, escape(m.label));
  }
  for (size_t i = 0; i < c.series.size(); ++i) {
    const ChartSeries& ser = c.series[i];
    const std::string colour = palette(i);
    s += fmt::format("<g class=\"series\" data-series=\"{}\" stroke=\"{}\" fill=\"{}\">", i, colour, colour);
    // One polyline per run of finite points: a missing value breaks the line instead of bridging it.
    std::string points;
    const auto flush = [&] {
      if (!points.empty())
        s += fmt::format("<polyline fill=\"none\"{} points=\"{}\"/>", ser.dashed ? " stroke-dasharray=\"6 4\"" : "",
                         points);
      points.clear();
    };
    for (size_t k = 0; k < ser.x.size() && k < ser.y.size(); ++k) {
      if (!std::isfinite(ser.x[k]) || !std::isfinite(ser.y[k])) {
        flush();
        continue;
      }
      points += fmt::format("{}{:.1f},{:.1f}", points.empty() ? "" : " ", px(ser.x[k]), py(ser.y[k]));
      if (c.dots) s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\"/>", px(ser.x[k]), py(ser.y[k]));
    }
    flush();
    s += "</g>";
  }
  for (size_t i = 0; i < c.series.size(); ++i) {
    const double y = top + 8 + 20.0 * static_cast<double>(i);
    s += fmt::format(
        "<g class=\"legend-item\" data-series=\"{0}\"><line x1=\"{1:.1f}\" x2=\"{2:.1f}\" y1=\"{3:.1f}\" "
        "y2=\"{3:.1f}\" stroke=\"{4}\"{5}/><text x=\"{6:.1f}\" y=\"{7:.1f}\">{8}</text></g>",
        i, right + 12, right + 34, y, palette(i), c.series[i].dashed ? " stroke-dasharray=\"6 4\"" : "", right + 40,
        y + 4, escape(c.series[i].name));
  }
  s += "</svg>";
  return s;
}

}  // namespace nn::report
