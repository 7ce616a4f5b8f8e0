import Coverage
import UnitModel

/// Small inline SVG charts: no library, no request, readable by screen readers (role=img with
/// a label that states the numbers).
enum Charts {
  static func escape(_ text: String) -> String { Inert.xml(text) }

  /// Services by exposure, in ten buckets from 0 to 10.
  static func histogram(_ tenths: [Int]) -> String {
    var buckets = [Int](repeating: 0, count: 10)
    for value in tenths { buckets[min(9, value / 10)] += 1 }
    let peak = max(1, buckets.max() ?? 1)
    let width = 360
    let height = 160
    let bar = 30
    let label =
      "Exposure distribution: "
      + buckets.enumerated().map { "\($0.offset)–\($0.offset + 1): \($0.element)" }
      .joined(separator: ", ")
    var svg =
      "<svg class=\"chart\" viewBox=\"0 -12 \(width) \(height + 54)\" role=\"img\" aria-label=\"\(escape(label))\">"
      + "<title>\(escape(label))</title>"
    let colors = [
      "#2e7d32", "#558b2f", "#7cb342", "#c0ca33", "#fdd835", "#ffb300", "#fb8c00", "#f4511e", "#e53935",
      "#b71c1c",
    ]
    for (index, count) in buckets.enumerated() {
      let h = count * height / peak
      let x = 10 + index * (bar + 4)
      svg +=
        "<rect x=\"\(x)\" y=\"\(height - h + 10)\" width=\"\(bar)\" height=\"\(h)\" fill=\"\(colors[index])\">"
        + "<title>exposure \(index)–\(index + 1): \(count) services</title></rect>"
      svg += "<text x=\"\(x + bar / 2)\" y=\"\(height + 26)\" text-anchor=\"middle\">\(index)</text>"
      if count > 0 {
        svg +=
          "<text x=\"\(x + bar / 2)\" y=\"\(height - h + 6)\" text-anchor=\"middle\" class=\"n\">\(count)</text>"
      }
    }
    return svg
      + "<text x=\"10\" y=\"\(height + 40)\" class=\"axis\">exposure (0 safe – 10 unsafe)</text></svg>"
  }

  /// The baseline's installed services by status, as one stacked bar.
  static func progress(_ coverage: CoverageReport) -> String {
    let parts: [(CoverageStatus, String)] = [
      (.hardened, "#2e7d32"), (.partial, "#f9a825"), (.notStarted, "#c62828"), (.exempt, "#78909c"),
    ]
    let counts = parts.map { coverage.count($0.0) }
    let total = max(1, counts.reduce(0, +))
    let label =
      "Baseline progress: " + zip(parts, counts).map { "\($0.0.rawValue) \($1)" }.joined(separator: ", ")
    var svg =
      "<svg class=\"chart\" viewBox=\"0 0 420 90\" role=\"img\" aria-label=\"\(escape(label))\"><title>\(escape(label))</title>"
    var x = 10
    for ((status, color), count) in zip(parts, counts) where count > 0 {
      let w = max(2, count * 400 / total)
      svg +=
        "<rect x=\"\(x)\" y=\"10\" width=\"\(w)\" height=\"30\" fill=\"\(color)\"><title>\(status.rawValue): \(count)</title></rect>"
      x += w
    }
    var lx = 10
    for ((status, color), count) in zip(parts, counts) {
      svg += "<rect x=\"\(lx)\" y=\"56\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
      let text = "\(status.rawValue) \(count)"
      svg += "<text x=\"\(lx + 14)\" y=\"65\">\(text)</text>"
      lx += 24 + text.count * 7
    }
    return svg + "</svg>"
  }

  /// The burn-down of a history: for each scan, oldest first, one bar of the baseline's
  /// installed services by status, with the scans' days on the axis. Drawn at its own size
  /// (one SVG unit a CSS pixel, text at 12px like the page's small print) rather than scaled to
  /// the page's width: bars 28px wide for up to a dozen scans, narrower as scans are added (2px
  /// for 200 and more, 4px apart), and the days written under as many bars as they fit.
  static func trend(_ trend: Trend) -> String {
    let parts: [(CoverageStatus, String)] = [
      (.hardened, "#2e7d32"), (.partial, "#f9a825"), (.notStarted, "#c62828"), (.exempt, "#78909c"),
    ]
    let count = trend.points.count
    let totals = trend.points.map { point in parts.map { point.counts[$0.0] ?? 0 }.reduce(0, +) }
    let most = max(1, totals.max() ?? 1)
    let label =
      "Baseline services by status in \(count) scans: "
      + trend.points.map { point in
        UTCDate.day(point.startedAt) + " "
          + parts.map { "\($0.0.rawValue) \(point.counts[$0.0] ?? 0)" }.joined(separator: ", ")
      }.joined(separator: "; ")
    let slot = max(4, min(80, 960 / max(1, count)))
    let bar = min(28, max(2, slot * 2 / 3))
    let (left, top, plot) = (44, 8, 120)
    // Room on the right for half of the last day's label.
    let width = max(360, left + count * slot + 40)
    let axis = top + plot
    // A day takes about 66px at 12px: one label every `every` bars (80px apart at least), and
    // always the last.
    let every = max(1, (80 + slot - 1) / slot)
    let height = axis + 50
    var svg =
      "<svg class=\"chart fixed\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" "
      + "role=\"img\" aria-label=\"\(escape(label))\"><title>\(escape(label))</title>"
    // The count axis: 0 and the most services any scan had.
    svg += "<line x1=\"\(left - 4)\" y1=\"\(axis)\" x2=\"\(width - 8)\" y2=\"\(axis)\" stroke=\"#9e9e9e\"/>"
    svg += "<text x=\"\(left - 8)\" y=\"\(axis + 4)\" text-anchor=\"end\">0</text>"
    svg += "<text x=\"\(left - 8)\" y=\"\(top + 4)\" text-anchor=\"end\">\(most)</text>"
    svg += "<line x1=\"\(left - 4)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top)\" stroke=\"#9e9e9e\"/>"
    for (index, point) in trend.points.enumerated() {
      let x = left + index * slot + (slot - bar) / 2
      var y = axis
      let day = UTCDate.day(point.startedAt)
      for (status, color) in parts {
        let value = point.counts[status] ?? 0
        guard value > 0 else { continue }
        let h = max(1, value * plot / most)
        y -= h
        svg +=
          "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(bar)\" height=\"\(h)\" fill=\"\(color)\">"
          + "<title>\(day) (\(escape(point.scan))): \(status.rawValue) \(value)</title></rect>"
      }
      // Every `every`th bar, but none too close to the last, which is always labelled.
      if index == count - 1 || (index % every == 0 && count - 1 - index >= every) {
        let center = left + index * slot + slot / 2
        svg +=
          "<line x1=\"\(center)\" y1=\"\(axis)\" x2=\"\(center)\" y2=\"\(axis + 4)\" stroke=\"#9e9e9e\"/>"
          + "<text x=\"\(center)\" y=\"\(axis + 17)\" text-anchor=\"middle\">\(day)</text>"
      }
    }
    var lx = left
    for (status, color) in parts {
      svg += "<rect x=\"\(lx)\" y=\"\(axis + 30)\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
      svg += "<text x=\"\(lx + 14)\" y=\"\(axis + 39)\">\(status.rawValue)</text>"
      lx += 24 + status.rawValue.count * 7
    }
    return svg + "</svg>"
  }

  /// For each required directive: the share of service instances that satisfy it.
  static func adoption(_ coverage: CoverageReport, requirements: [Requirement]) -> String {
    var rows: [(String, Int, Int)] = []
    for requirement in requirements {
      var satisfied = 0
      var total = 0
      for service in coverage.services where service.status != .exempt && service.status != .notInstalled {
        guard let d = service.directives.first(where: { $0.directive == requirement.directive }),
          d.notApplicable == nil
        else { continue }
        satisfied += d.satisfiedTotal
        total += d.satisfiedTotal + d.waived + d.missing
      }
      rows.append((requirement.directive.rawValue, satisfied, total))
    }
    let height = rows.count * 20 + 10
    let label = "Directive adoption: " + rows.map { "\($0.0) \($0.1) of \($0.2)" }.joined(separator: ", ")
    var svg =
      "<svg class=\"chart\" viewBox=\"0 0 360 \(height)\" role=\"img\" aria-label=\"\(escape(label))\"><title>\(escape(label))</title>"
    for (index, row) in rows.enumerated() {
      let y = 5 + index * 20
      let share = row.2 == 0 ? 0 : row.1 * 100 / row.2
      svg += "<text x=\"0\" y=\"\(y + 12)\" class=\"label\">\(escape(row.0))</text>"
      svg += "<rect x=\"170\" y=\"\(y)\" width=\"150\" height=\"14\" fill=\"#e0e0e0\"/>"
      svg +=
        "<rect x=\"170\" y=\"\(y)\" width=\"\(share * 150 / 100)\" height=\"14\" fill=\"#1565c0\"><title>\(escape(row.0)): \(row.1) of \(row.2)</title></rect>"
      svg += "<text x=\"325\" y=\"\(y + 12)\">\(share)%</text>"
    }
    return svg + "</svg>"
  }
}
