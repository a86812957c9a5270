import BlindmatchMatching
import Foundation

/// The report's charts as SVG written on the server (no script, no library): numbers only, so nothing in them needs
/// escaping. Each chart has a `<title>` and `role="img"`; the page puts its data in a table beside it.
enum ConsoleCharts {
    private static let width = 640.0
    private static let height = 280.0
    private static let left = 56.0
    private static let right = 16.0
    private static let top = 16.0
    private static let bottom = 40.0

    /// Expected matches and non-matches per weight bin, bars on a log₁₀(1 + count) scale, and the threshold.
    static func histogram(_ histogram: LinkageReport.Histogram, threshold: Double) -> String {
        guard let low = histogram.edges.first, let high = histogram.edges.last, high > low else {
            return ##"<p>The histogram is empty.</p>"##
        }
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let largest = zip(histogram.matches, histogram.nonMatches).map { max($0, $1) }.max() ?? 0
        let scaleTop = max(1, log10(1 + largest))
        func x(_ weight: Double) -> Double { left + (weight - low) / (high - low) * plotWidth }
        func y(_ count: Double) -> Double { top + plotHeight - log10(1 + max(0, count)) / scaleTop * plotHeight }
        var svg = svgHead(title: "Score histogram: expected matches and non-matches per match-weight bin")
        svg += pattern
        for index in histogram.matches.indices {
            let x0 = x(histogram.edges[index])
            let x1 = x(histogram.edges[index + 1])
            let barWidth = max(1, (x1 - x0) / 2 - 0.5)
            let non = histogram.nonMatches[index]
            let match = histogram.matches[index]
            svg += rect(x0, y(non), barWidth, top + plotHeight - y(non), fill: "url(#hatch)", stroke: "#5f5f5f")
            svg += rect(
                x0 + barWidth, y(match), barWidth, top + plotHeight - y(match), fill: "#1b5e20", stroke: "#1b5e20")
        }
        svg += axes(plotWidth: plotWidth, plotHeight: plotHeight)
        for power in 0...Int(scaleTop.rounded(.down)) {
            let value = pow(10, Double(power)) - 1
            svg += yTick(y(value), label: power == 0 ? "0" : "1e\(power)")
        }
        for tick in ticks(low, high) { svg += xTick(x(tick), label: format(tick)) }
        svg += thresholdLine(x(min(max(threshold, low), high)), plotHeight: plotHeight)
        svg += label(x: left + plotWidth / 2, y: height - 6, "match weight (log₂ odds)", anchor: "middle")
        svg += legend([("Matches", "#1b5e20", nil), ("Non-matches", "url(#hatch)", nil)])
        return svg + "</svg>"
    }

    /// Precision (solid) and recall (dashed) against the threshold, and the run's threshold.
    static func curve(_ points: [LinkageReport.CurvePoint], threshold: Double) -> String {
        let sorted = points.sorted { $0.threshold < $1.threshold }
        guard let low = sorted.first?.threshold, let high = sorted.last?.threshold, high > low else {
            return ##"<p>The curve is empty.</p>"##
        }
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        func x(_ weight: Double) -> Double { left + (weight - low) / (high - low) * plotWidth }
        func y(_ fraction: Double) -> Double { top + plotHeight - min(1, max(0, fraction)) * plotHeight }
        var svg = svgHead(title: "Estimated precision and recall against the threshold")
        for fraction in stride(from: 0.0, through: 1.0, by: 0.25) {
            svg += yTick(y(fraction), label: format(fraction))
        }
        svg += axes(plotWidth: plotWidth, plotHeight: plotHeight)
        for tick in ticks(low, high) { svg += xTick(x(tick), label: format(tick)) }
        svg += polyline(sorted.map { (x($0.threshold), y($0.precision)) }, stroke: "#0b4f9c", dash: nil)
        svg += polyline(sorted.map { (x($0.threshold), y($0.recall)) }, stroke: "#b3261e", dash: "6 4")
        svg += thresholdLine(x(min(max(threshold, low), high)), plotHeight: plotHeight)
        svg += label(x: left + plotWidth / 2, y: height - 6, "threshold (match weight)", anchor: "middle")
        svg += legend([("Precision", "#0b4f9c", nil), ("Recall", "#b3261e", "6 4")])
        return svg + "</svg>"
    }

    private static func svgHead(title: String) -> String {
        ##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \##(Int(width)) \##(Int(height))" width="100%" role="img" aria-label="\##(title)"><title>\##(title)</title>"##
    }

    private static let pattern =
        ##"<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#d9d9d9"/><line x1="0" y1="0" x2="0" y2="6" stroke="#5f5f5f" stroke-width="2"/></pattern></defs>"##

    private static func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String) -> String
    {
        ##"<rect x="\##(format(x))" y="\##(format(y))" width="\##(format(w))" height="\##(format(max(0, h)))" fill="\##(fill)" stroke="\##(stroke)" stroke-width="0.5"/>"##
    }

    private static func axes(plotWidth: Double, plotHeight: Double) -> String {
        ##"<path d="M\##(format(left)) \##(format(top)) V\##(format(top + plotHeight)) H\##(format(left + plotWidth))" fill="none" stroke="#1a1a1a"/>"##
    }

    private static func yTick(_ y: Double, label text: String) -> String {
        ##"<line x1="\##(format(left - 4))" x2="\##(format(width - right))" y1="\##(format(y))" y2="\##(format(y))" stroke="#d0d0d0"/>"##
            + label(x: left - 6, y: y + 4, text, anchor: "end")
    }

    private static func xTick(_ x: Double, label text: String) -> String {
        let base = height - bottom
        return
            ##"<line x1="\##(format(x))" x2="\##(format(x))" y1="\##(format(base))" y2="\##(format(base + 4))" stroke="#1a1a1a"/>"##
            + label(x: x, y: base + 17, text, anchor: "middle")
    }

    private static func thresholdLine(_ x: Double, plotHeight: Double) -> String {
        ##"<line x1="\##(format(x))" x2="\##(format(x))" y1="\##(format(top))" y2="\##(format(top + plotHeight))" stroke="#c75b00" stroke-width="2.5"/>"##
            + label(x: x + 4, y: top + 12, "threshold", anchor: "start")
    }

    private static func polyline(_ points: [(Double, Double)], stroke: String, dash: String?) -> String {
        let text = points.map { "\(format($0.0)),\(format($0.1))" }.joined(separator: " ")
        let dashes = dash.map { ##" stroke-dasharray="\##($0)""## } ?? ""
        return ##"<polyline points="\##(text)" fill="none" stroke="\##(stroke)" stroke-width="2.5"\##(dashes)/>"##
    }

    private static func legend(_ items: [(String, String, String?)]) -> String {
        var svg = ""
        var x = width - right - 230
        for (name, colour, dash) in items {
            if dash != nil || name == "Precision" {
                let dashes = dash.map { ##" stroke-dasharray="\##($0)""## } ?? ""
                svg +=
                    ##"<line x1="\##(format(x))" x2="\##(format(x + 22))" y1="\##(format(top + 8))" y2="\##(format(top + 8))" stroke="\##(colour)" stroke-width="2.5"\##(dashes)/>"##
            } else {
                svg += rect(x, top + 2, 22, 12, fill: colour, stroke: "#1a1a1a")
            }
            svg += label(x: x + 28, y: top + 12, name, anchor: "start")
            x += 115
        }
        return svg
    }

    private static func label(x: Double, y: Double, _ text: String, anchor: String) -> String {
        ##"<text x="\##(format(x))" y="\##(format(y))" text-anchor="\##(anchor)">\##(text)</text>"##
    }

    /// About six round ticks between `low` and `high`.
    private static func ticks(_ low: Double, _ high: Double) -> [Double] {
        let raw = (high - low) / 6
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var ticks: [Double] = []
        var tick = ceil(low / step) * step
        while tick <= high + step / 1000 {
            ticks.append(tick)
            tick += step
        }
        return ticks
    }

    private static func format(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
