import Support

/// A self-contained SVG line chart of loss against step (loss_curve.svg in the output folder).
public enum LossPlot {
    public static func svg(steps: [Int], losses: [Double], title: String = "training loss") -> String {
        let w = 720.0, h = 420.0
        let left = 70.0, right = 20.0, top = 40.0, bottom = 50.0
        let pw = w - left - right, ph = h - top - bottom
        let points = zip(steps, losses).filter { $0.1.isFinite }
        var svg = #"<svg xmlns="http://www.w3.org/2000/svg" width="720" height="420" viewBox="0 0 720 420" font-family="sans-serif" font-size="12">"#
        svg += "\n" + #"<rect width="720" height="420" fill="white"/>"#
        svg += "\n<text x=\"\(left)\" y=\"24\" font-size=\"15\">\(escape(title))</text>"
        guard let first = points.first else {
            return svg + "\n<text x=\"\(left)\" y=\"\(top + ph / 2)\">no steps yet</text>\n</svg>\n"
        }
        let xMin = Double(first.0), xMax = Double(max(points.last!.0, first.0 + 1))
        var yMin = points.map { $0.1 }.min()!, yMax = points.map { $0.1 }.max()!
        if yMax - yMin < 1e-9 { yMin -= 0.5; yMax += 0.5 }
        let pad = (yMax - yMin) * 0.05
        yMin -= pad; yMax += pad
        func x(_ s: Double) -> Double { left + (s - xMin) / (xMax - xMin) * pw }
        func y(_ l: Double) -> Double { top + (1 - (l - yMin) / (yMax - yMin)) * ph }

        // Axes, grid and tick labels: 5 ticks on each axis.
        svg += "\n<g stroke=\"#ccc\" stroke-width=\"1\">"
        for i in 0...4 {
            let ty = top + Double(i) / 4 * ph
            svg += "<line x1=\"\(left)\" y1=\"\(ty)\" x2=\"\(left + pw)\" y2=\"\(ty)\"/>"
        }
        svg += "</g>"
        svg += "\n<g stroke=\"#333\"><line x1=\"\(left)\" y1=\"\(top + ph)\" x2=\"\(left + pw)\" y2=\"\(top + ph)\"/><line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + ph)\"/></g>"
        for i in 0...4 {
            let v = yMax - Double(i) / 4 * (yMax - yMin)
            svg += "\n<text x=\"\(left - 8)\" y=\"\(top + Double(i) / 4 * ph + 4)\" text-anchor=\"end\">\(Format.fixed(v, 3))</text>"
            let s = xMin + Double(i) / 4 * (xMax - xMin)
            svg += "\n<text x=\"\(x(s))\" y=\"\(top + ph + 18)\" text-anchor=\"middle\">\(Int(s.rounded()))</text>"
        }
        svg += "\n<text x=\"\(left + pw / 2)\" y=\"\(h - 10)\" text-anchor=\"middle\">step</text>"
        svg += "\n<text x=\"16\" y=\"\(top + ph / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(top + ph / 2))\">loss</text>"
        let path = points.map { "\(Format.fixed(x(Double($0.0)), 2)),\(Format.fixed(y($0.1), 2))" }.joined(separator: " ")
        svg += "\n<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"\(path)\"/>"
        return svg + "\n</svg>\n"
    }

    private static func escape(_ s: String) -> String {
        s.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
    }
}
